package cgroups

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	ocg "github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
)

// fakeTree models a cgroup v2 file system with the kernel's rules that placement meets:
// cgroup.controllers is what the parent passes on; enabling a controller needs it there
// (ENOENT), a cgroup without processes unless it is the root (EBUSY) and write access
// (EACCES); a process moves only into a cgroup that passes nothing on (EBUSY), and only
// when the caller may write both cgroup.procs files (EACCES); a cgroup with processes or
// children cannot be removed (EBUSY).
type fakeTree struct {
	root  string
	avail []string // the root's cgroup.controllers
	cg    map[string]*fakeCgroup
	user  bool // the caller is not root: it may change only what it owns
}

type fakeCgroup struct {
	subtree []string
	procs   []int
	mine    bool // owned by the (rootless) caller
}

func newFakeTree(avail ...string) *fakeTree {
	return &fakeTree{root: "/cg", avail: avail, cg: map[string]*fakeCgroup{"/cg": {}}}
}

// add makes a cgroup (path inside the tree) passing on sub, owned by the caller when mine.
func (f *fakeTree) add(path string, mine bool, sub ...string) *fakeCgroup {
	c := &fakeCgroup{subtree: sub, mine: mine}
	f.cg[filepath.Join(f.root, path)] = c
	return c
}

func (f *fakeTree) get(path string) *fakeCgroup { return f.cg[filepath.Join(f.root, path)] }

func perr(op, path string, err error) error { return &os.PathError{Op: op, Path: path, Err: err} }

func (f *fakeTree) controllers(dir string) []string {
	if dir == f.root {
		return f.avail
	}
	if p := f.cg[filepath.Dir(dir)]; p != nil {
		return p.subtree
	}
	return nil
}

func (f *fakeTree) may(dir string) bool { return !f.user || f.cg[dir] != nil && f.cg[dir].mine }

func (f *fakeTree) read(dir, file string) (string, error) {
	c := f.cg[dir]
	if c == nil {
		return "", perr("open", filepath.Join(dir, file), unix.ENOENT)
	}
	switch file {
	case "cgroup.controllers":
		return strings.Join(f.controllers(dir), " ") + "\n", nil
	case "cgroup.subtree_control":
		return strings.Join(c.subtree, " ") + "\n", nil
	case "cgroup.procs":
		var s []string
		for _, p := range c.procs {
			s = append(s, strconv.Itoa(p))
		}
		return strings.Join(s, "\n"), nil
	}
	return "", perr("open", filepath.Join(dir, file), unix.ENOENT)
}

func (f *fakeTree) write(dir, file, data string) error {
	c := f.cg[dir]
	if c == nil {
		return perr("open", filepath.Join(dir, file), unix.ENOENT)
	}
	switch file {
	case "cgroup.subtree_control":
		if !f.may(dir) {
			return perr("open", filepath.Join(dir, file), unix.EACCES)
		}
		for _, w := range strings.Fields(data) {
			name := strings.TrimPrefix(w, "+")
			if !slices.Contains(f.controllers(dir), name) {
				return perr("write", filepath.Join(dir, file), unix.ENOENT)
			}
			if dir != f.root && len(c.procs) > 0 {
				return perr("write", filepath.Join(dir, file), unix.EBUSY)
			}
		}
		for _, w := range strings.Fields(data) {
			if name := strings.TrimPrefix(w, "+"); !slices.Contains(c.subtree, name) {
				c.subtree = append(c.subtree, name)
			}
		}
		return nil
	case "cgroup.procs":
		pid, err := strconv.Atoi(data)
		if err != nil {
			return perr("write", filepath.Join(dir, file), unix.EINVAL)
		}
		var from string
		for d, o := range f.cg {
			if slices.Contains(o.procs, pid) {
				from = d
			}
		}
		if from == "" {
			return perr("write", filepath.Join(dir, file), unix.ESRCH)
		}
		if !f.may(dir) || !f.may(from) {
			return perr("write", filepath.Join(dir, file), unix.EACCES)
		}
		if dir != f.root && len(c.subtree) > 0 {
			return perr("write", filepath.Join(dir, file), unix.EBUSY)
		}
		o := f.cg[from]
		o.procs = slices.DeleteFunc(o.procs, func(p int) bool { return p == pid })
		c.procs = append(c.procs, pid)
		return nil
	}
	// a limit file: what fs2 writes, never reached through the tree
	return perr("write", filepath.Join(dir, file), unix.EINVAL)
}

func (f *fakeTree) mkdir(dir string) error {
	if f.cg[dir] != nil {
		return nil
	}
	if f.cg[filepath.Dir(dir)] == nil {
		return perr("mkdir", dir, unix.ENOENT)
	}
	if !f.may(filepath.Dir(dir)) {
		return perr("mkdir", dir, unix.EACCES)
	}
	f.cg[dir] = &fakeCgroup{mine: f.user}
	return nil
}

