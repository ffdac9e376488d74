// Package container creates, runs and removes one container from a spec. The parent side lives
// here; the setup inside the new namespaces and the PID-1 duties are skiff-init's
// (libexec/skiff-init), which this package starts and talks to.
package container

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	units "github.com/docker/go-units"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/skiff-project/skiff/pkg/catalog"
	"github.com/skiff-project/skiff/pkg/cgroups"
	"github.com/skiff-project/skiff/pkg/config"
	"github.com/skiff-project/skiff/pkg/network"
	"github.com/skiff-project/skiff/pkg/seccomp"
	"github.com/skiff-project/skiff/pkg/signals"
	"github.com/skiff-project/skiff/pkg/spec"
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
	// Pull, when set, is called once when the image is not in the store; Run then looks again.
	Pull func(ref string) error
	// Compile makes a seccomp program when the cache has none for the profile.
	Compile seccomp.Compiler
	// Detach leaves the container to skiff-init once it runs (run -d): Run returns 0 then,
	// after calling Detached with the container's ID. LogDriver says where skiff-init puts the
	// command's output: k8s-file (the default), json-file or none.
	Detach    bool
	LogDriver string
	Detached  func(id string)

	// Links are --link NAME[:ALIAS]; AddHosts --add-host HOST:IP.
	Links, AddHosts []string
	// Net are the network flags besides Spec.Network.
	Net NetOptions
	// Limits are the resource limits (--memory, --cpus, --pids-limit, ...): with any, the
	// container gets a cgroup of its own.
	Limits cgroups.Limits
	// Cgroups is --cgroups: enabled (the default) or disabled; CgroupParent --cgroup-parent,
	// where the cgroup goes instead of /skiff (/skiff/USER rootless).
	Cgroups, CgroupParent string
	// Restart is --restart: no, always, unless-stopped or on-failure[:N] (detached only).
	Restart string
	// LogOpts are --log-opt KEY=VALUE: max-size (k8s-file, json-file).
	LogOpts []string
	// Service are the options of units and scripts: --sdnotify, --replace, --cidfile,
	// --pidfile, --stop-timeout, --stop-signal (service.go).
	Service Service
	// CreateCommand is the command line that makes the container, kept in its record.
	CreateCommand []string
	// Health are the --health-* flags (health.go).
	Health HealthFlags

	// VolumesFrom are --volumes-from CONTAINER[:ro|rw].
	VolumesFrom []string
	// Labels are --label and --label-file's (ParseLabels); the image's go under them.
	Labels map[string]string

	// Base, when set, is the image to run instead of looking up Image: a build step's image so
	// far, whose layers are in the store (TopLayer) but which has no record of its own. Its ID
	// is the stage's base image's, which the container then keeps from removal.
	Base *catalog.Image
	// AfterExit, when set, is called when the command has exited, before an --rm container is
	// removed, with its overlay's upper directory and the image's layer directories (top first):
	// a build makes its RUN step's layer from them. Its error becomes Run's.
	AfterExit func(upper string, lowers []string) error

	volumes     []string        // the volumes of Spec.Volumes (see volumes.go)
	anonVolumes []string        // those made for this container alone
	copyUp      map[string]bool // volume directories that get the image's files first
	onStarted   func(pid int)   // called with skiff-init's pid once the command runs
	parentPid   int             // skiff's parent when run began (a foreground run ends with it)
}

// ownCgroup says whether the container gets a cgroup of its own: with limits, or split.
func (o *RunOptions) ownCgroup() bool { return o.Limits.Any() || o.Cgroups == "split" }

// LogDrivers are the log drivers of detached containers.
var LogDrivers = []string{"k8s-file", "json-file", "none"}

// LogFile is the name of a container's log in its directory.
const LogFile = "ctr.log"

// Run creates the container, runs it in the foreground and returns the command's exit code.
// The container is skiff's own record beside the store (see Records): its file system is an
// overlay of its own upper directory on the image's layers, mounted in this process's private
// mount namespace.
func Run(paths config.Paths, o RunOptions) (int, error) { return run(paths, o, nil) }

