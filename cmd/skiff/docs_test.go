//go:build skiff_image && skiff_docs

package main

// Run by make unit with -tags 'skiff_image skiff_docs': the completion scripts and the man pages
// are made from the whole command tree. zsh, fish, man and groff come from make deps.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var shellFiles = map[string]string{
	"bash": "../../completions/bash/skiff",
	"zsh":  "../../completions/zsh/_skiff",
	"fish": "../../completions/fish/skiff.fish",
}

func script(t *testing.T, shell string) string {
	t.Helper()
	s, err := completionScript(newApp(), shell)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func need(t *testing.T, tool, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Fatalf("%s is not installed: make deps installs it (Debian package %s)", tool, pkg)
	}
}

// The committed scripts are what the command definitions make now.
func TestCompletionFilesUpToDate(t *testing.T) {
	for _, sh := range completionShells {
		b, err := os.ReadFile(shellFiles[sh])
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != script(t, sh) {
			t.Errorf("%s is not what the command definitions make: run make completions and commit it", shellFiles[sh])
		}
	}
	if _, err := completionScript(newApp(), "tcsh"); err == nil {
		t.Error("completion tcsh: no error")
	}
}

// Each script parses in its shell.
func TestCompletionSyntax(t *testing.T) {
	for _, c := range []struct{ shell, pkg string }{{"bash", "bash"}, {"zsh", "zsh"}, {"fish", "fish"}} {
		need(t, c.shell, c.pkg)
		f := filepath.Join(t.TempDir(), "script")
		if err := os.WriteFile(f, []byte(script(t, c.shell)), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(c.shell, "-n", f).CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("%s -n: %v %s", c.shell, err, out)
		}
	}
}

// fakeSkiff stands in for skiff in the scripts' name look-ups: one container, two images.
const fakeContainer, fakeImage = "docs-box", "localhost/docs-img:latest"

// completionCases: the words (the last one is being completed), what must be offered and what
// must not. The same table drives the three shells.
var completionCases = []struct {
	words     []string
	want, not []string
	files     bool // nothing of skiff's: the shell's file completion
}{
	{words: []string{"skiff", ""}, want: []string{"run", "rm", "volume", "build", "pull", "completion"}, not: []string{"seccomp-compile", fakeContainer}},
	{words: []string{"skiff", "rm", ""}, want: []string{fakeContainer}, not: []string{fakeImage, "run"}},
	{words: []string{"skiff", "rm", "--force", ""}, want: []string{fakeContainer}},
	{words: []string{"skiff", "container", "rm", ""}, want: []string{fakeContainer}},
	{words: []string{"skiff", "--root", "/x", "stop", ""}, want: []string{fakeContainer}},
	{words: []string{"skiff", "run", ""}, want: []string{fakeImage}, not: []string{fakeContainer, "localhost/none:<none>"}},
	{words: []string{"skiff", "run", "--name", "x", "-e", "A=1", ""}, want: []string{fakeImage}},
	{words: []string{"skiff", "run", "-it", ""}, want: []string{fakeImage}},
	{words: []string{"skiff", "run", "--mem"}, want: []string{"--memory", "--memory-swap", "--memory-reservation"}, not: []string{"--name"}},
	{words: []string{"skiff", "run", "--memory", ""}, files: true},
	{words: []string{"skiff", "run", fakeImage, ""}, files: true},
	{words: []string{"skiff", "exec", fakeContainer, ""}, files: true},
	{words: []string{"skiff", "diff", ""}, want: []string{fakeContainer, fakeImage}},
	{words: []string{"skiff", "vol"}, want: []string{"volume"}, not: []string{"run"}},
	{words: []string{"skiff", "volume", ""}, want: []string{"create", "ls", "rm", "prune"}},
	{words: []string{"skiff", "volume", "remove", "--"}, want: []string{"--force"}},
	{words: []string{"skiff", "build", "--"}, want: []string{"--tag", "--file", "--build-arg", "--target"}},
	{words: []string{"skiff", "pull", "--"}, want: []string{"--all-tags", "--platform", "--tls-verify"}},
	{words: []string{"skiff", "push", "--"}, want: []string{"--digestfile", "--creds"}},
	{words: []string{"skiff", "--"}, want: []string{"--root", "--storage-driver", "--version"}},
}

const fakeSkiffSh = `skiff() {
	case " $* " in
	*" ps "*) echo ` + fakeContainer + ` ;;
	*" images "*) printf '%s\n' ` + fakeImage + ` 'localhost/none:<none>' ;;
	esac
}
`

