package build

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// listTar describes each entry of a tar as "NAME TYPE MODE UID:GID [CONTENT|->LINK]".
func listTar(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		typ := map[byte]string{tar.TypeReg: "f", tar.TypeDir: "d", tar.TypeSymlink: "l"}[h.Typeflag]
		s := fmt.Sprintf("%s %s %o %d:%d", h.Name, typ, h.Mode, h.Uid, h.Gid)
		switch h.Typeflag {
		case tar.TypeReg:
			data, _ := io.ReadAll(tr)
			s += " " + string(data)
		case tar.TypeSymlink:
			s += " ->" + h.Linkname
		}
		if h.Uname != "" || h.Gname != "" || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() || h.ModTime.Nanosecond() != 0 {
			t.Errorf("%s: names %q %q, atime %v, ctime %v, mtime %v: want none and whole seconds", h.Name, h.Uname, h.Gname, h.AccessTime, h.ChangeTime, h.ModTime)
		}
		out = append(out, s)
	}
}

func copyFixture(t *testing.T) []ctxFile {
	t.Helper()
	var plain bytes.Buffer
	plain.Write(makeTar(t, []tarEnt{{Name: "x", Data: "X"}}))
	return []ctxFile{
		{Name: "a.txt", Data: "A"},
		{Name: "b.txt", Data: "B"},
		{Name: "run.sh", Data: "R", Mode: 0o755},
		{Name: "src/one", Data: "1"},
		{Name: "src/sub/two", Data: "2", Mode: 0o600},
		{Name: "src/secret", Data: "S"},
		{Name: "link", Link: "a.txt"},
		{Name: "app.tar.gz", Data: string(gzipBytes(makeTar(t, []tarEnt{
			{Name: "./", Type: tar.TypeDir, Mode: 0o755},
			{Name: "./bin/", Type: tar.TypeDir, Mode: 0o755, UID: 5, GID: 6},
			{Name: "./bin/tool", Data: "T", Mode: 0o755, UID: 5, GID: 6},
			{Name: "./bin/tool2", Type: tar.TypeLink, Link: "bin/tool", Mode: 0o755},
			{Name: "./bin/sh", Type: tar.TypeSymlink, Link: "/bin/busybox"},
		})))},
		{Name: "data.bin", Data: plain.String()}, // a plain tar, by content
		{Name: "evil.tar", Data: string(makeTar(t, []tarEnt{{Name: "../../etc/passwd", Data: "x"}}))},
	}
}

