package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLimits is run's resource limits on this host's cgroup v1: rootless on a subtree that
// `skiff system cgroups delegate` hands over (and the clear error before that), and as root.
func TestLimits(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("delegating a cgroup subtree needs root")
	}
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		dir := "/skiff" // where the containers' cgroups are, under each controller
		if !m.root {
			dir += "/" + m.user
			// without delegation: one line naming the controller and the fix; runs without
			// limits go on working
			undelegate(t, m)
			infoFormat := "{{range .Host.CgroupControllers}}{{.Controller}}={{.Usable}} {{end}}"
			if r := m.skiff("info", "--format", infoFormat); !strings.Contains(r.stdout, "memory=false") {
				t.Errorf("info without delegation: %v", r)
			}
			if r := m.skiff("info"); !strings.Contains(r.stdout, "memory: no limits") || !strings.Contains(r.stdout, "skiff system cgroups delegate "+m.user) {
				t.Errorf("info's cgroup report without delegation: %v", r)
			}
			r := m.skiff("run", "--rm", "--memory", "32m", "bbtest", "true")
			if checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "memory") || !strings.Contains(r.stderr, "skiff system cgroups delegate "+m.user) {
				t.Errorf("--memory without delegation: %v", r)
			}
			if r := m.skiff("run", "--rm", "bbtest", "echo", "ok"); norm(r.stdout) != "ok" {
				t.Errorf("a run without limits, without delegation: %v", r)
			}
			if r := m.skiff("system", "cgroups", "delegate", m.user); checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "as root") {
				t.Errorf("delegate by the user themself: %v", r)
			}
			delegate(t, m)
			if r := m.skiff("info", "--format", infoFormat); norm(r.stdout) != "memory=true cpu=true cpuset=true pids=true blkio=true freezer=true" {
				t.Errorf("info after delegation: %v", r)
			}
		}

		// memory: over the limit the kernel kills (137, OOMKilled); under it the run succeeds
		dd := []string{"dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"}
		if r := m.skiff(append([]string{"run", "--rm", "--memory", "32m", "bbtest"}, dd...)...); r.code != 137 {
			t.Errorf("64 MiB under --memory 32m: want 137, got %v", r)
		}
		if r := m.skiff(append([]string{"run", "--rm", "-m", "128m", "bbtest"}, dd...)...); r.code != 0 {
			t.Errorf("64 MiB under --memory 128m: %v", r)
		}
		m.skiff("rm", "-f", "tlimoom", "tlimoomd", "tlim")
		m.skiff(append([]string{"run", "--name", "tlimoom", "--memory", "32m", "bbtest"}, dd...)...)
		if r := m.skiff("inspect", "--format", "{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}}", "tlimoom"); norm(r.stdout) != "true 137 33554432" {
			t.Errorf("inspect after an OOM kill: %v", r)
		}
		m.skiff("rm", "-f", "tlimoom")
		// a detached container's keeper records the OOM kill too
		m.mustSkiff(t, append([]string{"run", "-d", "--name", "tlimoomd", "--memory", "32m", "bbtest"}, dd...)...)
		if r := m.skiff("wait", "tlimoomd"); norm(r.stdout) != "137" {
			t.Errorf("wait for a detached container killed for memory: %v", r)
		}
		if r := m.skiff("inspect", "--format", "{{.State.OOMKilled}}", "tlimoomd"); norm(r.stdout) != "true" {
			t.Errorf("inspect after an OOM kill of a detached container: %v", r)
		}
		m.skiff("rm", "-f", "tlimoomd")

		// pids: the 11th process cannot fork
		if r := m.skiff("run", "--rm", "--pids-limit", "10", "bbtest", "sh", "-c", "for i in $(seq 20); do sleep 2 & done; wait"); !strings.Contains(r.stderr, "fork") {
			t.Errorf("20 processes under --pids-limit 10: %v", r)
		}

		// the limits in the container's cgroup files; exec joins the cgroup
		dev, devNum := blockDevice(t)
		args := []string{"run", "-d", "--name", "tlim", "--memory", "64m", "--memory-reservation", "32m", "--cpus", "0.5", "--cpu-shares", "512",
			"--cpuset-cpus", "0", "--pids-limit", "50", "--device-write-bps", dev + ":1mb", "--device-read-iops", dev + ":100"}
		// --blkio-weight is the bfq scheduler's weight: a kernel without bfq (some VMs' kernels
		// have no modules) gets a one-line error that says so, and nothing is left
		_, err := os.Stat("/sys/fs/cgroup/blkio/blkio.bfq.weight")
		bfq := err == nil
		if !bfq {
			r := m.skiff(append(args, "--blkio-weight", "300", "bbtest", "sleep", "60")...)
			if checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "bfq") {
				t.Errorf("--blkio-weight without bfq: want a one-line error naming bfq, got %v", r)
			}
			if r := m.skiff("ps", "-a", "--format", "{{.Names}}"); strings.Contains(r.stdout, "tlim") {
				t.Errorf("a refused --blkio-weight left a container: %v", r)
			}
		} else {
			args = append(args, "--blkio-weight", "300")
		}
		m.mustSkiff(t, append(args, "bbtest", "sleep", "60")...)
		pid := strings.TrimSpace(m.skiff("inspect", "--format", "{{.State.Pid}}", "tlim").stdout)
		cg, _ := os.ReadFile("/proc/" + pid + "/cgroup")
		id := regexp.MustCompile(`memory:` + regexp.QuoteMeta(dir) + `/([0-9a-f]{64})`).FindStringSubmatch(string(cg))
		if id == nil {
			t.Fatalf("the container's memory cgroup is not under %s: %s", dir, cg)
		}
		for _, f := range []struct{ ctl, file, want string }{
			{"memory", "memory.limit_in_bytes", "67108864"},
			{"memory", "memory.soft_limit_in_bytes", "33554432"},
			{"cpu", "cpu.cfs_quota_us", "50000"},
			{"cpu", "cpu.cfs_period_us", "100000"},
			{"cpu", "cpu.shares", "512"},
			{"cpuset", "cpuset.cpus", "0"},
			{"pids", "pids.max", "50"},
			{"blkio", "blkio.throttle.write_bps_device", devNum + " 1048576"},
			{"blkio", "blkio.throttle.read_iops_device", devNum + " 100"},
			{"blkio", "blkio.bfq.weight", "300"},
		} {
			if f.file == "blkio.bfq.weight" && !bfq {
				continue // refused above
			}
			b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", f.ctl, dir, id[1], f.file))
			if strings.TrimSpace(string(b)) != f.want {
				t.Errorf("%s of the container: %q, %v; want %s", f.file, b, err, f.want)
			}
		}
		if r := m.skiff("exec", "tlim", "cat", "/proc/self/cgroup"); !strings.Contains(r.stdout, "pids:/\n") {
			t.Errorf("exec's process should be in the container's cgroup (the root of its namespace): %v", r)
		}
		if r := m.skiff("inspect", "--format", "{{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.CpusetCpus}} {{range .HostConfig.BlkioDeviceWriteBps}}{{.Path}}:{{.Rate}}{{end}}", "tlim"); norm(r.stdout) != "500000000 50 0 "+dev+":1048576" {
			t.Errorf("inspect's HostConfig limits: %v", r)
		}
		// update: live, and in the record
		m.mustSkiff(t, "update", "--memory", "96m", "--pids-limit", "20", "--cpus", "1", "--device-write-bps", dev+":2mb", "tlim")
		for _, f := range []struct{ ctl, file, want string }{
			{"memory", "memory.limit_in_bytes", "100663296"},
			{"blkio", "blkio.throttle.write_bps_device", devNum + " 2097152"},
			{"cpu", "cpu.cfs_quota_us", "100000"},
			{"pids", "pids.max", "20"},
		} {
			b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", f.ctl, dir, id[1], f.file))
			if strings.TrimSpace(string(b)) != f.want {
				t.Errorf("after update, %s: %q, %v; want %s", f.file, b, err, f.want)
			}
		}
		if r := m.skiff("inspect", "--format", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}", "tlim"); norm(r.stdout) != "100663296 1000000000 20" {
			t.Errorf("inspect after update: %v", r)
		}
		if r := m.skiff("update", "tlim"); checkOneLineError(r, 125) != "" {
			t.Errorf("update without a limit: %v", r)
		}
		if r := m.skiff("update", "--memory-swap", "32m", "tlim"); checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "--memory-swap") {
			t.Errorf("update to a swap limit below memory: %v", r)
		}
		m.mustSkiff(t, "rm", "-f", "tlim")
		for _, c := range []string{"memory", "cpu", "pids", "cpuset", "blkio"} {
			if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", c, dir, id[1])); err == nil {
				t.Errorf("the %s cgroup is left after rm -f", c)
			}
		}

		// update with a limit of a controller the cgroup lacks: made, the processes moved in
		m.skiff("rm", "-f", "tlimadd")
		m.mustSkiff(t, "run", "-d", "--name", "tlimadd", "--memory", "64m", "bbtest", "sleep", "60")
		m.mustSkiff(t, "update", "--pids-limit", "5", "tlimadd")
		if r := m.skiff("exec", "tlimadd", "sh", "-c", "for i in 1 2 3 4 5 6; do sleep 3 & done; wait"); !strings.Contains(r.stderr, "fork") {
			t.Errorf("update --pids-limit 5 on a container without a pids cgroup: %v", r)
		}
		m.skiff("rm", "-f", "tlimadd")

		// a running container without limits has no cgroup to update
		m.skiff("rm", "-f", "tnolim")
		m.mustSkiff(t, "run", "-d", "--name", "tnolim", "bbtest", "sleep", "60")
		if r := m.skiff("update", "--memory", "64m", "tnolim"); checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "without limits") {
			t.Errorf("update of a container running without limits: %v", r)
		}
		m.skiff("rm", "-f", "tnolim")

		// kill -9 of skiff: the next skiff command sweeps the container and its cgroup
		s := m.start(t, "run", "--rm", "--name", "tlimk", "--memory", "64m", "bbtest", "sleep", "30")
		var kid string
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && kid == ""; time.Sleep(20 * time.Millisecond) {
			ents, _ := os.ReadDir("/sys/fs/cgroup/memory" + dir)
			for _, e := range ents {
				if len(e.Name()) == 64 {
					kid = e.Name()
				}
			}
		}
		if kid == "" {
			t.Fatal("the container's memory cgroup did not appear")
		}
		syscall.Kill(s.cmd.Process.Pid, syscall.SIGKILL)
		s.wait(t, 10*time.Second)
		gone := func() bool {
			_, err := os.Stat(filepath.Join("/sys/fs/cgroup/memory", dir, kid))
			return err != nil
		}
		waitFor(5*time.Second, func() bool { m.skiff("run", "--rm", "bbtest", "true"); return gone() })
		if !gone() {
			t.Errorf("the cgroup of a container whose skiff was killed was not swept")
		}

		// --cgroups disabled takes no limits; --cgroup-parent puts the cgroup elsewhere
		if r := m.skiff("run", "--rm", "--cgroups", "disabled", "--memory", "64m", "bbtest", "true"); checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "--cgroups disabled") {
			t.Errorf("--cgroups disabled with --memory: %v", r)
		}
		if r := m.skiff("run", "--rm", "--cgroups", "disabled", "bbtest", "echo", "ok"); norm(r.stdout) != "ok" {
			t.Errorf("--cgroups disabled: %v", r)
		}
		parent := dir + "/tparent"
		if r := m.skiff("run", "--rm", "--cgroup-parent", parent, "--pids-limit", "30", "bbtest", "sh", "-c", "cat /proc/1/cgroup >/dev/null; echo ok"); norm(r.stdout) != "ok" {
			t.Errorf("--cgroup-parent %s: %v", parent, r)
		}
		if _, err := os.Stat("/sys/fs/cgroup/pids" + parent); err != nil {
			t.Errorf("--cgroup-parent %s was not used: %v", parent, err)
		}
		os.Remove("/sys/fs/cgroup/pids" + parent)
		if !m.root {
			if r := m.skiff("run", "--rm", "--cgroup-parent", "/elsewhere", "--pids-limit", "30", "bbtest", "true"); checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "delegated subtree") {
				t.Errorf("rootless --cgroup-parent outside the delegated subtree: %v", r)
			}
		}

		// --cgroups split: the container's cgroup below skiff's own, as under a systemd unit with
		// Delegate=yes (made here by hand: a cgroup of the user's, skiff started in it)
		unit := "/tsplit-" + m.name
		for _, c := range []string{"pids", "memory"} {
			d := filepath.Join("/sys/fs/cgroup", c, unit)
			if err := os.Mkdir(d, 0o755); err != nil && !os.IsExist(err) {
				t.Fatal(err)
			}
			defer os.Remove(d)
			if !m.root {
				for _, f := range []string{"", "cgroup.procs", "tasks"} {
					os.Chown(filepath.Join(d, f), m.uid, m.gid)
				}
			}
		}
		inUnit := func(args ...string) result {
			enter := `for c in pids memory; do echo $$ > /sys/fs/cgroup/$c` + unit + `/cgroup.procs || exit 99; done; exec "$@"`
			return execArgv(append([]string{"sh", "-c", enter, "sh"}, m.argv(append([]string{skiffBin}, args...)...)...), opts{})
		}
		if r := inUnit("run", "--rm", "--cgroups", "split", "--memory", "64m", "bbtest", "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null; grep -c -E ':(memory|pids):/$' /proc/self/cgroup"); norm(r.stdout) != "2" {
			t.Errorf("--cgroups split --memory 64m in a unit's cgroup: %v", r)
		}
		r := inUnit("run", "-d", "--name", "tsplit", "--cgroups", "split", "--memory", "64m", "bbtest", "sleep", "60")
		if r.code != 0 {
			t.Fatalf("run -d --cgroups split: %v", r)
		}
		sid := strings.TrimSpace(r.stdout)
		for _, f := range []struct{ ctl, file, want string }{
			{"memory", "memory.limit_in_bytes", "67108864"},
			{"pids", "pids.current", ""}, // split without a pids limit: no pids cgroup
		} {
			b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", f.ctl, unit, sid, f.file))
			if strings.TrimSpace(string(b)) != f.want {
				t.Errorf("--cgroups split: %s/%s: %q, %v; want %q", f.ctl, f.file, b, err, f.want)
			}
		}
		m.mustSkiff(t, "rm", "-f", "tsplit")
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/memory", unit, sid)); err == nil {
			t.Errorf("rm -f left the split cgroup")
		}
		// without limits, split gives the container a pids cgroup of its own below skiff's
		r = inUnit("run", "-d", "--name", "tsplit", "--cgroups", "split", "bbtest", "sleep", "60")
		sid = strings.TrimSpace(r.stdout)
		if b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/pids", unit, sid, "pids.current")); err != nil || strings.TrimSpace(string(b)) != "2" {
			t.Errorf("--cgroups split without limits: pids.current %q, %v (%v)", b, err, r)
		}
		m.skiff("rm", "-f", "tsplit")
		// under a systemd unit (INVOCATION_ID) in a cgroup of the user's, split is the default
		enter := `for c in pids memory; do echo $$ > /sys/fs/cgroup/$c` + unit + `/cgroup.procs || exit 99; done; exec "$@"`
		r = execArgv(append([]string{"sh", "-c", enter, "sh"}, m.argv("env", "INVOCATION_ID=0123", skiffBin, "run", "-d", "--name", "tsplit", "bbtest", "sleep", "60")...), opts{})
		sid = strings.TrimSpace(r.stdout)
		if b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/pids", unit, sid, "pids.current")); err != nil || strings.TrimSpace(string(b)) != "2" {
			t.Errorf("under a unit, --cgroups split by default: pids.current %q, %v (%v)", b, err, r)
		}
		m.skiff("rm", "-f", "tsplit")
		if !m.root {
			// a unit whose cgroup is not the user's: enabled, as without a unit
			r = execArgv(m.argv("env", "INVOCATION_ID=0123", skiffBin, "run", "--rm", "bbtest", "echo", "ok"), opts{})
			if norm(r.stdout) != "ok" {
				t.Errorf("under a unit without delegation: %v", r)
			}
		}
		if !m.root {
			// outside a cgroup of the user's: one line naming the fix
			if r := m.skiff("run", "--rm", "--cgroups", "split", "bbtest", "true"); checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "Delegate=yes") {
				t.Errorf("--cgroups split outside a delegated cgroup: %v", r)
			}
		}
		if r := m.skiff("run", "--rm", "--cgroups", "split", "--cgroup-parent", dir+"/x", "bbtest", "true"); checkOneLineError(r, 125) != "" {
			t.Errorf("--cgroups split with --cgroup-parent: %v", r)
		}

		// bad values: one line, 125
		for _, args := range [][]string{{"--memory", "lots"}, {"--memory", "1m"}, {"--cpus", "0"}, {"--pids-limit", "0"}, {"--cpuset-cpus", "x"}, {"--cgroups", "sometimes"},
			{"--device-write-bps", "/dev/null:1mb"}, {"--device-read-bps", dev}, {"--device-read-iops", dev + ":lots"}} {
			if r := m.skiff(append(append([]string{"run", "--rm"}, args...), "bbtest", "true")...); checkOneLineError(r, 125) != "" {
				t.Errorf("run %s: %v", strings.Join(args, " "), r)
			}
		}
	})
}

