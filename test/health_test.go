package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHealthcheck: a container's check runs with `healthcheck run` (0 healthy, 1 not), its
// state shows in ps and inspect, retries make it unhealthy, a check that outlives its timeout
// fails, `wait --condition healthy` runs the check until it passes.
func TestHealthcheck(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		name := "health-" + m.name
		m.skiff("rm", "-f", name)
		m.mustSkiff(t, "run", "-d", "--name", name, "--health-cmd", "test -f /tmp/ok && echo fine", "--health-interval", "200ms", "--health-retries", "2", "bbtest", "sleep", "300")
		defer m.skiff("rm", "-f", name)
		status := func() string {
			return norm(m.mustSkiff(t, "ps", "--filter", "name="+name, "--format", "{{.Status}}").stdout)
		}
		if s := status(); !strings.HasSuffix(s, "(health: starting)") {
			t.Errorf("before any check: %q", s)
		}
		if r := m.skiff("healthcheck", "run", name); r.code != 1 {
			t.Errorf("a failing check: %v, want 1", r)
		}
		if s := status(); !strings.HasSuffix(s, "(health: starting)") {
			t.Errorf("after one failure of two retries: %q", s)
		}
		if r := m.skiff("healthcheck", "run", name); r.code != 1 || norm(r.stdout) != "unhealthy" {
			t.Errorf("a second failure: %v", r)
		}
		if s := status(); !strings.HasSuffix(s, "(unhealthy)") {
			t.Errorf("after two failures: %q", s)
		}
		m.mustSkiff(t, "exec", name, "touch", "/tmp/ok")
		if r := m.skiff("healthcheck", "run", name); r.code != 0 {
			t.Errorf("a passing check: %v", r)
		}
		r := m.mustSkiff(t, "inspect", "--format", "{{.State.Health.Status}} {{.State.Health.FailingStreak}} {{len .State.Health.Log}} {{(index .State.Health.Log 2).Output}}|{{index .Config.Healthcheck.Test 0}}", name)
		if got := strings.TrimSpace(r.stdout); got != "healthy 0 3 fine\n|CMD-SHELL" {
			t.Errorf("inspect: %q", got)
		}
		// wait --condition healthy runs the check until it passes (through unhealthy here)
		w := "health-wait-" + m.name
		m.skiff("rm", "-f", w)
		m.mustSkiff(t, "run", "-d", "--name", w, "--health-cmd", "test -f /tmp/ok", "--health-interval", "200ms", "--health-retries", "2", "bbtest", "sh", "-c", "sleep 1.5; touch /tmp/ok; sleep 300")
		defer m.skiff("rm", "-f", w)
		start := time.Now()
		if r := m.skiff("wait", "--condition", "healthy", w); r.code != 0 || norm(r.stdout) != "-1" || time.Since(start) < time.Second {
			t.Errorf("wait --condition healthy: %v after %v", r, time.Since(start))
		}
		if r := m.mustSkiff(t, "inspect", "--format", "{{.State.Health.Status}}", w); norm(r.stdout) != "healthy" {
			t.Errorf("after wait --condition healthy: %v", r)
		}
		if r := m.skiff("wait", "--condition", "running", name); r.code != 0 || norm(r.stdout) != "-1" {
			t.Errorf("wait --condition running: %v", r)
		}

		// a check that takes longer than its timeout fails
		slow := "health-slow-" + m.name
		m.skiff("rm", "-f", slow)
		m.mustSkiff(t, "run", "-d", "--name", slow, "--health-cmd", "sleep 20", "--health-timeout", "500ms", "bbtest", "sleep", "300")
		defer m.skiff("rm", "-f", slow)
		start = time.Now()
		if r := m.skiff("healthcheck", "run", slow); r.code != 1 || time.Since(start) > 10*time.Second {
			t.Errorf("a check past its timeout: %v after %v", r, time.Since(start))
		}
		if r := m.mustSkiff(t, "inspect", "--format", "{{(index .State.Health.Log 0).Output}}", slow); !strings.Contains(r.stdout, "exceeded timeout") {
			t.Errorf("the timed-out check's log: %v", r)
		}

		// no check: an error; --no-healthcheck; bad flags
		if r := m.skiff("healthcheck", "run", slow+"-none"); checkOneLineError(r, 125) != "" {
			t.Errorf("healthcheck run of a missing container: %v", r)
		}
		plain := "health-none-" + m.name
		m.skiff("rm", "-f", plain)
		m.mustSkiff(t, "run", "-d", "--name", plain, "--no-healthcheck", "bbtest", "sleep", "300")
		defer m.skiff("rm", "-f", plain)
		if r := m.skiff("healthcheck", "run", plain); checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "no health check") {
			t.Errorf("healthcheck run without a check: %v", r)
		}
		for _, args := range [][]string{{"--no-healthcheck", "--health-cmd", "true"}, {"--health-interval", "soon"}, {"--health-retries", "-1"}, {"--health-cmd", "[not json"}} {
			if r := m.skiff(append(append([]string{"run", "--rm"}, args...), "bbtest", "true")...); checkOneLineError(r, 125) != "" {
				t.Errorf("run %s: %v", args, r)
			}
		}
		if r := m.skiff("wait", "--condition", "sometimes", name); checkOneLineError(r, 125) != "" {
			t.Errorf("wait --condition sometimes: %v", r)
		}
	})
}

// TestHealthcheckImage: a built image's HEALTHCHECK is the container's check.
func TestHealthcheckImage(t *testing.T) {
	m := rootlessMode
	dir := filepath.Join(tmpRoot, "health-img")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(dir+"/Dockerfile", []byte("FROM bbtest\nHEALTHCHECK --interval=5s --retries=1 CMD [\"true\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m.mustSkiff(t, "build", "-q", "-t", "health-img", dir)
	defer m.skiff("rmi", "-f", "health-img")
	name := "health-img-ctr"
	m.skiff("rm", "-f", name)
	m.mustSkiff(t, "run", "-d", "--name", name, "health-img", "sleep", "300")
	defer m.skiff("rm", "-f", name)
	if r := m.skiff("healthcheck", "run", name); r.code != 0 {
		t.Errorf("the image's check: %v", r)
	}
	if r := m.mustSkiff(t, "inspect", "--format", "{{json .Config.Healthcheck.Test}} {{.State.Health.Status}}", name); norm(r.stdout) != `["CMD","true"] healthy` {
		t.Errorf("inspect: %v", r)
	}
}