// run runs a new container, or the existing, stopped one again (start).
func run(paths config.Paths, o RunOptions, existing *Info) (int, error) {
	trace := o.Trace
	if trace == nil {
		trace = func(string) {}
	}
	o.parentPid = os.Getppid()
	policy, retries, logLim, err := o.check(existing == nil)
	if err != nil {
		return 125, err
	}
	extraHosts, err := hostLines(o.AddHosts)
	if err != nil {
		return 125, err
	}
	// volumes are made on first use and mounted like host directories (volumes.go)
	if err := o.resolveVolumes(paths); err != nil {
		return 125, err
	}
	// skiff-init starts now and waits for its plan
	init, err := forkInit(o, false)
	if err != nil {
		return 125, err
	}
	defer init.abort()
	defer init.reap()
	trace("fork")
	// what killed skiff processes left is swept while the container runs (see below); a name
	// such a container holds is freed by create, which sweeps when its name is taken
	recs := OpenRecords(paths.GraphRoot)
	net, err := prepareNet(recs, paths, &o)
	if err != nil {
		return 125, err
	}
	defer net.close()
	var place *cgroups.Place // where the container's cgroup goes, when it has limits
	if o.ownCgroup() {
		if place, err = locateCgroups(o.Limits, o.Cgroups, o.CgroupParent); err != nil {
			return 125, err
		}
	}
	swept := make(chan struct{})
	sweep := sync.OnceFunc(func() {
		go func() {
			recs.Sweep()
			close(swept)
		}()
	})
	defer func() {
		sweep()
		<-swept
	}()

	// the image and the container's record, under the lock that keeps images from going away
	// before a container names them
	var h *Handle
	var cat *catalog.Catalog
	var img *catalog.Image
	var layers []*catalog.Layer
	if existing != nil {
		h, cat, img, layers, err = reopen(recs, paths, *existing, o)
	} else {
		if o.Service.Replace {
			if err := recs.replace(o.Spec.Name); err != nil {
				return 125, err
			}
		}
		if err := o.Service.checkCIDFile(); err != nil {
			return 125, err
		}
		h, cat, img, layers, err = create(recs, paths, &o)
	}
	if err != nil {
		return 125, err
	}
	trace("create")
	removed := false
	defer func() {
		if !removed {
			if o.Remove {
				_ = h.Remove()
			} else {
				_ = h.WriteState(State{Status: "exited", ExitCode: 125, FinishedAt: time.Now().UTC()})
				h.Release()
			}
		}
	}()

	// skiff-init mounts the root in the container's mount namespace; the image's users and
	// groups are read from its layers (or the copy) meanwhile
	rootfs := filepath.Join(h.Dir, "rootfs") // a copy of a vfs layer
	var files spec.Files = rootFiles(rootfs)
	var overlay, overlayDir string
	if h.Meta.Rootfs == RootfsOverlay {
		if overlay, overlayDir, err = overlayMount(cat, layers, h.Dir, userns.Current().Rootless, o.Remove); err != nil {
			return 125, err
		}
		files = layeredFiles(cat.LayerDirs(layers))
		rootfs = h.Dir // the overlay is mounted on the container's directory itself
	}

	if len(o.Links) > 0 {
		userNet := ""
		if net.nets != nil {
			userNet = net.user.Name // a user network's
		}
		env, hosts, err := recs.linkEnv(o.Links, h.Meta.Name, userNet, cat)
		if err != nil {
			return 125, err
		}
		o.Spec.Env = append(env, o.Spec.Env...) // -e wins
		extraHosts = hosts + extraHosts
	}
	// the service manager's ID file and readiness socket (not kept in the record: start makes
	// them again)
	if o.Service.CIDFile != "" {
		if err := writeIDFile(o.Service.CIDFile, h.ID, "--cidfile"); err != nil {
			return 125, err
		}
	}
	notify, mount, env, err := newNotifier(o.Service, paths.RunDir)
	if err != nil {
		return 125, err
	}
	defer notify.close()
	if mount != "" {
		o.Spec.Volumes = append(append([]string{}, o.Spec.Volumes...), mount)
		o.Spec.Env = append(append([]string{}, o.Spec.Env...), env)
	}
	o.onStarted = func(pid int) {
		if o.Service.PIDFile != "" {
			_ = os.Remove(o.Service.PIDFile) // the container's last start's
			_ = writeIDFile(o.Service.PIDFile, strconv.Itoa(pid), "--pidfile")
		}
		if o.Detach {
			notify.started(pid) // skiff-init keeps the container
		} else {
			notify.started(os.Getpid())
		}
	}
	o.Spec.HostEnv = os.LookupEnv
	if o.Spec.Network == "host" || o.Spec.UTS == "host" {
		o.Spec.HostHostname, _ = os.Hostname()
	}
	o.Spec.DeferDefaultSeccomp = true
	s, err := spec.Build(img.Config.Config, o.Spec, h.ID, files)
	if err != nil {
		return 125, err
	}
	if err := checkMapped(s.Process.User.UID, s.Process.User.GID); err != nil {
		return 125, err
	}
	trace("spec")

	if err := net.start(&o, h.ID, h.Meta.Name, img.Config.Config.ExposedPorts); err != nil {
		return 125, err
	}
	etc := net.etcFiles(s.Hostname, h.Meta.Name, &o)
	etc["/etc/hosts"] += extraHosts
	var bpf *os.File
	if s.Linux.Seccomp != nil || s.Annotations[spec.DefaultSeccompAnnotation] != "" {
		prog, err := seccompProgram(paths, s.Linux.Seccomp, s.Process.Capabilities.Bounding, o.Compile)
		if err != nil {
			return 125, fmt.Errorf("seccomp profile: %w", err)
		}
		if bpf, err = memfile("seccomp", prog); err != nil {
			return 125, err
		}
		defer bpf.Close()
		if s.Linux.Seccomp != nil {
			// a profile of the user's: exec loads the same program
			if err := os.WriteFile(filepath.Join(h.Dir, seccompFile), prog, 0o600); err != nil {
				return 125, err
			}
		}
	}
	ec := execConfig{Process: s.Process}
	switch {
	case bpf == nil:
	case s.Linux.Seccomp == nil:
		ec.Seccomp = seccompDefault
	default:
		ec.Seccomp = seccompFile
	}
	if init.execConfig, err = json.Marshal(ec); err != nil {
		return 125, err
	}
	trace("seccomp")
	in := planInput{CopyUp: o.copyUp, Rootfs: rootfs, Overlay: overlay, OverlayDir: overlayDir, EtcFiles: etc, SeccompSent: bpf != nil, Rows: 24, Cols: 80,
		NetNS: net.netns, Loopback: net.mode.OwnNamespace(), Tap: net.tap(), Join: net.joinPlan(), Hold: net.slirp != nil, CgroupNS: place != nil,
		OOMFile: o.Detach && place != nil && slices.Contains(o.Limits.Controllers(), "memory")}
	var started time.Time // when a detached container starts, for its state
	if o.Detach {
		started = time.Now().UTC()
		in.Detach = &detachPlan{LogDriver: o.LogDriver, Started: started.Format(time.RFC3339Nano), AutoRemove: o.Remove,
			Restart: policy, RestartMax: retries, LogMax: logLim.maxSize, LogFiles: logLim.maxFiles,
			Attach: true, StdinPipe: o.Spec.Interactive && !o.Spec.TTY}
	}
	in.Trace = o.Trace != nil
	in.NoStdin = !o.Spec.Interactive || o.Stdin == nil
	if o.Spec.TTY && o.Stdin != nil && term.IsTerminal(int(o.Stdin.Fd())) {
		if w, h, err := term.GetSize(int(o.Stdin.Fd())); err == nil {
			in.Cols, in.Rows = w, h
		}
	}
	planBytes, err := makePlan(s, in)
	if err != nil {
		return 125, err
	}
	var keep *keeperFiles
	if o.Detach {
		if keep, err = openKeeperFiles(h, o.LogDriver, started, in.Detach.LogFiles > 1); err != nil {
			return 125, err
		}
		defer keep.Close()
	} else if !o.Remove {
		_ = h.WriteState(State{Status: "running", StartedAt: time.Now().UTC()})
	}

	if err := net.ready(); err != nil {
		return 125, err
	}
	if net.needsPid() || place != nil {
		if err := init.started(); err != nil {
			return 125, err
		}
		if err := net.started(int(init.pid)); err != nil {
			return 125, err
		}
	}
	// the cgroup, before the plan: the command starts inside it
	var cg *cgroups.Cgroup
	if place == nil && existing != nil {
		_ = os.Remove(filepath.Join(h.Dir, cgroupFile)) // a freezer cgroup a pause made when it ran before
	}
	if place != nil {
		if cg, err = place.Create(h.ID, int(init.pid), o.Limits); err != nil {
			return 125, err
		}
		defer func() {
			if o.Detach && removed {
				return // skiff-init keeps the container; rm or the sweep removes the cgroup
			}
			init.abort()     // when the plan never went
			init.reap()      // its processes are gone, and the cgroup can go
			_ = cg.Remove(0) // busy a moment longer: the next command's sweep
		}()
		if err := replaceJSON(h.Dir, cgroupFile, cg); err != nil {
			return 125, err
		}
		if err := recs.noteCgroup(cg); err != nil {
			return 125, err
		}
	}
	initFiles := net.files // the descriptors skiff-init takes after the keeper's
	if in.OOMFile {
		f, err := os.Open(cg.OOMFile())
		if err != nil {
			return 125, fmt.Errorf("the container's memory cgroup: %w", err)
		}
		defer f.Close()
		initFiles = append(append([]*os.File{}, initFiles...), f)
	}
	if err := net.record(h.Dir); err != nil {
		return 125, err
	}
	code, err := init.run(h, planBytes, bpf, keep, initFiles, o, trace, sweep)
	if err != nil {
		return code, err
	}
	removed = true
	if o.Detach {
		// skiff-init keeps the running lock, the state and the log from here on
		h.Detach()
		if o.Detached != nil {
			o.Detached(h.ID)
		}
		notify.waitReady(int(init.pid))
		return 0, nil
	}
	trace("exited")
	if o.AfterExit != nil {
		if h.Meta.Rootfs != RootfsOverlay {
			return 125, errors.New("this needs the overlay storage driver: the vfs driver keeps no container layer of its own")
		}
		if err := o.AfterExit(filepath.Join(h.Dir, "upper"), cat.LayerDirs(layers)); err != nil {
			if o.Remove {
				_ = h.Remove()
			}
			return 125, err
		}
	}
	if o.Remove {
		if err := h.Discard(); err != nil {
			return code, err
		}
	} else {
		_ = h.WriteState(State{Status: "exited", ExitCode: code, OOMKilled: cg.OOMKilled(), FinishedAt: time.Now().UTC()})
		h.Release()
	}
	trace("teardown")
	init.reap() // the kernel's teardown of the namespaces and mounts skiff-init leaves
	trace("reaped")
	return code, nil
}

