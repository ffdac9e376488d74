package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	ocg "github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/fs"
	"github.com/opencontainers/cgroups/fs2"
	"golang.org/x/sys/unix"
)

// Delegated are the cgroup v1 controllers `skiff system cgroups delegate` hands to a user
// (devices is not among them: its rules need root on the host whoever owns the files).
var Delegated = []string{"memory", "pids", "cpu", "cpuacct", "cpuset", "blkio", "freezer"}

// Parent is the cgroup under which root's containers get theirs, under each controller, and
// under which a user's delegated subtree is, as Parent/USER.
const Parent = "skiff"

// Place is where this caller's containers get their cgroups: Dir under each v1 controller's
// mount point or, on a cgroup v2 host, under the unified hierarchy's (see v2.go).
type Place struct {
	Mounts   map[string]string // controller -> mount point (comounted ones share one)
	Unified  bool              // cgroup v2 only: no v1 controllers
	Root     string            // the cgroup v2 file system's mount point ("" when none is mounted)
	Dir      string            // "/skiff" or "/skiff/USER" (or --cgroup-parent), inside each hierarchy
	Base     string            // "/skiff", or the user's delegated "/skiff/USER"; v2: the caller's cgroup
	Rootless bool
	User     string
	// Own, with --cgroups split, is the caller's own cgroup in each hierarchy (controller ->
	// path, from /proc/self/cgroup): the container's goes below it instead of below Dir.
	Own map[string]string
	fs  tree // the cgroup v2 files: the kernel's, or a test's model (nil: the kernel's)
}

// dir is the directory inside controller c's hierarchy the container's cgroup goes in.
func (p Place) dir(c string) string {
	if p.Own != nil && !p.Unified {
		return p.Own[c]
	}
	return p.Dir
}

// Split puts the containers' cgroups below the caller's own (--cgroups split: under a systemd
// unit with Delegate=yes, its limits then cover the container and it sees all its processes).
func (p *Place) Split() error {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	p.Own = ParseProcCgroup(string(b))
	return nil
}

// ParseProcCgroup reads /proc/PID/cgroup: controller -> the process's cgroup path in that
// hierarchy ("" for the unified one).
func ParseProcCgroup(s string) map[string]string {
	own := map[string]string{}
	for _, l := range strings.Split(s, "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			own[c] = parts[2] // "": the unified (v2) hierarchy
		}
	}
	return own
}

// SplitControllers are the controllers a container gets a cgroup of with --cgroups split and
// no limit flags: its own pids cgroup below the caller's.
var SplitControllers = []string{"pids"}

// controllers are the controllers the container's cgroup is made in for limits l.
func (p Place) controllers(l Limits) []string {
	cs := l.Controllers()
	if len(cs) == 0 && p.Own != nil {
		for _, c := range SplitControllers {
			if _, ok := p.Mounts[c]; ok {
				cs = append(cs, c)
			}
		}
	}
	return cs
}

// Locate finds the cgroup v1 hierarchies in mountinfo and the place of this caller: root's
// /skiff, or a rootless user's delegated /skiff/USER.
func Locate(rootless bool, user string) (Place, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return Place{}, err
	}
	defer f.Close()
	p, err := parseMounts(f)
	if err != nil {
		return Place{}, err
	}
	p.Rootless, p.User = rootless, user
	if p.Unified {
		b, err := os.ReadFile("/proc/self/cgroup")
		if err != nil {
			return Place{}, err
		}
		p.locateV2(ParseProcCgroup(string(b))[""])
		return p, nil
	}
	p.Dir = "/" + Parent
	if rootless {
		p.Dir += "/" + user
	}
	p.Base = p.Dir
	return p, nil
}

// parseMounts reads the cgroup file systems of a mountinfo table.
func parseMounts(r io.Reader) (Place, error) {
	p := Place{Mounts: map[string]string{}}
	sc := bufio.NewScanner(r)
	v2 := false
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 5 || len(b) < 3 {
			continue
		}
		switch b[0] {
		case "cgroup2":
			if p.Root == "" {
				p.Root = a[4]
			}
			if a[4] == "/sys/fs/cgroup" {
				v2 = true
			}
		case "cgroup":
			for _, opt := range strings.Split(b[2], ",") {
				switch {
				case opt == "rw", opt == "ro", opt == "xattr", opt == "noprefix", opt == "clone_children", opt == "cpuset_v2_mode", strings.Contains(opt, "="):
				default:
					p.Mounts[opt] = a[4]
				}
			}
		}
	}
	p.Unified = v2 && len(p.Mounts) == 0
	return p, sc.Err()
}

