package diff

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tree builds files under a root from a compact spec, one item per string:
//
//	"dir/"            directory (0755)
//	"file=content"    regular file (0644); parents are created
//	"link->target"    symbolic link
//	"wh:name"         whiteout (character device 0/0)
//	"xwh:name"        whiteout as an empty file with user.overlay.whiteout
//	"opq:dir"         trusted.overlay.opaque=y on dir (created when missing)
//	"uopq:dir"        user.overlay.opaque=y on dir
func tree(t *testing.T, root string, items ...string) {
	t.Helper()
	for _, it := range items {
		var err error
		switch {
		case strings.HasPrefix(it, "wh:"):
			p := filepath.Join(root, it[3:])
			mkParent(t, p)
			err = unix.Mknod(p, unix.S_IFCHR, 0)
		case strings.HasPrefix(it, "xwh:"):
			p := filepath.Join(root, it[4:])
			mkParent(t, p)
			if err = os.WriteFile(p, nil, 0o644); err == nil {
				err = unix.Setxattr(p, "user.overlay.whiteout", []byte("y"), 0)
			}
		case strings.HasPrefix(it, "opq:"), strings.HasPrefix(it, "uopq:"):
			attr, dir := "trusted.overlay.opaque", it[4:]
			if it[0] == 'u' {
				attr, dir = "user.overlay.opaque", it[5:]
			}
			p := filepath.Join(root, dir)
			if err = os.MkdirAll(p, 0o755); err == nil {
				err = unix.Setxattr(p, attr, []byte("y"), 0)
			}
		case strings.HasSuffix(it, "/"):
			err = os.MkdirAll(filepath.Join(root, it), 0o755)
		case strings.Contains(it, "->"):
			name, target, _ := strings.Cut(it, "->")
			p := filepath.Join(root, name)
			mkParent(t, p)
			err = os.Symlink(target, p)
		default:
			name, content, _ := strings.Cut(it, "=")
			p := filepath.Join(root, name)
			mkParent(t, p)
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatalf("tree %q: %v", it, err)
		}
	}
}

func mkParent(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
}

