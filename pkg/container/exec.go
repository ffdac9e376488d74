package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/term"

	"github.com/skiff-project/skiff/pkg/config"
	"github.com/skiff-project/skiff/pkg/seccomp"
	"github.com/skiff-project/skiff/pkg/spec"
)

// execConfig is what exec needs of a running container, recorded beside the pid in its running
// file: the process it was started with, and its seccomp program ("" none, seccompDefault
// docker's for its capabilities, seccompFile the user's profile's, kept in its directory).
type execConfig struct {
	Process *rspec.Process `json:"process"`
	Seccomp string         `json:"seccomp,omitempty"`
}

const (
	seccompDefault = "default"
	seccompFile    = "seccomp.bpf"
)

// readExecConfig reads the second line of a running container's running file (see
// Handle.SetPid); its Process is nil when the skiff that started it recorded none.
func readExecConfig(dir string) (execConfig, error) {
	var ec execConfig
	b, err := os.ReadFile(filepath.Join(dir, "running"))
	if err != nil {
		return ec, err
	}
	_, rest, _ := strings.Cut(string(b), "\n")
	if json.Unmarshal([]byte(strings.TrimRight(rest, "\x00\n")), &ec) != nil {
		ec.Process = nil
	}
	return ec, nil
}

// ExecOptions is one skiff exec: a process started in a running container, with the
// container's user, environment, directory, capabilities and seccomp program unless told
// otherwise.
type ExecOptions struct {
	Cmd              []string
	Env              []string // KEY=VALUE, or KEY for the caller's value
	User, Workdir    string
	Interactive, TTY bool
	// Detach returns once the process runs (exec -d); its output is discarded.
	Detach bool
	// Stdin, Stdout, Stderr are the caller's; Stdin is only passed with -i or -t.
	Stdin, Stdout, Stderr *os.File
	Compile               seccomp.Compiler
	Trace                 func(step string)
	started               func(pid int) // called with the exec'd skiff-init's pid once it runs
}

// Exec starts a process in the running container ref, in all its namespaces, and returns the
// process's exit code when it ends.
func Exec(paths config.Paths, ref string, o ExecOptions) (int, error) {
	trace := o.Trace
	if trace == nil {
		trace = func(string) {}
	}
	if len(o.Cmd) == 0 {
		return 125, errors.New("exec needs a command: skiff exec [OPTIONS] CONTAINER COMMAND [ARG...]")
	}
	if o.Detach && (o.Interactive || o.TTY) {
		return 125, errors.New("exec -d takes no -i or -t: nothing would read or write the terminal")
	}
	recs := OpenRecords(paths.GraphRoot)
	in, err := recs.Lookup(ref)
	if err != nil {
		return 125, err
	}
	if !in.Running {
		return 125, fmt.Errorf("container %s is not running: start a new one, exec needs a running container", ref)
	}
	if in.State.Status == "paused" {
		return 125, fmt.Errorf("container %s is paused: unpause it first (skiff unpause %s)", ref, ref)
	}
	dir := recs.Path(in.ID)
	keeper := in.State.Pid
	ec, err := readExecConfig(dir)
	if err != nil {
		return 125, fmt.Errorf("container %s: %w", ref, err)
	}
	if ec.Process == nil {
		return 125, fmt.Errorf("container %s was started by a skiff without exec: recreate it", ref)
	}
	if err := signalKeeper(keeper, 0); err != nil {
		return 125, fmt.Errorf("container %s: %w", ref, err)
	}

	proc := *ec.Process
	proc.Args = o.Cmd
	proc.Terminal = o.TTY
	proc.Env = append([]string{}, proc.Env...)
	for _, kv := range o.Env {
		if proc.Env, err = spec.AddEnv(proc.Env, kv, os.LookupEnv); err != nil {
			return 125, err
		}
	}
	if o.Workdir != "" {
		if !filepath.IsAbs(o.Workdir) {
			return 125, fmt.Errorf("invalid --workdir %q: give an absolute path", o.Workdir)
		}
		proc.Cwd = o.Workdir
	}
	if o.User != "" {
		u, err := spec.ResolveUser(o.User, rootFiles(fmt.Sprintf("/proc/%d/root", keeper)))
		if err != nil {
			return 125, err
		}
		proc.User = u.User
		proc.Env = spec.SetEnv(proc.Env, "HOME", u.Home)
	}
	if err := checkMapped(proc.User.UID, proc.User.GID); err != nil {
		return 125, err
	}

	var bpf *os.File
	if ec.Seccomp != "" {
		var prog []byte
		if ec.Seccomp == seccompDefault {
			var bounding []string
			if proc.Capabilities != nil {
				bounding = proc.Capabilities.Bounding
			}
			prog, err = seccompProgram(paths, nil, bounding, o.Compile)
		} else {
			prog, err = os.ReadFile(filepath.Join(dir, seccompFile))
		}
		if err != nil {
			return 125, fmt.Errorf("the container's seccomp program: %w", err)
		}
		if bpf, err = memfile("seccomp", prog); err != nil {
			return 125, err
		}
		defer bpf.Close()
	}
	in2 := planInput{SeccompSent: bpf != nil, NoStdin: !o.Interactive || o.Stdin == nil, Trace: o.Trace != nil, Rows: 24, Cols: 80,
		ExecDetached: o.Detach}
	if o.TTY && o.Stdin != nil && term.IsTerminal(int(o.Stdin.Fd())) {
		if w, h, err := term.GetSize(int(o.Stdin.Fd())); err == nil {
			in2.Cols, in2.Rows = w, h
		}
	}
	planBytes, err := makeExecPlan(keeper, &proc, in2)
	if err != nil {
		return 125, err
	}
	ro := RunOptions{Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, Detach: o.Detach,
		Spec: spec.Options{Interactive: o.Interactive, TTY: o.TTY}, onStarted: o.started, parentPid: os.Getppid()}
	init, err := forkInit(ro, true)
	if err != nil {
		return 125, err
	}
	defer init.abort()
	defer init.reap()
	trace("fork")
	if cg := readCgroup(dir); cg != nil {
		// the container's limits cover what runs in it by exec too
		if err := init.started(); err != nil {
			return 125, err
		}
		if err := cg.Join(int(init.pid)); err != nil {
			return 125, err
		}
	}
	return init.run(nil, planBytes, bpf, nil, nil, ro, trace, func() {})
}
