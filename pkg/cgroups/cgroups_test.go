package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		name string
		in   Flags
		want Limits
		err  string
	}{
		{"none", Flags{}, Limits{}, ""},
		{"memory", Flags{Memory: "32m"}, Limits{Memory: 32 << 20}, ""},
		{"memory and swap", Flags{Memory: "1g", MemorySwap: "2g"}, Limits{Memory: 1 << 30, MemorySwap: 2 << 30}, ""},
		{"unlimited swap", Flags{Memory: "64m", MemorySwap: "-1"}, Limits{Memory: 64 << 20, MemorySwap: -1}, ""},
		{"cpus", Flags{CPUs: "0.5"}, Limits{NanoCPUs: 5e8}, ""},
		{"cpu shares, period, quota", Flags{CPUShares: "512", CPUPeriod: "50000", CPUQuota: "25000"}, Limits{CPUShares: 512, CPUPeriod: 50000, CPUQuota: 25000}, ""},
		{"cpuset", Flags{CpusetCpus: "0", CpusetMems: "0"}, Limits{CpusetCpus: "0", CpusetMems: "0"}, ""},
		{"pids", Flags{PidsLimit: "10"}, Limits{PidsLimit: 10}, ""},
		{"pids unlimited", Flags{PidsLimit: "-1"}, Limits{PidsLimit: -1}, ""},
		{"blkio", Flags{BlkioWeight: "300"}, Limits{BlkioWeight: 300}, ""},
		{"bad memory", Flags{Memory: "lots"}, Limits{}, "invalid --memory"},
		{"tiny memory", Flags{Memory: "1m"}, Limits{}, "the least is 6m"},
		{"swap below memory", Flags{Memory: "64m", MemorySwap: "32m"}, Limits{}, "at least --memory"},
		{"swap alone", Flags{MemorySwap: "64m"}, Limits{}, "needs --memory"},
		{"reservation above memory", Flags{Memory: "64m", MemoryReservation: "128m"}, Limits{}, "must not exceed"},
		{"zero cpus", Flags{CPUs: "0"}, Limits{}, "invalid --cpus"},
		{"too many cpus", Flags{CPUs: "100000"}, Limits{}, "CPUs"},
		{"cpus with quota", Flags{CPUs: "1", CPUQuota: "50000"}, Limits{}, "one or the other"},
		{"bad cpuset", Flags{CpusetCpus: "2-1"}, Limits{}, "invalid --cpuset-cpus"},
		{"zero pids", Flags{PidsLimit: "0"}, Limits{}, "invalid --pids-limit"},
		{"bad blkio", Flags{BlkioWeight: "5"}, Limits{}, "from 10 to 1000"},
		{"bad shares", Flags{CPUShares: "x"}, Limits{}, "invalid --cpu-shares"},
	} {
		got, err := Parse(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: Parse = %+v, %v; want an error with %q", c.name, got, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Parse = %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
}

// blockDevice is a block device node of this host, with its numbers.
func blockDevice(t *testing.T) (string, int64, int64) {
	ents, _ := os.ReadDir("/sys/block")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/sys/block", e.Name(), "dev"))
		size, _ := os.ReadFile(filepath.Join("/sys/block", e.Name(), "size"))
		if err != nil || strings.TrimSpace(string(size)) == "0" {
			continue
		}
		var major, minor int64
		if _, err := fmt.Sscanf(string(b), "%d:%d", &major, &minor); err == nil {
			if _, err := os.Stat("/dev/" + e.Name()); err == nil {
				return "/dev/" + e.Name(), major, minor
			}
		}
	}
	t.Fatal("this host has no block device to throttle")
	return "", 0, 0
}