// Create makes a container as run would, without starting it (docker create): its record,
// its file system and its run options, in the state "created"; Start runs it. What run would
// refuse is refused here, before anything is made.
func Create(paths config.Paths, o RunOptions) (string, error) {
	o.Detach = true // start runs it in the background unless -a asks otherwise
	if _, _, _, err := o.check(true); err != nil {
		return "", err
	}
	if _, _, err := checkNet(&o); err != nil {
		return "", err
	}
	if o.ownCgroup() {
		if _, err := locateCgroups(o.Limits, o.Cgroups, o.CgroupParent); err != nil {
			return "", err
		}
	}
	if err := o.resolveVolumes(paths); err != nil {
		return "", err
	}
	recs := OpenRecords(paths.GraphRoot)
	if o.Service.Replace {
		if err := recs.replace(o.Spec.Name); err != nil {
			return "", err
		}
	}
	if err := o.Service.checkCIDFile(); err != nil {
		return "", err
	}
	h, cat, img, layers, err := create(recs, paths, &o)
	if err != nil {
		return "", err
	}
	if o.Service.CIDFile != "" {
		if err := writeIDFile(o.Service.CIDFile, h.ID, "--cidfile"); err != nil {
			_ = h.Remove()
			return "", err
		}
	}
	// the spec is made again at each start; made once now, a bad option fails the create
	files := spec.Files(rootFiles(filepath.Join(h.Dir, "rootfs")))
	if h.Meta.Rootfs == RootfsOverlay {
		files = layeredFiles(cat.LayerDirs(layers))
	}
	so := o.Spec
	so.HostEnv, so.DeferDefaultSeccomp = os.LookupEnv, true
	if _, err := spec.Build(img.Config.Config, so, h.ID, files); err != nil {
		_ = h.Remove()
		return "", err
	}
	if err := h.WriteState(State{Status: "created"}); err != nil {
		_ = h.Remove()
		return "", err
	}
	h.Release()
	return h.ID, nil
}

