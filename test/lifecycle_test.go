package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var containerID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// runDetached starts a detached container and returns its ID; run -d must return at once, with
// nothing of the container holding skiff's stdout (the helper reads it to its end).
func runDetached(t *testing.T, m *mode, args ...string) string {
	t.Helper()
	start := time.Now()
	r := m.skiff(append([]string{"run", "-d"}, args...)...)
	id := norm(r.stdout)
	if r.code != 0 || !containerID.MatchString(id) {
		t.Fatalf("run -d: want a container ID: %v", r)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("run -d took %v: something of the container holds skiff's output", d)
	}
	return id
}

func TestDetachedLifecycle(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		name := "life-" + m.name
		m.skiff("rm", "-f", name)
		script := `echo out1; echo err1 >&2; trap "echo bye; exit 7" TERM; while :; do sleep 0.1; done`
		id := runDetached(t, m, "--name", name, "bbtest", "sh", "-c", script)

		// another invocation sees it running, by name, ID or ID prefix
		for _, ref := range []string{name, id, id[:12]} {
			ps := m.skiff("ps", "--format", "{{.ID}} {{.Names}} {{.State}}")
			if !strings.Contains(ps.stdout, id[:12]+" "+name+" running") {
				t.Fatalf("ps does not show %s running: %v", ref, ps)
			}
		}
		if !waitFor(10*time.Second, func() bool { return strings.Contains(m.skiff("logs", name).stdout, "out1") }) {
			t.Fatalf("logs never showed the output: %v", m.skiff("logs", name))
		}
		logs := m.skiff("logs", name)
		if logs.code != 0 || norm(logs.stdout) != "out1" || norm(logs.stderr) != "err1" {
			t.Errorf("logs: want out1 on stdout and err1 on stderr: %v", logs)
		}
		// the last line of both streams: err1, on stderr
		if r := m.skiff("logs", "-t", "--tail", "1", name); r.code != 0 || r.stdout != "" || !regexp.MustCompile(`^20\d\d-\d\d-\d\dT\S+ err1\n$`).MatchString(r.stderr) {
			t.Errorf("logs -t --tail 1: %v", r)
		}

		// stop: the stop signal reaches the command's trap, which sets the exit code
		if r := m.skiff("stop", "-t", "20", name); r.code != 0 || norm(r.stdout) != name {
			t.Fatalf("stop: %v", r)
		}
		if r := m.skiff("wait", name); r.code != 0 || norm(r.stdout) != "7" {
			t.Errorf("wait after stop: want 7: %v", r)
		}
		ps := m.skiff("ps", "-a", "--format", "{{.Names}} {{.State}} {{.ExitCode}}")
		if !strings.Contains(ps.stdout, name+" exited 7") {
			t.Errorf("ps -a after stop: want %q: %v", name+" exited 7", ps)
		}
		if r := m.skiff("logs", name); !strings.Contains(r.stdout, "bye") {
			t.Errorf("logs after stop: want the trap's output: %v", r)
		}
		if r := m.skiff("kill", name); checkOneLineError(r) != "" || !strings.Contains(r.stderr, "not running") {
			t.Errorf("kill of a stopped container: %v", r)
		}
		if r := m.skiff("rm", name); r.code != 0 {
			t.Errorf("rm: %v", r)
		}
	})
}

func TestDetachedRmForceAndKill(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		dur := "2001"
		if m.root {
			dur = "2002"
		}
		id := runDetached(t, m, "bbtest", "sleep", dur)
		if !waitFor(10*time.Second, func() bool { return len(procsMatching("sleep", dur)) == 1 }) {
			t.Fatalf("sleep %s is not running", dur)
		}
		if r := m.skiff("rm", "-f", id); r.code != 0 || norm(r.stdout) != id {
			t.Errorf("rm -f: %v", r)
		}
		if pids := procsMatching("sleep", dur); len(pids) != 0 {
			t.Errorf("sleep %s still runs after rm -f: %v", dur, pids)
		}
		if r := m.skiff("ps", "-a", "--no-trunc", "-q"); strings.Contains(r.stdout, id) {
			t.Errorf("rm -f left the container: %v", r)
		}

		// kill -s: the signal reaches the command
		id = runDetached(t, m, "bbtest", "sh", "-c", `trap "echo usr1; exit 5" USR1; echo ready; while :; do sleep 0.1; done`)
		if !waitFor(10*time.Second, func() bool { return strings.Contains(m.skiff("logs", id).stdout, "ready") }) {
			t.Fatalf("never ready: %v", m.skiff("logs", id))
		}
		if r := m.skiff("kill", "-s", "USR1", id[:12]); r.code != 0 {
			t.Fatalf("kill -s USR1: %v", r)
		}
		if r := m.skiff("wait", id); norm(r.stdout) != "5" {
			t.Errorf("wait after kill -s USR1: want 5: %v", r)
		}
		m.skiff("rm", id)
	})
}

// A keeper killed with SIGKILL leaves a container that later commands show as exited (137),
// never as a phantom running one.
func TestDetachedKeeperKilled(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		id := runDetached(t, m, "bbtest", "sleep", "1000")
		r := m.skiff("kill", id)
		if r.code != 0 {
			t.Fatalf("kill: %v", r)
		}
		if r := m.skiff("wait", id); norm(r.stdout) != "137" {
			t.Errorf("wait after SIGKILL: want 137: %v", r)
		}
		ps := m.skiff("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.State}} {{.ExitCode}}")
		if !strings.Contains(ps.stdout, id+" exited 137") {
			t.Errorf("ps -a: want %s exited 137: %v", id, ps)
		}
		m.skiff("rm", id)
	})
}