// bashComplete drives _skiff as bash's programmable completion does: COMP_WORDS, COMP_CWORD,
// then COMPREPLY. bash splits at : and =, as COMP_WORDBREAKS says.
func bashComplete(t *testing.T, src string, words []string) ([]string, bool) {
	t.Helper()
	var w []string
	for _, x := range words {
		w = append(w, shQuote(x))
	}
	prog := src + fakeSkiffSh + `compopt() { echo FILES; }
COMP_WORDS=(` + strings.Join(w, " ") + `)
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_skiff
printf '%s\n' "${COMPREPLY[@]}"
`
	out, err := exec.Command("bash", "-c", prog).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	got := strings.Fields(string(out))
	files := len(got) > 0 && got[0] == "FILES"
	if files {
		got = got[1:]
	}
	return got, files
}

func TestCompletionBash(t *testing.T) {
	src := script(t, "bash")
	if out, err := exec.Command("bash", "-c", src+"complete -p skiff").CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "complete -F _skiff skiff" {
		t.Fatalf("complete -p skiff: %v %q", err, out)
	}
	for _, c := range completionCases {
		got, files := bashComplete(t, src, c.words)
		checkOffered(t, "bash", c.words, got, files, c.want, c.not, c.files)
	}
	// bash splits busybox:latest and --memory=1g into three words
	for _, c := range []struct {
		words []string
		want  []string
		files bool
	}{
		{[]string{"skiff", "run", "localhost/docs-img", ":", ""}, []string{"latest"}, false},
		{[]string{"skiff", "run", "localhost/docs-img", ":", "l"}, []string{"latest"}, false},
		{[]string{"skiff", "run", "localhost/docs-img", ":"}, []string{"latest"}, false},
		{[]string{"skiff", "run", "--memory", "=", ""}, nil, true},
		{[]string{"skiff", "run", "--memory", "=", "1g", ""}, []string{fakeImage}, false},
	} {
		got, files := bashComplete(t, src, c.words)
		checkOffered(t, "bash", c.words, got, files, c.want, nil, c.files)
	}
}

func checkOffered(t *testing.T, shell string, words, got []string, files bool, want, not []string, wantFiles bool) {
	t.Helper()
	if files != wantFiles || wantFiles && len(got) > 0 {
		t.Errorf("%s %q: file completion %v (want %v), offered %q", shell, words, files, wantFiles, got)
	}
	for _, w := range want {
		if !contains(got, w) {
			t.Errorf("%s %q: %q not offered; got %q", shell, words, w, got)
		}
	}
	for _, n := range not {
		if contains(got, n) {
			t.Errorf("%s %q: %q offered; got %q", shell, words, n, got)
		}
	}
	cur := words[len(words)-1]
	for _, g := range got {
		if !strings.HasPrefix(g, cur) && cur != ":" && !strings.Contains(strings.Join(words, ""), ":") {
			t.Errorf("%s %q: %q does not start with %q", shell, words, g, cur)
		}
	}
}

// zsh: _skiff with the completion system's functions replaced by ones that print what they are
// given (_describe filters by the prefix itself; these stubs do it for it).
func TestCompletionZsh(t *testing.T) {
	need(t, "zsh", "zsh")
	src := script(t, "zsh")
	for _, c := range completionCases {
		var w []string
		for _, x := range c.words {
			w = append(w, shQuote(x))
		}
		prog := `compdef() { :; }
` + src + fakeSkiffSh + `
_describe() { local d; for d in ${(P)4}; do d=${d%%:*}; [[ ${d//\\:/:} == ${PREFIX}* ]] && print -r -- ${d//\\:/:}; done; return 0; }
_wanted() { shift 3; "$@"; }
compadd() { [[ $1 == -a ]] && for d in ${(P)2}; do [[ $d == ${PREFIX}* ]] && print -r -- $d; done; return 0; }
_default() { print FILES; }
words=(` + strings.Join(w, " ") + `)
CURRENT=${#words}
PREFIX=${words[CURRENT]}
_skiff
`
		out, err := exec.Command("zsh", "-f", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("zsh: %v\n%s", err, out)
		}
		got := strings.Fields(string(out))
		files := contains(got, "FILES")
		if files {
			got = got[:0]
			for _, g := range strings.Fields(string(out)) {
				if g != "FILES" {
					got = append(got, g)
				}
			}
		}
		checkOffered(t, "zsh", c.words, got, files, c.want, c.not, c.files)
	}
}