// check validates the options before anything is made, and resolves -e KEY (a new
// container's) from the caller's environment, as docker does at create.
func (o *RunOptions) check(fresh bool) (policy string, retries int, logLim logLimits, err error) {
	if o.Spec.Name != "" {
		if err := ValidName(o.Spec.Name); err != nil {
			return "", 0, logLimits{}, err
		}
	}
	if policy, retries, err = ParseRestart(o.Restart); err != nil {
		return "", 0, logLimits{}, err
	}
	if policy != "no" {
		switch {
		case !o.Detach:
			return "", 0, logLimits{}, errors.New("--restart needs -d: a restart policy is kept by skiff-init, which only a detached container has")
		case o.Remove:
			return "", 0, logLimits{}, errors.New("--restart and --rm conflict: a container removed when it stops cannot be restarted")
		case o.Spec.TTY:
			return "", 0, logLimits{}, errors.New("--restart with -t is not supported yet")
		}
	}
	if logLim, err = parseLogOpts(o.LogOpts); err != nil {
		return "", 0, logLimits{}, err
	}
	if len(o.LogOpts) > 0 && !o.Detach {
		return "", 0, logLimits{}, errors.New("--log-opt needs -d: only a detached container has a log")
	}
	if o.Detach {
		if o.LogDriver == "" {
			o.LogDriver = LogDrivers[0]
		}
		if o.LogDriver == "journald" {
			return "", 0, logLimits{}, errors.New("--log-driver journald is not supported: use k8s-file (the default) or json-file, and skiff logs")
		}
		if !slices.Contains(LogDrivers, o.LogDriver) {
			return "", 0, logLimits{}, fmt.Errorf("unsupported --log-driver %q: use %s", o.LogDriver, strings.Join(LogDrivers, ", "))
		}
		o.Stdin = nil // a detached container reads nothing
	}
	if err := cgroups.CheckMode(o.Cgroups, o.Limits); err != nil {
		return "", 0, logLimits{}, err
	}
	if err := o.Service.check(o.Spec.Name); err != nil {
		return "", 0, logLimits{}, err
	}
	if err := o.Health.check(); err != nil {
		return "", 0, logLimits{}, err
	}
	if fresh {
		// -e KEY takes the caller's value now, as docker does at create: start reuses it
		var env []string
		for _, kv := range o.Spec.Env {
			if env, err = spec.AddEnv(env, kv, os.LookupEnv); err != nil {
				return "", 0, logLimits{}, err
			}
		}
		o.Spec.Env = env
	}
	return policy, retries, logLim, nil
}

