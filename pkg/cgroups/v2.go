package cgroups

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	ocg "github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/fs2"
	"golang.org/x/sys/unix"
)

// On a cgroup v2 host (one unified hierarchy, no v1 controllers) a container's cgroup is
// OWN/skiff/ID, OWN being the caller's own cgroup (from /proc/self/cgroup): as root, and
// rootless where systemd delegated that cgroup to the user (the user manager's units, a
// `systemd-run --user --scope -p Delegate=yes`, a unit with Delegate=yes). A controller reaches
// the container's cgroup only when every cgroup above it names it in cgroup.subtree_control,
// and the kernel lets a cgroup other than the root one do that only while it holds no process
// ("no internal processes"): the processes of OWN (skiff itself, the shell that started it)
// move into OWN/skiff-leaf first. With --cgroups split the place is the same (every container
// gets a cgroup then, limits or not). The freezer is every v2 cgroup's cgroup.freeze.

// Leaf is the child of the caller's cgroup its processes move into, so that the cgroup may
// give its children controllers.
const Leaf = "skiff-leaf"

// v2Controllers are the cgroup v2 controllers that hold the limits of v1 controllers cs.
func v2Controllers(cs []string) []string {
	var out []string
	for _, c := range cs {
		switch c {
		case "blkio":
			c = "io"
		case "cpuacct":
			c = "cpu"
		case "freezer":
			continue // cgroup.freeze: no controller
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// locateV2 sets the place below the caller's cgroup own (a cgroup path inside the hierarchy).
// A caller that skiff moved into own's leaf before counts as own's.
func (p *Place) locateV2(own string) {
	own = filepath.Clean("/" + own)
	if filepath.Base(own) == Leaf {
		own = filepath.Dir(own)
	}
	p.Base = own
	p.Dir = filepath.Join(own, Parent)
}

// tree is the cgroup v2 file system as placement uses it: the kernel's, or a test's model of
// the kernel's rules.
type tree interface {
	read(dir, file string) (string, error)
	write(dir, file, data string) error
	mkdir(dir string) error // an existing directory is no error
	rmdir(dir string) error
	exists(dir string) bool
	writable(dir, file string) bool // file "": the directory itself
}

// kernel is the real cgroup file system, through the cgroups library's file functions.
type kernel struct{}

func (kernel) read(dir, file string) (string, error) { return ocg.ReadFile(dir, file) }
func (kernel) write(dir, file, data string) error    { return ocg.WriteFile(dir, file, data) }
func (kernel) rmdir(dir string) error                { return unix.Rmdir(dir) }
func (kernel) mkdir(dir string) error {
	if err := unix.Mkdir(dir, 0o755); err != nil && err != unix.EEXIST {
		return err
	}
	return nil
}

func (kernel) exists(dir string) bool {
	var st unix.Stat_t
	return unix.Stat(dir, &st) == nil
}

func (kernel) writable(dir, file string) bool {
	if file == "" {
		return unix.Access(dir, unix.W_OK|unix.X_OK) == nil
	}
	return unix.Access(filepath.Join(dir, file), unix.W_OK) == nil
}

func (p Place) tree() tree {
	if p.fs == nil {
		return kernel{}
	}
	return p.fs
}

// chain is the cgroup directories from the hierarchy's root down to dir, both included.
func (p Place) chain(dir string) []string {
	out := []string{p.Root}
	rel, _ := filepath.Rel(p.Root, dir)
	cur := p.Root
	for _, e := range strings.Split(rel, "/") {
		if e == "" || e == "." {
			continue
		}
		cur = filepath.Join(cur, e)
		out = append(out, cur)
	}
	return out
}

func hasWord(list, w string) bool { return slices.Contains(strings.Fields(list), w) }

// checkV2 says, before anything is made, whether the container's cgroup can be made at this
// place with the controllers limits l need.
func (p Place) checkV2(l Limits) error {
	if l.OOMKillDisable {
		return errors.New("--oom-kill-disable has no cgroup v2 equivalent on this host's cgroup v2: run without it")
	}
	return p.checkChain(v2Controllers(l.Controllers()))
}

// checkChain checks that the controllers cs are on this host, and that every cgroup from the
// top down to the place either passes them on already or, rootless, is the caller's to change.
func (p Place) checkChain(cs []string) error {
	fs := p.tree()
	avail, err := fs.read(p.Root, "cgroup.controllers")
	if err != nil {
		return fmt.Errorf("read the cgroup v2 controllers: %w", err)
	}
	for _, c := range cs {
		if !hasWord(avail, c) {
			return fmt.Errorf("the %s cgroup controller is not enabled on this host (%s/cgroup.controllers lacks it): run without the limits that need it", c, p.Root)
		}
	}
	levels := p.chain(filepath.Join(p.Root, p.Dir))
	for i, lv := range levels {
		if !fs.exists(lv) {
			// made by skiff: its parent must be the caller's
			if p.Rootless && !fs.writable(levels[i-1], "") {
				return p.notDelegated(levels[i-1], "")
			}
			return nil
		}
		if len(cs) == 0 {
			continue
		}
		sub, err := fs.read(lv, "cgroup.subtree_control")
		if err != nil {
			return fmt.Errorf("read the cgroup %s: %w", lv, err)
		}
		for _, c := range cs {
			if !hasWord(sub, c) && p.Rootless && !fs.writable(lv, "cgroup.subtree_control") {
				return p.notDelegated(lv, c)
			}
		}
	}
	if dir := levels[len(levels)-1]; p.Rootless && !fs.writable(dir, "") {
		return p.notDelegated(dir, "")
	}
	return nil
}

// notDelegated is the error for a cgroup dir that is not the caller's (and, when c is set,
// does not pass controller c on).
func (p Place) notDelegated(dir, c string) error {
	fix := "run skiff in a cgroup systemd delegates to you: `systemd-run --user --scope -p Delegate=yes skiff ...`, or a unit with Delegate=yes"
	if c == "" {
		return fmt.Errorf("the cgroup %s is not delegated to %s (not theirs to make cgroups in): %s, or run without limits", dir, p.User, fix)
	}
	return fmt.Errorf("the %s cgroup controller is not delegated to %s (%s does not pass it on and is not theirs): %s (systemd's user manager delegates memory, pids and cpu; for %s add it to Delegate= of user@.service), or run without %s limits", c, p.User, dir, fix, c, c)
}

// enable makes dir and the cgroups above it that are missing, and has each of them, from the
// top down, pass the controllers cs on to its children. A cgroup holding processes cannot (the
// kernel says EBUSY): its processes move into its leaf first.
func (p Place) enable(dir string, cs []string) error {
	fs := p.tree()
	for _, lv := range p.chain(dir) {
		if err := fs.mkdir(lv); err != nil {
			return fmt.Errorf("make the cgroup %s: %w", lv, err)
		}
		if len(cs) == 0 {
			continue
		}
		sub, err := fs.read(lv, "cgroup.subtree_control")
		if err != nil {
			return fmt.Errorf("read the cgroup %s: %w", lv, err)
		}
		var add []string
		for _, c := range cs {
			if !hasWord(sub, c) {
				add = append(add, "+"+c)
			}
		}
		if len(add) == 0 {
			continue
		}
		err = fs.write(lv, "cgroup.subtree_control", strings.Join(add, " "))
		// a process may be born into it while the others move: a few rounds
		for try := 0; errors.Is(err, unix.EBUSY) && try < 5; try++ {
			if err := p.evacuate(lv); err != nil {
				return err
			}
			err = fs.write(lv, "cgroup.subtree_control", strings.Join(add, " "))
		}
		switch {
		case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
			return p.notDelegated(lv, strings.TrimPrefix(add[0], "+"))
		case err != nil:
			return fmt.Errorf("pass the %s controllers on in the cgroup %s: %w", strings.Join(cs, ", "), lv, err)
		}
	}
	return nil
}

// evacuate moves the processes of the cgroup dir into its leaf, dir/skiff-leaf.
func (p Place) evacuate(dir string) error {
	fs := p.tree()
	leaf := filepath.Join(dir, Leaf)
	if err := fs.mkdir(leaf); err != nil {
		return fmt.Errorf("make the cgroup %s: %w", leaf, err)
	}
	procs, err := fs.read(dir, "cgroup.procs")
	if err != nil {
		return fmt.Errorf("read the processes of the cgroup %s: %w", dir, err)
	}
	for _, pid := range strings.Fields(procs) {
		if err := fs.write(leaf, "cgroup.procs", pid); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("move process %s into %s (a cgroup with processes cannot pass controllers on to its children): %w", pid, leaf, err)
		}
	}
	return nil
}

// createV2 makes the container's cgroup, writes its limits and moves pid into it.
func (p Place) createV2(id string, pid int, l Limits) (*Cgroup, error) {
	fs := p.tree()
	parent := filepath.Join(p.Root, p.Dir)
	if err := p.enable(parent, v2Controllers(l.Controllers())); err != nil {
		return nil, err
	}
	path := filepath.Join(parent, id)
	if err := fs.mkdir(path); err != nil {
		return nil, fmt.Errorf("make the container's cgroup %s: %w", path, err)
	}
	// the limits first, while it is empty: nothing is left in it when they fail
	if err := setV2(path, l, p.Rootless); err != nil {
		_ = fs.rmdir(path)
		return nil, fmt.Errorf("set the container's limits: %w", err)
	}
	if err := fs.write(path, "cgroup.procs", strconv.Itoa(pid)); err != nil {
		_ = fs.rmdir(path)
		return nil, fmt.Errorf("move the container into its cgroup %s: %w", path, err)
	}
	return &Cgroup{Paths: map[string]string{"": path}}, nil
}

// updateV2 writes new limits into the container's cgroup at path, passing on to it the
// controllers it did not have.
func (p Place) updateV2(path string, l Limits) error {
	if err := p.checkV2(l); err != nil {
		return err
	}
	if err := p.enable(filepath.Dir(path), v2Controllers(l.Controllers())); err != nil {
		return err
	}
	if err := setV2(path, l, p.Rootless); err != nil {
		return fmt.Errorf("set the container's limits: %w", err)
	}
	return nil
}

// setV2 writes limits l into the cgroup v2 directory path with the cgroups library's fs2
// manager (it turns docker's values into v2's: swap beside memory, io.max, ...).
func setV2(path string, l Limits, rootless bool) error {
	r := l.Resources()
	if r.CpuShares != 0 {
		r.CpuWeight = ocg.ConvertCPUSharesToCgroupV2Value(r.CpuShares) // the caller's job, says fs2
	}
	r.SkipDevices = true
	m, err := fs2.NewManager(&ocg.Cgroup{Resources: r, Rootless: rootless}, path)
	if err != nil {
		return err
	}
	return m.Set(r)
}

// freezerV2 is the directory container id's cgroup gets for pause, when it has none.
func (p Place) freezerV2(id string) (string, error) {
	if err := p.checkChain(nil); err != nil {
		return "", err
	}
	dir := filepath.Join(p.Root, p.Dir)
	if err := p.enable(dir, nil); err != nil {
		return "", err
	}
	if !p.tree().exists(filepath.Join(dir, "cgroup.freeze")) {
		return "", errors.New("this kernel's cgroup v2 has no freezer (cgroup.freeze came with Linux 5.2): stop the container instead")
	}
	return filepath.Join(dir, id), nil
}

// reportV2 is Report on a cgroup v2 host.
func (p Place) reportV2() []Status {
	var out []Status
	for _, c := range Reported {
		s := Status{Controller: c, Where: filepath.Join(p.Root, p.Dir)}
		if err := p.checkChain(v2Controllers([]string{c})); err != nil {
			s.Why = err.Error()
		} else {
			s.Usable = true
		}
		out = append(out, s)
	}
	return out
}