func dirs(t *testing.T, n int) []string {
	base := t.TempDir()
	var out []string
	for i := 0; i < n; i++ {
		d := filepath.Join(base, string(rune('a'+i)))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func TestLayers(t *testing.T) {
	d := dirs(t, 3)
	top, mid, bottom := d[0], d[1], d[2]
	tree(t, bottom,
		"etc/passwd=bottom", "etc/hosts=hosts", "etc/shadow=secret",
		"opt/old=old", "opt/sub/x=x", "var/dir/a=a",
		"gone=1", "data/x=x", "file=f", "back=bottom")
	tree(t, mid,
		"etc/passwd=mid", "etc/group=group",
		"usr/lib/libc=libc", "lib->usr/lib",
		"uopq:var", "var/new=new",
		"wh:back", "xwh:gone2", "gone2x=1")
	tree(t, top,
		"etc/passwd=top", "wh:etc/shadow",
		"opq:opt", "opt/new=new",
		"data=file now", "file/y=dir now",
		"back=top", "wh:gone", "lnk->etc/passwd")
	l := Layers{top, mid, bottom}

	exists := []string{".", "etc", "etc/passwd", "etc/hosts", "etc/group", "opt/new", "lib",
		"usr/lib/libc", "var/new", "data", "file", "file/y", "back", "lnk", "gone2x", "/etc/passwd", "etc/../etc/hosts"}
	for _, name := range exists {
		fi, err := l.Lstat(name)
		if err != nil {
			t.Errorf("Lstat(%q): %v", name, err)
			continue
		}
		if _, ok := fi.Sys().(*syscall.Stat_t); !ok {
			t.Errorf("Lstat(%q).Sys() is %T", name, fi.Sys())
		}
	}
	missing := []string{"etc/shadow", "opt/old", "opt/sub", "opt/sub/x", "var/dir", "var/dir/a",
		"gone", "gone2", "data/x", "lib/libc", "etc/passwd/x", "nope", "lnk/x"}
	for _, name := range missing {
		if _, err := l.Lstat(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Lstat(%q) = %v, want ErrNotExist", name, err)
		}
	}

	fi, err := l.Lstat("file")
	if err != nil || !fi.IsDir() {
		t.Errorf("Lstat(file): %v, %v; want the top layer's directory", fi, err)
	}
	fi, err = l.Lstat("data")
	if err != nil || !fi.Mode().IsRegular() {
		t.Errorf("Lstat(data): %v, %v; want the top layer's file", fi, err)
	}

	readDir := func(name string) []string {
		t.Helper()
		ents, err := l.ReadDir(name)
		if err != nil {
			t.Fatalf("ReadDir(%q): %v", name, err)
		}
		var out []string
		for _, e := range ents {
			s := e.Name()
			if e.IsDir() {
				s += "/"
			}
			out = append(out, s)
		}
		return out
	}
	for _, c := range []struct {
		name string
		want []string
	}{
		{".", []string{"back", "data", "etc/", "file/", "gone2x", "lib", "lnk", "opt/", "usr/", "var/"}},
		{"etc", []string{"group", "hosts", "passwd"}},
		{"opt", []string{"new"}},
		{"var", []string{"new"}},
		{"file", []string{"y"}},
		{"usr/lib", []string{"libc"}},
	} {
		if got := readDir(c.name); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ReadDir(%q) = %q, want %q", c.name, got, c.want)
		}
	}
	if _, err := l.ReadDir("etc/passwd"); err == nil {
		t.Error("ReadDir of a file succeeded")
	}
	if _, err := l.ReadDir("opt/sub"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadDir(opt/sub) = %v, want ErrNotExist", err)
	}

	for name, want := range map[string]string{"etc/passwd": "top", "etc/hosts": "hosts", "back": "top", "usr/lib/libc": "libc"} {
		rc, err := l.Open(name)
		if err != nil {
			t.Errorf("Open(%q): %v", name, err)
			continue
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(b) != want {
			t.Errorf("Open(%q) read %q, %v; want %q", name, b, err, want)
		}
	}
	if _, err := l.Open("etc"); err == nil {
		t.Error("Open of a directory succeeded")
	}
	if _, err := l.Open("etc/shadow"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(etc/shadow) = %v, want ErrNotExist", err)
	}
	if target, err := l.Readlink("lib"); err != nil || target != "usr/lib" {
		t.Errorf("Readlink(lib) = %q, %v", target, err)
	}
	if target, err := l.Readlink("lnk"); err != nil || target != "etc/passwd" {
		t.Errorf("Readlink(lnk) = %q, %v", target, err)
	}
	if _, err := l.Readlink("etc/passwd"); err == nil {
		t.Error("Readlink of a file succeeded")
	}
	if _, err := (Layers{}).Lstat("."); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty Layers: Lstat(.) = %v", err)
	}
}

func changeStrings(cs []Change) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.String())
	}
	return out
}

