package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var isRoot = os.Geteuid() == 0

// srcTree makes the tree that round trips copy, below a new directory,
// and returns the path of the tree (named "src"):
//
//	src/                 0755
//	src/a/b/c.txt        0644
//	src/a/empty/         0750
//	src/a/ro/            0555, holding f
//	src/a/suid           04755
//	src/a/link -> b/c.txt
//	src/a/hard1, hard2   one file
//	src/a/fifo
//	src/a/null           a character device (root only)
//	src/a/owned          owned by 1234:5678 (root only)
//
// with mtimes in 2001 (the symlink's too).
func srcTree(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	p := func(name string) string { return filepath.Join(src, name) }
	must(t, os.MkdirAll(p("a/b"), 0o755))
	must(t, os.WriteFile(p("a/b/c.txt"), []byte("hello"), 0o644))
	must(t, os.Mkdir(p("a/empty"), 0o750))
	must(t, os.Mkdir(p("a/ro"), 0o755))
	must(t, os.WriteFile(p("a/ro/f"), []byte("read only dir"), 0o644))
	must(t, os.WriteFile(p("a/suid"), []byte("#!/bin/sh\n"), 0o755))
	must(t, os.Chmod(p("a/suid"), 0o755|os.ModeSetuid))
	must(t, os.Symlink("b/c.txt", p("a/link")))
	must(t, os.WriteFile(p("a/hard1"), []byte("linked"), 0o600))
	must(t, os.Link(p("a/hard1"), p("a/hard2")))
	must(t, unix.Mkfifo(p("a/fifo"), 0o640))
	if isRoot {
		must(t, unix.Mknod(p("a/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
		must(t, os.WriteFile(p("a/owned"), []byte("theirs"), 0o640))
		must(t, os.Lchown(p("a/owned"), 1234, 5678))
	}
	must(t, os.Chmod(p("a/ro"), 0o555))
	t.Cleanup(func() { os.Chmod(p("a/ro"), 0o755) })
	setTimes(t, src, time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC))
	return src
}

// setTimes sets the atime and mtime of everything below dir, dir included,
// symlinks not followed, directories last.
func setTimes(t *testing.T, dir string, tm time.Time) {
	t.Helper()
	var paths []string
	must(t, filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		paths = append(paths, p)
		return err
	}))
	ts := []unix.Timespec{unix.NsecToTimespec(tm.UnixNano()), unix.NsecToTimespec(tm.UnixNano())}
	for i := len(paths) - 1; i >= 0; i-- {
		must(t, unix.UtimesNanoAt(unix.AT_FDCWD, paths[i], ts, unix.AT_SYMLINK_NOFOLLOW))
	}
}

// describe is one line for each entry below dir, dir itself named ".":
// type and mode, owner, mtime, and contents, link target or device.
func describe(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	must(t, filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		s := fmt.Sprintf("%v %d:%d %s", fi.Mode(), st.Uid, st.Gid, fi.ModTime().UTC().Format(time.DateTime))
		switch fi.Mode().Type() {
		case 0:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s += fmt.Sprintf(" %q", b)
		case fs.ModeSymlink:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			s += " -> " + l
		case fs.ModeDevice | fs.ModeCharDevice:
			s += fmt.Sprintf(" %d,%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
		rel, _ := filepath.Rel(dir, p)
		m[rel] = s
		return nil
	}))
	return m
}

// sameTree fails unless the trees at got and want are described alike.
func sameTree(t *testing.T, got, want string) {
	t.Helper()
	g, w := describe(t, got), describe(t, want)
	for name, ws := range w {
		if gs, ok := g[name]; !ok {
			t.Errorf("%s: missing (want %s)", name, ws)
		} else if gs != ws {
			t.Errorf("%s: %s, want %s", name, gs, ws)
		}
	}
	for name, gs := range g {
		if _, ok := w[name]; !ok {
			t.Errorf("%s: unexpected %s", name, gs)
		}
	}
}

