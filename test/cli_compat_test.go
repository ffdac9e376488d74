package integration

import (
	"archive/tar"
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDockerArgOrder: docker takes flags after the arguments (logs NAME -f, inspect X --format
// T, stop NAME -t 1) except where a command line follows (run, exec); `container X` is `X`
// for docker's container commands (inspect: containers only); export writes to a pipe.
func TestDockerArgOrder(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		name := "argorder-" + m.name
		vol := "argorder-vol-" + m.name
		m.skiff("rm", "-f", name)
		m.skiff("volume", "rm", vol)
		id := runDetached(t, m, "--name", name, "bbtest", "sh", "-c", "echo line1; echo line2; sleep 1021")
		defer m.skiff("rm", "-f", id)
		if !waitFor(10*time.Second, func() bool { return strings.Contains(m.skiff("logs", name).stdout, "line2") }) {
			t.Fatal("the container wrote nothing")
		}
		checks := []struct {
			args []string
			want string
		}{
			{[]string{"logs", name, "--tail", "1"}, "line2"},
			{[]string{"inspect", name, "--format", "{{.Name}}"}, "/" + name},
			{[]string{"container", "inspect", name, "-f", "{{.State.Running}}"}, "true"},
			{[]string{"container", "run", "--rm", "bbtest", "echo", "--format"}, "--format"},
			{[]string{"exec", name, "echo", "-t", "1"}, "-t 1"},
			{[]string{"container", "diff", name}, ""},
		}
		for _, c := range checks {
			if r := m.skiff(c.args...); r.code != 0 || norm(r.stdout) != c.want {
				t.Errorf("skiff %s: want %q: %v", strings.Join(c.args, " "), c.want, r)
			}
		}
		if r := m.skiff("container", "inspect", "bbtest"); r.code == 0 {
			t.Errorf("container inspect of an image must fail: %v", r)
		}
		m.mustSkiff(t, "volume", "create", vol)
		if r := m.skiff("volume", "inspect", vol, "--format", "{{.Name}}"); norm(r.stdout) != vol {
			t.Errorf("volume inspect NAME --format: %v", r)
		}
		m.skiff("volume", "rm", vol)
		// export to a pipe (the helper's stdout here): a tar with the container's files
		r := m.skiff("container", "export", name)
		tr := tar.NewReader(bytes.NewReader([]byte(r.stdout)))
		found := false
		for h, err := tr.Next(); err == nil; h, err = tr.Next() {
			found = found || strings.TrimPrefix(h.Name, "./") == "bin/busybox"
		}
		if r.code != 0 || !found {
			t.Errorf("container export to a pipe: want a tar with bin/busybox and exit 0: code %d, stderr %q", r.code, r.stderr)
		}
		if r := m.skiff("stop", name, "-t", "1"); r.code != 0 {
			t.Errorf("stop NAME -t 1: %v", r)
		}
		if r := m.skiff("rm", name, "-f"); r.code != 0 || m.skiff("inspect", name).code == 0 {
			t.Errorf("rm NAME -f: %v", r)
		}
	})
}

// TestNetworkPrune: network prune removes the networks no container names, a stopped one
// included (docker's rule), filtered by label; system prune removes them too, as its warning
// says.
func TestNetworkPrune(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		label := "np-test=" + m.name
		used, free, ctr := "np-used-"+m.name, "np-free-"+m.name, "npc-"+m.name
		m.skiff("rm", "-f", ctr)
		m.skiff("network", "rm", "-f", used, free)
		m.mustSkiff(t, "network", "create", "--label", label, used)
		m.mustSkiff(t, "network", "create", "--label", label, free)
		defer m.skiff("network", "rm", "-f", used, free)
		m.mustSkiff(t, "create", "--name", ctr, "--network", used, "bbtest", "true")
		defer m.skiff("rm", "-f", ctr)
		r := m.skiff("network", "prune", "-f", "--filter", "label="+label)
		if r.code != 0 || norm(r.stdout) != "Deleted Networks:\n"+free {
			t.Errorf("network prune: want %s alone removed (%s has a container): %v", free, used, r)
		}
		if ls := m.skiff("network", "ls", "-q").stdout; !strings.Contains(ls, used) || strings.Contains(ls, free) {
			t.Errorf("network ls after prune: %q", ls)
		}
		m.mustSkiff(t, "rm", ctr)
		if r := m.skiff("network", "prune", "-f", "--filter", "label="+label); norm(r.stdout) != "Deleted Networks:\n"+used {
			t.Errorf("network prune once its container is gone: %v", r)
		}
		if r := m.skiff("network", "prune", "-f", "extra"); checkOneLineError(r) != "" {
			t.Errorf("network prune with an argument: %v", r)
		}
		// system prune, in a store of its own
		fresh := freshStore(t, m)
		m.mustSkiff(t, append(fresh, "network", "create", "np-sys")...)
		if r := m.skiff(append(fresh, "system", "prune", "-f")...); r.code != 0 || !strings.Contains(r.stdout, "Deleted Networks:\nnp-sys") {
			t.Errorf("system prune: want the unused network removed: %v", r)
		}
	})
}