func TestDetachedAutoRemove(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		id := runDetached(t, m, "--rm", "bbtest", "sh", "-c", "exit 4")
		if !waitFor(10*time.Second, func() bool { return !strings.Contains(m.skiff("ps", "-a", "--no-trunc", "-q").stdout, id) }) {
			t.Errorf("run -d --rm: the container is still listed after it exited")
		}
	})
}

func TestDetachedLogDrivers(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		id := runDetached(t, m, "--log-driver", "json-file", "bbtest", "sh", "-c", `echo 'a"b'; printf 'no newline'`)
		m.skiff("wait", id)
		if r := m.skiff("logs", id); r.code != 0 || r.stdout != "a\"b\nno newline" {
			t.Errorf("json-file logs: %v", r)
		}
		m.skiff("rm", id)

		id = runDetached(t, m, "--log-driver", "none", "bbtest", "echo", "x")
		m.skiff("wait", id)
		if r := m.skiff("logs", id); checkOneLineError(r) != "" || !strings.Contains(r.stderr, "--log-driver none") {
			t.Errorf("logs of a none-logged container: %v", r)
		}
		m.skiff("rm", id)

		// a foreground container has no log to show
		name := "fg-" + m.name
		m.skiff("rm", "-f", name)
		m.skiff("run", "--name", name, "bbtest", "true")
		if r := m.skiff("logs", name); checkOneLineError(r) != "" || !strings.Contains(r.stderr, "foreground") {
			t.Errorf("logs of a foreground container: %v", r)
		}
		m.skiff("rm", name)
	})
}

func TestDetachedBadInputs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown log driver", []string{"run", "-d", "--log-driver", "syslogx", "bbtest", "true"}, "--log-driver"},
		{"bad tail", []string{"logs", "--tail", "many", "x"}, "--tail"},
		{"tail with a suffix", []string{"logs", "--tail", "5x", "x"}, "--tail"},
		{"bad since", []string{"logs", "--since", "yesterday", "x"}, "--since"},
		{"bad signal", []string{"kill", "-s", "SIGNOPE", "x"}, "invalid signal"},
		{"missing container", []string{"stop", "no-such-container"}, "no-such-container"},
		{"wait without container", []string{"wait"}, "needs"},
	}
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := m.skiff(tt.args...)
				if p := checkOneLineError(r); p != "" || !strings.Contains(r.stderr, tt.want) {
					t.Errorf("%s (want %q in the error): %v", p, tt.want, r)
				}
			})
		}
	})
}

// The keeper of a detached container stays small: docker's shim budget, 1 MiB of RSS.
func TestDetachedKeeperRSS(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		id := runDetached(t, m, "bbtest", "sleep", "1000")
		defer m.skiff("rm", "-f", id)
		// the running file holds the keeper's pid
		b, err := os.ReadFile(filepath.Join(m.storeDir(), "skiff-containers", id, "running"))
		first, _, _ := strings.Cut(string(b), "\n")
		pid, _ := strconv.Atoi(first)
		if err != nil || pid <= 0 {
			t.Fatalf("no keeper pid for %s: %q %v", id, b, err)
		}
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		var kb int
		for _, l := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				kb, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			}
		}
		if kb <= 0 || kb > 1024 {
			t.Errorf("keeper %d: VmRSS %d kB, want at most 1024 kB", pid, kb)
		}
		t.Logf("keeper RSS: %d kB", kb)
	})
}