func TestWriteCopy(t *testing.T) {
	mode := func(m fs.FileMode) *fs.FileMode { return &m }
	tests := []struct {
		name    string
		spec    CopySpec
		want    []string
		wantErr string
	}{
		{name: "dir copies its contents", spec: CopySpec{Sources: []string{"src"}, Dest: "/app"}, want: []string{
			"app/ d 755 0:0", "app/one f 644 0:0 1", "app/sub/ d 755 0:0", "app/sub/two f 600 0:0 2"}},
		{name: "file renamed", spec: CopySpec{Sources: []string{"a.txt"}, Dest: "/etc/b.conf"}, want: []string{
			"etc/ d 755 0:0", "etc/b.conf f 644 0:0 A"}},
		{name: "file into dir", spec: CopySpec{Sources: []string{"/a.txt"}, Dest: "/opt/"}, want: []string{
			"opt/ d 755 0:0", "opt/a.txt f 644 0:0 A"}},
		{name: "relative dest", spec: CopySpec{Sources: []string{"a.txt"}, Dest: "x/", WorkDir: "/w"}, want: []string{
			"w/ d 755 0:0", "w/x/ d 755 0:0", "w/x/a.txt f 644 0:0 A"}},
		{name: "dot dest", spec: CopySpec{Sources: []string{"a.txt"}, Dest: ".", WorkDir: "/w"}, want: []string{
			"w/ d 755 0:0", "w/a.txt f 644 0:0 A"}},
		{name: "root dest", spec: CopySpec{Sources: []string{"a.txt"}, Dest: "/"}, want: []string{"a.txt f 644 0:0 A"}},
		{name: "several sources", spec: CopySpec{Sources: []string{"b.txt", "a.txt", "src/sub"}, Dest: "/d/"}, want: []string{
			"d/ d 755 0:0", "d/a.txt f 644 0:0 A", "d/b.txt f 644 0:0 B", "d/two f 600 0:0 2"}},
		{name: "several sources need a dir", spec: CopySpec{Sources: []string{"a.txt", "b.txt"}, Dest: "/d"}, wantErr: "COPY with more than one source needs a destination ending in /"},
		{name: "glob", spec: CopySpec{Sources: []string{"*.txt"}, Dest: "/g/"}, want: []string{
			"g/ d 755 0:0", "g/a.txt f 644 0:0 A", "g/b.txt f 644 0:0 B"}},
		{name: "glob of several needs a dir", spec: CopySpec{Sources: []string{"?.txt"}, Dest: "/g"}, wantErr: "needs a destination ending in /"},
		{name: "glob of one renames", spec: CopySpec{Sources: []string{"a.t[x]t"}, Dest: "/g"}, want: []string{"g f 644 0:0 A"}},
		{name: "glob in a dir", spec: CopySpec{Sources: []string{"s*/o*"}, Dest: "/g/"}, want: []string{"g/ d 755 0:0", "g/one f 644 0:0 1"}},
		{name: "missing source", spec: CopySpec{Sources: []string{"nope.txt"}, Dest: "/"}, wantErr: "COPY failed: file not found in build context: nope.txt"},
		{name: "glob matching nothing", spec: CopySpec{Sources: []string{"*.nope"}, Dest: "/"}, wantErr: "no file in build context matches *.nope"},
		{name: "ignored source", spec: CopySpec{Sources: []string{"src/secret"}, Dest: "/"}, wantErr: "file not found in build context: src/secret"},
		{name: "escaping source", spec: CopySpec{Sources: []string{"../etc/passwd"}, Dest: "/"}, wantErr: "forbidden path outside the build context: ../etc/passwd"},
		{name: "chown", spec: CopySpec{Sources: []string{"src"}, Dest: "/app/", Chown: &Owner{1000, 2000}}, want: []string{
			"app/ d 755 1000:2000", "app/one f 644 1000:2000 1", "app/sub/ d 755 1000:2000", "app/sub/two f 600 1000:2000 2"}},
		{name: "chmod", spec: CopySpec{Sources: []string{"src", "link"}, Dest: "/app/", Chmod: mode(0o640)}, want: []string{
			"app/ d 640 0:0", "app/link l 777 0:0 ->a.txt", "app/one f 640 0:0 1", "app/sub/ d 640 0:0", "app/sub/two f 640 0:0 2"}},
		{name: "symlink as symlink", spec: CopySpec{Sources: []string{"link"}, Dest: "/l"}, want: []string{"l l 777 0:0 ->a.txt"}},
		{name: "mode kept", spec: CopySpec{Sources: []string{"run.sh"}, Dest: "/usr/local/bin/"}, want: []string{
			"usr/ d 755 0:0", "usr/local/ d 755 0:0", "usr/local/bin/ d 755 0:0", "usr/local/bin/run.sh f 755 0:0 R"}},
		{name: "ADD extracts", spec: CopySpec{Sources: []string{"app.tar.gz"}, Dest: "/opt", Extract: true}, want: []string{
			"opt/ d 755 0:0", "opt/bin/ d 755 5:6", "opt/bin/sh l 777 0:0 ->/bin/busybox", "opt/bin/tool f 755 5:6 T", "opt/bin/tool2 f 755 0:0 T"}},
		{name: "ADD extracts with chown", spec: CopySpec{Sources: []string{"app.tar.gz"}, Dest: "/opt/", Extract: true, Chown: &Owner{7, 7}}, want: []string{
			"opt/ d 755 7:7", "opt/bin/ d 755 7:7", "opt/bin/sh l 777 7:7 ->/bin/busybox", "opt/bin/tool f 755 7:7 T", "opt/bin/tool2 f 755 7:7 T"}},
		{name: "ADD sniffs content", spec: CopySpec{Sources: []string{"data.bin", "a.txt"}, Dest: "/d/", Extract: true}, want: []string{
			"d/ d 755 0:0", "d/a.txt f 644 0:0 A", "d/x f 644 0:0 X"}},
		{name: "COPY does not extract", spec: CopySpec{Sources: []string{"data.bin"}, Dest: "/d/"}, want: []string{
			"d/ d 755 0:0", "d/data.bin f 644 0:0 " + string(makeTar(t, []tarEnt{{Name: "x", Data: "X"}}))}},
		{name: "ADD archive escaping", spec: CopySpec{Sources: []string{"evil.tar"}, Dest: "/", Extract: true}, wantErr: `"../../etc/passwd" outside its root`},
	}
	c := openTestContext(t, copyFixture(t), "src/secret\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			sum, err := WriteCopy(&buf, c, tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := listTar(t, buf.Bytes()); !slices.Equal(got, tt.want) {
				t.Errorf("tar:\n got %q\nwant %q", got, tt.want)
			}
			if !strings.HasPrefix(sum, "sha256:") || len(sum) != 71 {
				t.Errorf("digest %q", sum)
			}
		})
	}
}

