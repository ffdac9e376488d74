package cgroups

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	ocg "github.com/opencontainers/cgroups"
)

func TestMemoryUsage(t *testing.T) {
	for _, c := range []struct {
		usage uint64
		stat  map[string]uint64
		want  uint64
	}{
		{100 << 20, map[string]uint64{"total_inactive_file": 30 << 20, "inactive_file": 1}, 70 << 20},
		{100 << 20, map[string]uint64{"inactive_file": 10 << 20}, 90 << 20}, // cgroup v2's name
		{100 << 20, map[string]uint64{}, 100 << 20},
		{10, map[string]uint64{"total_inactive_file": 20}, 10}, // never below zero
	} {
		if got := MemoryUsage(c.usage, c.stat); got != c.want {
			t.Errorf("MemoryUsage(%d, %v) = %d, want %d", c.usage, c.stat, got, c.want)
		}
	}
}

func TestBlockBytes(t *testing.T) {
	entries := []ocg.BlkioStatEntry{
		{Major: 254, Op: "Read", Value: 4096}, {Major: 254, Op: "Write", Value: 8192}, {Major: 254, Op: "Total", Value: 12288},
		{Major: 8, Op: "read", Value: 1}, {Major: 8, Op: "write", Value: 2}, {Major: 8, Op: "Sync", Value: 3},
	}
	if r, w := BlockBytes(entries); r != 4097 || w != 8194 {
		t.Errorf("BlockBytes = %d, %d; want 4097, 8194", r, w)
	}
}

// TestCgroupUsage reads a cgroup laid out as cgroup v1 files in a temporary directory: only
// the controllers in Paths count, and a cpu directory mounted with cpuacct has its usage.
func TestCgroupUsage(t *testing.T) {
	ocg.TestMode = true // files outside a cgroup file system
	defer func() { ocg.TestMode = false }()
	dir := t.TempDir()
	files := map[string]string{
		"memory/memory.stat":               "cache 4096\nrss 70000000\ntotal_inactive_file 1000000\ntotal_rss 70000000\n",
		"memory/memory.usage_in_bytes":     "72000000\n",
		"memory/memory.max_usage_in_bytes": "80000000\n",
		"memory/memory.failcnt":            "0\n",
		"memory/memory.limit_in_bytes":     "268435456\n",
		"memory/memory.use_hierarchy":      "1\n",
		"pids/pids.current":                "3\n",
		"pids/pids.max":                    "max\n",
		"cpu,cpuacct/cpuacct.usage":        "123456789\n",
		"cpu,cpuacct/cpuacct.stat":         "user 10\nsystem 2\n",
		"cpu,cpuacct/cpuacct.usage_percpu": "100000000 23456789\n",
		"cpu,cpuacct/cpu.stat":             "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n",
	}
	for name, s := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cg := &Cgroup{Paths: map[string]string{"memory": filepath.Join(dir, "memory"), "pids": filepath.Join(dir, "pids"), "cpu": filepath.Join(dir, "cpu,cpuacct")}}
	u, err := cg.Usage()
	if err != nil {
		t.Fatal(err)
	}
	want := Usage{Memory: 71000000, MemoryLimit: 268435456, CPUNano: 123456789, PIDs: 3, Has: []string{"memory", "cpuacct", "pids"}}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("Usage() = %+v, want %+v", u, want)
	}

	// a cgroup made for pids alone counts nothing else
	cg = &Cgroup{Paths: map[string]string{"pids": filepath.Join(dir, "pids")}}
	if u, err = cg.Usage(); err != nil || !reflect.DeepEqual(u, Usage{PIDs: 3, Has: []string{"pids"}}) {
		t.Errorf("pids only: %+v, %v", u, err)
	}
	if u, err = (&Cgroup{}).Usage(); err != nil || u.Has != nil {
		t.Errorf("no controller: %+v, %v", u, err)
	}
}
