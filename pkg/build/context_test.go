package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// ctxFile is one file of a test tree: a name ending in "/" is a directory, Link makes a
// symbolic link, else Data is the content.
type ctxFile struct {
	Name string
	Data string
	Link string
	Mode fs.FileMode // 0: 0644 (files), 0755 (dirs)
}

// makeTree writes files under dir with exact modes and a fixed mtime.
func makeTree(t *testing.T, dir string, files []ctxFile) {
	t.Helper()
	when := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(f.Name, "/")))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(f.Name, "/"):
			mode := f.Mode
			if mode == 0 {
				mode = 0o755
			}
			if err := os.MkdirAll(p, mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
		case f.Link != "":
			if err := os.Symlink(f.Link, p); err != nil {
				t.Fatal(err)
			}
			continue
		default:
			mode := f.Mode
			if mode == 0 {
				mode = 0o644
			}
			if err := os.WriteFile(p, []byte(f.Data), mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(p, when, when); err != nil {
			t.Fatal(err)
		}
	}
}

// openTestContext makes a context holding files and .dockerignore (when not "").
func openTestContext(t *testing.T, files []ctxFile, ignore string) *Context {
	t.Helper()
	dir := t.TempDir()
	if ignore != "" {
		files = append(files, ctxFile{Name: ".dockerignore", Data: ignore})
	}
	makeTree(t, dir, files)
	c, err := OpenContext(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// listFS walks src from the root with ReadDir, directories with a trailing "/".
func listFS(t *testing.T, src SourceFS) []string {
	t.Helper()
	var out []string
	var walk func(dir string)
	walk = func(dir string) {
		es, err := src.ReadDir(dir)
		if err != nil {
			t.Fatalf("ReadDir(%q): %v", dir, err)
		}
		for _, e := range es {
			n := path.Join(dir, e.Name())
			if e.IsDir() {
				out = append(out, n+"/")
				walk(n)
			} else {
				out = append(out, n)
			}
		}
	}
	walk(".")
	return out
}

func TestDockerignore(t *testing.T) {
	files := []ctxFile{
		{Name: "Dockerfile", Data: "FROM scratch"},
		{Name: "README.md", Data: "r"},
		{Name: "notes.md", Data: "n"},
		{Name: "a.log", Data: "l"},
		{Name: "sub/b.log", Data: "l"},
		{Name: "sub/c.txt", Data: "c"},
		{Name: "secret.txt", Data: "s"},
		{Name: "build/keep.txt", Data: "k"},
		{Name: "build/other.txt", Data: "o"},
		{Name: "build/deep/x.txt", Data: "x"},
		{Name: "node_modules/m/index.js", Data: "j"},
	}
	all := []string{".dockerignore", "Dockerfile", "README.md", "a.log", "build/", "build/deep/", "build/deep/x.txt", "build/keep.txt", "build/other.txt",
		"node_modules/", "node_modules/m/", "node_modules/m/index.js", "notes.md", "secret.txt", "sub/", "sub/b.log", "sub/c.txt"}
	without := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(s string) bool { return slices.Contains(drop, s) })
	}
	tests := []struct {
		name    string
		ignore  string
		want    []string // what ReadDir shows, recursively
		hidden  []string // Lstat and Open say fs.ErrNotExist
		visible []string
	}{
		{name: "plain name", ignore: "secret.txt\n", want: without("secret.txt"), hidden: []string{"secret.txt"}},
		{name: "leading slash", ignore: "/secret.txt\n", want: without("secret.txt"), hidden: []string{"secret.txt"}},
		{name: "glob is one level", ignore: "*.log\n", want: without("a.log"), hidden: []string{"a.log"}, visible: []string{"sub/b.log"}},
		{name: "double star", ignore: "**/*.log\n", want: without("a.log", "sub/b.log"), hidden: []string{"a.log", "sub/b.log"}},
		{name: "directory", ignore: "node_modules\n", want: without("node_modules/", "node_modules/m/", "node_modules/m/index.js"),
			hidden: []string{"node_modules", "node_modules/m", "node_modules/m/index.js"}},
		{name: "exception", ignore: "*.md\n!README.md\n", want: without("notes.md"), hidden: []string{"notes.md"}, visible: []string{"README.md"}},
		{name: "re-included file in ignored dir", ignore: "build\n!build/keep.txt\n", want: without("build/deep/", "build/deep/x.txt", "build/other.txt"),
			hidden: []string{"build/other.txt", "build/deep", "build/deep/x.txt"}, visible: []string{"build", "build/keep.txt"}},
		{name: "re-included by a double star", ignore: "build\n!**/x.txt\n", want: without("build/keep.txt", "build/other.txt"),
			hidden: []string{"build/keep.txt"}, visible: []string{"build", "build/deep", "build/deep/x.txt"}},
		{name: "comments and blanks", ignore: "# secret.txt\n\n   \n  a.log  \n", want: without("a.log"), hidden: []string{"a.log"}, visible: []string{"secret.txt"}},
		{name: "everything but", ignore: "*\n!sub\n", want: []string{"sub/", "sub/b.log", "sub/c.txt"}, hidden: []string{"Dockerfile", ".dockerignore", "build"}},
		{name: "no .dockerignore", want: without(".dockerignore")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openTestContext(t, files, tt.ignore)
			if got := listFS(t, c); !slices.Equal(got, tt.want) {
				t.Errorf("ReadDir walk:\n got %q\nwant %q", got, tt.want)
			}
			for _, n := range tt.hidden {
				if _, err := c.Lstat(n); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Lstat(%q) = %v, want fs.ErrNotExist", n, err)
				}
				if f, err := c.Open(n); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Open(%q) = %v, want fs.ErrNotExist", n, err)
					if f != nil {
						f.Close()
					}
				}
			}
			for _, n := range tt.visible {
				if _, err := c.Lstat(n); err != nil {
					t.Errorf("Lstat(%q): %v", n, err)
				}
			}
		})
	}
}