func (f *fakeTree) rmdir(dir string) error {
	c := f.cg[dir]
	if c == nil {
		return perr("rmdir", dir, unix.ENOENT)
	}
	if len(c.procs) > 0 {
		return perr("rmdir", dir, unix.EBUSY)
	}
	for d := range f.cg {
		if filepath.Dir(d) == dir {
			return perr("rmdir", dir, unix.EBUSY)
		}
	}
	delete(f.cg, dir)
	return nil
}

func (f *fakeTree) exists(dir string) bool {
	if f.cg[dir] != nil {
		return true
	}
	// cgroup.freeze is in every cgroup but the root
	return filepath.Base(dir) == "cgroup.freeze" && f.cg[filepath.Dir(dir)] != nil && filepath.Dir(dir) != f.root
}

func (f *fakeTree) writable(dir, file string) bool { return f.may(dir) }

// a systemd user session: the user manager passes memory, pids and cpu down to the user's
// scope, whose processes are the shell (100) and skiff (200, 300: the container's first).
const scope = "/user.slice/user-1000.slice/user@1000.service/app.slice/run-1.scope"

func userSession(delegated bool) *fakeTree {
	f := newFakeTree("cpuset", "cpu", "io", "memory", "pids", "hugetlb")
	f.user = true
	f.get("/").subtree = []string{"cpu", "io", "memory", "pids"}
	f.add("/user.slice", false, "cpu", "io", "memory", "pids")
	f.add("/user.slice/user-1000.slice", false, "cpu", "memory", "pids")
	f.add("/user.slice/user-1000.slice/user@1000.service", true, "cpu", "memory", "pids")
	f.add("/user.slice/user-1000.slice/user@1000.service/app.slice", true, "cpu", "memory", "pids")
	f.add(scope, delegated).procs = []int{100, 200, 300}
	return f
}

func v2Place(f *fakeTree, rootless bool, own string) Place {
	p := Place{Unified: true, Root: f.root, Rootless: rootless, User: "dev", fs: f}
	p.locateV2(own)
	return p
}

func TestLocateV2(t *testing.T) {
	for _, c := range []struct{ own, base, dir string }{
		{"/", "/", "/skiff"},
		{scope, scope, scope + "/skiff"},
		{scope + "/skiff-leaf", scope, scope + "/skiff"}, // moved there by an earlier skiff
		{"/system.slice/web.service", "/system.slice/web.service", "/system.slice/web.service/skiff"},
	} {
		var p Place
		p.locateV2(c.own)
		if p.Base != c.base || p.Dir != c.dir {
			t.Errorf("locateV2(%q): base %q dir %q, want %q %q", c.own, p.Base, p.Dir, c.base, c.dir)
		}
	}
}

func TestCheckV2(t *testing.T) {
	for _, c := range []struct {
		name      string
		delegated bool
		l         Limits
		err       string
	}{
		{"memory and pids, delegated", true, Limits{Memory: 64 << 20, PidsLimit: 10}, ""},
		{"cpu, delegated", true, Limits{NanoCPUs: 5e8}, ""},
		{"no limits (split, pause), delegated", true, Limits{}, ""},
		{"io is not passed on by the user's slice", true, Limits{BlkioWeight: 300}, "the io cgroup controller is not delegated to dev"},
		{"cpuset is not passed on", true, Limits{CpusetCpus: "0"}, "not delegated"},
		{"a scope that is not the user's", false, Limits{Memory: 64 << 20}, "Delegate=yes"},
		{"split without limits, not the user's", false, Limits{}, "is not delegated to dev"},
		{"oom-kill-disable", true, Limits{Memory: 64 << 20, OOMKillDisable: true}, "--oom-kill-disable"},
	} {
		f := userSession(c.delegated)
		err := v2Place(f, true, scope).Check(c.l)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: Check = %v, want %q", c.name, err, c.err)
		}
	}
	// a controller the kernel's cgroup v2 does not have (here: v1 holds it)
	f := newFakeTree("pids")
	if err := v2Place(f, false, "/").Check(Limits{Memory: 64 << 20}); err == nil || !strings.Contains(err.Error(), "not enabled on this host") {
		t.Errorf("memory missing from the root: Check = %v", err)
	}
	// as root every cgroup is root's to change
	f = userSession(false)
	f.user = false
	if err := v2Place(f, false, scope).Check(Limits{BlkioWeight: 300, CpusetCpus: "0"}); err != nil {
		t.Errorf("root: Check = %v", err)
	}
}