// blockDevice is a block device of this host for the throttle flags (one with a medium: the
// kernel refuses a throttle on an unbound loop device): its path and its MAJOR:MINOR.
func blockDevice(t *testing.T) (string, string) {
	ents, _ := os.ReadDir("/sys/block")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/sys/block", e.Name(), "dev"))
		size, _ := os.ReadFile(filepath.Join("/sys/block", e.Name(), "size"))
		if _, serr := os.Stat("/dev/" + e.Name()); err == nil && serr == nil && strings.TrimSpace(string(size)) != "0" {
			return "/dev/" + e.Name(), strings.TrimSpace(string(b))
		}
	}
	t.Fatal("this host has no block device to throttle")
	return "", ""
}

// undelegate takes the test user's delegated cgroup subtrees back (as root).
func undelegate(t *testing.T, m *mode) {
	dir := "/skiff/" + m.user
	for _, c := range []string{"memory", "pids", "cpu", "cpuacct", "cpuset", "blkio", "freezer"} {
		os.Remove(filepath.Join("/sys/fs/cgroup", c, dir)) // fails while a container's cgroup is in it
	}
	for _, c := range []string{"memory", "freezer"} {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", c, dir)); err == nil {
			t.Fatalf("could not take the %s delegation of %s back for the test", c, m.user)
		}
	}
}

// delegate hands the test user their cgroup subtrees, as an administrator does once.
func delegate(t *testing.T, m *mode) {
	r := execArgv([]string{skiffBin, "system", "cgroups", "delegate", m.user}, opts{})
	if r.code != 0 || !strings.Contains(r.stdout, "/sys/fs/cgroup/memory/skiff/"+m.user) {
		t.Fatalf("skiff system cgroups delegate %s: %v", m.user, r)
	}
}
