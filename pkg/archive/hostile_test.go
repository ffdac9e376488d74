package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// entry is a tar entry for tarOf; typ 0 is a regular file.
type entry struct {
	name, link, body string
	typ              byte
	mode             int64
	uid              *int
	major, minor     int64
}

// tarOf is a tar stream of the entries, owned by the caller's ids unless
// they say otherwise.
func tarOf(t *testing.T, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode,
			Uid: os.Getuid(), Gid: os.Getgid(), ModTime: time.Unix(1e9, 0),
			Devmajor: e.major, Devminor: e.minor,
		}
		if h.Typeflag == 0 {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if e.uid != nil {
			h.Uid = *e.uid
		}
		must(t, tw.WriteHeader(h))
		_, err := io.WriteString(tw, e.body)
		must(t, err)
	}
	must(t, tw.Close())
	return &buf
}

// entries lists the names in a tar stream.
func entries(t *testing.T, r io.Reader) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		must(t, err)
		names = append(names, h.Name)
	}
}

// TestUnpackHostile extracts streams that try to write outside the
// destination: into a sibling directory "outside" holding "secret". Each
// must fail, or land inside, and leave outside as it was.
func TestUnpackHostile(t *testing.T) {
	for _, tc := range []struct {
		what     string
		pre      string // a symlink already in the destination, "name>target"; target "OUT" is outside's path
		entries  []entry
		errorHas string   // "" when the stream is neutralised
		inside   []string // what a neutralised stream made inside
	}{
		{what: "dot dot", entries: []entry{{name: "../outside/pwned", body: "x"}}, errorHas: "leads outside"},
		{what: "dot dot inside a name", entries: []entry{{name: "a/../../outside/pwned", body: "x"}}, errorHas: "leads outside"},
		{what: "dot dot dir", entries: []entry{{name: "../outside/d/", typ: tar.TypeDir}}, errorHas: "leads outside"},
		{what: "absolute name", entries: []entry{{name: "OUT/pwned", body: "x"}}, inside: []string{"OUT/pwned"}},
		{what: "symlink to outside, then a file through it", entries: []entry{
			{name: "evil", typ: tar.TypeSymlink, link: "OUT"},
			{name: "evil/pwned", body: "x"}}, errorHas: "escapes"},
		{what: "relative symlink to outside, then a file through it", entries: []entry{
			{name: "evil", typ: tar.TypeSymlink, link: "../outside"},
			{name: "evil/pwned", body: "x"}}, errorHas: "escapes"},
		{what: "symlink chain to outside", entries: []entry{
			{name: "l1", typ: tar.TypeSymlink, link: "l2"},
			{name: "l2", typ: tar.TypeSymlink, link: "/../../../../../../OUT"},
			{name: "l1/pwned", body: "x"}}, errorHas: "escapes"},
		{what: "symlink to outside, then a dir through it", entries: []entry{
			{name: "evil", typ: tar.TypeSymlink, link: "OUT"},
			{name: "evil/d/", typ: tar.TypeDir}}, errorHas: "escapes"},
		{what: "symlink to outside, then a dir on it", entries: []entry{
			{name: "evil", typ: tar.TypeSymlink, link: "OUT"},
			{name: "evil/", typ: tar.TypeDir, mode: 0o777}}, errorHas: "cannot overwrite non-directory"},
		{what: "symlink to outside, then a fifo through it", entries: []entry{
			{name: "evil", typ: tar.TypeSymlink, link: "OUT"},
			{name: "evil/fifo", typ: tar.TypeFifo}}, errorHas: "escapes"},
		{what: "symlink to the secret, then a file on it", entries: []entry{
			{name: "evil", typ: tar.TypeSymlink, link: "OUT/secret"},
			{name: "evil", body: "replaced"}}, inside: []string{"evil"}},
		{what: "symlink to the secret, then a hard link to it", entries: []entry{
			{name: "evil", typ: tar.TypeSymlink, link: "OUT/secret"},
			{name: "hl", typ: tar.TypeLink, link: "evil"},
		}, inside: []string{"evil", "hl"}},
		{what: "hard link to outside", entries: []entry{{name: "hl", typ: tar.TypeLink, link: "../outside/secret"}}, errorHas: "leads outside"},
		{what: "hard link to an absolute name", entries: []entry{{name: "hl", typ: tar.TypeLink, link: "OUT/secret"}}, errorHas: "no such file"},
		{what: "hard link through a symlink", entries: []entry{
			{name: "evil", typ: tar.TypeSymlink, link: "OUT"},
			{name: "hl", typ: tar.TypeLink, link: "evil/secret"}}, errorHas: "escapes"},
		{what: "existing symlink to outside", pre: "evil>OUT", entries: []entry{{name: "evil/pwned", body: "x"}}, errorHas: "escapes"},
		{what: "existing symlink to the secret", pre: "evil>OUT/secret", entries: []entry{{name: "evil", body: "x"}}, inside: []string{"evil"}},
		{what: "existing relative symlink", pre: "evil>../outside", entries: []entry{{name: "evil/d/f", body: "x"}}, errorHas: "escapes"},
		{what: "root entry renamed", entries: []entry{{name: "./", typ: tar.TypeDir, mode: 0o777}}, inside: []string{}},
	} {
		t.Run(tc.what, func(t *testing.T) {
			top := t.TempDir()
			dest, outside := filepath.Join(top, "dest"), filepath.Join(top, "outside")
			must(t, os.Mkdir(dest, 0o755))
			must(t, os.Mkdir(outside, 0o755))
			secret := filepath.Join(outside, "secret")
			must(t, os.WriteFile(secret, []byte("secret"), 0o600))
			out := strings.TrimPrefix(outside, "/")
			fix := func(s string) string { return strings.ReplaceAll(s, "OUT", outside) }
			if tc.pre != "" {
				name, target, _ := strings.Cut(tc.pre, ">")
				must(t, os.Symlink(fix(target), filepath.Join(dest, name)))
			}
			before := describe(t, outside)
			var es []entry
			for _, e := range tc.entries {
				e.name, e.link = fix(e.name), fix(e.link)
				es = append(es, e)
			}
			err := Unpack(tarOf(t, es...), dest, UnpackOptions{})
			if tc.errorHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errorHas) || strings.Contains(err.Error(), "\n") {
					t.Errorf("Unpack: %v; want one line with %q", err, tc.errorHas)
				}
			} else if err != nil {
				t.Errorf("Unpack: %v", err)
			} else {
				for _, name := range tc.inside {
					name = strings.ReplaceAll(name, "OUT", out)
					fi, err := os.Lstat(filepath.Join(dest, name))
					if err != nil {
						t.Errorf("not extracted inside: %v", err)
					} else if fi.Mode().IsRegular() && fi.Mode().Perm() != 0o644 {
						t.Errorf("%s: mode %v", name, fi.Mode())
					}
				}
			}
			after := describe(t, outside)
			if len(after) != len(before) {
				t.Errorf("outside changed: %v", after)
			}
			for name, s := range before {
				if after[name] != s {
					t.Errorf("outside/%s: %s, was %s", name, after[name], s)
				}
			}
			if fi, err := os.Stat(secret); err != nil || fi.Sys().(*syscall.Stat_t).Nlink != 1 {
				t.Errorf("secret linked to: %v", err)
			}
			if fi, err := os.Stat(dest); err != nil || fi.Mode().Perm() != 0o755 {
				t.Errorf("destination's mode changed: %v", fi.Mode())
			}
		})
	}
}

// TestUnpackUnmappedID extracts, in a user namespace that maps only the
// caller's ids, an entry owned by an unmapped uid: the error names both.
func TestUnpackUnmappedID(t *testing.T) {
	if dest := os.Getenv("ARCHIVE_TEST_USERNS_DEST"); dest != "" {
		uid := 1234
		err := Unpack(tarOf(t, entry{name: "f", uid: &uid}), dest, UnpackOptions{})
		want := filepath.Join(dest, "f") + ": cannot chown to 1234:0: uid or gid not mapped in the user namespace"
		if err == nil || err.Error() != want {
			t.Fatalf("Unpack: %v; want %q", err, want)
		}
		return
	}
	dest := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestUnpackUnmappedID$", "-test.v")
	cmd.Env = append(os.Environ(), "ARCHIVE_TEST_USERNS_DEST="+dest)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		t.Fatalf("in a user namespace: %v\n%s", err, out)
	case err != nil:
		t.Skipf("no user namespace: %v", err)
	case !bytes.Contains(out, []byte("--- PASS: TestUnpackUnmappedID")):
		t.Fatalf("the child did not run the test:\n%s", out)
	}
}