func TestExec(t *testing.T) {
	tests := []struct {
		name string
		args []string // after "exec"; CTR is replaced by the container's name
		in   string
		code int
		out  string
	}{
		{"sees the container's processes", []string{"CTR", "sh", "-c", "ps -o comm | grep -c '^sleep'"}, "", 0, "1"},
		{"container's environment and -e", []string{"-e", "B=2", "CTR", "sh", "-c", "echo $A$B"}, "", 0, "12"},
		{"container's user and directory", []string{"CTR", "sh", "-c", "id -u; pwd"}, "", 0, "0\n/"},
		{"-u and -w", []string{"-u", "1000:1000", "-w", "/tmp", "CTR", "sh", "-c", "id -u; id -g; pwd"}, "", 0, "1000\n1000\n/tmp"},
		{"same capabilities and seccomp", []string{"CTR", "grep", "-E", "^(CapEff|CapBnd|Seccomp):", "/proc/self/status"}, "", 0, "SAME"},
		{"caller's timer slack", []string{"CTR", "cat", "/proc/self/timerslack_ns"}, "", 0, "SLACK"},
		{"exit code", []string{"CTR", "sh", "-c", "exit 42"}, "", 42, ""},
		{"command not found", []string{"CTR", "nonexistent"}, "", 127, ""},
		{"stdin with -i", []string{"-i", "CTR", "cat"}, "piped\n", 0, "piped"},
	}
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		name := "exec-" + m.name
		m.skiff("rm", "-f", name)
		runDetached(t, m, "--name", name, "-e", "A=1", "bbtest", "sleep", "1000")
		defer m.skiff("rm", "-f", name)
		same := m.skiff("run", "--rm", "bbtest", "grep", "-E", "^(CapEff|CapBnd|Seccomp):", "/proc/self/status")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				args := append([]string{"exec"}, tt.args...)
				for i, a := range args {
					if a == "CTR" {
						args[i] = name
					}
				}
				r := m.skiffIn(tt.in, args...)
				want := tt.out
				if want == "SAME" {
					want = norm(same.stdout)
				}
				if want == "SLACK" { // skiff's own coarse slack is not the command's
					own, err := os.ReadFile("/proc/self/timerslack_ns")
					if err != nil {
						t.Skip("no /proc/self/timerslack_ns")
					}
					want = strings.TrimSpace(string(own))
				}
				if r.code != tt.code || (tt.code == 0 && norm(r.stdout) != want) {
					t.Errorf("want exit %d and %q: %v", tt.code, want, r)
				}
			})
		}
		// exec -d: returns at once, the process goes on in the container
		start := time.Now()
		if r := m.skiff("exec", "-d", name, "sh", "-c", "sleep 0.5; echo done > /tmp/execd"); r.code != 0 || r.stdout != "" {
			t.Errorf("exec -d: %v", r)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("exec -d took %v", d)
		}
		if !waitFor(10*time.Second, func() bool { return norm(m.skiff("exec", name, "cat", "/tmp/execd").stdout) == "done" }) {
			t.Errorf("the exec -d process did not finish its work")
		}
		if r := m.skiff("exec", "-d", "-i", name, "true"); checkOneLineError(r) != "" {
			t.Errorf("exec -d -i: %v", r)
		}
		m.skiff("stop", "-t", "0", name)
		if r := m.skiff("exec", name, "true"); checkOneLineError(r) != "" || !strings.Contains(r.stderr, "not running") {
			t.Errorf("exec in a stopped container: %v", r)
		}

		// a foreground container, from another skiff
		fg := "exec-fg-" + m.name
		s := m.start(t, "run", "--rm", "--name", fg, "bbtest", "sh", "-c", "echo ready; exec sleep 1000")
		if !s.waitLine("ready", 20*time.Second) {
			t.Fatalf("never ready: %v", s.wait(t, 5*time.Second))
		}
		if r := m.skiff("exec", fg, "echo", "hi"); r.code != 0 || norm(r.stdout) != "hi" {
			t.Errorf("exec in a foreground container: %v", r)
		}
		syscall.Kill(s.cmd.Process.Pid, syscall.SIGTERM)
		s.wait(t, 15*time.Second)
	})
}

func TestPsFilter(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		up, down := "filt-up-"+m.name, "filt-down-"+m.name
		m.skiff("rm", "-f", up, down)
		runDetached(t, m, "--name", up, "bbtest", "sleep", "1000")
		defer m.skiff("rm", "-f", up, down)
		m.skiff("run", "--name", down, "bbtest", "sh", "-c", "exit 3")
		tests := []struct {
			filters []string
			want    string
		}{
			{[]string{"name=" + up}, up},
			{[]string{"name=filt-", "status=exited"}, down},
			{[]string{"exited=3", "name=filt-"}, down},
			{[]string{"status=running", "name=filt-"}, up},
			{[]string{"ancestor=bbtest", "name=" + m.name, "status=running", "status=exited"}, down + "," + up},
			{[]string{"name=no-such-name"}, ""},
		}
		for _, tt := range tests {
			args := []string{"ps", "--format", "{{.Names}}"}
			for _, f := range tt.filters {
				args = append(args, "--filter", f)
			}
			r := m.skiff(args...)
			got := lines(r.stdout)
			slices.Sort(got)
			if r.code != 0 || strings.Join(got, ",") != tt.want {
				t.Errorf("ps --filter %v: want %q: %v", tt.filters, tt.want, r)
			}
		}
		if r := m.skiff("ps", "--filter", "color=red"); checkOneLineError(r) != "" || !strings.Contains(r.stderr, "--filter") {
			t.Errorf("unknown filter: %v", r)
		}
	})
}

func TestRenameTopPrune(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		a, b := "ren-a-"+m.name, "ren-b-"+m.name
		m.skiff("rm", "-f", a, b)
		runDetached(t, m, "--name", a, "bbtest", "sleep", "1000")
		defer m.skiff("rm", "-f", a, b)
		if r := m.skiff("rename", a, b); r.code != 0 {
			t.Fatalf("rename: %v", r)
		}
		if r := m.skiff("ps", "--format", "{{.Names}}"); !contains(lines(r.stdout), b) || contains(lines(r.stdout), a) {
			t.Errorf("ps after rename: %v", r)
		}
		// the old name is free again, the new one taken
		if r := m.skiff("run", "--rm", "--name", a, "bbtest", "true"); r.code != 0 {
			t.Errorf("run with the old name: %v", r)
		}
		if r := m.skiff("run", "--rm", "--name", b, "bbtest", "true"); checkOneLineError(r) != "" || !strings.Contains(r.stderr, "in use") {
			t.Errorf("run with the new name: %v", r)
		}
		if r := m.skiff("top", b, "-o", "comm="); r.code != 0 || strings.Join(lines(r.stdout), " ") != "skiff-init sleep" {
			t.Errorf("top: want skiff-init and sleep: %v", r)
		}
		if r := m.skiff("port", b); r.code != 0 || r.stdout != "" {
			t.Errorf("port: %v", r)
		}
		// container prune removes stopped containers only
		stopped := "ren-stopped-" + m.name
		m.skiff("rm", "-f", stopped)
		m.skiff("run", "--name", stopped, "bbtest", "true")
		r := m.skiff("container", "prune", "-f")
		ps := m.skiff("ps", "-a", "--format", "{{.Names}}")
		if r.code != 0 || contains(lines(ps.stdout), stopped) || !contains(lines(ps.stdout), b) {
			t.Errorf("container prune: %v; ps -a: %v", r, ps)
		}
		if r := m.skiff("rename", b, "bad name"); checkOneLineError(r) != "" {
			t.Errorf("rename to a bad name: %v", r)
		}
	})
}