// cp copies srcPath to dest as skiff cp does, through a tar stream.
func cp(t *testing.T, srcPath, dest string, follow bool, chown *IDs) error {
	t.Helper()
	src, err := Stat(srcPath, follow)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := Pack(&buf, srcPath, PackOptions{Name: src.Base, Follow: follow}); err != nil {
		return err
	}
	dir, name, err := Resolve(dest, src)
	if err != nil {
		return err
	}
	return Unpack(&buf, dir, UnpackOptions{From: src.Base, To: name, Chown: chown})
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		what     string
		src      string // below the source tree's parent
		dest     string // below a fresh destination directory holding dir/
		follow   bool
		want     string // what must now be a copy of src (or its target)
		wantFrom string // the copy's original, if not src
	}{
		{what: "dir to missing", src: "src", dest: "new", want: "new"},
		{what: "dir to dir", src: "src", dest: "dir", want: "dir/src"},
		{what: "dir/. to dir", src: "src/.", dest: "dir", want: "dir"},
		{what: "subdir to dir", src: "src/a/b", dest: "dir", want: "dir/b"},
		{what: "file to dir", src: "src/a/b/c.txt", dest: "dir", want: "dir/c.txt"},
		{what: "file to new name", src: "src/a/b/c.txt", dest: "dir/x.txt", want: "dir/x.txt"},
		{what: "setuid file", src: "src/a/suid", dest: "dir", want: "dir/suid"},
		{what: "symlink", src: "src/a/link", dest: "dir", want: "dir/link"},
		{what: "symlink followed", src: "src/a/link", dest: "dir", follow: true, want: "dir/link", wantFrom: "src/a/b/c.txt"},
	} {
		t.Run(tc.what, func(t *testing.T) {
			src := srcTree(t)
			top := filepath.Dir(src)
			dest := t.TempDir()
			must(t, os.Mkdir(filepath.Join(dest, "dir"), 0o755))
			srcPath := filepath.Join(top, tc.src)
			if strings.HasSuffix(tc.src, "/.") {
				srcPath += "/."
			}
			if err := cp(t, srcPath, filepath.Join(dest, tc.dest), tc.follow, nil); err != nil {
				t.Fatal(err)
			}
			got, from := filepath.Join(dest, tc.want), filepath.Join(top, tc.src)
			if tc.wantFrom != "" {
				from = filepath.Join(top, tc.wantFrom)
			}
			if fi, _ := os.Lstat(from); fi.IsDir() {
				t.Cleanup(func() { os.Chmod(filepath.Join(got, "a/ro"), 0o755) })
				sameTreeBut(t, got, from, tc.dest == "dir" && tc.want == "dir")
			} else if g, w := describe(t, got)["."], describe(t, from)["."]; g != w {
				t.Errorf("copy %s, want %s", g, w)
			}
		})
	}
}

// sameTreeBut is sameTree, but ignores the top directory's own metadata
// when the copy merged into an existing directory.
func sameTreeBut(t *testing.T, got, want string, merged bool) {
	t.Helper()
	if !merged {
		sameTree(t, got, want)
		return
	}
	g, w := describe(t, got), describe(t, want)
	delete(g, ".")
	delete(w, ".")
	for name, ws := range w {
		if g[name] != ws {
			t.Errorf("%s: %s, want %s", name, g[name], ws)
		}
	}
	if len(g) != len(w) {
		t.Errorf("%d entries, want %d", len(g), len(w))
	}
}

func TestRoundTripHardLink(t *testing.T) {
	src := srcTree(t)
	dest := t.TempDir()
	t.Cleanup(func() { os.Chmod(filepath.Join(dest, "src/a/ro"), 0o755) })
	must(t, cp(t, src, dest, false, nil))
	a, err := os.Stat(filepath.Join(dest, "src/a/hard1"))
	must(t, err)
	b, err := os.Stat(filepath.Join(dest, "src/a/hard2"))
	must(t, err)
	if !os.SameFile(a, b) {
		t.Error("hard1 and hard2 are not one file")
	}
}

func TestPackDeterministic(t *testing.T) {
	src := srcTree(t)
	var one, two bytes.Buffer
	must(t, Pack(&one, src, PackOptions{}))
	must(t, Pack(&two, src, PackOptions{}))
	if !bytes.Equal(one.Bytes(), two.Bytes()) {
		t.Error("two packs of one tree differ")
	}
	names := entries(t, &one)
	want := []string{"src/", "src/a/", "src/a/b/", "src/a/b/c.txt", "src/a/empty/", "src/a/fifo",
		"src/a/hard1", "src/a/hard2", "src/a/link"}
	if isRoot {
		want = append(want, "src/a/null", "src/a/owned")
	}
	want = append(want, "src/a/ro/", "src/a/ro/f", "src/a/suid")
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("entries %v, want %v", names, want)
	}
}

func TestPackSkipsSockets(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s")
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	must(t, err)
	defer unix.Close(fd)
	must(t, unix.Bind(fd, &unix.SockaddrUnix{Name: sock}))
	var buf bytes.Buffer
	must(t, Pack(&buf, dir, PackOptions{Name: "d"}))
	if names := entries(t, &buf); fmt.Sprint(names) != "[d/]" {
		t.Errorf("entries %v, want [d/]", names)
	}
}

func TestUnpackChown(t *testing.T) {
	if !isRoot {
		t.Skip("chown to other ids needs root")
	}
	src := srcTree(t)
	dest := t.TempDir()
	must(t, cp(t, src, filepath.Join(dest, "copy"), false, &IDs{UID: 4321, GID: 8765}))
	d := describe(t, filepath.Join(dest, "copy"))
	for name, s := range d {
		if !strings.Contains(s, " 4321:8765 ") {
			t.Errorf("%s: %s, want owner 4321:8765", name, s)
		}
	}
	// Implied parent directories, too.
	must(t, Unpack(tarOf(t, entry{name: "x/y/z", body: "z"}), dest, UnpackOptions{Chown: &IDs{UID: 7, GID: 8}}))
	for _, name := range []string{"x", "x/y", "x/y/z"} {
		if s := describe(t, filepath.Join(dest, name))["."]; !strings.Contains(s, " 7:8 ") {
			t.Errorf("%s: %s, want owner 7:8", name, s)
		}
	}
}