// fish: complete -C, fish's own completion of a command line, with the script loaded.
func TestCompletionFish(t *testing.T) {
	need(t, "fish", "fish")
	src := script(t, "fish")
	f := filepath.Join(t.TempDir(), "skiff.fish")
	fake := `function skiff
	if contains -- ps $argv
		echo ` + fakeContainer + `
	else if contains -- images $argv
		printf '%s\n' ` + fakeImage + ` 'localhost/none:<none>'
	end
end
`
	if err := os.WriteFile(f, []byte(src+fake), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"Makefile", "zz-file"} { // what file completion offers
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range completionCases {
		line := strings.Join(c.words, " ")
		cmd := exec.Command("fish", "--no-config", "-c", "source "+f+"; complete -C "+fishQuote(line))
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("fish: %v\n%s", err, out)
		}
		var got []string
		files := false
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			cand, _, _ := strings.Cut(l, "\t")
			if cand == "zz-file" {
				files = true
			} else if cand != "" && cand != "Makefile" {
				got = append(got, cand)
			}
		}
		checkOffered(t, "fish", c.words, got, files, c.want, c.not, c.files)
	}
}

// make man's pages: one per command, every flag in its command's page, and man renders each
// without a warning.
func TestManPages(t *testing.T) {
	need(t, "man", "man-db")
	need(t, "groff", "groff")
	dir := t.TempDir()
	app := newApp()
	pages, err := writeManPages(app, dir)
	if err != nil {
		t.Fatal(err)
	}
	nodes, _ := manNodes(commandTree(app))
	want := 0
	t.Run("pages", func(t *testing.T) {
		for _, n := range nodes {
			want++
			t.Run(n.pageName(), func(t *testing.T) {
				t.Parallel()
				checkPage(t, dir, n)
			})
		}
	})
	if len(pages) != want || want < 60 {
		t.Errorf("%d pages for %d commands", len(pages), want)
	}
	// the heavy commands' pages have their real flags (the lean skiff's stubs have none)
	for page, flags := range map[string][]string{
		"skiff-build": {"--file", "--tag", "--build-arg", "--target", "--no-cache"},
		"skiff-pull":  {"--all-tags", "--platform", "--creds"},
		"skiff-push":  {"--digestfile", "--creds", "--tls-verify"},
		"skiff-run":   {"--memory", "--volume", "--network", "--rm"},
		"skiff":       {"--root", "--storage-driver"},
	} {
		text := render(t, filepath.Join(dir, page+".1"))
		for _, f := range flags {
			if !strings.Contains(text, f) {
				t.Errorf("%s(1) does not show %s", page, f)
			}
		}
	}
}

// checkPage: every flag and subcommand of n shows in its page.
func checkPage(t *testing.T, dir string, n *cmdNode) {
	b, err := os.ReadFile(filepath.Join(dir, n.pageName()+".1"))
	if err != nil {
		t.Fatal(err)
	}
	text := render(t, filepath.Join(dir, n.pageName()+".1"))
	for _, f := range n.flags {
		for _, s := range f.spelled() {
			// an option's heading: "       --label, -l LABEL"
			if !regexp.MustCompile(`(?m)^ {7}(-\S+, )*` + regexp.QuoteMeta(s) + `(,| |$)`).MatchString(text) {
				t.Errorf("%s: flag %s not shown", n.pageName(), s)
			}
		}
	}
	for _, s := range n.subs {
		if !strings.Contains(text, s.pageName()+"(1)") {
			t.Errorf("%s: no reference to %s(1)", n.pageName(), s.pageName())
		}
	}
	if !bytes.Contains(b, []byte(".SH NAME\n"+roff(n.pageName())+` \- `)) {
		t.Errorf("%s: no NAME line", n.pageName())
	}
}

// render runs man on a page as a reader would see it, 80 columns wide, and fails on any
// warning of man or groff: --warnings=w is every groff warning (plain --warnings, a subset).
func render(t *testing.T, page string) string {
	t.Helper()
	cmd := exec.Command("man", "-l", "--warnings=w", page)
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "LANG=C.UTF-8")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil || errb.Len() > 0 {
		t.Errorf("man -l --warnings=w %s: %v: %s", filepath.Base(page), err, errb.String())
	}
	return out.String()
}
