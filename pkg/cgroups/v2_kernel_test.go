package cgroups

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	ocg "github.com/opencontainers/cgroups"
)

// TestKernelV2 runs the cgroup v2 placement on this kernel's own v2 hierarchy (as root): on a
// hybrid host that is /sys/fs/cgroup/unified, which holds the controllers no v1 hierarchy
// took (hugetlb on the CI machine) — enough for the kernel's "no internal processes" rule to
// bite — and every v2 cgroup's cgroup.freeze.
func TestKernelV2(t *testing.T) {
	h := hierarchies()
	if os.Geteuid() != 0 || h.Root == "" {
		t.Skip("needs root and a mounted cgroup v2 hierarchy")
	}
	avail, err := ocg.ReadFile(h.Root, "cgroup.controllers")
	if err != nil {
		t.Fatal(err)
	}
	cs := strings.Fields(avail)
	t.Logf("cgroup v2 at %s, controllers %v", h.Root, cs)
	rel := "/skiff-test-" + strconv.Itoa(os.Getpid())
	top := filepath.Join(h.Root, rel)
	if err := os.Mkdir(top, 0o755); err != nil {
		t.Fatal(err)
	}
	var procs []*exec.Cmd
	defer func() {
		for _, c := range procs {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
		// bottom-up
		var dirs []string
		_ = filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		slices.Reverse(dirs)
		for _, d := range dirs {
			_ = os.Remove(d)
		}
	}()
	// the caller's cgroup: a "shell" and the container's first process in it
	start := func() *exec.Cmd {
		c := exec.Command("sleep", "60")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, c)
		if err := ocg.WriteCgroupProc(top, c.Process.Pid); err != nil {
			t.Fatal(err)
		}
		return c
	}
	shell, ctr := start(), start()

	p := Place{Unified: true, Root: h.Root}
	p.locateV2(rel)
	if err := p.Check(Limits{}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cs, "memory") {
		if err := p.Check(Limits{Memory: 64 << 20}); err == nil || !strings.Contains(err.Error(), "not enabled on this host") {
			t.Errorf("Check of --memory without the memory controller in v2: %v", err)
		}
	}
	if err := p.enable(filepath.Join(h.Root, p.Dir), cs); err != nil {
		t.Fatal(err)
	}
	if len(cs) > 0 {
		leaf, _ := ocg.ReadFile(filepath.Join(top, Leaf), "cgroup.procs")
		if !hasWord(leaf, strconv.Itoa(shell.Process.Pid)) {
			t.Errorf("the caller's cgroup's processes did not move into its leaf: %q", leaf)
		}
		for _, d := range []string{top, filepath.Join(top, Parent)} {
			sub, _ := ocg.ReadFile(d, "cgroup.subtree_control")
			if !hasWord(sub, cs[0]) {
				t.Errorf("%s does not pass %s on: %q", d, cs[0], sub)
			}
		}
	} else {
		t.Log("no controller in this cgroup v2: the no-internal-processes rule is not exercised")
	}

	id := strings.Repeat("b", 64)
	cg, err := p.Create(id, ctr.Process.Pid, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	path := cg.Paths[""]
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(ctr.Process.Pid) + "/cgroup")
	if got := ParseProcCgroup(string(b))[""]; got != filepath.Join(rel, Parent, id) {
		t.Errorf("the container's process is in %q, want %q", got, filepath.Join(rel, Parent, id))
	}
	if err := Freeze(path, ocg.Frozen); err != nil {
		t.Fatal(err)
	}
	ev, _ := ocg.ReadFile(path, "cgroup.events")
	if !Frozen(path) || !strings.Contains(ev, "frozen 1") {
		t.Errorf("after Freeze: Frozen %v, cgroup.events %q", Frozen(path), ev)
	}
	if err := Freeze(path, ocg.Thawed); err != nil || Frozen(path) {
		t.Errorf("after thawing: %v, Frozen %v", err, Frozen(path))
	}
	if u, err := cg.Usage(); err != nil || !slices.Contains(u.Has, "cpuacct") {
		t.Errorf("Usage = %+v, %v; want cpu time from cpu.stat", u, err)
	}
	// the container's cgroup goes once its processes are gone; a stale one goes with the sweep
	_ = ctr.Process.Kill()
	_ = ctr.Wait()
	if err := cg.Remove(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(top, Parent, strings.Repeat("c", 64))
	if err := os.Mkdir(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	Sweep(cg.Parents(), func(string) bool { return false })
	for _, d := range []string{path, stale} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s is left: %v", d, err)
		}
	}
}