// create finds the image (pulling it once when allowed) and makes the container's record.
func create(recs *Records, paths config.Paths, o *RunOptions) (*Handle, *catalog.Catalog, *catalog.Image, []*catalog.Layer, error) {
	for pulled := false; ; pulled = true {
		unlock, err := recs.LockImages(false)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		cat, err := catalog.Open(paths.GraphRoot, paths.Driver)
		if err != nil {
			unlock()
			return nil, nil, nil, nil, err
		}
		img, err := cat.Lookup(o.Image)
		if o.Base != nil {
			img, err = o.Base, nil
		}
		if err != nil {
			unlock()
			if errors.Is(err, catalog.ErrNotFound) && o.Pull != nil && !pulled {
				if err := o.Pull(o.Image); err != nil {
					return nil, nil, nil, nil, err
				}
				continue
			}
			return nil, nil, nil, nil, err
		}
		layers, err := cat.Layers(img)
		if err == nil {
			err = o.imageVolumes(paths, img.Config.Config.Volumes)
		}
		if err != nil {
			unlock()
			return nil, nil, nil, nil, err
		}
		// the command as docker's ps shows it: entrypoint, then arguments or the image's CMD
		meta := Meta{Name: o.Spec.Name, Image: o.Image, ImageID: img.ID, AutoRemove: o.Remove, Rootfs: rootfsKind(cat),
			Command: append([]string{}, img.Config.Config.Entrypoint...)}
		if o.Detach {
			meta.LogDriver = o.LogDriver
		}
		meta.StopSignal = img.Config.Config.StopSignal
		if o.Service.StopSignal != "" {
			meta.StopSignal = o.Service.StopSignal
		}
		meta.StopTimeout, meta.CIDFile, meta.PIDFile = o.Service.StopTimeout, o.Service.CIDFile, o.Service.PIDFile
		meta.CreateCommand = o.CreateCommand
		meta.Healthcheck = o.Health.healthConfig(img.Config.Config.Healthcheck)
		meta.Labels = MergeLabels(img.Config.Config.Labels, o.Labels)
		meta.Volumes, meta.AnonVolumes = o.volumes, o.anonVolumes
		meta.Run = &RunConfig{Spec: o.Spec, Links: o.Links, AddHosts: o.AddHosts, Restart: o.Restart, LogOpts: o.LogOpts, Net: o.Net, Limits: o.Limits, Cgroups: o.Cgroups, CgroupParent: o.CgroupParent}
		if o.Spec.Entrypoint != nil {
			meta.Command = nil
			if *o.Spec.Entrypoint != "" {
				meta.Command = []string{*o.Spec.Entrypoint}
			}
		}
		if len(o.Spec.Cmd) > 0 {
			meta.Command = append(meta.Command, o.Spec.Cmd...)
		} else {
			meta.Command = append(meta.Command, img.Config.Config.Cmd...)
		}
		h, err := recs.createLocked(meta) // under the lock taken above
		if errors.Is(err, ErrNameInUse) && recs.Sweep() != nil {
			h, err = recs.createLocked(meta) // the name's container was dead and is swept
		}
		unlock()
		if err != nil {
			return nil, nil, nil, nil, err
		}
		if err := prepareRootfs(cat, layers, h.Dir, meta.Rootfs); err != nil {
			_ = h.Remove()
			return nil, nil, nil, nil, err
		}
		return h, cat, img, layers, nil
	}
}

// reopen takes a stopped container's record again (start): its image, under the lock that
// keeps images from going away, and its running file, locked for the container's life.
func reopen(recs *Records, paths config.Paths, in Info, o RunOptions) (*Handle, *catalog.Catalog, *catalog.Image, []*catalog.Layer, error) {
	unlock, err := recs.LockImages(false)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	defer unlock()
	cat, err := catalog.Open(paths.GraphRoot, paths.Driver)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	img, err := cat.Lookup(in.Meta.ImageID)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("the image of container %s: %w", in.Meta.Name, err)
	}
	layers, err := cat.Layers(img)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	dir := recs.Path(in.ID)
	f, err := os.OpenFile(filepath.Join(dir, "running"), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, nil, nil, nil, fmt.Errorf("container %s is already running", in.Meta.Name)
	}
	_ = f.Truncate(0)
	h := &Handle{ID: in.ID, Dir: dir, Meta: in.Meta, r: recs, running: f}
	if o.Detach && h.Meta.LogDriver != o.LogDriver {
		h.Meta.LogDriver = o.LogDriver
		if err := writeMeta(dir, h.Meta); err != nil {
			h.Release()
			return nil, nil, nil, nil, err
		}
	}
	return h, cat, img, layers, nil
}

// StartOptions is one skiff start.
type StartOptions struct {
	// Attach runs the container in the foreground, as run does; otherwise skiff-init keeps it.
	Attach, Interactive   bool
	Stdin, Stdout, Stderr *os.File
	Trace                 func(step string)
	Compile               seccomp.Compiler
	// Notify and NotifySocket are Service's: readiness for a unit that runs `start -a`.
	Notify, NotifySocket string
}

// Start runs a stopped container again, with the options it was run with, on the same file
// system (what its processes wrote stays). A running container is left as it is.
func Start(paths config.Paths, ref string, o StartOptions) (int, error) {
	recs := OpenRecords(paths.GraphRoot)
	in, err := recs.Lookup(ref)
	if err != nil {
		return 125, err
	}
	if in.Running {
		return 0, nil
	}
	if in.Meta.Run == nil {
		return 125, fmt.Errorf("container %s was made by an older skiff and cannot be started again: run a new one", ref)
	}
	ro := RunOptions{Image: in.Meta.Image, Remove: in.Meta.AutoRemove, Spec: in.Meta.Run.Spec, Links: in.Meta.Run.Links,
		Restart: in.Meta.Run.Restart, LogOpts: in.Meta.Run.LogOpts,
		AddHosts: in.Meta.Run.AddHosts, Net: in.Meta.Run.Net, Limits: in.Meta.Run.Limits, Cgroups: in.Meta.Run.Cgroups, CgroupParent: in.Meta.Run.CgroupParent, Detach: !o.Attach, LogDriver: in.Meta.LogDriver, Stdout: o.Stdout, Stderr: o.Stderr,
		Trace: o.Trace, Compile: o.Compile}
	ro.Spec.Name = in.Meta.Name
	ro.Service = Service{Notify: o.Notify, NotifySocket: o.NotifySocket, PIDFile: in.Meta.PIDFile}
	if o.Attach {
		ro.Spec.Interactive = o.Interactive
	} // in the background, a container run with -i gets its stdin kept open for attach again
	if o.Attach && (o.Interactive || ro.Spec.TTY) {
		ro.Stdin = o.Stdin
	}
	if ro.LogDriver == "" {
		ro.LogDriver = LogDrivers[0]
	}
	if !ro.Detach {
		ro.Restart, ro.LogOpts = "", nil // skiff-init's, in the background only
	}
	return run(paths, ro, &in)
}