func TestStartRestart(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		name := "start-" + m.name
		m.skiff("rm", "-f", name)
		defer m.skiff("rm", "-f", name)
		// what the container writes stays across starts; -e values too
		script := `echo "run-$X" >> /count; wc -l < /count; [ "$(wc -l < /count)" -lt 3 ] || exit 6; sleep 0.2`
		runDetached(t, m, "--name", name, "-e", "X=1", "bbtest", "sh", "-c", script)
		m.skiff("wait", name)
		if r := m.skiff("start", name); r.code != 0 || norm(r.stdout) != name {
			t.Fatalf("start: %v", r)
		}
		if r := m.skiff("wait", name); norm(r.stdout) != "0" {
			t.Errorf("wait after start: %v", r)
		}
		if r := m.skiff("logs", name); strings.Join(lines(r.stdout), " ") != "1 2" {
			t.Errorf("logs after two runs: want 1 and 2: %v", r)
		}
		// start -a: in the foreground, with the command's exit code
		if r := m.skiff("start", "-a", name); r.code != 6 || norm(r.stdout) != "3" {
			t.Errorf("start -a: want 3 and exit 6: %v", r)
		}
		if r := m.skiff("exec", name, "true"); r.code == 0 {
			t.Errorf("exec in a container start -a ended: %v", r)
		}
		// restart a running container: stopped, then started again
		long := "restart-" + m.name
		m.skiff("rm", "-f", long)
		defer m.skiff("rm", "-f", long)
		runDetached(t, m, "--name", long, "bbtest", "sh", "-c", "echo up; exec sleep 1000")
		if r := m.skiff("restart", "-t", "0", long); r.code != 0 || norm(r.stdout) != long {
			t.Errorf("restart: %v", r)
		}
		if !waitFor(10*time.Second, func() bool { return strings.Count(m.skiff("logs", long).stdout, "up") == 2 }) {
			t.Errorf("restart did not run the command again: %v", m.skiff("logs", long))
		}
		if r := m.skiff("ps", "--format", "{{.Names}} {{.State}}"); !strings.Contains(r.stdout, long+" running") {
			t.Errorf("ps after restart: %v", r)
		}
		if r := m.skiff("start", long); r.code != 0 {
			t.Errorf("start of a running container: want a no-op: %v", r)
		}
		rm := runDetached(t, m, "--rm", "bbtest", "sleep", "1000")
		if r := m.skiff("restart", rm); checkOneLineError(r) != "" || !strings.Contains(r.stderr, "--rm") {
			t.Errorf("restart of an --rm container: %v", r)
		}
		m.skiff("rm", "-f", rm)
		if r := m.skiff("start", "no-such-container"); checkOneLineError(r) != "" {
			t.Errorf("start of a missing container: %v", r)
		}
	})
}

func TestRestartPolicies(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		fail := "rp-fail-" + m.name
		always := "rp-always-" + m.name
		m.skiff("rm", "-f", fail, always)
		defer m.skiff("rm", "-f", fail, always)
		// on-failure:2: the first run and two more, then the last exit code
		runDetached(t, m, "--name", fail, "--restart", "on-failure:2", "bbtest", "sh", "-c", "echo try; exit 3")
		if r := m.skiff("wait", fail); norm(r.stdout) != "3" {
			t.Errorf("wait: want 3: %v", r)
		}
		if r := m.skiff("logs", fail); strings.Count(r.stdout, "try") != 3 {
			t.Errorf("on-failure:2: want 3 runs: %v", r)
		}
		// always: runs again until stopped; a stop is final
		runDetached(t, m, "--name", always, "--restart", "always", "bbtest", "sh", "-c", "echo run; sleep 0.1")
		if !waitFor(20*time.Second, func() bool { return strings.Count(m.skiff("logs", always).stdout, "run") >= 3 }) {
			t.Fatalf("always: not run 3 times: %v", m.skiff("logs", always))
		}
		if r := m.skiff("stop", "-t", "5", always); r.code != 0 {
			t.Fatalf("stop: %v", r)
		}
		n := strings.Count(m.skiff("logs", always).stdout, "run")
		time.Sleep(1500 * time.Millisecond)
		if r := m.skiff("ps", "-a", "--format", "{{.Names}} {{.State}}"); !strings.Contains(r.stdout, always+" exited") {
			t.Errorf("after stop: want exited: %v", r)
		}
		if got := strings.Count(m.skiff("logs", always).stdout, "run"); got != n {
			t.Errorf("ran again after stop: %d runs, then %d", n, got)
		}
		for _, bad := range [][]string{
			{"run", "--restart", "always", "bbtest", "true"},
			{"run", "-d", "--rm", "--restart", "always", "bbtest", "true"},
			{"run", "-d", "--restart", "sometimes", "bbtest", "true"},
			{"run", "-d", "--restart", "on-failure:x", "bbtest", "true"},
		} {
			if r := m.skiff(bad...); checkOneLineError(r) != "" || !strings.Contains(r.stderr, "--restart") {
				t.Errorf("%v: %v", bad, r)
			}
		}
	})
}

