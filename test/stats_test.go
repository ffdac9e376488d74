package integration

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// hold64m makes a container's shell hold 64 MiB in a variable until it is killed (the loop
// keeps busybox's sh from exec'ing its last command, which would free it).
const hold64m = `x=$(head -c 67108864 /dev/zero | tr "\0" a); while sleep 600; do :; done`

// TestStats is skiff stats: docker's table, templates, json with raw numbers that follow the
// container's memory (from its processes without limits, from its cgroup with --memory), the
// processes counted, -a, and a missing container.
func TestStats(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		names := []string{"tstats", "tstatslim", "tstatsstop"}
		m.skiff(append([]string{"rm", "-f"}, names...)...)
		t.Cleanup(func() { m.skiff(append([]string{"rm", "-f"}, names...)...) })

		if r := m.skiff("stats", "--no-stream", "tstatsnone"); checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "tstatsnone") || r.stdout != "" {
			t.Errorf("stats of a missing container: %v", r)
		}

		// without limits: no cgroup, the numbers are the processes'
		id := strings.TrimSpace(m.mustSkiff(t, "run", "-d", "--name", "tstats", "bbtest", "sleep", "600").stdout)
		r := m.mustSkiff(t, "stats", "--no-stream", "tstats")
		ls := lines(r.stdout)
		header := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(ls[0]), -1)
		if strings.Join(header, "|") != "CONTAINER ID|NAME|CPU %|MEM USAGE / LIMIT|MEM %|NET I/O|BLOCK I/O|PIDS" {
			t.Errorf("stats table heads: %q", ls[0])
		}
		if len(ls) != 2 || !strings.HasPrefix(ls[1], id[:12]+"   tstats ") || !regexp.MustCompile(`\d%\s+[\d.]+[KMG]?i?B / [\d.]+GiB\s+[\d.]+%\s+.*\s2$`).MatchString(ls[1]) {
			t.Errorf("stats table: %v", r)
		}
		// skiff-init and sleep; an exec'd process counts too
		if r := m.mustSkiff(t, "stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "tstats"); norm(r.stdout) != "tstats 2" {
			t.Errorf("stats --format '{{.Name}} {{.PIDs}}': %v", r)
		}
		m.mustSkiff(t, "exec", "-d", "tstats", "sleep", "600")
		if !waitFor(5*time.Second, func() bool {
			return norm(m.skiff("stats", "--no-stream", "--format", "{{.PIDs}}", "tstats").stdout) == "3"
		}) {
			t.Errorf("PIDs after exec -d sleep: %v", m.skiff("stats", "--no-stream", "--format", "{{.PIDs}}", "tstats"))
		}
		if r := m.skiff("container", "stats", "--no-stream", "--format", "{{.Container}} {{.ID}}", "tstats"); norm(r.stdout) != "tstats "+id[:12] {
			t.Errorf("container stats: %v", r)
		}
		s := statsJSON(t, m, "tstats")
		for _, k := range []string{"BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs"} {
			if _, ok := s[k].(string); !ok {
				t.Errorf("stats --format json: docker's %s is not a string: %v", k, s)
			}
		}
		if s["Name"] != "tstats" || s["PIDsCurrent"] != 3.0 || s["MemLimit"].(float64) < 64<<20 {
			t.Errorf("stats --format json: %v", s)
		}
		statsMemoryMoves(t, m, "tstats")

		// CPU %: a busy loop shows, from the first reading of --no-stream on
		m.mustSkiff(t, "exec", "-d", "tstats", "timeout", "4", "sh", "-c", "while :; do :; done")
		time.Sleep(300 * time.Millisecond)
		if s := statsJSON(t, m, "tstats"); s["CPU"].(float64) < 10 || !strings.HasSuffix(s["CPUPerc"].(string), "%") {
			t.Errorf("the CPU %% of a container in a busy loop: %v", s)
		}

		// with limits: the container's cgroup (rootless on the delegated subtree)
		if !m.root {
			if r := execArgv([]string{skiffBin, "system", "cgroups", "delegate", m.user}, opts{}); r.code != 0 {
				t.Fatalf("skiff system cgroups delegate %s: %v", m.user, r)
			}
		}
		m.mustSkiff(t, "run", "-d", "--name", "tstatslim", "--memory", "256m", "--pids-limit", "50", "bbtest", "sleep", "600")
		s = statsJSON(t, m, "tstatslim")
		if s["MemLimit"] != float64(256<<20) || !strings.HasSuffix(s["MemUsage"].(string), " / 256MiB") || s["PIDs"] != "2" {
			t.Errorf("stats of a container with --memory 256m --pids-limit 50: %v", s)
		}
		statsMemoryMoves(t, m, "tstatslim")

		// stopped: with -a (zeros, as docker), or when named
		m.mustSkiff(t, "run", "--name", "tstatsstop", "bbtest", "true")
		format := "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}"
		r = m.mustSkiff(t, "stats", "--no-stream", "-a", "--format", format)
		if !contains(lines(r.stdout), "tstatsstop 0.00% 0B / 0B 0") || !strings.Contains("\n"+r.stdout, "\ntstats ") {
			t.Errorf("stats -a: %v", r)
		}
		if r := m.mustSkiff(t, "stats", "--no-stream", "--format", "{{.Name}}"); contains(lines(r.stdout), "tstatsstop") || !contains(lines(r.stdout), "tstats") {
			t.Errorf("stats without -a lists the running containers only: %v", r)
		}
		if r := m.mustSkiff(t, "stats", "--no-stream", "--format", format, "tstatsstop"); norm(r.stdout) != "tstatsstop 0.00% 0B / 0B 0" {
			t.Errorf("stats of a stopped container: %v", r)
		}
	})
}

// statsJSON is one reading of container name: stats --no-stream --format json.
func statsJSON(t *testing.T, m *mode, name string) map[string]any {
	t.Helper()
	r := m.mustSkiff(t, "stats", "--no-stream", "--format", "json", name)
	var s map[string]any
	if len(lines(r.stdout)) != 1 || json.Unmarshal([]byte(r.stdout), &s) != nil {
		t.Fatalf("stats --format json %s: want one JSON object on one line: %v", name, r)
	}
	return s
}

// statsMemoryMoves checks that the memory stats show grows by the 64 MiB a process of the
// container comes to hold.
func statsMemoryMoves(t *testing.T, m *mode, name string) {
	t.Helper()
	before := statsJSON(t, m, name)["MemUsageBytes"].(float64)
	m.mustSkiff(t, "exec", "-d", name, "sh", "-c", hold64m)
	var s map[string]any
	grew := waitFor(30*time.Second, func() bool {
		s = statsJSON(t, m, name)
		return s["MemUsageBytes"].(float64)-before >= 60<<20
	})
	if !grew {
		t.Errorf("%s: MemUsageBytes %v before a process held 64 MiB, after: %v", name, before, s)
	}
	t.Logf("%s: MemUsageBytes %v, then %v", name, before, s["MemUsageBytes"])
}