func TestContextNames(t *testing.T) {
	c := openTestContext(t, []ctxFile{
		{Name: "a/b.txt", Data: "B"},
		{Name: "out", Link: "/etc"},
		{Name: "up", Link: "../.."},
		{Name: "in", Link: "a/b.txt"},
	}, "")
	for _, n := range []string{"..", "../x", "a/../../x"} {
		if _, err := c.Lstat(n); err == nil || !strings.Contains(err.Error(), "outside the build context") {
			t.Errorf("Lstat(%q) = %v, want an outside-the-context error", n, err)
		}
		if _, err := c.Open(n); err == nil {
			t.Errorf("Open(%q) works, want an error", n)
		}
	}
	// links are seen as links, and never followed out
	fi, err := c.Lstat("out")
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("Lstat(out) = %v, %v: want a symlink", fi, err)
	}
	if l, err := c.Readlink("out"); err != nil || l != "/etc" {
		t.Errorf("Readlink(out) = %q, %v", l, err)
	}
	for _, n := range []string{"out/passwd", "up/etc/passwd"} {
		if f, err := c.Open(n); err == nil {
			f.Close()
			t.Errorf("Open(%q) follows a link out of the context", n)
		}
		if _, err := c.Lstat(n); err == nil {
			t.Errorf("Lstat(%q) follows a link out of the context", n)
		}
	}
	if f, err := c.Open("in"); err == nil {
		f.Close()
		t.Errorf("Open(in) follows a final symlink")
	}
	f, err := c.Open("/a/b.txt") // a leading slash means the root
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "B" {
		t.Errorf("read %q", b)
	}
	if _, err := OpenContext(t.TempDir()+"/nope", ""); err == nil {
		t.Error("OpenContext of a missing dir works")
	}
	if _, err := OpenContext(t.TempDir(), "../Dockerfile"); err == nil {
		t.Error("OpenContext takes a Dockerfile outside the context")
	}
}

// tarEnt is one entry for makeTar.
type tarEnt struct {
	Name, Data, Link string
	Type             byte
	Mode             int64
	UID, GID         int
}