// TestPsFiltersAndLast: docker's ps -l, -n N, --filter before=|since=|volume=|network=|health=,
// and logs --until.
func TestPsFiltersAndLast(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		p := func(i int) string { return fmt.Sprintf("psf-%s-%d", m.name, i) }
		vol := "psf-vol-" + m.name
		for i := 1; i <= 3; i++ {
			m.skiff("rm", "-f", p(i))
		}
		m.skiff("volume", "rm", "-f", vol)
		m.mustSkiff(t, "create", "--name", p(1), "bbtest", "true")
		time.Sleep(20 * time.Millisecond) // distinct creation times
		id2 := runDetached(t, m, "--name", p(2), "--network", "none", "-v", vol+":/data", "bbtest", "sh", "-c", "echo early; sleep 1; echo late; sleep 1023")
		time.Sleep(20 * time.Millisecond)
		m.mustSkiff(t, "create", "--name", p(3), "bbtest", "true")
		defer func() {
			for i := 1; i <= 3; i++ {
				m.skiff("rm", "-f", p(i))
			}
			m.skiff("volume", "rm", "-f", vol)
		}()
		names := func(args ...string) string {
			t.Helper()
			r := m.skiff(append(append([]string{"ps"}, args...), "--format", "{{.Names}}")...)
			if r.code != 0 {
				t.Errorf("ps %s: %v", strings.Join(args, " "), r)
			}
			return strings.Join(lines(r.stdout), " ")
		}
		mine := "name=psf-" + m.name + "-"
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"-l"}, p(3)},
			{[]string{"-n", "2"}, p(3) + " " + p(2)},
			{[]string{"-a", "--filter", mine, "--filter", "before=" + p(3)}, p(2) + " " + p(1)},
			{[]string{"-a", "--filter", mine, "--filter", "since=" + p(1)}, p(3) + " " + p(2)},
			{[]string{"-a", "--filter", mine, "--filter", "before=" + p(3), "--filter", "since=" + p(1)}, p(2)},
			{[]string{"--filter", mine, "--filter", "volume=" + vol}, p(2)},
			{[]string{"--filter", mine, "--filter", "volume=/data"}, p(2)},
			{[]string{"-a", "--filter", mine, "--filter", "network=none"}, p(2)},
			{[]string{"--filter", mine, "--filter", "health=none"}, p(2)},
			{[]string{"--filter", mine, "--filter", "health=healthy"}, ""},
		} {
			if got := names(c.args...); got != c.want {
				t.Errorf("ps %s: got %q, want %q", strings.Join(c.args, " "), got, c.want)
			}
		}
		for _, bad := range []string{"health=bad", "before=no-such-container-x", "since="} {
			if r := m.skiff("ps", "--filter", bad); checkOneLineError(r) != "" {
				t.Errorf("ps --filter %s: want a one-line error: %v", bad, r)
			}
		}
		// logs --until: the lines before a time (the second line's own time shows the first alone)
		if !waitFor(10*time.Second, func() bool { return strings.Contains(m.skiff("logs", id2).stdout, "late") }) {
			t.Fatal("the container never wrote its second line")
		}
		ts := lines(m.skiff("logs", "-t", id2).stdout)
		if len(ts) != 2 {
			t.Fatalf("logs -t: %q", ts)
		}
		second, _, _ := strings.Cut(ts[1], " ")
		if r := m.skiff("logs", "--until", second, id2); norm(r.stdout) != "early" {
			t.Errorf("logs --until %s: want the first line alone: %v", second, r)
		}
		if r := m.skiff("logs", "--until", "soon", id2); checkOneLineError(r) != "" || !strings.Contains(r.stderr, "--until") {
			t.Errorf("logs --until soon: %v", r)
		}
	})
}

// TestPsPortsNetworksMounts: ps --format's docker fields .Ports, .Networks and .Mounts.
func TestPsPortsNetworksMounts(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		name, vol := "psports-"+m.name, "psports-vol-"+m.name
		m.skiff("rm", "-f", name)
		m.skiff("volume", "rm", "-f", vol)
		id := runDetached(t, m, "--name", name, "-p", "127.0.0.1::80", "-v", vol+":/data", "bbtest", "sleep", "1025")
		defer func() { m.skiff("rm", "-f", id); m.skiff("volume", "rm", "-f", vol) }()
		r := m.skiff("ps", "--filter", "name="+name, "--format", "{{.Ports}}|{{.Networks}}|{{.Mounts}}")
		if !regexp.MustCompile(`^127\.0\.0\.1:\d+->80/tcp\|pasta\|` + regexp.QuoteMeta(vol) + `$`).MatchString(norm(r.stdout)) {
			t.Errorf("ps --format {{.Ports}}|{{.Networks}}|{{.Mounts}}: %v", r)
		}
		m.mustSkiff(t, "stop", "-t", "1", name)
		if r := m.skiff("ps", "-a", "--filter", "name="+name, "--format", "{{.Ports}}|{{.Networks}}"); norm(r.stdout) != "|pasta" {
			t.Errorf("a stopped container publishes nothing: %v", r)
		}
	})
}