func TestChanges(t *testing.T) {
	mounts := []string{"/proc", "/dev", "/sys", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/run/secrets"}
	for _, c := range []struct {
		name   string
		lower  []string // bottom lower layer
		lower0 []string // top lower layer
		upper  []string
		mounts []string
		want   []string
	}{
		{name: "empty", lower: []string{"etc/passwd=x"}, want: []string{}},
		{
			name:  "add",
			lower: []string{"etc/passwd=x"},
			upper: []string{"etc/new=n"},
			want:  []string{"C /etc", "A /etc/new"},
		},
		{
			name:  "change",
			lower: []string{"etc/passwd=x"},
			upper: []string{"etc/passwd=y"},
			want:  []string{"C /etc", "C /etc/passwd"},
		},
		{
			name:  "delete",
			lower: []string{"etc/passwd=x", "etc/group=g", "var/lib/x/y=z"},
			upper: []string{"wh:etc/passwd", "wh:var/lib/x", "xwh:etc/group"},
			want:  []string{"C /etc", "D /etc/group", "D /etc/passwd", "C /var", "C /var/lib", "D /var/lib/x"},
		},
		{
			name:  "opaque",
			lower: []string{"opt/a=a", "opt/b/c=c"},
			upper: []string{"opq:opt", "opt/c=c", "uopq:new"},
			want:  []string{"A /new", "C /opt", "A /opt/c"},
		},
		{
			name:  "copied-up parents",
			lower: []string{"usr/share/doc/x=1", "usr/bin/ls=ls"},
			upper: []string{"usr/share/doc/x=2"},
			want:  []string{"C /usr", "C /usr/share", "C /usr/share/doc", "C /usr/share/doc/x"},
		},
		{
			name:  "nested adds",
			lower: []string{"etc/passwd=x"},
			upper: []string{"new/a/b/c=c", "new/a/d->c", "new/e/"},
			want:  []string{"A /new", "A /new/a", "A /new/a/b", "A /new/a/b/c", "A /new/a/d", "A /new/e"},
		},
		{
			name:  "directory replaces file",
			lower: []string{"x=file", "y/z=z"},
			upper: []string{"x/y=y", "y=file"},
			want:  []string{"C /x", "A /x/y", "C /y"},
		},
		{
			name:   "top lower decides",
			lower:  []string{"f=1", "g=1", "d/x=1"},
			lower0: []string{"wh:f", "h=1", "opq:d"},
			upper:  []string{"f=2", "g=2", "h=2", "d/x=2"},
			want:   []string{"C /d", "A /d/x", "A /f", "C /g", "C /h"},
		},
		{
			name:   "mount file in new /etc",
			lower:  []string{"bin/sh=sh"},
			upper:  []string{"etc/hosts=", "etc/hostname=", "etc/resolv.conf="},
			mounts: mounts,
			want:   []string{},
		},
		{
			name:   "mount file in copied-up /etc",
			lower:  []string{"etc/passwd=x"},
			upper:  []string{"etc/hosts=", "etc/resolv.conf="},
			mounts: mounts,
			want:   []string{},
		},
		{
			name:   "new file next to mount file",
			lower:  []string{"etc/passwd=x"},
			upper:  []string{"etc/hosts=", "etc/new-file=n"},
			mounts: mounts,
			want:   []string{"C /etc", "A /etc/new-file"},
		},
		{
			name:   "mount dirs and what is below them",
			lower:  []string{"etc/passwd=x", "sys/"},
			upper:  []string{"proc/", "sys/", "dev/pts/", "dev/null=", "dev/shm/x=x", "wh:dev/gone", "run/secrets/"},
			mounts: mounts,
			want:   []string{},
		},
		{
			name:   "non-empty mount file is kept",
			lower:  []string{"etc/passwd=x"},
			upper:  []string{"etc/hostname=box"},
			mounts: mounts,
			want:   []string{"C /etc", "A /etc/hostname"},
		},
		{
			name:   "empty new dir kept, new mount ancestor left out",
			lower:  []string{"etc/passwd=x"},
			upper:  []string{"data/", "newdir/proc/"},
			mounts: []string{"/data/proc/", "newdir/proc"}, // relative and trailing slashes are cleaned
			want:   []string{"A /data"},
		},
		{
			name:   "whiteout at and next to a mount point",
			lower:  []string{"etc/hosts=h", "etc/motd=m"},
			upper:  []string{"wh:etc/motd", "etc/hosts="},
			mounts: mounts,
			want:   []string{"C /etc", "D /etc/motd"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := dirs(t, 3)
			tree(t, d[2], c.lower...)
			tree(t, d[1], c.lower0...)
			tree(t, d[0], c.upper...)
			got, err := Changes(d[0], []string{d[1], d[2]}, Options{MountPoints: c.mounts})
			if err != nil {
				t.Fatal(err)
			}
			if s := changeStrings(got); !reflect.DeepEqual(s, c.want) {
				t.Errorf("Changes = %q\nwant %q", s, c.want)
			}
		})
	}
}

func TestChangesMountDirMode(t *testing.T) {
	// A copied-up /etc that only holds a mount point is kept when its mode or owner changed.
	mounts := []string{"/etc/hosts"}
	for _, c := range []struct {
		name  string
		chg   func(string) error
		wants []string
	}{
		{"same", func(string) error { return nil }, []string{}},
		{"mode", func(p string) error { return os.Chmod(p, 0o700) }, []string{"C /etc"}},
		{"owner", func(p string) error { return os.Lchown(p, 1000, 0) }, []string{"C /etc"}},
		{"mtime", func(p string) error { return os.Chtimes(p, time.Unix(1, 0), time.Unix(1, 0)) }, []string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := dirs(t, 2)
			tree(t, d[1], "etc/passwd=x")
			tree(t, d[0], "etc/hosts=")
			if err := c.chg(filepath.Join(d[0], "etc")); err != nil {
				t.Fatal(err)
			}
			got, err := Changes(d[0], d[1:], Options{MountPoints: mounts})
			if err != nil {
				t.Fatal(err)
			}
			if s := changeStrings(got); !reflect.DeepEqual(s, c.wants) {
				t.Errorf("Changes = %q, want %q", s, c.wants)
			}
		})
	}
}