// ParseRestart reads --restart: no, always, unless-stopped, on-failure or on-failure:N.
func ParseRestart(s string) (string, int, error) {
	policy, n, hasN := strings.Cut(s, ":")
	switch policy {
	case "", "no":
		if !hasN {
			return "no", 0, nil
		}
	case "always", "unless-stopped":
		if !hasN {
			return policy, 0, nil
		}
	case "on-failure":
		if !hasN {
			return policy, 0, nil
		}
		if max, err := strconv.Atoi(n); err == nil && max >= 0 {
			return policy, max, nil
		}
	}
	return "", 0, fmt.Errorf("invalid --restart %q: use no, always, unless-stopped or on-failure[:MAX-RETRIES]", s)
}

// seccompProgram finds the BPF program of profile (nil: docker's default for the bounding
// capabilities) in the cache of the run directory, compiling it once when it is missing.
func seccompProgram(paths config.Paths, profile *rspec.LinuxSeccomp, bounding []string, compile seccomp.Compiler) ([]byte, error) {
	if compile == nil {
		compile = func(*rspec.LinuxSeccomp) ([]byte, error) {
			return nil, errors.New("no seccomp compiler: use --security-opt seccomp=unconfined")
		}
	}
	dir := filepath.Join(paths.RunDir, "seccomp")
	if profile != nil {
		return seccomp.CachedBPF(dir, profile, compile)
	}
	// docker's default for the container's capabilities, built only when not cached
	return seccomp.CachedDefaultBPF(dir, bounding, compile)
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

// InitPath finds skiff-init: $SKIFF_INIT, beside the skiff binary, or in libexec.
func InitPath() (string, error) { return config.Libexec("skiff-init", "SKIFF_INIT") }

// initProc is skiff-init, started at the beginning of Run: the kernel creates its namespaces
// and loads it (on the other CPU, when there is one) while this process finds the image and
// builds the plan, which skiff-init then reads from its pipe.
type initProc struct {
	pid         child
	forkErr     error
	forked      chan struct{} // closed when the fork is done (pid or forkErr set)
	done        chan struct{} // closed when the forking thread may go
	planW, sock *os.File
	sigs        *signals.Catcher
	execConfig  []byte // recorded beside the pid, for exec
	finished    bool
	reaped      bool
}

// forkInit starts skiff-init in the container's new namespaces, from a thread of its own that
// stays until the container is done: the child's parent-death signal is tied to that thread.
func forkInit(o RunOptions, join bool) (*initProc, error) {
	initPath, err := InitPath()
	if err != nil {
		return nil, err
	}
	planR, planW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		planR.Close()
		planW.Close()
		return nil, err
	}
	sock := os.NewFile(uintptr(fds[0]), "sync")
	childSock := os.NewFile(uintptr(fds[1]), "sync-child")

	// skiff-init's descriptors: our stdio (it gives the command /dev/null or a terminal when
	// the plan says so), the plan (3) and the sync socket (4)
	files := []uintptr{os.Stdin.Fd(), o.Stdout.Fd(), o.Stderr.Fd(), planR.Fd(), childSock.Fd()}
	if o.Stdin != nil {
		files[0] = o.Stdin.Fd()
	}
	flags := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWPID)
	if o.Spec.UTS != "host" {
		flags |= unix.CLONE_NEWUTS
	}
	if o.Spec.IPC != "host" {
		flags |= unix.CLONE_NEWIPC
	}
	if !o.ownCgroup() {
		flags |= unix.CLONE_NEWCGROUP // with a cgroup skiff-init makes it once in the container's cgroup
	}
	if m, err := network.ParseMode(o.Spec.Network); err != nil || m.OwnNamespace() {
		flags |= unix.CLONE_NEWNET // a bad mode is reported by prepareNet
	}
	if join {
		flags = 0 // exec: skiff-init enters a running container's namespaces itself
	}
	sys := &syscall.SysProcAttr{Cloneflags: flags, Setsid: true, Pdeathsig: unix.SIGKILL}
	if o.Detach {
		sys.Pdeathsig = 0 // it outlives skiff (and lets go of skiff's stdio once it runs)
	}
	env := []string{}
	if v, ok := os.LookupEnv(TimerSlackEnv); ok {
		env = append(env, TimerSlackEnv+"="+v)
	}
	attr := &syscall.ProcAttr{Env: env, Files: files, Sys: sys}

	p := &initProc{planW: planW, sock: sock, forked: make(chan struct{}), done: make(chan struct{})}
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		// syscall.ForkExec rather than os/exec: no pidfd probing, no copying goroutines
		pid, err := syscall.ForkExec(initPath, []string{"skiff-init"}, attr)
		planR.Close()
		childSock.Close()
		p.pid, p.forkErr = child(pid), err
		if err != nil {
			p.forkErr = fmt.Errorf("start %s: %w", initPath, err)
		}
		close(p.forked)
		if err == nil {
			<-p.done
		}
	}()
	return p, nil
}