func TestThrottles(t *testing.T) {
	dev, major, minor := blockDevice(t)
	th := func(rate uint64) []Throttle { return []Throttle{{Path: dev, Major: major, Minor: minor, Rate: rate}} }
	for _, c := range []struct {
		name string
		in   Flags
		want Throttles
		err  string
	}{
		{"write bps", Flags{DeviceWriteBps: []string{dev + ":1mb"}}, Throttles{WriteBps: th(1 << 20)}, ""},
		{"read bps", Flags{DeviceReadBps: []string{dev + ":512k"}}, Throttles{ReadBps: th(512 << 10)}, ""},
		{"iops", Flags{DeviceReadIOps: []string{dev + ":100"}, DeviceWriteIOps: []string{dev + ":50"}}, Throttles{ReadIOps: th(100), WriteIOps: th(50)}, ""},
		{"same device twice: the last wins", Flags{DeviceWriteBps: []string{dev + ":1mb", dev + ":2mb"}}, Throttles{WriteBps: th(2 << 20)}, ""},
		{"no rate", Flags{DeviceWriteBps: []string{dev}}, Throttles{}, "use DEVICE:RATE"},
		{"bad rate", Flags{DeviceWriteBps: []string{dev + ":fast"}}, Throttles{}, "bytes per second"},
		{"bad iops", Flags{DeviceReadIOps: []string{dev + ":1k"}}, Throttles{}, "number of operations"},
		{"missing device", Flags{DeviceReadBps: []string{"/dev/nonexistent:1mb"}}, Throttles{}, "give a block device"},
		{"not a block device", Flags{DeviceReadBps: []string{"/dev/null:1mb"}}, Throttles{}, "not a block device"},
	} {
		got, err := Parse(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: Parse = %+v, %v; want an error with %q", c.name, got, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got.Throttles, c.want) {
			t.Errorf("%s: Parse = %+v, %v; want %+v", c.name, got.Throttles, err, c.want)
		}
		if !got.Any() || got.Controllers()[0] != "blkio" {
			t.Errorf("%s: controllers %v", c.name, got.Controllers())
		}
	}
	l := Limits{Throttles: Throttles{WriteBps: th(1 << 20)}}
	u, err := l.Update(Limits{Throttles: Throttles{WriteBps: th(3 << 20), ReadIOps: th(10)}})
	if err != nil || !reflect.DeepEqual(u.Throttles, Throttles{WriteBps: th(3 << 20), ReadIOps: th(10)}) {
		t.Errorf("Update = %+v, %v", u.Throttles, err)
	}
	r := u.Resources()
	if len(r.BlkioThrottleWriteBpsDevice) != 1 || r.BlkioThrottleWriteBpsDevice[0].String() != fmt.Sprintf("%d:%d %d", major, minor, 3<<20) {
		t.Errorf("Resources: write bps %v", r.BlkioThrottleWriteBpsDevice)
	}
}

func TestResources(t *testing.T) {
	r := Limits{Memory: 64 << 20, NanoCPUs: 5e8, PidsLimit: 10}.Resources()
	if r.Memory != 64<<20 || r.MemorySwap != 128<<20 || r.CpuQuota != 50000 || r.CpuPeriod != 100000 || r.PidsLimit == nil || *r.PidsLimit != 10 {
		t.Errorf("Resources = %+v", r)
	}
	if got := (Limits{Memory: 1, PidsLimit: 1, CpusetCpus: "0", CPUShares: 2, BlkioWeight: 10}).Controllers(); !reflect.DeepEqual(got, []string{"memory", "cpu", "cpuset", "pids", "blkio"}) {
		t.Errorf("Controllers = %v", got)
	}
	if (Limits{}).Any() || !(Limits{PidsLimit: 5}).Any() {
		t.Error("Any")
	}
}

func TestParseMounts(t *testing.T) {
	hybrid := `21 26 0:20 / /proc rw,relatime - proc proc rw
30 29 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw
31 29 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
32 29 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
33 29 0:29 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd
`
	p, err := parseMounts(strings.NewReader(hybrid))
	if err != nil || p.Unified {
		t.Fatalf("parseMounts: %+v, %v", p, err)
	}
	want := map[string]string{"memory": "/sys/fs/cgroup/memory", "cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct"}
	if !reflect.DeepEqual(p.Mounts, want) {
		t.Errorf("mounts %v, want %v", p.Mounts, want)
	}
	v2, _ := parseMounts(strings.NewReader("30 29 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"))
	if !v2.Unified {
		t.Error("a cgroup2-only host is unified")
	}
	if err := v2.Check(Limits{Memory: 64 << 20}); err == nil || !strings.Contains(err.Error(), "cgroup v2") {
		t.Errorf("Check on v2: %v", err)
	}
	p.Rootless, p.User, p.Dir, p.Base = true, "nobodyhere", "/skiff/nobodyhere", "/skiff/nobodyhere"
	if err := p.Check(Limits{Memory: 64 << 20}); err == nil || !strings.Contains(err.Error(), "skiff system cgroups delegate nobodyhere") {
		t.Errorf("Check without delegation: %v", err)
	}
	if err := p.Check(Limits{PidsLimit: 5}); err == nil || !strings.Contains(err.Error(), "pids cgroup controller is not mounted") {
		t.Errorf("Check of a missing controller: %v", err)
	}
}