func makeTar(t *testing.T, ents []tarEnt) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.Name, Typeflag: e.Type, Linkname: e.Link, Mode: e.Mode, Uid: e.UID, Gid: e.GID,
			Size: int64(len(e.Data)), ModTime: time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte(e.Data))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestContextFromTar(t *testing.T) {
	good := makeTar(t, []tarEnt{
		{Name: "Dockerfile", Data: "FROM scratch\nCOPY . /\n"},
		{Name: "app/", Type: tar.TypeDir, Mode: 0o750},
		{Name: "app/run.sh", Data: "#!/bin/sh\n", Mode: 0o755},
		{Name: "app/link", Type: tar.TypeSymlink, Link: "run.sh"},
		{Name: "app/hard", Type: tar.TypeLink, Link: "app/run.sh"},
		{Name: "implicit/parent/f", Data: "f"},
	})
	tests := []struct {
		name    string
		in      []byte
		bare    bool
		files   map[string]string // name: content, or "->target" for a link
		wantErr string
	}{
		{name: "plain tar", in: good, files: map[string]string{"Dockerfile": "FROM scratch\nCOPY . /\n", "app/run.sh": "#!/bin/sh\n", "app/link": "->run.sh", "app/hard": "#!/bin/sh\n", "implicit/parent/f": "f"}},
		{name: "gzip tar", in: gzipBytes(good), files: map[string]string{"app/run.sh": "#!/bin/sh\n"}},
		{name: "bare Dockerfile", in: []byte("FROM alpine\nRUN true\n"), bare: true, files: map[string]string{"Dockerfile": "FROM alpine\nRUN true\n"}},
		{name: "gzip Dockerfile", in: gzipBytes([]byte("FROM alpine\n")), bare: true, files: map[string]string{"Dockerfile": "FROM alpine\n"}},
		{name: "dot-dot entry", in: makeTar(t, []tarEnt{{Name: "a/../../evil", Data: "x"}}), wantErr: `"a/../../evil"`},
		{name: "absolute entry", in: makeTar(t, []tarEnt{{Name: "/etc/evil", Data: "x"}}), wantErr: `"/etc/evil"`},
		{name: "write through link out", in: makeTar(t, []tarEnt{{Name: "out", Type: tar.TypeSymlink, Link: "../outside"}, {Name: "out/evil", Data: "x"}}), wantErr: `"out/evil"`},
		{name: "write through absolute link", in: makeTar(t, []tarEnt{{Name: "out", Type: tar.TypeSymlink, Link: "/tmp"}, {Name: "out/evil", Data: "x"}}), wantErr: `"out/evil"`},
		{name: "hard link out", in: makeTar(t, []tarEnt{{Name: "h", Type: tar.TypeLink, Link: "../../etc/passwd"}}), wantErr: `"h"`},
		{name: "empty", in: nil, wantErr: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "ctx")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			c, bare, err := ContextFromTar(bytes.NewReader(tt.in), dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one with %s", err, tt.wantErr)
				}
				if _, err := os.Lstat(filepath.Join(parent, "outside", "evil")); err == nil {
					t.Error("a file was written outside the context")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if bare != tt.bare {
				t.Errorf("bare = %v, want %v", bare, tt.bare)
			}
			for n, want := range tt.files {
				if l, ok := strings.CutPrefix(want, "->"); ok {
					if got, err := c.Readlink(n); err != nil || got != l {
						t.Errorf("Readlink(%s) = %q, %v, want %q", n, got, err, l)
					}
					continue
				}
				f, err := c.Open(n)
				if err != nil {
					t.Errorf("Open(%s): %v", n, err)
					continue
				}
				b, _ := io.ReadAll(f)
				f.Close()
				if string(b) != want {
					t.Errorf("%s = %q, want %q", n, b, want)
				}
			}
			if tt.name == "plain tar" {
				fi, err := c.Lstat("app")
				if err != nil || fi.Mode().Perm() != 0o750 {
					t.Errorf("app: %v %v, want mode 0750", fi, err)
				}
			}
		})
	}
}