func TestLogMaxSize(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		id := runDetached(t, m, "--log-opt", "max-size=8k", "bbtest", "sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done; echo last")
		defer m.skiff("rm", "-f", id)
		m.skiff("wait", id)
		st, err := os.Stat(filepath.Join(m.storeDir(), "skiff-containers", id, "ctr.log"))
		if err != nil || st.Size() > 8192 {
			t.Errorf("log of %v bytes (%v), want at most 8k", st.Size(), err)
		}
		if r := m.skiff("logs", "--tail", "1", id); norm(r.stdout) != "last" {
			t.Errorf("the last line after the log started over: %v", r)
		}
		for _, bad := range []string{"max-file=3", "max-size=1", "max-file=0", "compress=true"} {
			if r := m.skiff("run", "-d", "--log-opt", bad, "bbtest", "true"); checkOneLineError(r) != "" || !strings.Contains(r.stderr, "--log-opt") {
				t.Errorf("--log-opt %s: %v", bad, r)
			}
		}

		// max-file, as docker's json-file: the log is rotated, LOG.1 and LOG.2 kept, each at
		// most max-size; logs reads them oldest first, every line once, in order
		count := "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done; echo last"
		rot := runDetached(t, m, "--log-driver", "json-file", "--log-opt", "max-size=8k", "--log-opt", "max-file=3", "bbtest", "sh", "-c", count)
		defer m.skiff("rm", "-f", rot)
		m.skiff("wait", rot)
		if r := m.skiff("inspect", "--format", "{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config \"max-size\"}} {{index .HostConfig.LogConfig.Config \"max-file\"}}", rot); norm(r.stdout) != "json-file 8k 3" {
			t.Errorf("inspect's LogConfig: %v", r)
		}
		dir := filepath.Join(m.storeDir(), "skiff-containers", rot)
		for _, f := range []string{"ctr.log", "ctr.log.1", "ctr.log.2"} {
			if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() > 8192 {
				t.Errorf("max-file=3: %s: %v (want at most 8k)", f, err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "ctr.log.3")); err == nil {
			t.Errorf("max-file=3 kept a fourth file")
		}
		r := m.skiff("logs", rot)
		got := lines(r.stdout)
		if n := checkConsecutive(got); n < 200 || r.code != 0 {
			t.Errorf("logs of a rotated log: %d consecutive lines ending in last, want the three files' (about 255 lines of json-file in 3 x 8k; one file holds about 85): %v ... %v", n, head(got, 3), tail(got, 3))
		}

		// logs -f follows the log through its rotations
		slow := "i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); [ $((i % 20)) = 0 ] && sleep 0.1; done; echo last"
		fol := runDetached(t, m, "--log-opt", "max-size=4k", "--log-opt", "max-file=3", "bbtest", "sh", "-c", slow)
		defer m.skiff("rm", "-f", fol)
		r = m.skiff("logs", "-f", fol)
		got = lines(r.stdout)
		if n := checkConsecutive(got); n < 100 || r.code != 0 {
			t.Errorf("logs -f through the rotations: %d consecutive lines ending in last: %v ... %v (%v)", n, head(got, 3), tail(got, 3), r.stderr)
		}
	})
}

// checkConsecutive returns how many lines there are when they are line-K, line-K+1, ... and
// then "last"; 0 when they are not.
func checkConsecutive(ls []string) int {
	if len(ls) < 2 || ls[len(ls)-1] != "last" {
		return 0
	}
	first, err := strconv.Atoi(strings.TrimPrefix(ls[0], "line-"))
	if err != nil {
		return 0
	}
	for i, l := range ls[:len(ls)-1] {
		if l != "line-"+strconv.Itoa(first+i) {
			return 0
		}
	}
	return len(ls)
}

func head(s []string, n int) []string { return s[:min(n, len(s))] }
func tail(s []string, n int) []string { return s[max(0, len(s)-n):] }

func TestInspectContainer(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		name := "insp-" + m.name
		m.skiff("rm", "-f", name)
		runDetached(t, m, "--name", name, "--restart", "on-failure:3", "-e", "A=1", "-v", "inspvol-"+m.name+":/data", "bbtest", "sleep", "1000")
		defer func() {
			m.skiff("rm", "-f", name)
			m.skiff("volume", "rm", "inspvol-"+m.name)
		}()
		r := m.skiff("inspect", "--format", "{{.Name}} {{.State.Running}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.HostConfig.LogConfig.Type}}", name)
		if r.code != 0 || norm(r.stdout) != "/"+name+" true on-failure:3 k8s-file" {
			t.Errorf("inspect --format: %v", r)
		}
		r = m.skiff("inspect", name)
		var docs []struct {
			State  struct{ Status string }
			Config struct{ Env []string }
			Mounts []struct{ Type, Name, Destination string }
		}
		if err := json.Unmarshal([]byte(r.stdout), &docs); err != nil || len(docs) != 1 {
			t.Fatalf("inspect: %v (%v)", r, err)
		}
		d := docs[0]
		if d.State.Status != "running" || !slices.Contains(d.Config.Env, "A=1") || !slices.ContainsFunc(d.Config.Env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
			t.Errorf("inspect: state and environment: %+v", d)
		}
		if len(d.Mounts) != 1 || d.Mounts[0].Type != "volume" || d.Mounts[0].Name != "inspvol-"+m.name || d.Mounts[0].Destination != "/data" {
			t.Errorf("inspect: mounts: %+v", d.Mounts)
		}
	})
}