func TestEnableV2(t *testing.T) {
	f := userSession(true)
	p := v2Place(f, true, scope)
	dir := filepath.Join(f.root, p.Dir)
	if err := p.enable(dir, []string{"memory", "pids"}); err != nil {
		t.Fatal(err)
	}
	own, leaf := f.get(scope), f.get(scope+"/"+Leaf)
	if len(own.procs) != 0 || leaf == nil || !slices.Equal(leaf.procs, []int{100, 200, 300}) {
		t.Fatalf("the scope's processes did not move into its leaf: scope %v, leaf %+v", own.procs, leaf)
	}
	for _, d := range []string{scope, scope + "/skiff"} {
		if c := f.get(d); c == nil || !slices.Contains(c.subtree, "memory") || !slices.Contains(c.subtree, "pids") {
			t.Errorf("%s does not pass memory and pids on: %+v", d, c)
		}
	}
	// a second time: nothing to move, nothing to change
	if err := p.enable(dir, []string{"memory", "pids"}); err != nil {
		t.Fatal(err)
	}
	// root in the root cgroup: the root may hold processes
	r := newFakeTree("memory", "pids")
	r.get("/").procs = []int{1, 2}
	rp := v2Place(r, false, "/")
	if err := rp.enable(filepath.Join(r.root, rp.Dir), []string{"memory"}); err != nil {
		t.Fatal(err)
	}
	if r.get("/"+Leaf) != nil || !slices.Contains(r.get("/skiff").subtree, "memory") {
		t.Errorf("root cgroup: leaf %+v, skiff %+v", r.get("/"+Leaf), r.get("/skiff"))
	}
	// a cgroup above the user's that does not pass io on: the error names it and the fix
	if err := p.enable(dir, []string{"io"}); err == nil || !strings.Contains(err.Error(), "io cgroup controller is not delegated") {
		t.Errorf("enable io: %v", err)
	}
}

func TestCreateV2(t *testing.T) {
	f := userSession(true)
	p := v2Place(f, true, scope)
	id := strings.Repeat("a", 64)
	// no limits (split): a cgroup of its own, no controllers passed on
	cg, err := p.Create(id, 300, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.root, scope, "skiff", id)
	if cg.Paths[""] != path || !slices.Equal(f.cg[path].procs, []int{300}) {
		t.Fatalf("Create: %+v, procs %v", cg.Paths, f.cg[path])
	}
	if got := cg.Parents(); !slices.Equal(got, []string{filepath.Dir(path)}) {
		t.Errorf("Parents = %v", got)
	}
	if got := cg.OOMFile(); got != path+"/memory.events" {
		t.Errorf("OOMFile = %q", got)
	}
	f.cg[path].procs = nil
	if err := f.rmdir(path); err != nil {
		t.Fatal(err)
	}
	// a move that fails leaves no cgroup behind
	if _, err := p.Create(id, 999, Limits{}); err == nil || f.cg[path] != nil {
		t.Errorf("Create of a process that is gone: %v, cgroup left: %v", err, f.cg[path] != nil)
	}
	// the freezer's place for a container without limits
	fp, err := p.Freezer(id)
	if err != nil || fp != path {
		t.Errorf("Freezer = %q, %v; want %q", fp, err, path)
	}
}

func TestReportV2(t *testing.T) {
	got := map[string]Status{}
	for _, s := range v2Place(userSession(true), true, scope).Report() {
		got[s.Controller] = s
	}
	for c, usable := range map[string]bool{"memory": true, "cpu": true, "pids": true, "freezer": true, "blkio": false, "cpuset": false} {
		if s := got[c]; s.Usable != usable || !usable && !strings.Contains(s.Why, "Delegate") {
			t.Errorf("%s: %+v, want usable %v", c, s, usable)
		}
	}
}

// TestSetV2 writes limits with the library's fs2 manager into a directory with v2's files.
func TestSetV2(t *testing.T) {
	ocg.TestMode = true // files outside a cgroup file system
	defer func() { ocg.TestMode = false }()
	dir := t.TempDir()
	files := map[string]string{"cgroup.controllers": "cpuset cpu io memory pids", "memory.max": "max", "memory.swap.max": "max",
		"memory.low": "0", "pids.max": "max", "cpu.max": "max 100000", "cpu.weight": "100", "cpuset.cpus": "", "cpuset.mems": "",
		"io.max": "", "io.weight": "default 100", "cgroup.freeze": "0"}
	for f, v := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dev, major, minor := blockDevice(t)
	l := Limits{Memory: 64 << 20, PidsLimit: 10, NanoCPUs: 5e8, CPUShares: 512, CpusetCpus: "0", BlkioWeight: 300,
		Throttles: Throttles{WriteBps: []Throttle{{Path: dev, Major: major, Minor: minor, Rate: 1 << 20}}}}
	if err := setV2(dir, l, true); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{
		"memory.max": "67108864", "memory.swap.max": "67108864", "pids.max": "10", "cpu.max": "50000 100000",
		"cpu.weight": strconv.FormatUint(ocg.ConvertCPUSharesToCgroupV2Value(512), 10), "cpuset.cpus": "0", "io.max": strconv.FormatInt(major, 10) + ":" + strconv.FormatInt(minor, 10) + " wbps=1048576",
		"io.weight": "2930", // blkio's 10-1000 onto io's 1-10000
	} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if got := strings.TrimSpace(string(b)); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
}
