package integration

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Users the tests create when they run as root.
const (
	testUser  = "skifftest"  // rootless, with subuid/subgid 200000:65536
	nosubUser = "skiffnosub" // rootless, without any subuid/subgid range
)

var (
	skiffBin string // absolute path of the skiff binary all modes run
	tmpRoot  string // world-readable scratch directory of this test run
	bbTar    string // the busybox rootfs tarball

	rootlessMode *mode   // always present
	rootMode     *mode   // only when the tests run as root
	nosubMode    *mode   // only when the tests run as root
	rangeModes   []*mode // modes with a full id range: rootless and (as root) root
)

// fixture paths, all under tmpRoot
var fx = map[string]string{}

func TestMain(m *testing.M) {
	code, err := setup()
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration setup: %v\n", err)
		code = 1
	} else {
		code = m.Run()
	}
	if tmpRoot != "" && os.Getenv("SKIFF_TEST_KEEP") == "" {
		os.RemoveAll(tmpRoot)
	}
	os.Exit(code)
}

func setup() (int, error) {
	bin := os.Getenv("SKIFF_BIN")
	if bin == "" {
		bin = "../bin/skiff"
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		return 1, err
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return 1, fmt.Errorf("no skiff binary at %s (run `make build` in the project root, or set SKIFF_BIN)", bin)
	}
	tmpRoot, err = os.MkdirTemp("/var/tmp", "skiff-it-")
	if err != nil {
		return 1, err
	}
	if err := os.Chmod(tmpRoot, 0o755); err != nil {
		return 1, err
	}
	isRoot := os.Getuid() == 0
	skiffBin = bin
	if isRoot {
		if err := ensureUser(testUser, "200000:65536"); err != nil {
			return 1, err
		}
		if err := ensureUser(nosubUser, ""); err != nil {
			return 1, err
		}
		if _, err := os.Stat("/dev/net/tun"); err == nil {
			os.Chmod("/dev/net/tun", 0o666)
		}
		if !worldReachable(bin) {
			skiffBin, err = copyBinDir(filepath.Dir(bin))
			if err != nil {
				return 1, err
			}
		}
	}
	if bbTar, err = buildBusyboxTar(tmpRoot); err != nil {
		return 1, err
	}
	if err := writeFixtures(); err != nil {
		return 1, err
	}

	if isRoot {
		uid, gid, home, err := lookupIDs(testUser)
		if err != nil {
			return 1, err
		}
		rootlessMode = &mode{name: "rootless", user: testUser, uid: uid, gid: gid, home: home, switchUser: true}
		rootMode = &mode{name: "root", user: "root", uid: 0, gid: 0, home: "/root", root: true, cleanEnv: true}
		uid, gid, home, err = lookupIDs(nosubUser)
		if err != nil {
			return 1, err
		}
		nosubMode = &mode{name: "nosub", user: nosubUser, uid: uid, gid: gid, home: home, switchUser: true}
		// a fresh start for this user, so that a warning skiff gives only once can be seen again
		for _, d := range []string{".local/share/skiff", ".config/skiff", ".cache/skiff"} {
			os.RemoveAll(filepath.Join(home, d))
		}
		os.RemoveAll(fmt.Sprintf("/tmp/skiff-%d", uid))
		os.RemoveAll(fmt.Sprintf("/run/user/%d/skiff", uid))
		rangeModes = []*mode{rootlessMode, rootMode}
	} else {
		home, _ := os.UserHomeDir()
		name := os.Getenv("USER")
		rootlessMode = &mode{name: "rootless", user: name, uid: os.Getuid(), gid: os.Getgid(), home: home}
		rangeModes = []*mode{rootlessMode}
	}
	all := append([]*mode{}, rangeModes...)
	if nosubMode != nil {
		all = append(all, nosubMode)
	}
	for _, m := range all {
		r := m.skiff("rmi", "-f", "bbtest")
		m.setupStderr = append(m.setupStderr, r.stderr)
		r = m.skiff("import", bbTar, "bbtest")
		m.setupStderr = append(m.setupStderr, r.stderr)
		if r.code != 0 || r.signal != 0 || r.timedOut {
			m.setupErr = fmt.Errorf("import of the busybox image failed: %v", r)
			fmt.Fprintf(os.Stderr, "[%s] %v\n", m.name, m.setupErr)
		}
	}
	return 0, nil
}

func run(argv ...string) error {
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%q: %v: %s", argv, err, out)
	}
	return nil
}

// ensureUser creates name (home /home/name) if missing; with a subid range "START:COUNT" it adds
// that range to /etc/subuid and /etc/subgid if the user has none, without one it removes the
// user's ranges.
func ensureUser(name, subid string) error {
	if _, _, _, err := lookupIDs(name); err != nil {
		if err := run("useradd", "-m", "-d", "/home/"+name, "-s", "/bin/sh", name); err != nil {
			return err
		}
	}
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		b, _ := os.ReadFile(f)
		var keep []string
		has := false
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, name+":") {
				has = true
				if subid == "" {
					continue
				}
			}
			if l != "" {
				keep = append(keep, l)
			}
		}
		if subid != "" && !has {
			keep = append(keep, name+":"+subid)
		}
		if (subid == "" && has) || (subid != "" && !has) {
			if err := os.WriteFile(f, []byte(strings.Join(keep, "\n")+"\n"), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// worldReachable says whether every other user can reach and run the binary and its shim.
func worldReachable(bin string) bool {
	for _, f := range []string{bin, filepath.Join(filepath.Dir(bin), "skiff-init")} {
		st, err := os.Stat(f)
		if err != nil {
			continue
		}
		if st.Mode().Perm()&0o005 != 0o005 {
			return false
		}
	}
	for d := filepath.Dir(bin); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == "/" {
			return true
		}
	}
}

// copyBinDir copies the binaries' directory to a 0755 copy under tmpRoot and returns the new skiff.
func copyBinDir(dir string) (string, error) {
	dst := filepath.Join(tmpRoot, "bin")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return "", err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() && e.Type()&os.ModeSymlink == 0 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o755); err != nil {
			return "", err
		}
	}
	return filepath.Join(dst, "skiff"), nil
}