func TestAttach(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		name := "attach-" + m.name
		m.skiff("rm", "-f", name)
		script := `trap "echo got-term; exit 3" TERM; echo before; while [ ! -e /go ]; do sleep 0.05; done; echo after; echo to-stderr >&2; sleep 30 & wait; exit 4`
		id := runDetached(t, m, "--name", name, "bbtest", "sh", "-c", script)
		defer m.skiff("rm", "-f", id)
		// "before" is in the log before attach starts (the command may start slowly)
		if !waitFor(10*time.Second, func() bool { return strings.Contains(m.skiff("logs", name).stdout, "before") }) {
			t.Fatal("the container never wrote its first line")
		}
		// attach shows what comes after it attached, on the stream it was written to
		s := m.start(t, "attach", name)
		time.Sleep(300 * time.Millisecond)
		m.mustSkiff(t, "exec", name, "touch", "/go")
		if !s.waitLine("after", 10*time.Second) {
			t.Fatalf("attach did not show the output written after it attached: %q", s.stdout.String())
		}
		// its signals go to the container, and it ends with the container's exit code
		syscall.Kill(s.cmd.Process.Pid, syscall.SIGTERM)
		r := s.wait(t, 15*time.Second)
		if r.code != 3 || !strings.Contains(r.stdout, "got-term") || strings.Contains(r.stdout, "before") || !strings.Contains(r.stderr, "to-stderr") {
			t.Errorf("attach: want the output after attaching (not 'before'), stderr on stderr, SIGTERM passed on and exit 3: %v", r)
		}
		// a stopped container cannot be attached to
		if r := m.skiff("attach", name); checkOneLineError(r) != "" || !strings.Contains(r.stderr, "stopped") {
			t.Errorf("attach to a stopped container: %v", r)
		}
		// one whose output is not kept can: attach takes it from the keeper, not the log
		none := runDetached(t, m, "--log-driver", "none", "bbtest", "sh", "-c", "while [ ! -e /go ]; do sleep 0.05; done; echo shown; exit 6")
		defer m.skiff("rm", "-f", none)
		sn := m.start(t, "attach", none)
		time.Sleep(300 * time.Millisecond)
		m.mustSkiff(t, "exec", none, "touch", "/go")
		if r := sn.wait(t, 15*time.Second); r.code != 6 || norm(r.stdout) != "shown" {
			t.Errorf("attach to a --log-driver none container: want 'shown' and exit code 6: %v", r)
		}
		if r := m.skiff("attach", "no-such-container-x"); checkOneLineError(r) != "" {
			t.Errorf("attach to a missing container: %v", r)
		}
	})
}