func TestUnpackRename(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		want     []string
	}{
		{"", "", []string{"top", "top/f", "top/hard", "other"}},
		{"top", "new", []string{"new", "new/f", "new/hard", "other"}},
		{"top", ".", []string{"f", "hard", "other"}},
		{".", "sub", []string{"sub", "sub/top", "sub/top/f", "sub/top/hard", "sub/other"}},
		{"to", "new", []string{"top", "top/f", "top/hard", "other"}}, // whole components only
	} {
		t.Run(tc.from+"->"+tc.to, func(t *testing.T) {
			dest := t.TempDir()
			tr := tarOf(t,
				entry{name: "top/", typ: tar.TypeDir},
				entry{name: "top/f", body: "f"},
				entry{name: "top/hard", typ: tar.TypeLink, link: "top/f"},
				entry{name: "other", body: "o"})
			must(t, Unpack(tr, dest, UnpackOptions{From: tc.from, To: tc.to}))
			for _, name := range tc.want {
				if _, err := os.Lstat(filepath.Join(dest, name)); err != nil {
					t.Error(err)
				}
			}
			if n := len(describe(t, dest)) - 1; n != len(tc.want) {
				t.Errorf("%d entries, want %d: %v", n, len(tc.want), describe(t, dest))
			}
		})
	}
}

func TestUnpackOverwrite(t *testing.T) {
	for _, tc := range []struct {
		what     string
		existing func(dest string) error
		entry    entry
		errorHas string
	}{
		{"file over file", func(d string) error { return os.WriteFile(filepath.Join(d, "x"), []byte("old"), 0o644) },
			entry{name: "x", body: "new"}, ""},
		{"file over symlink", func(d string) error { return os.Symlink("elsewhere", filepath.Join(d, "x")) },
			entry{name: "x", body: "new"}, ""},
		{"file over dir", func(d string) error { return os.Mkdir(filepath.Join(d, "x"), 0o755) },
			entry{name: "x", body: "new"}, "cannot overwrite directory"},
		{"dir over file", func(d string) error { return os.WriteFile(filepath.Join(d, "x"), []byte("old"), 0o644) },
			entry{name: "x/", typ: tar.TypeDir}, "cannot overwrite non-directory"},
		{"dir over dir", func(d string) error { return os.MkdirAll(filepath.Join(d, "x/keep"), 0o755) },
			entry{name: "x/", typ: tar.TypeDir}, ""},
		{"file below file", func(d string) error { return os.WriteFile(filepath.Join(d, "x"), []byte("old"), 0o644) },
			entry{name: "x/y", body: "new"}, "x: not a directory"},
	} {
		t.Run(tc.what, func(t *testing.T) {
			dest := t.TempDir()
			must(t, tc.existing(dest))
			err := Unpack(tarOf(t, tc.entry), dest, UnpackOptions{})
			if tc.errorHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errorHas) || !strings.Contains(err.Error(), dest) {
					t.Fatalf("Unpack: %v; want an error naming %s with %q", err, dest, tc.errorHas)
				}
				return
			}
			must(t, err)
			if tc.entry.typ == 0 {
				if b, err := os.ReadFile(filepath.Join(dest, "x")); err != nil || string(b) != "new" {
					t.Errorf("x holds %q, %v", b, err)
				}
			} else if _, err := os.Stat(filepath.Join(dest, "x/keep")); err != nil {
				t.Errorf("merge lost x/keep: %v", err)
			}
		})
	}
}

func TestUnpackDevices(t *testing.T) {
	dest := t.TempDir()
	tr := tarOf(t,
		entry{name: "null", typ: tar.TypeChar, major: 1, minor: 3},
		entry{name: "loop", typ: tar.TypeBlock, major: 7, minor: 0},
		entry{name: "fifo", typ: tar.TypeFifo},
		entry{name: "after", body: "x"})
	must(t, Unpack(tr, dest, UnpackOptions{}))
	d := describe(t, dest)
	if !strings.HasPrefix(d["fifo"], "p") || d["after"] == "" {
		t.Errorf("fifo %q, after %q", d["fifo"], d["after"])
	}
	canMknod := isRoot && unix.Mknod(filepath.Join(t.TempDir(), "probe"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))) == nil
	if canMknod {
		if !strings.HasPrefix(d["null"], "Dc") || !strings.HasSuffix(d["null"], " 1,3") || !strings.HasPrefix(d["loop"], "D") {
			t.Errorf("null %q, loop %q", d["null"], d["loop"])
		}
	} else if d["null"] != "" || d["loop"] != "" {
		t.Errorf("devices made without privilege? null %q, loop %q", d["null"], d["loop"])
	}
}

func TestUnpackMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	err := Unpack(tarOf(t, entry{name: "f"}), dir, UnpackOptions{})
	if err == nil || err.Error() != dir+": no such file or directory" {
		t.Errorf("Unpack into a missing directory: %v", err)
	}
}