// buildBusyboxTar builds the rootfs tarball exactly as the acceptance checks' busybox_tar does:
// Debian's static busybox, a symlink per applet, /etc/passwd and /etc/group with root, nobody and
// user (1000), and a 1777 /tmp.
func buildBusyboxTar(dir string) (string, error) {
	if _, err := os.Stat("/bin/busybox"); err != nil && os.Getuid() == 0 {
		c := exec.Command("apt-get", "install", "-y", "busybox-static")
		c.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := c.CombinedOutput(); err != nil {
			return "", fmt.Errorf("apt-get install busybox-static: %v: %s", err, out)
		}
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		return "", fmt.Errorf("no /bin/busybox (install busybox-static)")
	}
	r := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "etc", "tmp", "root", "proc", "sys", "dev"} {
		if err := os.MkdirAll(filepath.Join(r, d), 0o755); err != nil {
			return "", err
		}
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(r, "bin", "busybox"), bb, 0o755); err != nil {
		return "", err
	}
	out, err := exec.Command(filepath.Join(r, "bin", "busybox"), "--list").Output()
	if err != nil {
		return "", fmt.Errorf("busybox --list: %v", err)
	}
	for _, a := range strings.Fields(string(out)) {
		p := filepath.Join(r, "bin", a)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if err := os.Symlink("busybox", p); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(r, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\nuser:x:1000:1000:user:/tmp:/bin/sh\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(r, "etc", "group"), []byte("root:x:0:\nnogroup:x:65534:\nuser:x:1000:\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.Chmod(filepath.Join(r, "tmp"), 0o1777); err != nil {
		return "", err
	}
	t := filepath.Join(dir, "busybox-rootfs.tar")
	if err := run("tar", "--owner=0", "--group=0", "--numeric-owner", "-C", r, "-cf", t, "."); err != nil {
		return "", err
	}
	os.Chmod(t, 0o644)
	return t, os.RemoveAll(r)
}

func writeTar(path string, prefix string, entries []regEntry) error {
	var buf bytes.Buffer
	if prefix != "" {
		b, err := os.ReadFile(prefix)
		if err != nil {
			return err
		}
		// copy the entries of prefix without its two zero end blocks
		tr := tar.NewReader(bytes.NewReader(b))
		tw := tar.NewWriter(&buf)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if _, err := io.Copy(tw, tr); err != nil {
				return err
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	tw := tar.NewWriter(&buf)
	if err := writeEntries(tw, entries); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// writeFixtures writes the small files the cases use into tmpRoot and records them in fx.
func writeFixtures() error {
	p := func(n string) string { fx[n] = filepath.Join(tmpRoot, n); return fx[n] }
	if err := os.WriteFile(p("env.list"), []byte("B=2\n# a comment\n\nC=three words\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(p("notatar.txt"), []byte("this is not a tar archive, just some text\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(p("bad.json"), []byte("{ this is not json"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(p("deny-mkdir.json"), []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}`), 0o644); err != nil {
		return err
	}
	if err := writeTar(p("escape.tar"), "", []regEntry{
		{name: "ok", typ: tar.TypeReg, body: []byte("fine\n")},
		{name: "../escape", typ: tar.TypeReg, body: []byte("escaped\n")},
	}); err != nil {
		return err
	}
	if err := writeTar(p("hardlink-out.tar"), "", []regEntry{
		{name: "ok", typ: tar.TypeReg, body: []byte("fine\n")},
		{name: "evil", typ: tar.TypeLink, link: "../../../../../../../../etc/passwd"},
	}); err != nil {
		return err
	}
	victim := p("victim")
	if err := os.MkdirAll(victim, 0o777); err != nil {
		return err
	}
	os.Chmod(victim, 0o777)
	if err := writeTar(p("symlink-escape.tar"), bbTar, []regEntry{
		{name: "esc", typ: tar.TypeSymlink, link: victim},
		{name: "esc/pwned", typ: tar.TypeReg, body: []byte("pwned\n")},
		{name: "rel", typ: tar.TypeSymlink, link: "../../../../../../../../" + strings.TrimPrefix(victim, "/")},
		{name: "rel/pwned2", typ: tar.TypeReg, body: []byte("pwned\n")},
	}); err != nil {
		return err
	}
	if err := writeTar(p("links.tar"), bbTar, []regEntry{
		{name: "data", typ: tar.TypeDir},
		{name: "data/a", typ: tar.TypeReg, body: []byte("hello\n")},
		{name: "data/b", typ: tar.TypeLink, link: "data/a"},
		{name: "data/s", typ: tar.TypeSymlink, link: "a"},
		{name: "data/run.sh", typ: tar.TypeReg, mode: 0o755, body: []byte("#!/bin/sh\necho script-ran\n")},
	}); err != nil {
		return err
	}
	host := p("hostfile.txt")
	if err := os.WriteFile(host, []byte("hostdata\n"), 0o644); err != nil {
		return err
	}
	return nil
}