// SetParent puts the containers' cgroups under parent (--cgroup-parent, a path inside each
// hierarchy) instead of /skiff; rootless, it must lie within the user's delegated /skiff/USER.
func (p *Place) SetParent(parent string) error {
	if parent == "" {
		return nil
	}
	clean := filepath.Clean("/" + parent)
	if p.Rootless && clean != p.Base && !strings.HasPrefix(clean, strings.TrimSuffix(p.Base, "/")+"/") {
		return fmt.Errorf("invalid --cgroup-parent %q: without root it must lie within your delegated subtree %s", parent, p.Base)
	}
	p.Dir = clean
	return nil
}

// Check says whether the limits can be applied here, before anything starts: each controller
// they need is mounted and, rootless, delegated to the user.
func (p Place) Check(l Limits) error {
	if p.Unified {
		return p.checkV2(l)
	}
	for _, c := range p.controllers(l) {
		mnt, ok := p.Mounts[c]
		if !ok {
			return fmt.Errorf("the %s cgroup controller is not mounted on this host: run without the limits that need it", c)
		}
		if p.Own != nil {
			if own := filepath.Join(mnt, p.Own[c]); unix.Access(own, unix.W_OK|unix.X_OK) != nil {
				return fmt.Errorf("--cgroups split puts the container's cgroup below skiff's own, and %s (the %s controller's) is not writable here: run skiff in a cgroup delegated to you (a systemd unit with Delegate=yes), or use --cgroups enabled", own, c)
			}
			continue
		}
		// bfq's weight files are in non-root cgroups only (the kernel's CFTYPE_NOT_ON_ROOT): its
		// other files at the top say it is there
		if c == "blkio" && l.BlkioWeight != 0 && !exists(mnt, "blkio.weight") && !exists(mnt, "blkio.bfq.io_service_bytes") {
			return fmt.Errorf("--blkio-weight needs the bfq I/O scheduler's weights, which this kernel has not loaded: run `sudo modprobe bfq` (and switch the disk to bfq), or run without --blkio-weight")
		}
		if !p.Rootless {
			continue
		}
		dir := filepath.Join(mnt, p.Base) // the delegated subtree: --cgroup-parent's dirs are made in it
		if unix.Access(dir, unix.W_OK|unix.X_OK) != nil {
			return fmt.Errorf("the %s cgroup controller is not delegated to %s (%s is missing or not theirs): run `sudo skiff system cgroups delegate %s` once, or run without %s limits", c, p.User, dir, p.User, c)
		}
	}
	return nil
}

func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

// Cgroup is a container's cgroup: its directory under each controller it was made for.
type Cgroup struct {
	Paths map[string]string `json:"paths"`
}

// Create makes the container's cgroup (id, under the place) for the controllers the limits
// need, moves pid into it and writes the limits. Nothing is left when it fails.
func (p Place) Create(id string, pid int, l Limits) (*Cgroup, error) {
	if p.Unified {
		return p.createV2(id, pid, l)
	}
	paths := map[string]string{}
	for _, c := range p.controllers(l) {
		paths[c] = filepath.Join(p.Mounts[c], p.dir(c), id)
	}
	cg := &ocg.Cgroup{Resources: l.Resources(), Rootless: p.Rootless}
	m, err := fs.NewManager(cg, paths)
	if err != nil {
		return nil, fmt.Errorf("the container's cgroup: %w", err)
	}
	if err := m.Apply(pid); err != nil {
		_ = m.Destroy()
		return nil, fmt.Errorf("make the container's cgroup: %w", err)
	}
	if err := m.Set(cg.Resources); err != nil {
		_ = m.Destroy()
		return nil, fmt.Errorf("set the container's limits: %w", err)
	}
	return &Cgroup{Paths: paths}, nil
}

// Update writes new limits l into a running container's cgroup (id, under p): a controller
// the cgroup lacks is made and every process of the container moved into it first.
func (c *Cgroup) Update(p Place, id string, l Limits) error {
	if path := c.Paths[""]; path != "" {
		return p.updateV2(path, l)
	}
	var pids []int
	for _, ctl := range l.Controllers() {
		if _, ok := c.Paths[ctl]; ok {
			continue
		}
		if pids == nil {
			for _, path := range c.Paths {
				if pids, _ = ocg.GetPids(path); len(pids) > 0 {
					break
				}
			}
			if len(pids) == 0 {
				return errors.New("the container has no process left to limit")
			}
		}
		dir := filepath.Join(p.Mounts[ctl], p.dir(ctl), id)
		m, err := fs.NewManager(&ocg.Cgroup{Resources: &ocg.Resources{}}, map[string]string{ctl: dir})
		if err != nil {
			return err
		}
		for _, pid := range pids {
			if err := m.Apply(pid); err != nil {
				return fmt.Errorf("move the container into its %s cgroup: %w", ctl, err)
			}
		}
		c.Paths[ctl] = dir
	}
	r := l.Resources()
	m, err := fs.NewManager(&ocg.Cgroup{Resources: r, Rootless: p.Rootless}, c.Paths)
	if err != nil {
		return err
	}
	if err := m.Set(r); err != nil {
		return fmt.Errorf("set the container's limits: %w", err)
	}
	return nil
}

