package integration

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCreate is docker's create then start: the container is made, not run, until start.
func TestCreate(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		m.skiff("rm", "-f", "tcreate", "tcreate2")
		r := m.mustSkiff(t, "create", "--name", "tcreate", "-e", "GREETING=hi", "--label", "k=v", "bbtest", "sh", "-c", "echo $GREETING; exit 3")
		id := strings.TrimSpace(r.stdout)
		if len(id) != 64 {
			t.Fatalf("create should print the container's ID: %v", r)
		}
		if r := m.skiff("ps", "-a", "--filter", "name=tcreate", "--format", "{{.Status}} {{.Names}}"); norm(r.stdout) != "Created tcreate" {
			t.Errorf("ps -a after create: %v", r)
		}
		if r := m.skiff("ps", "-a", "--filter", "status=created", "--format", "{{.Names}}"); !strings.Contains(r.stdout, "tcreate") {
			t.Errorf("ps --filter status=created: %v", r)
		}
		if r := m.skiff("inspect", "--format", "{{.State.Status}} {{.State.Running}} {{index .Config.Labels \"k\"}}", "tcreate"); norm(r.stdout) != "created false v" {
			t.Errorf("inspect after create: %v", r)
		}
		// another command's sweep leaves a created container alone
		m.skiff("run", "--rm", "bbtest", "true")
		if r := m.skiff("inspect", "--format", "{{.State.Status}}", "tcreate"); norm(r.stdout) != "created" {
			t.Errorf("a created container after another command's sweep: %v", r)
		}
		if r := m.skiff("start", "-a", "tcreate"); r.code != 3 || norm(r.stdout) != "hi" {
			t.Errorf("start -a of a created container: %v", r)
		}
		if r := m.skiff("create", "--name", "tcreate", "bbtest", "true"); checkOneLineError(r, 125) != "" {
			t.Errorf("create with a name in use: %v", r)
		}
		m.mustSkiff(t, "rm", "tcreate")

		// start in the background (docker's default for a created container), logs, rm
		m.mustSkiff(t, "create", "--name", "tcreate2", "bbtest", "echo", "from the log")
		m.mustSkiff(t, "start", "tcreate2")
		if r := m.skiff("wait", "tcreate2"); norm(r.stdout) != "0" {
			t.Errorf("wait for a started container: %v", r)
		}
		if r := m.skiff("logs", "tcreate2"); norm(r.stdout) != "from the log" {
			t.Errorf("logs of a created and started container: %v", r)
		}
		m.mustSkiff(t, "rm", "tcreate2")

		// what run refuses, create refuses before anything is made
		before := m.skiff("ps", "-a", "-q").stdout
		for _, args := range [][]string{
			{"-d", "bbtest"},
			{"--memory", "lots", "bbtest"},
			{"--network", "nosuch:x", "bbtest"},
			{"-p", "notaport", "bbtest"},
			{"--restart", "sometimes", "bbtest"},
			{"--ulimit", "nofile", "bbtest"},
			{"--device", "/dev/nonexistent", "bbtest"},
			{"--name", "bad/name", "bbtest"},
			{"-u", "nosuchuser", "bbtest"},
			{"nosuchimage:latest"},
			{},
		} {
			r := m.skiff(append([]string{"create", "--pull", "never"}, args...)...)
			if checkOneLineError(r, 125) != "" {
				t.Errorf("create %s: %v", strings.Join(args, " "), r)
			}
		}
		if after := m.skiff("ps", "-a", "-q").stdout; after != before {
			t.Errorf("failed creates left containers: before\n%s\nafter\n%s", before, after)
		}
	})
}

// TestDevices is --device (a host's device node bound into the container) and --oom-score-adj.
func TestDevices(t *testing.T) {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Fatalf("the test needs /dev/fuse on the host: %v", err)
	}
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		if r := m.skiff("run", "--rm", "--device", "/dev/fuse", "bbtest", "sh", "-c", "test -c /dev/fuse && stat -c %t:%T /dev/fuse"); norm(r.stdout) != "a:e5" {
			t.Errorf("--device /dev/fuse: %v", r)
		}
		if r := m.skiff("run", "--rm", "bbtest", "test", "-e", "/dev/fuse"); r.code != 1 {
			t.Errorf("without --device, /dev/fuse is there: %v", r)
		}
		if r := m.skiff("run", "--rm", "--device", "/dev/fuse:/dev/other/fuse:rw", "bbtest", "test", "-c", "/dev/other/fuse"); r.code != 0 {
			t.Errorf("--device HOST:CTR:PERMS: %v", r)
		}
		// a directory brings its device nodes
		if r := m.skiff("run", "--rm", "--device", "/dev/net", "bbtest", "test", "-c", "/dev/net/tun"); r.code != 0 {
			t.Errorf("--device /dev/net: %v", r)
		}
		// /dev/null through --device is usable: write to it and read from it
		if r := m.skiff("run", "--rm", "--device", "/dev/null:/dev/mynull", "bbtest", "sh", "-c", "echo x >/dev/mynull && cat /dev/mynull && echo ok"); norm(r.stdout) != "ok" {
			t.Errorf("a bound device node in use: %v", r)
		}
		m.skiff("rm", "-f", "tdev")
		m.mustSkiff(t, "create", "--name", "tdev", "--device", "/dev/fuse:/dev/f:r", "--oom-score-adj", "300", "bbtest", "true")
		if r := m.skiff("inspect", "--format", "{{range .HostConfig.Devices}}{{.PathOnHost}} {{.PathInContainer}} {{.CgroupPermissions}}{{end}} {{.HostConfig.OomScoreAdj}}", "tdev"); norm(r.stdout) != "/dev/fuse /dev/f r 300" {
			t.Errorf("inspect's Devices and OomScoreAdj: %v", r)
		}
		m.skiff("rm", "-f", "tdev")
		for _, d := range []string{"/dev/nonexistent", "/etc/passwd", "dev/fuse", "/dev/fuse:/dev/f:rwx", "/dev/fuse:/dev/f:r:x", "/dev/fuse:/"} {
			if r := m.skiff("run", "--rm", "--device", d, "bbtest", "true"); checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "--device") {
				t.Errorf("--device %s: %v", d, r)
			}
		}

		// --oom-score-adj: the command's score; lowering it below the caller's is refused
		if r := m.skiff("run", "--rm", "--oom-score-adj", "500", "bbtest", "cat", "/proc/self/oom_score_adj"); norm(r.stdout) != "500" {
			t.Errorf("--oom-score-adj 500: %v", r)
		}
		if m.root && hasSysResource() {
			if r := m.skiff("run", "--rm", "--oom-score-adj", "-500", "bbtest", "cat", "/proc/self/oom_score_adj"); norm(r.stdout) != "-500" {
				t.Errorf("--oom-score-adj -500 with CAP_SYS_RESOURCE: %v", r)
			}
		} else if r := m.skiff("run", "--rm", "--oom-score-adj", "-500", "bbtest", "true"); checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "CAP_SYS_RESOURCE") {
			t.Errorf("--oom-score-adj -500 without CAP_SYS_RESOURCE: %v", r)
		}
		for _, v := range []string{"1001", "x"} {
			if r := m.skiff("run", "--rm", "--oom-score-adj", v, "bbtest", "true"); checkOneLineError(r, 125) != "" {
				t.Errorf("--oom-score-adj %s: %v", v, r)
			}
		}
	})
}

// hasSysResource says whether this process has CAP_SYS_RESOURCE (root on this test machine
// has not).
func hasSysResource() bool {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && n&(1<<unix.CAP_SYS_RESOURCE) != 0
		}
	}
	return false
}
