// skiff-systemd-generator turns .container files into service units that run skiff, as
// systemd calls a generator: skiff-systemd-generator NORMAL_DIR [EARLY_DIR LATE_DIR]. It reads
// /etc/containers/systemd (as root) or $XDG_CONFIG_HOME/containers/systemd (~/.config/..., as
// a user or with --user), or the colon-separated directories of SKIFF_UNIT_DIRS (or quadlet's
// QUADLET_UNIT_DIRS), and writes NAME.service for each NAME.container into NORMAL_DIR. A bad
// file is one line on stderr naming it and the problem; the others are still written, and the
// generator exits 1.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/skiff-project/skiff/pkg/unit"
)

func main() {
	args := os.Args[1:]
	user := os.Getuid() != 0 || strings.Contains(filepath.Base(os.Args[0]), "user")
	var dirs []string
	for _, a := range args {
		switch {
		case a == "--user":
			user = true
		case a == "-h" || a == "--help":
			fmt.Println("usage: skiff-systemd-generator [--user] NORMAL_DIR [EARLY_DIR LATE_DIR]")
			return
		case strings.HasPrefix(a, "-"):
			fail("unknown flag %s: usage: skiff-systemd-generator [--user] NORMAL_DIR [EARLY_DIR LATE_DIR]", a)
		default:
			dirs = append(dirs, a)
		}
	}
	if len(dirs) != 1 && len(dirs) != 3 {
		fail("usage: skiff-systemd-generator [--user] NORMAL_DIR [EARLY_DIR LATE_DIR] (as systemd calls generators)")
	}
	out := dirs[0]
	skiff, err := skiffPath()
	if err != nil {
		fail("%v", err)
	}
	files, err := containerFiles(sourceDirs(user))
	if err != nil {
		fail("%v", err)
	}
	code := 0
	for _, path := range files {
		if err := generate(path, out, skiff); err != nil {
			fmt.Fprintf(os.Stderr, "skiff-systemd-generator: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "skiff-systemd-generator: "+format+"\n", a...)
	os.Exit(1)
}

// sourceDirs are the directories with .container files, first match wins for a name.
func sourceDirs(user bool) []string {
	for _, env := range []string{"SKIFF_UNIT_DIRS", "QUADLET_UNIT_DIRS"} {
		if v := os.Getenv(env); v != "" {
			return filepath.SplitList(v)
		}
	}
	if !user {
		return []string{"/etc/containers/systemd"}
	}
	cfg := os.Getenv("XDG_CONFIG_HOME")
	if cfg == "" {
		home, _ := os.UserHomeDir()
		cfg = filepath.Join(home, ".config")
	}
	return []string{filepath.Join(cfg, "containers", "systemd")}
}

// containerFiles lists the .container files of dirs (a missing directory has none); a name
// in an earlier directory hides the same name in a later one.
func containerFiles(dirs []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".container") || seen[e.Name()] {
				continue
			}
			seen[e.Name()] = true
			out = append(out, filepath.Join(d, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// generate writes the unit of one .container file.
func generate(path, out, skiff string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	u, err := unit.FromContainer(f, path, unit.Options{Skiff: skiff, StopTimeout: 10, Source: path})
	if err != nil {
		return err
	}
	name := strings.TrimSuffix(filepath.Base(path), ".container") + ".service"
	text := "# Made by skiff-systemd-generator from " + path + "\n" + u.String()
	tmp := filepath.Join(out, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(out, name))
}

// skiffPath is the skiff binary the units run: beside the generator (bin/), or the bin of
// its prefix (PREFIX/libexec/skiff/ -> PREFIX/bin/skiff), or SKIFF_BINARY.
func skiffPath() (string, error) {
	if p := os.Getenv("SKIFF_BINARY"); p != "" {
		return p, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(self); err == nil {
		self = r
	}
	dir := filepath.Dir(self)
	for _, p := range []string{filepath.Join(dir, "skiff"), filepath.Join(dir, "..", "..", "bin", "skiff"), "/usr/bin/skiff", "/usr/local/bin/skiff"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return filepath.Clean(p), nil
		}
	}
	return "", fmt.Errorf("no skiff binary beside %s or in PREFIX/bin: set SKIFF_BINARY", self)
}
