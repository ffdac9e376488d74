package unit

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update writes it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from what was made:\n%s", path, got)
	}
}

func TestFromContainerGolden(t *testing.T) {
	for _, name := range []string{"web", "minimal"} {
		f, err := os.Open(filepath.Join("testdata", name+".container"))
		if err != nil {
			t.Fatal(err)
		}
		u, err := FromContainer(f, name+".container", Options{Skiff: "/usr/bin/skiff", StopTimeout: 10})
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		golden(t, name+".service", u.String())
	}
}

func TestForContainerGolden(t *testing.T) {
	c := Container{Skiff: "/usr/bin/skiff", Ref: "web", Image: "localhost/web", StopTimeout: 5,
		Globals: []string{"--root", "/srv/store"}, RunArgs: []string{"-e", "A=100%", "-p", "8080:80", "localhost/web", "httpd", "-f"}}
	golden(t, "container-new.service", ForContainer(c, true).String())
	golden(t, "container.service", ForContainer(c, false).String())
}

func TestFromContainerErrors(t *testing.T) {
	for _, c := range []struct{ name, text, err string }{
		{"unknown key", "[Container]\nImage=x\nNoSuchKey=1\n", "f.container:3: unknown key NoSuchKey in [Container]"},
		{"no image", "[Container]\nExec=true\n", "has no Image="},
		{"no container section", "[Unit]\nDescription=x\n", "no [Container] section"},
		{"unknown section", "[Container]\nImage=x\n[Pod]\nA=b\n", "unknown section [Pod]"},
		{"not key=value", "[Container]\nImage\n", "is not KEY=VALUE"},
		{"before a section", "Image=x\n", "before any [SECTION]"},
		{"bad header", "[Container\nImage=x\n", "bad section header"},
		{"unclosed quote", "[Container]\nImage=x\nExec=sh -c \"true\n", "unclosed"},
		{"bad notify", "[Container]\nImage=x\nNotify=maybe\n", "Notify=maybe"},
	} {
		_, err := FromContainer(strings.NewReader(c.text), "f.container", Options{Skiff: "/usr/bin/skiff"})
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.err)
		}
	}
}

func TestSplitQuote(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{`a b  c`, []string{"a", "b", "c"}},
		{`"two words" 'single $x' esc\ aped`, []string{"two words", "single $x", "esc aped"}},
		{`A="1 2" B=3`, []string{"A=1 2", "B=3"}},
		{`""`, []string{""}},
	} {
		got, err := SplitWords(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("SplitWords(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		// what Quote writes, SplitWords reads back (and systemd turns $$ into $)
		back, err := SplitWords(Quote(c.want))
		for i := range back {
			back[i] = strings.ReplaceAll(back[i], "$$", "$")
		}
		if err != nil || !reflect.DeepEqual(back, c.want) {
			t.Errorf("SplitWords(Quote(%q)) = %q, %v", c.want, back, err)
		}
	}
	if got := QuoteLiteral([]string{"100%", "a b"}); got != `100%% "a b"` {
		t.Errorf("QuoteLiteral = %s", got)
	}
}