// started waits for the fork and reports its error.
func (p *initProc) started() error {
	<-p.forked
	return p.forkErr
}

func (p *initProc) release() {
	p.sigs.Stop()
	p.planW.Close()
	p.sock.Close()
	select {
	case <-p.done:
	default:
		close(p.done)
	}
}

// reap collects skiff-init after run, when run did not.
func (p *initProc) reap() {
	if p != nil && p.finished && !p.reaped && p.forkErr == nil {
		p.reaped = true
		_ = waitCode(p.pid)
	}
}

// abort kills skiff-init when it was never given its plan (or failed), and reaps it.
func (p *initProc) abort() {
	if p == nil || p.finished {
		return
	}
	p.finished = true
	if p.started() == nil {
		p.pid.signal(syscall.SIGKILL)
		_ = waitCode(p.pid)
	}
	p.release()
}

// run sends the plan (and the seccomp program) and serves the container until it exits.
func (p *initProc) run(h *Handle, planBytes []byte, bpf *os.File, keep *keeperFiles, netFiles []*os.File, o RunOptions, trace func(string), afterPlan func()) (int, error) {
	if err := p.started(); err != nil {
		return 125, err
	}
	p.finished = true
	defer p.release()
	cmd := p.pid
	// the pid of skiff-init as seen here, for rm -f (liveness is the lock, not the pid), and
	// what exec needs: before the plan, so that a container that runs always has them (a
	// skiff killed before the plan is sent takes its skiff-init with it: the plan never comes)
	if h != nil {
		h.SetPid(int(cmd), p.execConfig)
	}
	// the descriptors skiff-init takes from the sync socket, in the order its plan asks for
	// them: the seccomp program, a detached container's files, the network helper's socket and
	// a user network's locks
	type sent struct {
		f    *os.File
		what string
	}
	var fds []sent
	if bpf != nil {
		fds = append(fds, sent{bpf, "the seccomp program"})
	}
	if keep != nil {
		for _, f := range keep.sent() {
			fds = append(fds, sent{f, "the container's files"})
		}
	}
	for _, f := range netFiles {
		fds = append(fds, sent{f, "the network"})
	}
	for _, x := range fds {
		if err := unix.Sendmsg(int(p.sock.Fd()), []byte{'F'}, unix.UnixRights(int(x.f.Fd())), nil, 0); err != nil {
			cmd.signal(syscall.SIGKILL)
			_ = waitCode(cmd)
			p.reaped = true
			return 125, fmt.Errorf("send %s to skiff-init: %w", x.what, err)
		}
	}
	if _, err := p.planW.Write(planBytes); err != nil {
		cmd.signal(syscall.SIGKILL)
		_ = waitCode(cmd)
		p.reaped = true
		return 125, fmt.Errorf("send the plan to skiff-init: %w", err)
	}
	p.planW.Close()
	trace("plan")
	// what the container's start does not wait for is done while skiff-init sets it up (the
	// CPU skiff runs on is idle until then): the signals to forward, and afterPlan
	if !o.Detach {
		// a detached run has nothing to forward: skiff returns once the container runs. Until
		// the signals are caught they have their default effect: skiff dies, and the
		// container with it (skiff-init's parent-death signal)
		var err error
		if p.sigs, err = signals.Catch(); err != nil {
			cmd.signal(syscall.SIGKILL)
			_ = waitCode(cmd)
			p.reaped = true
			return 125, fmt.Errorf("catch the signals to forward: %w", err)
		}
	}
	afterPlan()
	parentSock := p.sock

	// wait for "started", an error, or the terminal
	var master *os.File
	var restore func()
	for {
		msg, fd, err := recvMsg(parentSock)
		if err != nil || len(msg) == 0 {
			// skiff-init died before it said anything
			code := waitCode(cmd)
			p.reaped = true
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
			p.reaped = true
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
	if o.onStarted != nil {
		o.onStarted(int(cmd))
	}
	if o.Detach {
		p.reaped = true // skiff-init keeps the container; whoever adopts it reaps it
		return 0, nil
	}
	sigs := p.sigs.C
	// a stop signal passed on (SIGTERM from systemctl stop, ^C) has the stop timeout to work
	grace := DefaultStopTimeout * time.Second
	if h != nil {
		grace = h.Meta.stopTimeout()
	}
	var killer *time.Timer
	// a foreground run ends with its caller: when the parent dies (a script's subshell killed,
	// a terminal closed without SIGHUP reaching skiff) the container is stopped as on SIGTERM
	orphaned := func() bool { return o.parentPid > 0 && os.Getppid() != o.parentPid }
	if o.parentPid > 0 {
		_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(signals.ParentDeath), 0, 0, 0)
		if orphaned() {
			_ = unix.Kill(os.Getpid(), signals.ParentDeath) // it died before it could be watched
		}
	}

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
				if sig == signals.ParentDeath {
					if !orphaned() {
						continue // only the thread that forked skiff ended
					}
					sig = unix.SIGTERM
				}
				cmd.signal(sig)
				if (sig == unix.SIGTERM || sig == unix.SIGINT) && killer == nil && grace >= 0 {
					killer = time.AfterFunc(grace, func() { cmd.signal(syscall.SIGKILL) })
				}
			case <-done:
				if killer != nil {
					killer.Stop()
				}
				return
			}
		}
	}()
	// skiff-init says the command's status before it exits; the kernel's work on its exit
	// (the namespaces, the mounts) then overlaps with skiff's teardown, and reap collects it
	code := -1
	for {
		msg, _, err := recvMsg(parentSock)
		if err != nil || len(msg) == 0 {
			break
		}
		if msg[0] == 'X' {
			if c, err := strconv.Atoi(string(msg[1:])); err == nil {
				code = c
			}
			break
		}
	}
	if code < 0 {
		code = waitCode(cmd)
		p.reaped = true
	}
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

