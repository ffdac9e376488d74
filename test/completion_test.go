package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCompletionShells loads `skiff completion bash|zsh|fish` as each mode's user and completes
// command lines against that user's store: a container's name after rm, an image's after run,
// flags, subcommands.
func TestCompletionShells(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		name := "docs-comp-" + m.name
		m.skiff("rm", "-f", name)
		m.mustSkiff(t, "create", "--name", name, "bbtest", "true")
		defer m.skiff("rm", "-f", name)
		const image = "localhost/bbtest:latest"

		// skiff on PATH, as an installed one is
		pre := "export PATH=" + filepath.Dir(skiffBin) + ":$PATH\n"
		bash := func(script string) result { return m.exec(opts{}, "bash", "-c", pre+script) }

		// what /work/shared/acceptance/09-systemd runs
		if r := bash("source <(skiff completion bash) && complete -p skiff"); r.code != 0 || norm(r.stdout) != "complete -F _skiff skiff" {
			t.Fatalf("[%s] source <(skiff completion bash) && complete -p skiff: %v", m.name, r)
		}

		for _, c := range []struct {
			words     []string
			want, not []string
		}{
			{[]string{"skiff", "rm", ""}, []string{name}, []string{image, "run"}},
			{[]string{"skiff", "rm", "docs-comp-"}, []string{name}, nil},
			{[]string{"skiff", "start", "-a", ""}, []string{name}, nil},
			{[]string{"skiff", "container", "rm", ""}, []string{name}, nil},
			{[]string{"skiff", "run", ""}, []string{image}, []string{name}},
			{[]string{"skiff", "run", "--rm", "--name", "x", ""}, []string{image}, nil},
			{[]string{"skiff", "run", "localhost/bbtest", ":", ""}, []string{"latest"}, nil},
			{[]string{"skiff", "rmi", "localhost/bb"}, []string{image}, nil},
			{[]string{"skiff", "run", "--mem"}, []string{"--memory", "--memory-swap"}, []string{"--name"}},
			{[]string{"skiff", "build", "--ta"}, []string{"--tag", "--target"}, nil},
			{[]string{"skiff", "push", "--"}, []string{"--digestfile", "--tls-verify"}, nil},
			{[]string{"skiff", "volume", ""}, []string{"create", "rm", "ls"}, nil},
			{[]string{"skiff", ""}, []string{"run", "completion", "pull"}, nil},
		} {
			var w []string
			for _, x := range c.words {
				w = append(w, strconv.Quote(x))
			}
			r := bash("source <(skiff completion bash)\nCOMP_WORDS=(" + strings.Join(w, " ") + ")\n" +
				"COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n_skiff\nprintf '%s\\n' \"${COMPREPLY[@]}\"")
			got := lines(r.stdout)
			if r.code != 0 {
				t.Errorf("[%s] %q: %v", m.name, c.words, r)
				continue
			}
			for _, x := range c.want {
				if !contains(got, x) {
					t.Errorf("[%s] bash %q: %q not offered: %q", m.name, c.words, x, got)
				}
			}
			for _, x := range c.not {
				if contains(got, x) {
					t.Errorf("[%s] bash %q: %q offered: %q", m.name, c.words, x, got)
				}
			}
		}

		// zsh and fish: the scripts parse, and fish completes from the store
		for _, sh := range []string{"zsh", "fish"} {
			if r := bash("set -o pipefail; skiff completion " + sh + " | " + sh + " -n"); r.code != 0 || r.stderr != "" {
				t.Errorf("[%s] skiff completion %s | %s -n: %v", m.name, sh, sh, r)
			}
		}
		r := bash(`fish --no-config -c 'skiff completion fish | source; complete -C "skiff rm "; complete -C "skiff run "'`)
		got := strings.Fields(r.stdout)
		if r.code != 0 || !contains(got, name) || !contains(got, image) {
			t.Errorf("[%s] fish complete -C: want %s and %s: %v", m.name, name, image, r)
		}

		for _, bad := range [][]string{{"completion"}, {"completion", "tcsh"}} {
			r := m.skiff(bad...)
			if p := checkOneLineError(r); p != "" || r.stdout != "" {
				t.Errorf("[%s] skiff %q: %s: %v", m.name, bad, p, r)
			}
		}
	})
}

// TestInstallDocs: make install DESTDIR=... puts the completions and the man pages where the
// shells and man look, and the installed skiff prints the committed completion scripts.
func TestInstallDocs(t *testing.T) {
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	r := execArgv([]string{"make", "-C", repo, "install", "DESTDIR=" + dest, "PREFIX=/usr"}, opts{timeout: 5 * time.Minute})
	if r.code != 0 {
		t.Fatalf("make install: %v", r)
	}
	usr := filepath.Join(dest, "usr")
	for file, committed := range map[string]string{
		"share/bash-completion/completions/skiff":    "completions/bash/skiff",
		"share/zsh/site-functions/_skiff":            "completions/zsh/_skiff",
		"share/fish/vendor_completions.d/skiff.fish": "completions/fish/skiff.fish",
	} {
		got, err := os.ReadFile(filepath.Join(usr, file))
		want, err2 := os.ReadFile(filepath.Join(repo, committed))
		if err != nil || err2 != nil || string(got) != string(want) {
			t.Errorf("%s: not the committed %s (%v, %v)", file, committed, err, err2)
		}
		shell := strings.Split(committed, "/")[1]
		r := execArgv([]string{filepath.Join(usr, "bin/skiff"), "completion", shell}, opts{})
		if r.code != 0 || r.stdout != string(want) {
			t.Errorf("installed skiff completion %s: not the committed script: %v", shell, r)
		}
	}
	for _, page := range []string{"skiff", "skiff-run", "skiff-build", "skiff-volume-create", "skiff-completion"} {
		r := execArgv([]string{"env", "MANPATH=" + filepath.Join(usr, "share/man"), "MANWIDTH=80", "man", "--warnings", page}, opts{})
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, strings.ToUpper(page)+"(1)") {
			t.Errorf("man %s from the installed pages: %v", page, r)
		}
	}
}
