package integration

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostDir is a directory of the mode's user for files skiff cp reads or writes on the host.
func hostDir(t *testing.T, m *mode, name string) string {
	t.Helper()
	d, err := os.MkdirTemp(tmpRoot, name+"-"+m.name+"-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(d, 0o755)
	os.Chown(d, m.uid, m.gid)
	return d
}

// tarNames lists the entries of a tar stream.
func tarNames(t *testing.T, b string) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(strings.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read the tar stream: %v", err)
		}
		names = append(names, strings.TrimSuffix(h.Name, "/"))
	}
	sort.Strings(names)
	return names
}

func TestCopy(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		name := "cp-" + m.name
		vol := "itcpvol-" + m.name
		m.skiff("rm", "-f", name)
		m.skiff("volume", "rm", "-f", vol)
		setup := "mkdir -p /d/sub && echo hello > /d/a && ln -sfn a /d/l && echo owned > /d/u && chown 1000:1000 /d/u && touch /ready && sleep 1013"
		id := runDetached(t, m, "--name", name, "-v", vol+":/vol", "bbtest", "sh", "-c", setup)
		defer m.skiff("volume", "rm", "-f", vol)
		defer m.skiff("rm", "-f", id)
		if !waitFor(10*time.Second, func() bool { return m.skiff("exec", name, "test", "-e", "/ready").code == 0 }) {
			t.Fatalf("container %s did not get ready", name)
		}
		host := hostDir(t, m, "cp")

		// out of a running container: a directory into a directory, a file to a new name
		m.mustSkiff(t, "cp", name+":/d", host)
		if b, err := os.ReadFile(filepath.Join(host, "d", "a")); err != nil || string(b) != "hello\n" {
			t.Errorf("cp CTR:/d DIR: d/a = %q, %v", b, err)
		}
		if l, err := os.Readlink(filepath.Join(host, "d", "l")); err != nil || l != "a" {
			t.Errorf("cp CTR:/d DIR: the symlink d/l is %q, %v; want a link to a", l, err)
		}
		if st, err := os.Stat(filepath.Join(host, "d", "u")); err != nil || st.Sys().(*syscall.Stat_t).Uid != uint32(m.uid) {
			t.Errorf("cp without -a: want d/u owned by the user who copied (%d): %v %v", m.uid, st, err)
		}
		m.mustSkiff(t, "cp", name+":/d/a", filepath.Join(host, "renamed"))
		if b, _ := os.ReadFile(filepath.Join(host, "renamed")); string(b) != "hello\n" {
			t.Errorf("cp CTR:/d/a NEWNAME: %q", b)
		}
		// the contents of a directory (SRC/.) into an existing one
		sub := filepath.Join(host, "contents")
		os.Mkdir(sub, 0o755)
		os.Chown(sub, m.uid, m.gid)
		m.mustSkiff(t, "cp", name+":/d/.", sub)
		if _, err := os.Stat(filepath.Join(sub, "a")); err != nil {
			t.Errorf("cp CTR:/d/. DIR: want DIR/a: %v", err)
		}

		// into the running container: a file into a directory, a directory, and into its volume
		if err := os.WriteFile(filepath.Join(host, "new.txt"), []byte("from the host\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chown(filepath.Join(host, "new.txt"), m.uid, m.gid)
		m.mustSkiff(t, "cp", filepath.Join(host, "new.txt"), name+":/d/")
		m.mustSkiff(t, "cp", filepath.Join(host, "d"), name+":/copied")
		m.mustSkiff(t, "cp", filepath.Join(host, "new.txt"), name+":/vol/in-volume.txt")
		r := m.skiff("exec", name, "sh", "-c", "cat /d/new.txt /copied/a; stat -c %u /d/new.txt; readlink /copied/l")
		if r.code != 0 || norm(r.stdout) != "from the host\nhello\n0\na" {
			t.Errorf("files copied into the running container: %v", r)
		}
		r = m.skiff("run", "--rm", "-v", vol+":/v", "bbtest", "cat", "/v/in-volume.txt")
		if r.code != 0 || norm(r.stdout) != "from the host" {
			t.Errorf("a file copied to a volume's path is not in the volume: %v", r)
		}

		// -a keeps the owner both ways
		m.mustSkiff(t, "cp", "-a", name+":/d/u", filepath.Join(host, "u-kept"))
		m.mustSkiff(t, "cp", "-a", filepath.Join(host, "u-kept"), name+":/u-kept")
		m.mustSkiff(t, "cp", filepath.Join(host, "u-kept"), name+":/u-root")
		r = m.skiff("exec", name, "stat", "-c", "%u:%g", "/u-kept", "/u-root")
		if norm(r.stdout) != "1000:1000\n0:0" {
			t.Errorf("cp -a out and in: want 1000:1000 kept, and 0:0 without -a: %v", r)
		}

		// tar streams: to stdout, from stdin
		r = m.skiff("cp", name+":/d", "-")
		if got := tarNames(t, r.stdout); r.code != 0 || strings.Join(got, " ") != "d d/a d/l d/new.txt d/sub d/u" {
			t.Errorf("cp CTR:/d -: entries %q: %v", got, r.stderr)
		}
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: "piped/x", Mode: 0o600, Size: 3, Typeflag: tar.TypeReg})
		tw.Write([]byte("x!\n"))
		tw.Close()
		if r := m.skiffIn(buf.String(), "cp", "-", name+":/d/sub"); r.code != 0 {
			t.Errorf("cp - CTR:DIR: %v", r)
		}
		if r := m.skiff("exec", name, "cat", "/d/sub/piped/x"); norm(r.stdout) != "x!" {
			t.Errorf("the piped tar was not extracted in /d/sub: %v", r)
		}

		// a stopped container: its files are there, and what is copied in is there when it starts
		m.mustSkiff(t, "stop", "-t", "0", name)
		m.mustSkiff(t, "cp", filepath.Join(host, "new.txt"), name+":/after-stop.txt")
		m.mustSkiff(t, "cp", name+":/d/a", filepath.Join(host, "from-stopped"))
		if b, _ := os.ReadFile(filepath.Join(host, "from-stopped")); string(b) != "hello\n" {
			t.Errorf("cp out of a stopped container: %q", b)
		}
		m.mustSkiff(t, "start", name)
		if r := m.skiff("exec", name, "cat", "/after-stop.txt"); norm(r.stdout) != "from the host" {
			t.Errorf("a file copied into the stopped container is missing once it runs: %v", r)
		}

		// bad input: one line, exit 125, nothing copied
		for _, c := range []struct {
			args    []string
			mention string
		}{
			{[]string{"cp", name + ":/no/such", host}, "/no/such"},
			{[]string{"cp", "no-such-ctr-x:/d", host}, "no-such-ctr-x"},
			{[]string{"cp", filepath.Join(host, "d"), filepath.Join(host, "e")}, "container"},
			{[]string{"cp", name + ":/d", name + ":/e"}, "local"},
			{[]string{"cp", name + ":/d", filepath.Join(host, "renamed")}, "directory to a file"},
			{[]string{"cp", filepath.Join(host, "new.txt"), name + ":/no/such/dir/"}, "/no/such"},
			{[]string{"cp", filepath.Join(host, "missing"), name + ":/d"}, "missing"},
			{[]string{"cp", name + ":/d"}, "two arguments"},
		} {
			r := m.skiff(c.args...)
			if msg := checkOneLineError(r); msg != "" || !strings.Contains(r.stderr, c.mention) {
				t.Errorf("%v: want a one-line error naming %q: %s %v", c.args, c.mention, msg, r)
			}
		}
		// the mount point of a stopped container's files goes with the copy
		m.mustSkiff(t, "stop", "-t", "0", name)
		m.mustSkiff(t, "cp", name+":/d/a", filepath.Join(host, "again"))
		runDir := "/run/skiff"
		if !m.root {
			runDir = fmt.Sprintf("/tmp/skiff-%d", m.uid)
		}
		if left, _ := filepath.Glob(filepath.Join(runDir, "cp-*")); len(left) > 0 {
			t.Errorf("cp of a stopped container left %v", left)
		}
	})
}