func TestWriteCopyCompressedArchives(t *testing.T) {
	plain := makeTar(t, []tarEnt{{Name: "f", Data: "F"}})
	for _, prog := range []string{"bzip2", "xz"} {
		t.Run(prog, func(t *testing.T) {
			if _, err := exec.LookPath(prog); err != nil {
				t.Skip(prog, "is not installed")
			}
			cmd := exec.Command(prog, "-c")
			cmd.Stdin = bytes.NewReader(plain)
			packed, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			c := openTestContext(t, []ctxFile{{Name: "a.pack", Data: string(packed)}}, "")
			var buf bytes.Buffer
			if _, err := WriteCopy(&buf, c, CopySpec{Sources: []string{"a.pack"}, Dest: "/x/", Extract: true}); err != nil {
				t.Fatal(err)
			}
			want := []string{"x/ d 755 0:0", "x/f f 644 0:0 F"}
			if got := listTar(t, buf.Bytes()); !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestWriteCopyEpochAndDeterminism(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir, []ctxFile{{Name: "d/old", Data: "o"}, {Name: "d/new", Data: "n"}})
	old := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	newer := time.Date(2030, 1, 1, 0, 0, 0, 123456789, time.UTC)
	os.Chtimes(filepath.Join(dir, "d/old"), old, old)
	os.Chtimes(filepath.Join(dir, "d/new"), newer, newer)
	c, err := OpenContext(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	epoch := time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC)
	spec := CopySpec{Sources: []string{"d/old", "d/new"}, Dest: "/a/b/", Epoch: &epoch}
	var one, two bytes.Buffer
	sum1, err := WriteCopy(&one, c, spec)
	if err != nil {
		t.Fatal(err)
	}
	sum2, err := WriteCopy(&two, c, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one.Bytes(), two.Bytes()) || sum1 != sum2 {
		t.Error("two writes of the same COPY differ")
	}
	want := map[string]time.Time{"a/": epoch, "a/b/": epoch, "a/b/old": old, "a/b/new": epoch}
	tr := tar.NewReader(&one)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if w, ok := want[h.Name]; !ok || !h.ModTime.Equal(w) {
			t.Errorf("%s: mtime %v, want %v", h.Name, h.ModTime, w)
		}
		delete(want, h.Name)
	}
	if len(want) > 0 {
		t.Errorf("missing entries %v", want)
	}

	// without Epoch: source mtimes, in whole seconds; parents get the newest
	spec.Epoch = nil
	var three bytes.Buffer
	if _, err := WriteCopy(&three, c, spec); err != nil {
		t.Fatal(err)
	}
	tr = tar.NewReader(&three)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if n := h.Name; (n == "a/b/new" || n == "a/") && !h.ModTime.Equal(newer.Truncate(time.Second)) {
			t.Errorf("%s: mtime %v, want %v", n, h.ModTime, newer.Truncate(time.Second))
		}
	}
}

// memFS is a SourceFS in memory: a stage's root file system with owners.
type memFS map[string]*memFile

type memFile struct {
	mode     fs.FileMode
	uid, gid uint32
	data     string // content, or link target
}

type memInfo struct {
	name string
	f    *memFile
}

func (i memInfo) Name() string       { return path.Base(i.name) }
func (i memInfo) Size() int64        { return int64(len(i.f.data)) }
func (i memInfo) Mode() fs.FileMode  { return i.f.mode }
func (i memInfo) ModTime() time.Time { return time.Unix(1e9, 0) }
func (i memInfo) IsDir() bool        { return i.f.mode.IsDir() }
func (i memInfo) Sys() any           { return &syscall.Stat_t{Uid: i.f.uid, Gid: i.f.gid} }

func (m memFS) Lstat(name string) (fs.FileInfo, error) {
	if name == "." {
		return memInfo{".", &memFile{mode: fs.ModeDir | 0o755}}, nil
	}
	f, ok := m[name]
	if !ok {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
	}
	return memInfo{name, f}, nil
}

func (m memFS) ReadDir(name string) ([]fs.DirEntry, error) {
	var out []fs.DirEntry
	for n, f := range m {
		if path.Dir(n) == name {
			out = append(out, fs.FileInfoToDirEntry(memInfo{n, f}))
		}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

func (m memFS) Open(name string) (io.ReadCloser, error) {
	f, ok := m[name]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return io.NopCloser(strings.NewReader(f.data)), nil
}

func (m memFS) Readlink(name string) (string, error) { return m[name].data, nil }

func TestWriteCopyKeepOwner(t *testing.T) {
	src := memFS{
		"srv":            {mode: fs.ModeDir | 0o750, uid: 33, gid: 33},
		"srv/index.html": {mode: 0o640, uid: 33, gid: 34, data: "hi"},
		"srv/cur":        {mode: fs.ModeSymlink | 0o777, uid: 1, gid: 1, data: "index.html"},
	}
	tests := []struct {
		name string
		spec CopySpec
		want []string
	}{
		{"keep", CopySpec{Sources: []string{"/srv"}, Dest: "/var/www", KeepOwner: true}, []string{
			"var/ d 755 0:0", "var/www/ d 750 33:33", "var/www/cur l 777 1:1 ->index.html", "var/www/index.html f 640 33:34 hi"}},
		{"zero", CopySpec{Sources: []string{"/srv"}, Dest: "/var/www"}, []string{
			"var/ d 755 0:0", "var/www/ d 750 0:0", "var/www/cur l 777 0:0 ->index.html", "var/www/index.html f 640 0:0 hi"}},
		{"chown wins", CopySpec{Sources: []string{"srv/index.html"}, Dest: "/i", KeepOwner: true, Chown: &Owner{0, 5}}, []string{"i f 640 0:5 hi"}},
		{"missing", CopySpec{Sources: []string{"nope"}, Dest: "/", KeepOwner: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := WriteCopy(&buf, src, tt.spec)
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), "file not found in source: nope") {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := listTar(t, buf.Bytes()); !slices.Equal(got, tt.want) {
				t.Errorf("tar:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestSourcesDigest(t *testing.T) {
	files := []ctxFile{{Name: "app/main.go", Data: "package main"}, {Name: "app/tmp.log", Data: "1"}, {Name: "other.txt", Data: "o"}}
	later := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		change  func(dir string) error
		changes bool
	}{
		{"nothing", func(string) error { return nil }, false},
		{"content", func(d string) error {
			return os.WriteFile(filepath.Join(d, "app/main.go"), []byte("package other"), 0o644)
		}, true},
		{"mode", func(d string) error { return os.Chmod(filepath.Join(d, "app/main.go"), 0o755) }, true},
		{"new file", func(d string) error { return os.WriteFile(filepath.Join(d, "app/new.go"), nil, 0o644) }, true},
		{"mtime", func(d string) error { return os.Chtimes(filepath.Join(d, "app/main.go"), later, later) }, false},
		{"dir mtime", func(d string) error { return os.Chtimes(filepath.Join(d, "app"), later, later) }, false},
		{"ignored file", func(d string) error { return os.WriteFile(filepath.Join(d, "app/tmp.log"), []byte("2"), 0o644) }, false},
		{"new ignored file", func(d string) error { return os.WriteFile(filepath.Join(d, "app/more.log"), []byte("2"), 0o644) }, false},
		{"unrelated file", func(d string) error { return os.WriteFile(filepath.Join(d, "other.txt"), []byte("p"), 0o644) }, false},
	}
	digest := func(t *testing.T, dir string) string {
		c, err := OpenContext(dir, "")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sum, err := SourcesDigest(c, []string{"app", "app/*.go"})
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			makeTree(t, dir, append(slices.Clone(files), ctxFile{Name: ".dockerignore", Data: "**/*.log\n"}))
			before := digest(t, dir)
			if err := tt.change(dir); err != nil {
				t.Fatal(err)
			}
			after := digest(t, dir)
			if (before != after) != tt.changes {
				t.Errorf("digest changed = %v, want %v", before != after, tt.changes)
			}
		})
	}
	c := openTestContext(t, files, "")
	if _, err := SourcesDigest(c, []string{"nope"}); err == nil || !strings.Contains(err.Error(), "file not found in build context: nope") {
		t.Errorf("missing source: err = %v", err)
	}
	if _, err := SourcesDigest(c, []string{"../x"}); err == nil || !strings.Contains(err.Error(), "outside the build context") {
		t.Errorf("escaping source: err = %v", err)
	}
}
