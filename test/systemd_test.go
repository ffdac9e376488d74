package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiff-project/skiff/pkg/unit"
)

// verifyUnit runs systemd-analyze verify on a unit file (make deps installs systemd).
func verifyUnit(t *testing.T, path string) {
	t.Helper()
	if out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze verify %s: %v\n%s", path, err, out)
	}
}

// execStart reads a unit's ExecStart= as the words systemd runs.
func execStart(t *testing.T, text string) []string {
	t.Helper()
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			w, err := unit.SplitWords(v)
			if err != nil {
				t.Fatal(err)
			}
			for i := range w {
				w[i] = strings.ReplaceAll(strings.ReplaceAll(w[i], "$$", "$"), "%%", "%")
			}
			return w
		}
	}
	t.Fatalf("no ExecStart= in\n%s", text)
	return nil
}

// TestGenerateSystemd: the unit of a container passes systemd-analyze verify, and its
// ExecStart (--new) makes the container anew over the old one, with the options it had.
func TestGenerateSystemd(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		name := "gen-svc-" + m.name
		m.skiff("rm", "-f", name)
		m.mustSkiff(t, "run", "-d", "--name", name, "-e", "GREETING=hello unit", "--pids-limit", "50", "bbtest", "sh", "-c", `echo "$GREETING"; sleep 300`)
		dir := t.TempDir()
		for _, c := range []struct {
			file string
			args []string
			want []string
		}{
			{"plain.service", []string{"--name"}, []string{"start -a " + name, "stop -t 10 " + name}},
			{"new.service", []string{"--new", "--name"}, []string{"run --replace --rm --name " + name + " -e \"GREETING=hello unit\" --pids-limit 50 bbtest"}},
		} {
			r := m.mustSkiff(t, append(append([]string{"generate", "systemd"}, c.args...), name)...)
			for _, w := range c.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("generate systemd %s: no %q in\n%s", c.args, w, r.stdout)
				}
			}
			for _, w := range []string{"Type=notify", "KillMode=mixed", "TimeoutStopSec=20", skiffBin} {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("generate systemd %s: no %q in\n%s", c.args, w, r.stdout)
				}
			}
			path := filepath.Join(dir, c.file)
			os.WriteFile(path, []byte(r.stdout), 0o644)
			verifyUnit(t, path)
			if c.file == "new.service" {
				// what systemd would run: it replaces the running container
				argv := execStart(t, r.stdout)
				argv[len(argv)-1] = `echo "$GREETING"` // the command, short this time
				res := m.exec(opts{}, argv...)
				if res.code != 0 || norm(res.stdout) != "hello unit" {
					t.Errorf("the unit's ExecStart %q: %v", argv, res)
				}
			}
		}
		if r := m.skiff("ps", "-a", "--filter", "name="+name, "-q"); norm(r.stdout) != "" {
			t.Errorf("the unit's --rm container is left: %v", r)
		}
		if r := m.skiff("generate", "systemd", "no-such-container"); checkOneLineError(r, 125) != "" {
			t.Errorf("generate systemd of a missing container: %v", r)
		}
	})
}

// TestSystemdGenerator: .container files become units that systemd-analyze accepts; a bad file
// is named with its problem and does not stop the others.
func TestSystemdGenerator(t *testing.T) {
	gen := filepath.Join(filepath.Dir(skiffBin), "skiff-systemd-generator")
	in, out := t.TempDir(), t.TempDir()
	files := map[string]string{
		"web.container":   "[Unit]\nDescription=web\n[Container]\nImage=localhost/bbtest\nExec=sleep 300\nEnvironment=A=1\nNotify=yes\n[Install]\nWantedBy=default.target\n",
		"bad.container":   "[Container]\nImage=localhost/bbtest\nNoSuchKey=1\n",
		"noimg.container": "[Container]\nExec=true\n",
		"other.txt":       "not a unit",
	}
	for n, text := range files {
		os.WriteFile(filepath.Join(in, n), []byte(text), 0o644)
	}
	cmd := exec.Command(gen, out)
	cmd.Env = append(os.Environ(), "SKIFF_UNIT_DIRS="+in)
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "NoSuchKey") || !strings.Contains(string(b), filepath.Join(in, "bad.container")) || !strings.Contains(string(b), "no Image=") {
		t.Errorf("the generator with bad files: %v\n%s", err, b)
	}
	ents, _ := os.ReadDir(out)
	if len(ents) != 1 || ents[0].Name() != "web.service" {
		t.Fatalf("the generator wrote %v, want web.service alone", ents)
	}
	text, _ := os.ReadFile(filepath.Join(out, "web.service"))
	for _, w := range []string{"ExecStart=" + skiffBin + " run --replace --rm -e A=1 --sdnotify=container --name systemd-%N localhost/bbtest sleep 300", "Description=web", "WantedBy=default.target"} {
		if !strings.Contains(string(text), w) {
			t.Errorf("web.service has no %q:\n%s", w, text)
		}
	}
	verifyUnit(t, filepath.Join(out, "web.service"))
	// quadlet's variable, and systemd's three directories
	os.Remove(filepath.Join(in, "bad.container"))
	os.Remove(filepath.Join(in, "noimg.container"))
	cmd = exec.Command(gen, out, out, out)
	cmd.Env = append(os.Environ(), "QUADLET_UNIT_DIRS="+in)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("QUADLET_UNIT_DIRS: %v\n%s", err, b)
	}
	if b, err := exec.Command(gen).CombinedOutput(); err == nil || !strings.Contains(string(b), "usage") {
		t.Errorf("no directory: %v %s", err, b)
	}
}