// Join moves pid into the cgroup (exec's process into its container's).
func (c *Cgroup) Join(pid int) error {
	for _, p := range c.Paths {
		if err := ocg.WriteCgroupProc(p, pid); err != nil {
			return fmt.Errorf("join the container's cgroup %s: %w", p, err)
		}
	}
	return nil
}

// Remove deletes the cgroup's directories (once its processes are gone), waiting up to wait
// for the last ones to leave; what stays busy is left to Sweep.
func (c *Cgroup) Remove(wait time.Duration) error {
	if c == nil {
		return nil
	}
	var first error
	for _, p := range c.Paths {
		err := unix.Rmdir(p)
		// the last processes of a container just killed may take a moment to leave: up to wait
		for end := time.Now().Add(wait); err == unix.EBUSY && time.Now().Before(end); err = unix.Rmdir(p) {
			time.Sleep(5 * time.Millisecond)
		}
		if err != nil && err != unix.ENOENT && first == nil {
			first = fmt.Errorf("remove the cgroup %s: %w", p, err)
		}
	}
	return first
}

// OOMKilled says whether the kernel killed a process of the cgroup for want of memory.
func (c *Cgroup) OOMKilled() bool {
	if c == nil {
		return false
	}
	if p := c.Paths[""]; p != "" {
		n, err := fs2.OOMKillCount(p)
		return err == nil && n > 0
	}
	if c.Paths["memory"] == "" {
		return false
	}
	n, err := fs.OOMKillCount(c.Paths["memory"])
	return err == nil && n > 0
}

// OOMFile is the file whose "oom_kill N" line counts the cgroup's OOM kills (skiff-init reads
// it for a detached container's state): memory.oom_control (v1) or memory.events (v2).
func (c *Cgroup) OOMFile() string {
	if p := c.Paths[""]; p != "" {
		return filepath.Join(p, "memory.events")
	}
	return filepath.Join(c.Paths["memory"], "memory.oom_control")
}

// Parents are the directories the cgroup's directories are in, one per hierarchy.
func (c *Cgroup) Parents() []string {
	var out []string
	for _, p := range c.Paths {
		if d := filepath.Dir(p); !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

// Sweep removes the containers' cgroups in the directories dirs whose container is gone
// (exists says which are not), as a killed skiff leaves them: a cgroup with a process in it
// is never removed.
func Sweep(dirs []string, exists func(id string) bool) {
	for _, dir := range dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if e.IsDir() && len(e.Name()) == 64 && !exists(e.Name()) {
				_ = unix.Rmdir(filepath.Join(dir, e.Name()))
			}
		}
	}
}

// Delegate hands user (uid, gid) a subtree /skiff/USER under each delegated v1 controller, as
// libcgroup's `cgcreate -a -t` does: the directory and its files become the user's, so their
// skiff can make their containers' cgroups below it. It returns the directories. Root only.
func Delegate(user string, uid, gid int) ([]string, error) {
	p, err := Locate(true, user)
	if err != nil {
		return nil, err
	}
	if p.Unified {
		return nil, errors.New("this host has cgroup v2 only: delegation there is systemd's (Delegate=yes), not this command's")
	}
	var dirs []string
	seen := map[string]bool{}
	for _, c := range Delegated {
		mnt, ok := p.Mounts[c]
		if !ok || seen[mnt] {
			continue
		}
		seen[mnt] = true
		parent, dir := filepath.Join(mnt, Parent), filepath.Join(mnt, p.Dir)
		for _, d := range []string{parent, dir} {
			if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return dirs, fmt.Errorf("create %s: %w", d, err)
			}
			if p.Mounts["cpuset"] == mnt {
				// a cpuset cgroup takes no process until it has CPUs and memory nodes
				for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
					if err := inherit(d, f); err != nil {
						return dirs, err
					}
				}
			}
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return dirs, err
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			return dirs, fmt.Errorf("hand %s to %s: %w", dir, user, err)
		}
		for _, e := range ents {
			if !e.IsDir() {
				_ = os.Chown(filepath.Join(dir, e.Name()), uid, gid)
			}
		}
		dirs = append(dirs, dir)
	}
	if len(dirs) == 0 {
		return nil, errors.New("this host has no cgroup v1 controllers mounted")
	}
	sort.Strings(dirs)
	return dirs, nil
}

// inherit copies a cpuset file from the parent cgroup when it is empty here.
func inherit(dir, name string) error {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil || strings.TrimSpace(string(b)) != "" {
		return err
	}
	from, err := os.ReadFile(filepath.Join(filepath.Dir(dir), name))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name), from, 0o644); err != nil {
		return fmt.Errorf("set %s of %s: %w", name, dir, err)
	}
	return nil
}