// storeLeftovers lists what half-made or half-removed containers left in the store's records.
func storeLeftovers(m *mode) []string {
	ents, _ := os.ReadDir(filepath.Join(m.storeDir(), "skiff-containers"))
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".new-") || strings.HasPrefix(e.Name(), ".rm-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestDetachedConcurrency(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		dur := "1015"
		if m.root {
			dur = "1016" // the two modes must not see each other's processes
		}
		names := func(i int) string { return fmt.Sprintf("conc-%s-%d", m.name, i) }
		for i := 0; i < 20; i++ {
			m.skiff("rm", "-f", names(i))
		}
		// 20 run -d at once: every one made, named and running
		for i, r := range m.parallel(20, func(i int) []string { return []string{"run", "-d", "--name", names(i), "bbtest", "sleep", dur} }) {
			if r.code != 0 || !containerID.MatchString(norm(r.stdout)) {
				t.Errorf("parallel run -d #%d: %v", i, r)
			}
		}
		r := m.skiff("ps", "--filter", "name=conc-"+m.name+"-", "--format", "{{.Names}} {{.State}}")
		if got := lines(r.stdout); len(got) != 20 {
			t.Errorf("ps after 20 parallel run -d: %d lines: %v", len(got), r)
		}
		// ps and rm -f at once, from many invocations
		res := m.parallel(21, func(i int) []string {
			if i == 20 {
				return []string{"ps", "-a"}
			}
			return []string{"rm", "-f", names(i)}
		})
		for i, r := range res {
			if r.code != 0 {
				t.Errorf("parallel rm -f/ps #%d: %v", i, r)
			}
		}
		if r := m.skiff("ps", "-a", "--filter", "name=conc-"+m.name+"-", "-q"); norm(r.stdout) != "" {
			t.Errorf("containers left after 20 parallel rm -f: %v", r)
		}
		if !waitFor(5*time.Second, func() bool { return len(procsMatching("sleep", dur)) == 0 }) {
			t.Errorf("sleep %s processes outlived their removed containers: %v", dur, procsMatching("sleep", dur))
		}

		// kill -9 of run -d at points of its work: the store stays consistent, the name usable,
		// and a container either exists (and can be removed) or left no process behind
		name := "k9d-" + m.name
		for _, delay := range []time.Duration{0, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond} {
			m.skiff("rm", "-f", name)
			s := m.start(t, "run", "-d", "--name", name, "bbtest", "sleep", dur)
			time.Sleep(delay)
			syscall.Kill(s.cmd.Process.Pid, syscall.SIGKILL)
			s.wait(t, 10*time.Second)
			r := m.skiff("ps", "-a", "--filter", "name="+name, "--format", "{{.Names}}")
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("ps after run -d killed at %v: %v", delay, r)
			}
			if norm(r.stdout) == "" {
				if !waitFor(3*time.Second, func() bool { return len(procsMatching("sleep", dur)) == 0 }) {
					t.Errorf("run -d killed at %v left no container but a running command", delay)
				}
			} else if r := m.skiff("rm", "-f", name); r.code != 0 {
				t.Errorf("rm -f of the container of a run -d killed at %v: %v", delay, r)
			}
			if r := m.skiff("run", "-d", "--name", name, "bbtest", "sleep", dur); r.code != 0 {
				t.Errorf("the name of a run -d killed at %v is not usable again: %v", delay, r)
			}
			m.skiff("rm", "-f", name)
		}

		// kill -9 of rm -f while it removes several containers
		for _, delay := range []time.Duration{2 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond} {
			var ids []string
			for i := 0; i < 4; i++ {
				ids = append(ids, runDetached(t, m, "bbtest", "sleep", dur))
			}
			s := m.start(t, append([]string{"rm", "-f"}, ids...)...)
			time.Sleep(delay)
			syscall.Kill(s.cmd.Process.Pid, syscall.SIGKILL)
			s.wait(t, 10*time.Second)
			if r := m.skiff("ps", "-a"); r.code != 0 || r.stderr != "" {
				t.Fatalf("ps after rm -f killed at %v: %v", delay, r)
			}
			for _, id := range ids {
				if r := m.skiff("rm", "-f", id); r.code != 0 {
					t.Errorf("rm -f %s after rm -f was killed at %v: %v", id[:12], delay, r)
				}
			}
			m.skiff("ps", "-a") // the next command sweeps what rm left for it
			if left := storeLeftovers(m); len(left) > 0 {
				t.Errorf("rm -f killed at %v left %v in the store after the next commands", delay, left)
			}
		}
		if !waitFor(5*time.Second, func() bool { return len(procsMatching("sleep", dur)) == 0 }) {
			t.Errorf("sleep %s processes outlived their removed containers: %v", dur, procsMatching("sleep", dur))
		}
	})
}

// TestRemoveLeavesLittle: run --rm and rm leave the few directories of a container that wrote
// next to nothing to the next command's sweep, and delete at once one that wrote more.
func TestRemoveLeavesLittle(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		m.skiff("ps", "-a")
		if left := storeLeftovers(m); len(left) > 0 {
			t.Fatalf("leftovers before the test: %v", left)
		}
		if r := m.skiff("run", "--rm", "bbtest", "true"); r.code != 0 {
			t.Fatalf("run --rm: %v", r)
		}
		left := storeLeftovers(m)
		if len(left) > 1 || (len(left) == 1 && !strings.HasPrefix(left[0], ".rm-")) {
			t.Errorf("run --rm true left %v: want at most its own .rm- directory", left)
		}
		// this one's sweep takes the last one's directory, and its own 400 KiB go at once
		if r := m.skiff("run", "--rm", "bbtest", "sh", "-c", "dd if=/dev/zero of=/big bs=1k count=400 2>/dev/null"); r.code != 0 {
			t.Fatalf("run --rm dd: %v", r)
		}
		if left := storeLeftovers(m); len(left) > 0 {
			t.Errorf("run --rm of a container that wrote 400 KiB left %v", left)
		}
		id := runDetached(t, m, "bbtest", "true")
		waitFor(5*time.Second, func() bool { return norm(m.skiff("ps", "-q", "--filter", "id="+id).stdout) == "" })
		if r := m.skiff("rm", id); r.code != 0 {
			t.Fatalf("rm: %v", r)
		}
		if r := m.skiff("inspect", id); r.code == 0 {
			t.Errorf("inspect after rm found the container: %v", r)
		}
		if r := m.skiff("ps", "-a", "-q", "--no-trunc"); strings.Contains(r.stdout, id) {
			t.Errorf("ps -a after rm lists it: %v", r)
		}
		if left := storeLeftovers(m); len(left) > 0 {
			t.Errorf("rm, then ps: left %v", left)
		}
	})
}