func TestChangeString(t *testing.T) {
	if s := (Change{Kind: 'A', Path: "/etc/new"}).String(); s != "A /etc/new" {
		t.Errorf("String = %q", s)
	}
}

type tarEntry struct {
	hdr  *tar.Header
	body string
}

func readTar(t *testing.T, b []byte) []tarEntry {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	var out []tarEntry
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarEntry{hdr, string(body)})
	}
}

func writeLayer(t *testing.T, upper string, lowers []string, o Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteLayer(&buf, upper, lowers, o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// capV2 is a security.capability value (VFS_CAP_REVISION_2, effective) granting
// CAP_NET_BIND_SERVICE.
var capV2 = []byte{1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

func TestWriteLayer(t *testing.T) {
	d := dirs(t, 2)
	upper, lower := d[0], d[1]
	tree(t, lower, "etc/passwd=x", "etc/shadow=s", "opt/old=o", "bin/sh=sh", "usr/lib/a=a")
	tree(t, upper,
		"etc/new=new", "wh:etc/passwd", "xwh:etc/shadow", "etc/hosts=",
		"opq:opt", "opt/fresh=f",
		"a/b=linked", "a/z/",
		"bin/sh=newsh", "bin/sh-link->sh",
		"proc/", "dev/null=",
		"usr-x=x", "usr/lib/a=b")
	p := func(s string) string { return filepath.Join(upper, s) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Link(p("a/b"), p("a/c")))
	must(os.Link(p("a/b"), p("a/z/d")))
	must(os.Lchown(p("etc/new"), 1000, 2000))
	must(unix.Chmod(p("etc/new"), 0o4755)) // raw mode bits, after chown (which clears setuid)
	must(unix.Chmod(p("a/z"), 0o1777))
	must(unix.Mkfifo(p("fifo"), 0o640))
	must(unix.Mknod(p("null"), unix.S_IFCHR, int(unix.Mkdev(1, 3))))
	must(unix.Mknod(p("loop"), unix.S_IFBLK, int(unix.Mkdev(7, 0))))
	must(unix.Chmod(p("fifo"), 0o640)) // no umask
	must(unix.Chmod(p("null"), 0o666))
	must(unix.Chmod(p("loop"), 0o660))
	must(unix.Setxattr(p("etc/new"), "user.foo", []byte("bar"), 0))
	must(unix.Setxattr(p("etc/new"), "user.overlay.origin", []byte("x"), 0))
	must(unix.Setxattr(p("etc"), "trusted.overlay.impure", []byte("y"), 0))
	must(unix.Setxattr(p("opt"), "user.dir", []byte("d"), 0))
	haveCap := unix.Setxattr(p("bin/sh"), "security.capability", capV2, 0) == nil
	if !haveCap {
		t.Log("cannot set security.capability here; not checking it")
	}
	ln, err := net.Listen("unix", p("sock"))
	must(err)
	defer ln.Close()
	old := time.Date(2001, 2, 3, 4, 5, 6, 789, time.UTC)
	must(os.Chtimes(p("etc/new"), old, old))

	epoch := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	o := Options{Epoch: &epoch, MountPoints: []string{"/proc", "/dev", "/etc/hosts"}}
	ents := readTar(t, writeLayer(t, upper, []string{lower}, o))

	var names []string
	byName := map[string]*tar.Header{}
	for _, e := range ents {
		names = append(names, e.hdr.Name)
		byName[e.hdr.Name] = e.hdr
	}
	want := []string{
		"a/", "a/b", "a/c", "a/z/", "a/z/d",
		"bin/", "bin/sh", "bin/sh-link",
		"etc/", "etc/.wh.passwd", "etc/.wh.shadow", "etc/new",
		"fifo", "loop", "null",
		"opt/", "opt/.wh..wh..opq", "opt/fresh",
		"usr/", "usr-x", "usr/lib/", "usr/lib/a", // lexical order of the paths
	}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("names = %q\nwant %q", names, want)
	}

	for _, e := range ents {
		h := e.hdr
		if h.Uname != "" || h.Gname != "" || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: uname %q gname %q atime %v ctime %v", h.Name, h.Uname, h.Gname, h.AccessTime, h.ChangeTime)
		}
		if h.ModTime.After(epoch) {
			t.Errorf("%s: mtime %v after the epoch", h.Name, h.ModTime)
		}
		for k := range h.PAXRecords {
			if strings.Contains(k, "overlay") || strings.Contains(k, "selinux") {
				t.Errorf("%s: PAX record %s", h.Name, k)
			}
		}
	}
	check := func(name string, typ byte, mode int64) *tar.Header {
		t.Helper()
		h := byName[name]
		if h == nil {
			t.Fatalf("%s missing", name)
		}
		if h.Typeflag != typ || h.Mode != mode {
			t.Errorf("%s: type %q mode %o, want %q %o", name, h.Typeflag, h.Mode, typ, mode)
		}
		return h
	}
	check("a/", tar.TypeDir, 0o755)
	check("a/z/", tar.TypeDir, 0o1777)
	check("a/b", tar.TypeReg, 0o644)
	if h := check("a/c", tar.TypeLink, 0o644); h.Linkname != "a/b" || h.Size != 0 {
		t.Errorf("a/c: link to %q size %d", h.Linkname, h.Size)
	}
	if h := check("a/z/d", tar.TypeLink, 0o644); h.Linkname != "a/b" {
		t.Errorf("a/z/d: link to %q", h.Linkname)
	}
	if h := check("bin/sh-link", tar.TypeSymlink, 0o777); h.Linkname != "sh" {
		t.Errorf("symlink to %q", h.Linkname)
	}
	if h := check("bin/sh", tar.TypeReg, 0o644); haveCap && h.PAXRecords["SCHILY.xattr.security.capability"] != string(capV2) {
		t.Errorf("bin/sh: security.capability %q", h.PAXRecords["SCHILY.xattr.security.capability"])
	}
	for _, n := range []string{"etc/.wh.passwd", "etc/.wh.shadow", "opt/.wh..wh..opq"} {
		if h := byName[n]; h.Typeflag != tar.TypeReg || h.Size != 0 {
			t.Errorf("%s: type %q size %d", n, h.Typeflag, h.Size)
		}
	}
	h := check("etc/new", tar.TypeReg, 0o4755)
	if h.Uid != 1000 || h.Gid != 2000 {
		t.Errorf("etc/new: uid/gid %d/%d", h.Uid, h.Gid)
	}
	if h.Format != tar.FormatPAX || h.PAXRecords["SCHILY.xattr.user.foo"] != "bar" {
		t.Errorf("etc/new: format %v, PAX %q", h.Format, h.PAXRecords)
	}
	if !h.ModTime.Equal(old.Truncate(time.Second)) {
		t.Errorf("etc/new: mtime %v, want %v", h.ModTime, old.Truncate(time.Second))
	}
	if h := byName["opt/"]; h.PAXRecords["SCHILY.xattr.user.dir"] != "d" {
		t.Errorf("opt/: PAX %q", h.PAXRecords)
	}
	if h := byName["etc/"]; len(h.PAXRecords) != 0 {
		t.Errorf("etc/: PAX %q", h.PAXRecords)
	}
	if h := check("null", tar.TypeChar, 0o666); h.Devmajor != 1 || h.Devminor != 3 {
		t.Errorf("null: %d,%d", h.Devmajor, h.Devminor)
	}
	if h := check("loop", tar.TypeBlock, 0o660); h.Devmajor != 7 || h.Devminor != 0 {
		t.Errorf("loop: %d,%d", h.Devmajor, h.Devminor)
	}
	check("fifo", tar.TypeFifo, 0o640)
	for _, e := range ents {
		want := map[string]string{"a/b": "linked", "bin/sh": "newsh", "opt/fresh": "f", "etc/new": "new", "usr-x": "x", "usr/lib/a": "b"}[e.hdr.Name]
		if e.body != want {
			t.Errorf("%s: content %q, want %q", e.hdr.Name, e.body, want)
		}
	}

	// Changes sees the same entries.
	cs, err := Changes(upper, []string{lower}, o)
	must(err)
	wantC := []string{"A /a", "A /a/b", "A /a/c", "A /a/z", "A /a/z/d", "C /bin", "C /bin/sh", "A /bin/sh-link",
		"C /etc", "A /etc/new", "D /etc/passwd", "D /etc/shadow", "A /fifo", "A /loop", "A /null",
		"C /opt", "A /opt/fresh", "C /usr", "A /usr-x", "C /usr/lib", "C /usr/lib/a"}
	if s := changeStrings(cs); !reflect.DeepEqual(s, wantC) {
		t.Errorf("Changes = %q\nwant %q", s, wantC)
	}
}

func TestWriteLayerDeterministic(t *testing.T) {
	d := dirs(t, 2)
	upper, lower := d[0], d[1]
	tree(t, lower, "etc/passwd=x")
	tree(t, upper, "etc/new=n", "wh:etc/passwd", "opq:opt", "opt/x=x", "a/b/c=c", "l->a")
	if err := unix.Setxattr(filepath.Join(upper, "a/b/c"), "user.k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	unixEpoch := time.Unix(0, 0)
	for _, o := range []Options{{}, {Epoch: &unixEpoch}} {
		first := writeLayer(t, upper, []string{lower}, o)
		second := writeLayer(t, upper, []string{lower}, o)
		if !bytes.Equal(first, second) {
			t.Fatal("two writes differ")
		}
		// Touch every atime (like `touch -a`).
		later := time.Now().Add(time.Hour)
		err := filepath.WalkDir(upper, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			ts := []unix.Timespec{unix.NsecToTimespec(later.UnixNano()), {Nsec: unix.UTIME_OMIT}}
			return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
		})
		if err != nil {
			t.Fatal(err)
		}
		if third := writeLayer(t, upper, []string{lower}, o); !bytes.Equal(first, third) {
			t.Fatal("write after touching atimes differs")
		}
	}
}

func TestEpoch(t *testing.T) {
	d := dirs(t, 2)
	upper := d[0]
	tree(t, upper, "fresh=new", "old=old")
	old := time.Date(2000, 1, 1, 0, 0, 0, 500_000_000, time.UTC)
	if err := os.Chtimes(filepath.Join(upper, "old"), old, old); err != nil {
		t.Fatal(err)
	}
	epoch := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	mtimes := func(o Options) map[string]time.Time {
		out := map[string]time.Time{}
		for _, e := range readTar(t, writeLayer(t, upper, d[1:], o)) {
			out[e.hdr.Name] = e.hdr.ModTime
			if e.hdr.ModTime.Nanosecond() != 0 {
				t.Errorf("%s: mtime %v not whole seconds", e.hdr.Name, e.hdr.ModTime)
			}
		}
		return out
	}
	got := mtimes(Options{Epoch: &epoch})
	if !got["fresh"].Equal(epoch) {
		t.Errorf("fresh: mtime %v, want the epoch %v", got["fresh"], epoch)
	}
	if want := old.Truncate(time.Second); !got["old"].Equal(want) {
		t.Errorf("old: mtime %v, want %v", got["old"], want)
	}
	got = mtimes(Options{})
	if time.Since(got["fresh"]) > time.Hour {
		t.Errorf("fresh without epoch: mtime %v", got["fresh"])
	}
}
