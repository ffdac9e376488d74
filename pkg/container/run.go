// Package container creates, runs and removes one container from a spec. The parent side lives
// here; the setup inside the new namespaces and the PID-1 duties are skiff-init's
// (libexec/skiff-init), which this package starts and talks to.
package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containers/storage"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/skiff-project/skiff/pkg/config"
	"github.com/skiff-project/skiff/pkg/seccomp"
	"github.com/skiff-project/skiff/pkg/spec"
	"github.com/skiff-project/skiff/pkg/store"
	"github.com/skiff-project/skiff/pkg/userns"
)

// ExitError is a failure with the exit code skiff must return (125 for skiff's own errors,
// 126/127 when the command cannot be executed or found).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// RunOptions is one `skiff run`.
type RunOptions struct {
	Image  string
	Spec   spec.Options
	Remove bool
	// Stdin, Stdout, Stderr are the caller's; Stdin is only passed with -i or -t.
	Stdin, Stdout, Stderr *os.File
	// Trace, when set, is called after each step with its name.
	Trace func(step string)
}

// Run creates the container, runs it in the foreground and returns the command's exit code.
func Run(st *store.Store, o RunOptions) (int, error) {
	trace := o.Trace
	if trace == nil {
		trace = func(string) {}
	}
	img, err := st.LookupImage(o.Image)
	if err != nil {
		return 125, err
	}
	trace("image")
	Sweep(st)
	trace("sweep")

	id := NewID()
	name := o.Spec.Name
	if name == "" {
		name = RandomName()
	} else if err := ValidName(name); err != nil {
		return 125, err
	}
	rd, err := createRunDir(st.Paths.RunDir, id)
	if err != nil {
		return 125, fmt.Errorf("create run state: %w", err)
	}
	defer rd.release()

	meta := Meta{Name: name, Image: o.Image, ImageID: img.ID, Created: time.Now().UTC(), AutoRemove: o.Remove,
		Command: append(append([]string{}, img.Config.Config.Entrypoint...), o.Spec.Cmd...)}
	metaJSON, _ := json.Marshal(meta)
	c, err := st.S.CreateContainer(id, []string{name}, img.ID, "", string(metaJSON), &storage.ContainerOptions{Volatile: o.Remove})
	if err != nil && errors.Is(err, storage.ErrDuplicateName) && o.Spec.Name == "" {
		name = RandomName() + strconv.Itoa(int(time.Now().UnixNano()%1000))
		c, err = st.S.CreateContainer(id, []string{name}, img.ID, "", string(metaJSON), &storage.ContainerOptions{Volatile: o.Remove})
	}
	if err != nil {
		return 125, fmt.Errorf("create container: %w", nameInUse(err, name))
	}
	trace("create")
	removed := false
	defer func() {
		if !removed {
			_, _ = st.S.Unmount(c.ID, true)
			if o.Remove {
				_ = st.S.DeleteContainer(c.ID)
			}
		}
	}()

	rootfs, err := st.S.Mount(c.ID, "")
	if err != nil {
		return 125, fmt.Errorf("mount the container's file system: %w", err)
	}
	trace("mount")

	o.Spec.HostEnv = os.LookupEnv
	if o.Spec.Network == "host" {
		o.Spec.HostHostname, _ = os.Hostname()
	}
	s, err := spec.Build(img.Config.Config, o.Spec, id, rootFiles(rootfs))
	if err != nil {
		return 125, err
	}
	if err := checkMapped(s.Process.User.UID, s.Process.User.GID); err != nil {
		return 125, err
	}
	trace("spec")

	etc, err := writeEtcFiles(rd, s.Hostname, name, o.Spec.Network == "host")
	if err != nil {
		return 125, err
	}
	var bpf *os.File
	if s.Linux.Seccomp != nil {
		prog, err := seccomp.CachedBPF(filepath.Join(st.Paths.RunDir, "seccomp"), s.Linux.Seccomp)
		if err != nil {
			return 125, fmt.Errorf("seccomp profile: %w", err)
		}
		if bpf, err = memfile("seccomp", prog); err != nil {
			return 125, err
		}
		defer bpf.Close()
	}
	trace("seccomp")
	in := planInput{Rootfs: rootfs, EtcFiles: etc, SeccompFD: -1, Rows: 24, Cols: 80}
	if bpf != nil {
		in.SeccompFD = 5
	}
	if o.Spec.TTY && o.Stdin != nil && term.IsTerminal(int(o.Stdin.Fd())) {
		if w, h, err := term.GetSize(int(o.Stdin.Fd())); err == nil {
			in.Cols, in.Rows = w, h
		}
	}
	planBytes, err := makePlan(s, in)
	if err != nil {
		return 125, err
	}

	code, err := start(st, c.ID, s.Process.Terminal, planBytes, bpf, o, trace)
	if err != nil {
		return code, err
	}
	if !o.Remove {
		now := time.Now().UTC()
		_ = WriteState(st, c.ID, State{Status: "exited", ExitCode: code, FinishedAt: now})
	}
	if !o.Remove {
		// DeleteContainer unmounts by itself: one store write fewer for --rm
		_, _ = st.S.Unmount(c.ID, true)
	}
	if o.Remove {
		if err := st.S.DeleteContainer(c.ID); err != nil {
			return code, fmt.Errorf("remove container %.12s: %w", c.ID, err)
		}
	}
	removed = true
	trace("teardown")
	return code, nil
}