func TestPause(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		name := "pause-" + m.name
		m.skiff("rm", "-f", name)
		host := hostDir(t, m, "pause")
		id := runDetached(t, m, "--name", name, "-v", host+":/out", "bbtest", "sh", "-c", `i=0; while :; do i=$((i+1)); echo $i > /out/n; sleep 0.05; done`)
		defer m.skiff("rm", "-f", id)
		if r := m.skiff("unpause", name); checkOneLineError(r) != "" {
			t.Errorf("unpause of a running container: %v", r)
		}
		freezer := "/sys/fs/cgroup/freezer/skiff/" + id
		if !m.root {
			if os.Getuid() != 0 {
				t.Skip("delegating the freezer needs root")
			}
			// without the freezer delegated: a clear error, and the container runs on
			undelegate(t, m)
			r := m.skiff("pause", name)
			if checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "skiff system cgroups delegate "+m.user) {
				t.Errorf("rootless pause without delegation: want a one-line error naming the fix: %v", r)
			}
			if r := m.skiff("ps", "--filter", "name="+name, "--format", "{{.State}}"); norm(r.stdout) != "running" {
				t.Errorf("after a refused pause: %v", r)
			}
			delegate(t, m)
			freezer = "/sys/fs/cgroup/freezer/skiff/" + m.user + "/" + id
		}
		count := func() string { b, _ := os.ReadFile(filepath.Join(host, "n")); return strings.TrimSpace(string(b)) }
		if !waitFor(5*time.Second, func() bool { return count() != "" }) {
			t.Fatal("the container never counted")
		}
		m.mustSkiff(t, "pause", name)
		if r := m.skiff("ps", "--filter", "status=paused", "--format", "{{.Names}} {{.State}} {{.Status}}"); !strings.HasPrefix(norm(r.stdout), name+" paused Up") || !strings.HasSuffix(norm(r.stdout), "(Paused)") {
			t.Errorf("ps of a paused container: %v", r)
		}
		if r := m.skiff("inspect", "--format", "{{.State.Paused}} {{.State.Status}}", name); norm(r.stdout) != "true paused" {
			t.Errorf("inspect of a paused container: %v", r)
		}
		before := count()
		time.Sleep(400 * time.Millisecond)
		if after := count(); after != before {
			t.Errorf("the paused container went on counting: %s then %s", before, after)
		}
		if r := m.skiff("exec", name, "true"); checkOneLineError(r) != "" || !strings.Contains(r.stderr, "paused") {
			t.Errorf("exec into a paused container: %v", r)
		}
		if r := m.skiff("pause", name); checkOneLineError(r) != "" {
			t.Errorf("pause of a paused container: %v", r)
		}
		if b, err := os.ReadFile(freezer + "/freezer.state"); strings.TrimSpace(string(b)) != "FROZEN" {
			t.Errorf("the container's freezer cgroup %s: %q, %v", freezer, b, err)
		}
		m.mustSkiff(t, "unpause", name)
		if !waitFor(5*time.Second, func() bool { return count() != before }) {
			t.Errorf("the unpaused container does not count again")
		}
		if b, err := os.ReadFile(freezer + "/freezer.state"); strings.TrimSpace(string(b)) != "THAWED" {
			t.Errorf("the container's freezer cgroup after unpause: %q, %v", b, err)
		}
		// stop and rm -f of a paused container take effect at once
		m.mustSkiff(t, "pause", name)
		start := time.Now()
		if r := m.skiff("stop", "-t", "5", name); r.code != 0 || time.Since(start) > 4*time.Second {
			t.Errorf("stop of a paused container: %v after %v", r, time.Since(start))
		}
		if r := m.skiff("pause", name); checkOneLineError(r) != "" || !strings.Contains(r.stderr, "not running") {
			t.Errorf("pause of a stopped container: %v", r)
		}
		m.mustSkiff(t, "start", name)
		m.mustSkiff(t, "pause", name)
		if r := m.skiff("rm", "-f", name); r.code != 0 {
			t.Errorf("rm -f of a paused container: %v", r)
		}
		if _, err := os.Stat(freezer); !os.IsNotExist(err) {
			t.Errorf("rm -f left the freezer cgroup of %s: %v", id[:12], err)
		}
		// a container with limits is paused in its own cgroup
		m.skiff("rm", "-f", name+"-lim")
		lid := runDetached(t, m, "--name", name+"-lim", "--pids-limit", "20", "bbtest", "sleep", "60")
		m.mustSkiff(t, "pause", name+"-lim")
		if r := m.skiff("exec", name+"-lim", "true"); !strings.Contains(r.stderr, "paused") {
			t.Errorf("exec into a paused container with limits: %v", r)
		}
		m.mustSkiff(t, "unpause", name+"-lim")
		if r := m.skiff("exec", name+"-lim", "cat", "/proc/self/cgroup"); !strings.Contains(r.stdout, "pids:/\n") {
			t.Errorf("exec after unpause of a container with limits: %v", r)
		}
		m.mustSkiff(t, "pause", name+"-lim")
		pid := strings.TrimSpace(m.skiff("inspect", "--format", "{{.State.Pid}}", lid).stdout)
		lfreezer := strings.Replace(freezer, id, lid, 1)
		if n, _ := strconv.Atoi(pid); n > 0 {
			syscall.Kill(n, syscall.SIGKILL)
		}
		// a SIGKILL from elsewhere waits while it is frozen: rm -f thaws it, and removes it all
		if r := m.skiff("rm", "-f", lid); r.code != 0 {
			t.Errorf("rm -f of a paused container with limits: %v", r)
		}
		if _, err := os.Stat(lfreezer); !os.IsNotExist(err) {
			t.Errorf("rm -f left the freezer cgroup %s: %v", lfreezer, err)
		}
	})
}