func TestSplit(t *testing.T) {
	own := ParseProcCgroup("12:pids:/system.slice/web.service\n4:cpu,cpuacct:/system.slice/web.service\n1:name=systemd:/system.slice/web.service\n0::/system.slice/web.service\n")
	want := map[string]string{"pids": "/system.slice/web.service", "cpu": "/system.slice/web.service", "cpuacct": "/system.slice/web.service",
		"name=systemd": "/system.slice/web.service", "": "/system.slice/web.service"}
	if !reflect.DeepEqual(own, want) {
		t.Errorf("ParseProcCgroup = %v, want %v", own, want)
	}
	p := Place{Mounts: map[string]string{"pids": "/sys/fs/cgroup/pids", "memory": "/sys/fs/cgroup/memory"}, Dir: "/skiff"}
	if cs := p.controllers(Limits{}); len(cs) != 0 || p.dir("pids") != "/skiff" {
		t.Errorf("enabled, no limits: controllers %v, dir %s", cs, p.dir("pids"))
	}
	p.Own = map[string]string{"pids": "/a.service", "memory": "/b.service"}
	if cs := p.controllers(Limits{}); !reflect.DeepEqual(cs, []string{"pids"}) || p.dir("memory") != "/b.service" {
		t.Errorf("split, no limits: controllers %v, dir %s", cs, p.dir("memory"))
	}
	if cs := p.controllers(Limits{Memory: 64 << 20}); !reflect.DeepEqual(cs, []string{"memory"}) {
		t.Errorf("split with --memory: controllers %v", cs)
	}
}

func TestCheckModeAndParent(t *testing.T) {
	for _, c := range []struct {
		mode string
		l    Limits
		err  string
	}{
		{"", Limits{Memory: 64 << 20}, ""},
		{"enabled", Limits{}, ""},
		{"disabled", Limits{}, ""},
		{"disabled", Limits{PidsLimit: 5}, "pids limits cannot be applied"},
		{"split", Limits{}, ""},
		{"sometimes", Limits{}, "invalid --cgroups"},
	} {
		err := CheckMode(c.mode, c.l)
		if (c.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("CheckMode(%q, %+v) = %v, want %q", c.mode, c.l, err, c.err)
		}
	}
	for _, c := range []struct {
		rootless     bool
		parent, want string
		err          string
	}{
		{false, "", "/skiff", ""},
		{false, "machine.slice/x", "/machine.slice/x", ""},
		{true, "/skiff/u/web", "/skiff/u/web", ""},
		{true, "/skiff/u", "/skiff/u", ""},
		{true, "/skiff/u2", "", "within your delegated subtree"},
		{true, "/skiff/u/../../etc", "", "within your delegated subtree"},
	} {
		p := Place{Rootless: c.rootless, Dir: "/skiff", Base: "/skiff"}
		if c.rootless {
			p.Dir, p.Base = "/skiff/u", "/skiff/u"
		}
		err := p.SetParent(c.parent)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("SetParent(%q) = %v, want %q", c.parent, err, c.err)
			}
			continue
		}
		if err != nil || p.Dir != c.want {
			t.Errorf("SetParent(%q): %q, %v; want %q", c.parent, p.Dir, err, c.want)
		}
	}
}

func TestParentsAndSweep(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "memory", "skiff"), filepath.Join(root, "pids", "skiff")
	gone, live := strings.Repeat("a", 64), strings.Repeat("b", 64)
	for _, d := range []string{a, b} {
		for _, id := range []string{gone, live, "notacontainer"} {
			if err := os.MkdirAll(filepath.Join(d, id), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := &Cgroup{Paths: map[string]string{"pids": filepath.Join(b, live), "memory": filepath.Join(a, live)}}
	if got := c.Parents(); !reflect.DeepEqual(got, []string{a, b}) {
		t.Errorf("Parents = %v, want %v", got, []string{a, b})
	}
	Sweep(c.Parents(), func(id string) bool { return id == live })
	for _, d := range []string{a, b} {
		if _, err := os.Stat(filepath.Join(d, gone)); err == nil {
			t.Errorf("the cgroup of a container that is gone is left in %s", d)
		}
		for _, id := range []string{live, "notacontainer"} {
			if _, err := os.Stat(filepath.Join(d, id)); err != nil {
				t.Errorf("%s in %s was swept: %v", id, d, err)
			}
		}
	}
}

func TestReport(t *testing.T) {
	dir := t.TempDir()
	mem := filepath.Join(dir, "memory")
	if err := os.MkdirAll(filepath.Join(mem, "skiff", "u"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := Place{Mounts: map[string]string{"memory": mem}, Base: "/skiff/u", Rootless: true, User: "u"}
	got := map[string]Status{}
	for _, s := range p.Report() {
		got[s.Controller] = s
	}
	if s := got["memory"]; !s.Usable || s.Where != filepath.Join(mem, "skiff/u") {
		t.Errorf("a delegated controller: %+v", s)
	}
	if s := got["pids"]; s.Usable || !strings.Contains(s.Why, "not mounted") {
		t.Errorf("a controller that is not mounted: %+v", s)
	}
	p.Base = "/skiff/other"
	for _, s := range p.Report() {
		if s.Controller == "memory" && (s.Usable || !strings.Contains(s.Why, "skiff system cgroups delegate u")) {
			t.Errorf("a controller not delegated: %+v", s)
		}
	}
	p.Unified = true
	if s := p.Report()[0]; s.Usable || !strings.Contains(s.Why, "v2") {
		t.Errorf("cgroup v2: %+v", s)
	}
}