// checkMapped fails clearly when the container's user is outside the user namespace's maps.
func checkMapped(uid, gid uint32) error {
	if uid == 0 && gid == 0 {
		return nil
	}
	uids, gids, err := userns.ReadIDMaps()
	if err != nil {
		return nil
	}
	hint := "add a subordinate id range: as root, usermod --add-subuids 100000-165535 --add-subgids 100000-165535 USER"
	if !userns.Mapped(uids, uint64(uid)) {
		return fmt.Errorf("uid %d is not mapped into skiff's user namespace (mapped: %s): %s", uid, describe(uids), hint)
	}
	if !userns.Mapped(gids, uint64(gid)) {
		return fmt.Errorf("gid %d is not mapped into skiff's user namespace (mapped: %s): %s", gid, describe(gids), hint)
	}
	return nil
}

func describe(maps []userns.IDMap) string {
	var s []string
	for _, m := range maps {
		s = append(s, fmt.Sprintf("%d-%d", m.Inside, m.Inside+m.Size-1))
	}
	return strings.Join(s, ",")
}

// ValidName checks a container name as docker does: [a-zA-Z0-9][a-zA-Z0-9_.-]*.
func ValidName(name string) error {
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '_' || r == '.' || r == '-')
		if !ok {
			return fmt.Errorf("invalid container name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", name)
		}
	}
	return nil
}

// InitPath finds skiff-init: $SKIFF_INIT, beside the skiff binary, or in libexec.
func InitPath() (string, error) { return config.Libexec("skiff-init", "SKIFF_INIT") }

// forwarded are the signals skiff passes on to the container (docker's sig-proxy).
var forwarded = []os.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1, unix.SIGUSR2,
	unix.SIGALRM, unix.SIGCONT, unix.SIGWINCH, unix.SIGPWR, unix.SIGVTALRM, unix.SIGPROF, unix.SIGSYS, unix.SIGTRAP,
	unix.SIGXCPU, unix.SIGXFSZ, unix.SIGSTKFLT, unix.SIGIO}