// child is skiff-init's pid.
type child int

func (c child) signal(sig os.Signal) {
	if s, ok := sig.(syscall.Signal); ok {
		_ = syscall.Kill(int(c), s)
	}
}

// waitCode waits for skiff-init and turns its status into an exit code.
func waitCode(c child) int {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(int(c), &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 125
		}
		break
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
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

// etcFiles are the contents of the container's /etc/hosts, /etc/resolv.conf and
// /etc/hostname, by container path (skiff-init puts them in place).
func etcFiles(hostname, name string, hostNet bool) map[string]string {
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
	return map[string]string{
		"/etc/hosts":       hosts,
		"/etc/resolv.conf": string(bytes.ReplaceAll(resolv, []byte{0}, nil)),
		"/etc/hostname":    hostname + "\n",
	}
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

// keeperFiles are what skiff-init holds for a detached container: the running file with its
// lock (the container's liveness), state.json (rewritten in place at the end: nothing else
// writes it while skiff-init keeps the container) and the log.
// The attach socket (listenAttach) goes with them.
type keeperFiles struct{ running, state, log, dir, attach *os.File }

func openKeeperFiles(h *Handle, driver string, started time.Time, rotated bool) (*keeperFiles, error) {
	if err := h.WriteState(State{Status: "running", StartedAt: started}); err != nil {
		return nil, fmt.Errorf("write the container's state: %w", err)
	}
	k := &keeperFiles{}
	var err error
	if k.running, err = h.dupRunning(); err != nil {
		return nil, err
	}
	if k.state, err = os.OpenFile(filepath.Join(h.Dir, "state.json"), os.O_RDWR|unix.O_CLOEXEC, 0); err != nil {
		k.Close()
		return nil, err
	}
	logPath := os.DevNull
	if driver != "none" {
		logPath = filepath.Join(h.Dir, LogFile)
	}
	if k.log, err = os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND|unix.O_CLOEXEC, 0o600); err != nil {
		k.Close()
		return nil, fmt.Errorf("open the container's log: %w", err)
	}
	if rotated && driver != "none" {
		// the directory the keeper rotates the log in (--log-opt max-file)
		if k.dir, err = os.OpenFile(h.Dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			k.Close()
			return nil, fmt.Errorf("open the container's directory: %w", err)
		}
	}
	if k.attach, err = listenAttach(h.Dir); err != nil {
		k.Close()
		return nil, err
	}
	return k, nil
}

// sent are the files skiff-init takes on the sync socket, in its plan's order: the running
// lock, state.json and the log (detach), the directory (logfiles), the attach socket (attach).
func (k *keeperFiles) sent() []*os.File {
	fs := []*os.File{k.running, k.state, k.log}
	if k.dir != nil {
		fs = append(fs, k.dir)
	}
	return append(fs, k.attach)
}

func (k *keeperFiles) Close() {
	for _, f := range []*os.File{k.running, k.state, k.log, k.dir, k.attach} {
		if f != nil {
			f.Close()
		}
	}
}

// logLimits are --log-opt's max-size (bytes; 0: none) and max-file (the files kept).
type logLimits struct {
	maxSize  int64
	maxFiles int
}

// parseLogOpts reads --log-opt KEY=VALUE, docker's json-file options: max-size=SIZE (docker's
// units: 10m, 1g), beyond which the log starts over, and max-file=N, the files kept when it is
// rotated instead (LogFile, then LogFile.1 ... LogFile.N-1, the newest first).
func parseLogOpts(opts []string) (logLimits, error) {
	var l logLimits
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "max-size":
			n, err := units.RAMInBytes(v)
			if err != nil || n < 4096 {
				return l, fmt.Errorf("invalid --log-opt %q: give a size of at least 4k, such as 10m", o)
			}
			l.maxSize = n
		case "max-file":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				return l, fmt.Errorf("invalid --log-opt %q: give a number of files from 1 to 100", o)
			}
			l.maxFiles = n
		default:
			return l, fmt.Errorf("unsupported --log-opt %q: skiff knows max-size=SIZE and max-file=N", o)
		}
	}
	if l.maxFiles > 1 && l.maxSize == 0 {
		return l, fmt.Errorf("--log-opt max-file=%d needs max-size=SIZE: the log is rotated when it reaches that size", l.maxFiles)
	}
	return l, nil
}