// start runs skiff-init with the plan and serves the container until it exits.
func start(st *store.Store, id string, tty bool, planBytes []byte, bpf *os.File, o RunOptions, trace func(string)) (int, error) {
	initPath, err := InitPath()
	if err != nil {
		return 125, err
	}
	planR, planW, err := os.Pipe()
	if err != nil {
		return 125, err
	}
	defer planR.Close()
	defer planW.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 125, err
	}
	parentSock := os.NewFile(uintptr(fds[0]), "sync")
	childSock := os.NewFile(uintptr(fds[1]), "sync-child")
	defer parentSock.Close()
	defer childSock.Close()

	cmd := &exec.Cmd{Path: initPath, Args: []string{"skiff-init"}, Env: []string{}}
	cmd.Stdout, cmd.Stderr = o.Stdout, o.Stderr
	if (o.Spec.Interactive || tty) && o.Stdin != nil {
		cmd.Stdin = o.Stdin
	}
	if tty {
		// the terminal comes from inside the container; our stdio stays with us
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	}
	cmd.ExtraFiles = []*os.File{planR, childSock}
	if bpf != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, bpf)
	}
	flags := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWCGROUP)
	if o.Spec.Network != "host" {
		flags |= unix.CLONE_NEWNET
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags, Setsid: true, Pdeathsig: unix.SIGKILL}

	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)

	// Pdeathsig fires when the thread that started the child exits: keep this one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return 125, fmt.Errorf("start %s: %w", initPath, err)
	}
	childSock.Close()
	planR.Close()
	if _, err := planW.Write(planBytes); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return 125, fmt.Errorf("send the plan to skiff-init: %w", err)
	}
	planW.Close()
	trace("clone")

	// the pid of skiff-init as seen here, for rm -f (liveness is the lock, not this file)
	_ = os.WriteFile(filepath.Join(st.Paths.ContainerRunDir(id), "pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)

	// wait for "started", an error, or the terminal
	var master *os.File
	var restore func()
	for {
		msg, fd, err := recvMsg(parentSock)
		if err != nil || len(msg) == 0 {
			// skiff-init died before it said anything
			code := waitCode(cmd)
			return 125, fmt.Errorf("the container's init exited during set-up (status %d)", code)
		}
		if msg[0] == 'P' && fd >= 0 {
			master = os.NewFile(uintptr(fd), "pty-master")
			continue
		}
		if msg[0] == 'E' {
			c, text, _ := strings.Cut(string(msg[1:]), ":")
			code, _ := strconv.Atoi(c)
			_ = waitCode(cmd)
			if master != nil {
				master.Close()
			}
			if code == 0 {
				code = 125
			}
			return code, &ExitError{Code: code, Err: errors.New(text)}
		}
		if msg[0] == 'S' {
			break
		}
	}
	trace("started")

	var copyDone sync.WaitGroup
	if master != nil {
		restore = attachTerminal(master, o, &copyDone)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				if sig == unix.SIGWINCH && master != nil {
					resize(master, o.Stdin)
					continue
				}
				_ = cmd.Process.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	code := waitCode(cmd)
	close(done)
	if master != nil {
		// the output the command left in the terminal, then give the user's terminal back
		waitTimeout(&copyDone, 2*time.Second)
		master.Close()
		if restore != nil {
			restore()
		}
	}
	return code, nil
}

// waitCode waits for skiff-init and turns its status into an exit code.
func waitCode(cmd *exec.Cmd) int {
	err := cmd.Wait()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
			if ws.Signaled() {
				return 128 + int(ws.Signal())
			}
			return ws.ExitStatus()
		}
	}
	return 125
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(d):
	}
}

// recvMsg reads one message and an optional passed descriptor from the sync socket.
func recvMsg(sock *os.File) ([]byte, int, error) {
	buf := make([]byte, 2048)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, -1, err
	}
	fd := -1
	if oobn > 0 {
		if cms, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(cms) > 0 {
			if fds, err := unix.ParseUnixRights(&cms[0]); err == nil && len(fds) > 0 {
				fd = fds[0]
			}
		}
	}
	return buf[:n], fd, nil
}

// attachTerminal connects the user's terminal to the container's: raw mode, both directions.
func attachTerminal(master *os.File, o RunOptions, wg *sync.WaitGroup) func() {
	var restore func()
	if o.Stdin != nil && term.IsTerminal(int(o.Stdin.Fd())) {
		if old, err := term.MakeRaw(int(o.Stdin.Fd())); err == nil {
			restore = func() { _ = term.Restore(int(o.Stdin.Fd()), old) }
		}
		resize(master, o.Stdin)
	}
	if o.Stdin != nil && o.Spec.Interactive {
		go func() { _, _ = io.Copy(master, o.Stdin) }()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(o.Stdout, master)
	}()
	return restore
}

func resize(master, from *os.File) {
	if from == nil {
		return
	}
	ws, err := unix.IoctlGetWinsize(int(from.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return
	}
	_ = unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws)
}

// memfile puts b in an anonymous in-memory file.
func memfile(name string, b []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// writeEtcFiles writes /etc/hosts, /etc/resolv.conf and /etc/hostname for the container into
// its run directory and returns them by container path.
func writeEtcFiles(rd *runDir, hostname, name string, hostNet bool) (map[string]string, error) {
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t" + hostname
	if name != "" && name != hostname {
		hosts += " " + name
	}
	hosts += "\n"
	if hostNet {
		if b, err := os.ReadFile("/etc/hosts"); err == nil {
			hosts = string(b)
		}
	}
	resolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		resolv = []byte("nameserver 127.0.0.1\n")
	}
	files := map[string]string{
		"/etc/hosts":       hosts,
		"/etc/resolv.conf": string(resolv),
		"/etc/hostname":    hostname + "\n",
	}
	out := map[string]string{}
	for dst, content := range files {
		p := rd.file(filepath.Base(dst))
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return nil, err
		}
		out[dst] = p
	}
	return out, nil
}

// rootFiles reads files of a container's root, resolving symlinks inside it.
type rootFiles string

func (r rootFiles) ReadFile(name string) ([]byte, error) {
	dir, err := unix.Open(string(r), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dir)
	fd, err := unix.Openat2(dir, name, &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 4<<20))
}
