// Package integration runs the real skiff binary (../bin/skiff or $SKIFF_BIN) as an unprivileged
// user (rootless), as root and as a user without subordinate ids, on a busybox image it builds from
// Debian's static busybox. Run as root: cd test && go test -count=1 -v ./...
package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

type runCase struct {
	name   string
	args   []string // after "run --rm"; "{fx:NAME}" is replaced by the fixture's path
	stdin  string
	want   string // exact stdout (CRLF to LF, trailing white space dropped), unless wantRe is set
	wantRe string
	code   int
	only   string                                // "" every mode with an id range, else "root" or "rootless"
	check  func(t *testing.T, m *mode, r result) // extra checks
}

func expand(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		for k, v := range fx {
			a = strings.ReplaceAll(a, "{fx:"+k+"}", v)
		}
		out[i] = a
	}
	return out
}

func TestRun(t *testing.T) {
	capEff := func(v string) string { return `^CapEff:\s+` + v + `$` }
	cases := []runCase{
		{name: "echo", args: []string{"bbtest", "echo", "hi"}, want: "hi"},
		{name: "exit 0 quiet", args: []string{"bbtest", "true"}, check: func(t *testing.T, m *mode, r result) {
			if r.stderr != "" {
				t.Errorf("a successful run printed on stderr: %q", r.stderr)
			}
		}},
		{name: "exit 3", args: []string{"bbtest", "sh", "-c", "exit 3"}, code: 3},
		{name: "exit 255", args: []string{"bbtest", "sh", "-c", "exit 255"}, code: 255},
		{name: "false", args: []string{"bbtest", "false"}, code: 1},
		{name: "directory as command 126", args: []string{"bbtest", "/etc"}, code: 126},
		{name: "non-executable file 126", args: []string{"bbtest", "/etc/passwd"}, code: 126},
		{name: "missing path 127", args: []string{"bbtest", "/nonexistent"}, code: 127},
		{name: "missing command 127", args: []string{"bbtest", "nosuchcommand"}, code: 127},
		{name: "killed by SIGKILL 137", args: []string{"bbtest", "sh", "-c", "kill -9 $$"}, code: 137},
		{name: "killed by SIGTERM 143", args: []string{"bbtest", "sh", "-c", "kill -TERM $$"}, code: 143},
		{name: "stdout and stderr apart", args: []string{"bbtest", "sh", "-c", "echo out; echo err >&2"}, want: "out",
			check: func(t *testing.T, m *mode, r result) {
				if norm(r.stderr) != "err" {
					t.Errorf("stderr = %q, want \"err\"", r.stderr)
				}
			}},
		{name: "arguments kept", args: []string{"bbtest", "sh", "-c", `printf "%s|" "$@"`, "x", "a b", "", "c"}, want: "a b||c|"},
		{name: "full reference", args: []string{"localhost/bbtest:latest", "echo", "a"}, want: "a"},
		{name: "name with tag", args: []string{"bbtest:latest", "echo", "a"}, want: "a"},
		{name: "env -e", args: []string{"-e", "A=1", "bbtest", "sh", "-c", "echo $A"}, want: "1"},
		{name: "env --env twice", args: []string{"--env", "A=1", "-e", "B=two words", "bbtest", "sh", "-c", `echo "$A/$B"`}, want: "1/two words"},
		{name: "env-file", args: []string{"--env-file", "{fx:env.list}", "bbtest", "sh", "-c", `echo "$B/$C"`}, want: "2/three words"},
		{name: "env -e overrides env-file", args: []string{"--env-file", "{fx:env.list}", "-e", "B=9", "bbtest", "sh", "-c", `echo "$B"`}, want: "9"},
		{name: "PATH set", args: []string{"bbtest", "sh", "-c", `echo "$PATH" | grep -q /bin && echo ok`}, want: "ok"},
		{name: "workdir", args: []string{"-w", "/tmp", "bbtest", "pwd"}, want: "/tmp"},
		{name: "workdir created", args: []string{"--workdir", "/new/work/dir", "bbtest", "pwd"}, want: "/new/work/dir"},
		{name: "default workdir /", args: []string{"bbtest", "pwd"}, want: "/"},
		{name: "user uid:gid", args: []string{"-u", "1000:1000", "bbtest", "id"}, wantRe: `^uid=1000(\(user\))? gid=1000(\(user\))?`},
		{name: "user uid", args: []string{"--user", "1000", "bbtest", "sh", "-c", "id -u; id -g"}, want: "1000\n1000"},
		{name: "user name", args: []string{"-u", "user", "bbtest", "id", "-un"}, want: "user"},
		{name: "user name uid", args: []string{"-u", "user", "bbtest", "sh", "-c", "id -u; id -g"}, want: "1000\n1000"},
		{name: "user nobody", args: []string{"-u", "nobody", "bbtest", "id", "-u"}, want: "65534"},
		{name: "user 0", args: []string{"-u", "0", "bbtest", "id", "-u"}, want: "0"},
		{name: "default user root", args: []string{"bbtest", "id", "-u"}, want: "0"},
		{name: "entrypoint", args: []string{"--entrypoint", "/bin/echo", "bbtest", "hello"}, want: "hello"},
		{name: "entrypoint args", args: []string{"--entrypoint", "echo", "bbtest", "a", "b"}, want: "a b"},
		{name: "hostname flag", args: []string{"--hostname", "box", "bbtest", "hostname"}, want: "box"},
		{name: "hostname file", args: []string{"--hostname", "box", "bbtest", "cat", "/etc/hostname"}, want: "box"},
		{name: "hostname default id", args: []string{"bbtest", "hostname"}, wantRe: `^[0-9a-f]{12}$`},
		{name: "etc files", args: []string{"bbtest", "sh", "-c", "test -f /etc/hosts && test -f /etc/resolv.conf && test -f /etc/hostname && echo ok"}, want: "ok"},
		{name: "dev nodes", args: []string{"bbtest", "sh", "-c", "echo x >/dev/null && test -c /dev/null && test -c /dev/zero && test -c /dev/urandom && test -c /dev/tty && test -d /dev/pts && test -d /dev/shm && echo ok"}, want: "ok"},
		{name: "read-only rootfs", args: []string{"--read-only", "bbtest", "touch", "/x"}, code: anyNonZero},
		{name: "read-only with tmpfs /tmp", args: []string{"--read-only", "--tmpfs", "/tmp", "bbtest", "sh", "-c", "touch /tmp/x && echo ok"}, want: "ok"},
		{name: "writable rootfs", args: []string{"bbtest", "sh", "-c", "touch /x && echo ok"}, want: "ok"},
		{name: "tmpfs mounted", args: []string{"--tmpfs", "/mnt/t", "bbtest", "sh", "-c", `grep " /mnt/t " /proc/mounts | cut -d" " -f3`}, want: "tmpfs"},
		{name: "tmpfs writable", args: []string{"--tmpfs", "/mnt/t", "bbtest", "sh", "-c", "echo a > /mnt/t/f && cat /mnt/t/f"}, want: "a"},
		// skiff runs with a coarse timer slack of its own; the command gets its caller's back
		{name: "caller's timer slack", args: []string{"bbtest", "sh", "-c", "cat /proc/self/timerslack_ns; env | grep -c _SKIFF"}, code: 1,
			check: func(t *testing.T, m *mode, r result) {
				own, err := os.ReadFile("/proc/self/timerslack_ns")
				if err != nil {
					t.Skip("no /proc/self/timerslack_ns")
				}
				if want := strings.TrimSpace(string(own)) + "\n0"; norm(r.stdout) != want {
					t.Errorf("timer slack and _SKIFF variables: got %q, want %q", r.stdout, want)
				}
			}},
		{name: "pid 1 is the shim", args: []string{"bbtest", "cat", "/proc/1/comm"}, want: "skiff-init"},
		{name: "proc shows only the container", args: []string{"bbtest", "sh", "-c", `ls /proc | grep -c "^[0-9]"`},
			check: func(t *testing.T, m *mode, r result) {
				n, err := strconv.Atoi(norm(r.stdout))
				if err != nil || n > 4 || n < 2 {
					t.Errorf("want 2..4 pids in /proc, got %q", r.stdout)
				}
			}},
		{name: "network none only lo", args: []string{"--network", "none", "bbtest", "ls", "/sys/class/net"}, want: "lo"},
		{name: "network default pasta", args: []string{"bbtest", "ls", "/sys/class/net"}, want: "eth0\nlo"},
		{name: "network none=", args: []string{"--network=none", "bbtest", "ls", "/sys/class/net"}, want: "lo"},
		{name: "capeff default", args: []string{"bbtest", "grep", "^CapEff", "/proc/self/status"}, wantRe: capEff("00000000a80425fb")},
		{name: "capbnd default", args: []string{"bbtest", "grep", "^CapBnd", "/proc/self/status"}, wantRe: `^CapBnd:\s+00000000a80425fb$`},
		{name: "capeff non-root user", args: []string{"-u", "1000", "bbtest", "grep", "^CapEff", "/proc/self/status"}, wantRe: capEff("0000000000000000")},
		{name: "cap-drop ALL", args: []string{"--cap-drop", "ALL", "bbtest", "grep", "^CapEff", "/proc/self/status"}, wantRe: capEff("0000000000000000")},
		{name: "cap-drop CHOWN", args: []string{"--cap-drop", "CHOWN", "bbtest", "grep", "^CapEff", "/proc/self/status"}, wantRe: capEff("00000000a80425fa")},
		{name: "cap-add SYS_ADMIN", args: []string{"--cap-add", "SYS_ADMIN", "bbtest", "grep", "^CapEff", "/proc/self/status"}, wantRe: capEff("00000000a82425fb")},
		{name: "cap-add CAP_NET_ADMIN", args: []string{"--cap-add", "CAP_NET_ADMIN", "bbtest", "grep", "^CapEff", "/proc/self/status"}, wantRe: capEff("00000000a80435fb")},
		{name: "cap-drop ALL cap-add CHOWN", args: []string{"--cap-drop", "ALL", "--cap-add", "CHOWN", "bbtest", "grep", "^CapEff", "/proc/self/status"}, wantRe: capEff("0000000000000001")},
		{name: "privileged all caps", args: []string{"--privileged", "bbtest", "grep", "^CapEff", "/proc/self/status"},
			check: func(t *testing.T, m *mode, r result) {
				last, _ := os.ReadFile("/proc/sys/kernel/cap_last_cap")
				n, _ := strconv.Atoi(strings.TrimSpace(string(last)))
				want := capMask(n) // a new user namespace gets every capability
				if m.root {
					want = statusField("CapBnd") // root can give only what it has
				}
				if !regexp.MustCompile(capEff(want)).MatchString(norm(r.stdout)) {
					t.Errorf("want CapEff %s, got %q", want, r.stdout)
				}
			}},
		{name: "seccomp default", args: []string{"bbtest", "grep", "^Seccomp:", "/proc/self/status"}, wantRe: `^Seccomp:\s+2$`},
		{name: "seccomp unconfined", args: []string{"--security-opt", "seccomp=unconfined", "bbtest", "grep", "^Seccomp:", "/proc/self/status"}, wantRe: `^Seccomp:\s+0$`},
		{name: "seccomp file applied", args: []string{"--security-opt", "seccomp={fx:deny-mkdir.json}", "bbtest", "sh", "-c", "grep ^Seccomp: /proc/self/status; mkdir /tmp/d && echo made || echo denied"}, wantRe: `^Seccomp:\s+2\ndenied$`},
		{name: "default profile allows mkdir", args: []string{"bbtest", "sh", "-c", "mkdir /tmp/d && echo made"}, want: "made"},
		{name: "no-new-privileges", args: []string{"--security-opt", "no-new-privileges", "bbtest", "grep", "^NoNewPrivs", "/proc/self/status"}, wantRe: `^NoNewPrivs:\s+1$`},
		{name: "ulimit nofile", args: []string{"--ulimit", "nofile=100:100", "bbtest", "sh", "-c", "ulimit -n; ulimit -Hn"}, want: "100\n100"},
		{name: "mount refused", args: []string{"bbtest", "mount", "-t", "tmpfs", "t", "/tmp"}, code: anyNonZero},
		{name: "unshare -U refused", args: []string{"bbtest", "unshare", "-U", "true"}, code: anyNonZero},
		{name: "chown works by default", args: []string{"bbtest", "chown", "1", "/tmp"}, code: 0},
		{name: "chown fails with cap-drop ALL", args: []string{"--cap-drop", "ALL", "bbtest", "chown", "1", "/tmp"}, code: anyNonZero},
		{name: "stdin -i", args: []string{"-i", "bbtest", "cat"}, stdin: "x\n", want: "x"},
		{name: "stdin --interactive", args: []string{"--interactive", "bbtest", "cat"}, stdin: "line1\nline2\n", want: "line1\nline2"},
		{name: "stdin 1MiB", args: []string{"-i", "bbtest", "wc", "-c"}, stdin: strings.Repeat("0123456789abcdef", 65536), wantRe: `^\s*1048576$`},
		{name: "no stdin without -i", args: []string{"bbtest", "cat"}, stdin: "x\n", want: ""},
		{name: "no tty without -t", args: []string{"bbtest", "tty"}, want: "not a tty", code: 1},
		{name: "name", args: []string{"--name", "itname", "bbtest", "echo", "named"}, want: "named"},
		{name: "uid map", only: "rootless", args: []string{"bbtest", "cat", "/proc/self/uid_map"},
			check: func(t *testing.T, m *mode, r result) {
				f := [][]string{}
				for _, l := range lines(r.stdout) {
					f = append(f, strings.Fields(l))
				}
				ok0, okRange := false, false
				for _, x := range f {
					if len(x) == 3 && x[0] == "0" && x[1] == strconv.Itoa(m.uid) {
						ok0 = true
					}
					if len(x) == 3 && x[0] == "1" {
						if n, _ := strconv.Atoi(x[2]); n >= 65535 {
							okRange = true
						}
					}
				}
				if !ok0 || !okRange {
					t.Errorf("want root mapped to %d and 1.. mapped to the subuid range, got %q", m.uid, r.stdout)
				}
			}},
	}
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		for _, c := range cases {
			c := c
			if c.only != "" && c.only != m.name {
				continue
			}
			t.Run(c.name, func(t *testing.T) {
				args := append([]string{"run", "--rm"}, expand(c.args)...)
				r := m.skiffIn(c.stdin, args...)
				if !checkCode(r, c.code) {
					t.Fatalf("want exit %d: %v", c.code, r)
				}
				got := norm(r.stdout)
				switch {
				case c.wantRe != "":
					if !regexp.MustCompile(c.wantRe).MatchString(got) {
						t.Errorf("stdout %q does not match %q: %v", got, c.wantRe, r)
					}
				case c.check == nil || c.want != "":
					if got != c.want {
						t.Errorf("stdout %q, want %q: %v", got, c.want, r)
					}
				}
				if c.check != nil {
					c.check(t, m, r)
				}
			})
		}
	})
}

func TestBadInputs(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		codes []int // default 125
	}{
		{"run missing image", []string{"run", "--rm", "nosuchimage-xyz", "true"}, nil},
		{"run missing image qualified", []string{"run", "--rm", "localhost/nosuchimage-xyz:v9", "true"}, nil},
		{"run malformed reference", []string{"run", "UPPER/Case::x", "true"}, nil},
		{"run unknown flag", []string{"run", "--no-such-flag", "bbtest", "true"}, nil},
		{"unknown global flag", []string{"--no-such-flag", "images"}, nil},
		{"unknown command", []string{"frobnicate"}, nil},
		{"run without image", []string{"run"}, nil},
		{"run without command", []string{"run", "--rm", "bbtest"}, nil},
		{"import non-tar", []string{"import", "{fx:notatar.txt}", "badimg"}, nil},
		{"import ../escape", []string{"import", "{fx:escape.tar}", "badimg"}, nil},
		{"import hardlink outside", []string{"import", "{fx:hardlink-out.tar}", "badimg"}, nil},
		{"import missing file", []string{"import", "/nonexistent/file.tar", "badimg"}, nil},
		{"import malformed name", []string{"import", "{fx:busybox-rootfs.tar}", "Bad::Name"}, nil},
		{"import bad change", []string{"import", "-c", "FROBNICATE x", "{fx:busybox-rootfs.tar}", "badimg"}, nil},
		{"ulimit bogus", []string{"run", "--rm", "--ulimit", "bogus", "bbtest", "true"}, nil},
		{"ulimit unknown resource", []string{"run", "--rm", "--ulimit", "nosuch=1:1", "bbtest", "true"}, nil},
		{"ulimit soft above hard", []string{"run", "--rm", "--ulimit", "nofile=200:100", "bbtest", "true"}, nil},
		{"cap-add NOPE", []string{"run", "--rm", "--cap-add", "NOPE", "bbtest", "true"}, nil},
		{"cap-drop NOPE", []string{"run", "--rm", "--cap-drop", "NOPE", "bbtest", "true"}, nil},
		{"seccomp missing file", []string{"run", "--rm", "--security-opt", "seccomp=/nonexistent.json", "bbtest", "true"}, nil},
		{"seccomp invalid json", []string{"run", "--rm", "--security-opt", "seccomp={fx:bad.json}", "bbtest", "true"}, nil},
		{"security-opt unknown", []string{"run", "--rm", "--security-opt", "bogus=1", "bbtest", "true"}, nil},
		{"volume relative host", []string{"run", "--rm", "-v", "./relative:/x", "bbtest", "true"}, nil},
		{"volume bad name", []string{"run", "--rm", "-v", "bad name:/x", "bbtest", "true"}, nil},
		{"volume relative container", []string{"run", "--rm", "-v", "/tmp:relative", "bbtest", "true"}, nil},
		{"volume bad option", []string{"run", "--rm", "-v", "/tmp:/x:bogus", "bbtest", "true"}, nil},
		{"tmpfs relative", []string{"run", "--rm", "--tmpfs", "relative", "bbtest", "true"}, nil},
		{"workdir relative", []string{"run", "--rm", "-w", "relative", "bbtest", "true"}, nil},
		{"network bogus", []string{"run", "--rm", "--network", "bogus", "bbtest", "true"}, nil},
		{"env-file missing", []string{"run", "--rm", "--env-file", "/nonexistent.env", "bbtest", "true"}, nil},
		{"unknown user", []string{"run", "--rm", "-u", "nosuchuser", "bbtest", "true"}, []int{125, 126}},
		{"tag missing source", []string{"tag", "nosuchimage-xyz", "newname"}, nil},
		{"tag malformed target", []string{"tag", "bbtest", "Bad::Name"}, nil},
		{"rmi missing image", []string{"rmi", "nosuchimage-xyz"}, []int{1, 125}},
	}
	fx["busybox-rootfs.tar"] = bbTar
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		for _, c := range cases {
			c := c
			t.Run(c.name, func(t *testing.T) {
				before := m.imagesSnapshot(t)
				r := m.skiff(expand(c.args)...)
				if p := checkOneLineError(r, c.codes...); p != "" {
					t.Errorf("%s: %v", p, r)
				}
				if after := m.imagesSnapshot(t); after != before {
					t.Errorf("images changed:\nbefore:\n%s\nafter:\n%s", before, after)
				}
			})
		}
	})
}

func TestImportSymlinkEscape(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		victim := fx["victim"]
		os.Remove(filepath.Join(victim, "pwned"))
		os.Remove(filepath.Join(victim, "pwned2"))
		r := m.skiff("import", fx["symlink-escape.tar"], "bbsymesc")
		defer m.skiff("rmi", "-f", "bbsymesc")
		for _, f := range []string{"pwned", "pwned2"} {
			if _, err := os.Lstat(filepath.Join(victim, f)); err == nil {
				t.Errorf("import wrote %s outside the layer through a symlink: %v", filepath.Join(victim, f), r)
			}
		}
		if r.code != 0 {
			if p := checkOneLineError(r); p != "" {
				t.Errorf("refused import: %s: %v", p, r)
			}
		}
	})
}

func TestImportLinks(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		m.mustSkiff(t, "import", fx["links.tar"], "bblinks")
		defer m.skiff("rmi", "-f", "bblinks")
		r := m.mustSkiff(t, "run", "--rm", "bblinks", "sh", "-c", "cat /data/b /data/s; /data/run.sh; stat -c %h /data/a")
		if got := norm(r.stdout); got != "hello\nhello\nscript-ran\n2" {
			t.Errorf("got %q, want hello/hello/script-ran/2 (hard link count 2)", got)
		}
	})
}

func TestImportStdin(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		b, err := os.ReadFile(bbTar)
		if err != nil {
			t.Fatal(err)
		}
		defer m.skiff("rmi", "-f", "bbstdin")
		r := m.exec(opts{stdin: strings.NewReader(string(b))}, skiffBin, "import", "-", "bbstdin")
		if r.code != 0 {
			t.Fatalf("import from stdin: %v", r)
		}
		if !contains(m.imageNames(t), "localhost/bbstdin:latest") {
			t.Errorf("images lacks localhost/bbstdin:latest: %v", m.imageNames(t))
		}
		r = m.mustSkiff(t, "run", "--rm", "bbstdin", "echo", "from-stdin")
		if norm(r.stdout) != "from-stdin" {
			t.Errorf("got %v", r)
		}
	})
}

func TestImportChange(t *testing.T) {
	type step struct {
		args []string
		want string
	}
	cases := []struct {
		name    string
		changes []string
		runs    []step
	}{
		{"CMD", []string{"-c", `CMD ["echo","hi"]`}, []step{{nil, "hi"}, {[]string{"echo", "other"}, "other"}}},
		{"CMD shell form", []string{"--change", `CMD echo shell-form`}, []step{{nil, "shell-form"}}},
		{"ENV", []string{"-c", "ENV A=b"}, []step{{[]string{"sh", "-c", "echo $A"}, "b"}, {[]string{"-e", "A=c", "|", "sh", "-c", "echo $A"}, "c"}}},
		{"WORKDIR", []string{"-c", "WORKDIR /tmp"}, []step{{[]string{"pwd"}, "/tmp"}, {[]string{"-w", "/", "|", "pwd"}, "/"}}},
		{"USER", []string{"-c", "USER user"}, []step{{[]string{"id", "-un"}, "user"}, {[]string{"-u", "root", "|", "id", "-un"}, "root"}}},
		{"ENTRYPOINT", []string{"-c", `ENTRYPOINT ["echo"]`}, []step{{[]string{"x"}, "x"}, {[]string{"--entrypoint", "/bin/cat", "|", "/etc/hostname"}, `re:^[0-9a-f]{12}$`}}},
		{"ENTRYPOINT and CMD", []string{"-c", `ENTRYPOINT ["echo","pre"]`, "-c", `CMD ["dflt"]`}, []step{{nil, "pre dflt"}, {[]string{"x"}, "pre x"}}},
		{"several", []string{"-c", "ENV A=b", "-c", "WORKDIR /tmp", "-c", `CMD ["sh","-c","echo $A $(pwd)"]`}, []step{{nil, "b /tmp"}}},
	}
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		for i, c := range cases {
			c := c
			name := fmt.Sprintf("bbchange%d", i)
			t.Run(c.name, func(t *testing.T) {
				args := append(append([]string{"import"}, c.changes...), bbTar, name)
				m.mustSkiff(t, args...)
				defer m.skiff("rmi", "-f", name)
				for _, s := range c.runs {
					// "|" separates run flags (before the image) from the command
					var flags, cmd []string
					cmd = s.args
					for j, a := range s.args {
						if a == "|" {
							flags, cmd = s.args[:j], s.args[j+1:]
						}
					}
					a := append(append(append([]string{"run", "--rm"}, flags...), name), cmd...)
					r := m.skiff(a...)
					got := norm(r.stdout)
					ok := got == s.want
					if strings.HasPrefix(s.want, "re:") {
						ok = regexp.MustCompile(strings.TrimPrefix(s.want, "re:")).MatchString(got)
					}
					if r.code != 0 || !ok {
						t.Errorf("want %q: %v", s.want, r)
					}
				}
			})
		}
	})
}

func TestTagAndRmi(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		defer m.skiff("rmi", "-f", "bbtag:v1", "localhost/bbtagfq:v2", "bbtagnotag", "bbrmi")
		m.mustSkiff(t, "tag", "bbtest", "bbtag:v1")
		m.mustSkiff(t, "tag", "bbtest", "localhost/bbtagfq:v2")
		m.mustSkiff(t, "tag", "bbtest:latest", "bbtagnotag")
		names := m.imageNames(t)
		for _, n := range []string{"localhost/bbtest:latest", "localhost/bbtag:v1", "localhost/bbtagfq:v2", "localhost/bbtagnotag:latest"} {
			if !contains(names, n) {
				t.Errorf("images lacks %s: %q", n, names)
			}
		}
		for _, ref := range []string{"bbtag:v1", "bbtagfq:v2", "localhost/bbtagnotag"} {
			if r := m.skiff("run", "--rm", ref, "echo", "tagged"); norm(r.stdout) != "tagged" || r.code != 0 {
				t.Errorf("run by tag %s: %v", ref, r)
			}
		}
		// the tags share the image's id
		q := lines(m.mustSkiff(t, "images", "-q").stdout)
		for _, id := range q {
			if !hexID.MatchString(id) {
				t.Errorf("images -q line %q is not an image id", id)
			}
		}
		m.mustSkiff(t, "rmi", "bbtag:v1")
		names = m.imageNames(t)
		if contains(names, "localhost/bbtag:v1") {
			t.Errorf("rmi left the tag: %q", names)
		}
		if !contains(names, "localhost/bbtest:latest") || !contains(names, "localhost/bbtagfq:v2") {
			t.Errorf("rmi of a tag removed other names: %q", names)
		}
		if r := m.skiff("run", "--rm", "bbtest", "echo", "still"); norm(r.stdout) != "still" {
			t.Errorf("bbtest broken after rmi of a tag: %v", r)
		}
		if r := m.skiff("run", "--rm", "bbtag:v1", "true"); r.code != 125 {
			t.Errorf("run of a removed tag: want 125: %v", r)
		}
		// rmi of a whole image, and rmi -f
		m.mustSkiff(t, "import", bbTar, "bbrmi")
		m.mustSkiff(t, "rmi", "bbrmi")
		if contains(m.imageNames(t), "localhost/bbrmi:latest") {
			t.Errorf("rmi bbrmi left it")
		}
		if r := m.skiff("run", "--rm", "bbrmi", "true"); r.code != 125 {
			t.Errorf("run of a removed image: want 125: %v", r)
		}
		m.mustSkiff(t, "import", bbTar, "bbrmi")
		m.mustSkiff(t, "rmi", "-f", "bbrmi", "bbtagnotag")
		names = m.imageNames(t)
		if contains(names, "localhost/bbrmi:latest") || contains(names, "localhost/bbtagnotag:latest") {
			t.Errorf("rmi -f of two images left some: %q", names)
		}
	})
}

func TestImagesOutput(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		r := m.mustSkiff(t, "images")
		ls := lines(r.stdout)
		if len(ls) < 2 || !regexp.MustCompile(`^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$`).MatchString(strings.TrimSpace(ls[0])) {
			t.Fatalf("bad header: %v", r)
		}
		row := regexp.MustCompile(`^localhost/bbtest\s+latest\s+([0-9a-f]{12})\s+\S.*\s+\S+$`)
		id := ""
		for _, l := range ls[1:] {
			if mm := row.FindStringSubmatch(strings.TrimSpace(l)); mm != nil {
				id = mm[1]
			}
		}
		if id == "" {
			t.Fatalf("no row for localhost/bbtest latest: %v", r)
		}
		q := lines(m.mustSkiff(t, "images", "-q").stdout)
		found := false
		for _, l := range q {
			if strings.HasPrefix(l, id) {
				found = true
			}
		}
		if !found {
			t.Errorf("images -q %q lacks the id %s", q, id)
		}
		if !contains(m.imageNames(t), "localhost/bbtest:latest") {
			t.Errorf("--format lacks localhost/bbtest:latest")
		}
		j := m.mustSkiff(t, "images", "--format", "json")
		var arr []map[string]any
		if err := json.Unmarshal([]byte(j.stdout), &arr); err != nil || len(arr) == 0 {
			t.Errorf("--format json is not a non-empty JSON array of objects (%v): %v", err, j)
		} else if !strings.Contains(j.stdout, "localhost/bbtest") || !strings.Contains(j.stdout, id) {
			t.Errorf("--format json lacks localhost/bbtest or its id %s: %s", id, j.stdout)
		}
		// run by image id
		if r := m.skiff("run", "--rm", id, "echo", "byid"); norm(r.stdout) != "byid" {
			t.Errorf("run by image id %s: %v", id, r)
		}
		// the store is where it belongs and is the user's
		st, err := os.Stat(m.storeDir())
		if err != nil {
			t.Errorf("no store at %s: %v", m.storeDir(), err)
		} else if s, ok := st.Sys().(*syscall.Stat_t); ok && int(s.Uid) != m.uid {
			t.Errorf("store %s owned by uid %d, want %d", m.storeDir(), s.Uid, m.uid)
		}
	})
}

func TestInfoVersion(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		v1 := m.mustSkiff(t, "--version")
		f := strings.Fields(v1.stdout)
		if len(f) < 2 || !strings.Contains(strings.ToLower(v1.stdout), "skiff") {
			t.Fatalf("--version should print \"skiff version VERSION\": %v", v1)
		}
		if v2 := m.mustSkiff(t, "version"); !strings.Contains(v2.stdout, f[len(f)-1]) {
			t.Errorf("version does not show the version %s that --version shows: %v", f[len(f)-1], v2)
		}
		i := m.mustSkiff(t, "info")
		if !strings.Contains(i.stdout, m.storeDir()) {
			t.Errorf("info does not show the store %s: %v", m.storeDir(), i)
		}
	})
}

func TestNameReuse(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		for i := 0; i < 2; i++ {
			r := m.skiff("run", "--rm", "--name", "itreuse", "bbtest", "echo", "again")
			if r.code != 0 || norm(r.stdout) != "again" {
				t.Fatalf("run %d with --rm --name itreuse: %v", i+1, r)
			}
		}
	})
}

func TestBindMounts(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		dir, err := os.MkdirTemp(tmpRoot, "vol-"+m.name+"-")
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, 0o755)
		os.Chown(dir, m.uid, m.gid)
		if err := os.WriteFile(filepath.Join(dir, "ro.txt"), []byte("hostdata\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Run("write visible on host", func(t *testing.T) {
			r := m.skiff("run", "--rm", "-v", dir+":/data", "bbtest", "sh", "-c", "echo x > /data/f")
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			b, err := os.ReadFile(filepath.Join(dir, "f"))
			if err != nil || string(b) != "x\n" {
				t.Fatalf("host sees %q, %v", b, err)
			}
			st, _ := os.Stat(filepath.Join(dir, "f"))
			if s := st.Sys().(*syscall.Stat_t); int(s.Uid) != m.uid {
				t.Errorf("file made by the container's root is owned by uid %d on the host, want %d", s.Uid, m.uid)
			}
		})
		t.Run("rw option", func(t *testing.T) {
			r := m.skiff("run", "--rm", "-v", dir+":/data:rw", "bbtest", "sh", "-c", "echo y > /data/g && cat /data/ro.txt")
			if r.code != 0 || norm(r.stdout) != "hostdata" {
				t.Fatalf("%v", r)
			}
			if _, err := os.Stat(filepath.Join(dir, "g")); err != nil {
				t.Errorf("write through :rw not on the host: %v", err)
			}
		})
		t.Run("ro refuses writes", func(t *testing.T) {
			r := m.skiff("run", "--rm", "-v", dir+":/data:ro", "bbtest", "sh", "-c", "cat /data/ro.txt; echo y > /data/h")
			if r.code == 0 || norm(r.stdout) != "hostdata" {
				t.Errorf("want readable but failing write: %v", r)
			}
			if _, err := os.Stat(filepath.Join(dir, "h")); err == nil {
				t.Errorf("write through :ro reached the host")
			}
		})
		t.Run("file bind", func(t *testing.T) {
			r := m.skiff("run", "--rm", "-v", filepath.Join(dir, "ro.txt")+":/etc/motd:ro", "bbtest", "cat", "/etc/motd")
			if r.code != 0 || norm(r.stdout) != "hostdata" {
				t.Errorf("%v", r)
			}
		})
		t.Run("volume with read-only rootfs", func(t *testing.T) {
			r := m.skiff("run", "--rm", "--read-only", "-v", dir+":/data", "bbtest", "sh", "-c", "echo z > /data/i && echo ok")
			if r.code != 0 || norm(r.stdout) != "ok" {
				t.Errorf("%v", r)
			}
		})
	})
}

func TestNetworkHost(t *testing.T) {
	ents, _ := os.ReadDir("/sys/class/net")
	var host []string
	for _, e := range ents {
		host = append(host, e.Name())
	}
	sort.Strings(host)
	if len(host) < 2 {
		t.Logf("the host has only %v; --network host is hard to tell from none", host)
	}
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		r := m.skiff("run", "--rm", "--network", "host", "bbtest", "ls", "/sys/class/net")
		got := lines(r.stdout)
		sort.Strings(got)
		if r.code != 0 || strings.Join(got, " ") != strings.Join(host, " ") {
			t.Errorf("want the host's interfaces %v: %v", host, r)
		}
	})
}

func TestZombieReaping(t *testing.T) {
	// The subshell exits at once, so its background sleep is orphaned and reparented to PID 1 (the
	// shim), which must reap it when it ends; sh itself never waits for it.
	script := `(sleep 0.2 &); sleep 1; z=0; for f in /proc/[0-9]*/stat; do read -r l < $f || continue; case "$l" in *") Z "*) z=$((z+1));; esac; done; echo zombies=$z`
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		r := m.skiff("run", "--rm", "bbtest", "sh", "-c", script)
		if r.code != 0 || norm(r.stdout) != "zombies=0" {
			t.Errorf("%v", r)
		}
		// the command itself is not PID 1, and PID 1 is not the command
		r = m.skiff("run", "--rm", "bbtest", "sh", "-c", "echo $$; cat /proc/1/cmdline | tr '\\0' ' '")
		ls := lines(r.stdout)
		if r.code != 0 || len(ls) != 2 || ls[0] == "1" || strings.Contains(ls[1], "sh -c") {
			t.Errorf("want the command below the shim: %v", r)
		}
	})
}

func TestSignals(t *testing.T) {
	tests := []struct {
		name, script string
		sig          syscall.Signal
		settle       time.Duration
		code         int
		out          string
	}{
		{"SIGTERM reaches trap", `trap "echo got; exit 7" TERM; echo ready; while :; do sleep 0.1; done`, syscall.SIGTERM, 100 * time.Millisecond, 7, "got"},
		{"SIGTERM default 143", "echo ready; exec sleep 100", syscall.SIGTERM, 200 * time.Millisecond, 143, ""},
		{"SIGINT 130", "echo ready; exec sleep 100", syscall.SIGINT, 200 * time.Millisecond, 130, ""},
		{"SIGHUP 129", "echo ready; exec sleep 100", syscall.SIGHUP, 200 * time.Millisecond, 129, ""},
		{"SIGUSR1 reaches trap", `trap "echo usr1; exit 5" USR1; echo ready; while :; do sleep 0.1; done`, syscall.SIGUSR1, 100 * time.Millisecond, 5, "usr1"},
	}
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := m.start(t, "run", "--rm", "bbtest", "sh", "-c", tt.script)
				if !s.waitLine("ready", 20*time.Second) {
					t.Fatalf("never ready: %v", s.wait(t, 5*time.Second))
				}
				time.Sleep(tt.settle)
				syscall.Kill(s.cmd.Process.Pid, tt.sig)
				r := s.wait(t, 15*time.Second)
				if r.code != tt.code || !strings.Contains(r.stdout, tt.out) {
					t.Errorf("want %q and exit %d: %v", tt.out, tt.code, r)
				}
			})
		}
	})
}

// skiff catches the signals it forwards; the command must still start with none blocked and
// none ignored, whatever skiff's caller (nohup here) or skiff's own runtime did.
func TestCommandSignalMask(t *testing.T) {
	probe := []string{"run", "--rm", "bbtest", "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"}
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		for _, argv := range [][]string{append([]string{skiffBin}, probe...), append([]string{"nohup", skiffBin}, probe...)} {
			r := m.exec(opts{}, argv...)
			if r.code != 0 || norm(r.stdout) != "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000" {
				t.Errorf("want nothing blocked or ignored: %v", r)
			}
		}
	})
}

func TestKill9LeavesNothing(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		// a distinct duration per mode, so that the two modes cannot see each other's process
		dur := "1013" // durations no other test (or acceptance check) uses
		name := "killed-" + m.name
		m.skiff("rm", "-f", name)
		args := []string{"run", "--name", name, "bbtest", "sleep", dur}
		if m.root {
			dur = "1014"
			args = []string{"run", "--rm", "--name", name, "bbtest", "sleep", dur}
		}
		mountsBefore := countSkiffMounts()
		s := m.start(t, args...)
		if !waitFor(20*time.Second, func() bool { return len(procsMatching("sleep", dur)) > 0 }) {
			t.Fatalf("sleep %s never appeared: %v", dur, s.wait(t, 2*time.Second))
		}
		syscall.Kill(s.cmd.Process.Pid, syscall.SIGKILL)
		s.wait(t, 10*time.Second)
		if !waitFor(2*time.Second, func() bool { return len(procsMatching("sleep", dur)) == 0 }) {
			pids := procsMatching("sleep", dur)
			for _, p := range pids {
				syscall.Kill(p, syscall.SIGKILL)
			}
			t.Errorf("sleep %s still running 2 s after skiff was killed (pids %v)", dur, pids)
		}
		next := []string{"run", "--rm", "bbtest", "echo", "next"}
		if m.root {
			// the dead --rm container's name is free again for the next run
			next = []string{"run", "--rm", "--name", name, "bbtest", "echo", "next"}
		}
		r := m.skiff(next...)
		if r.code != 0 || norm(r.stdout) != "next" {
			t.Errorf("the next run failed: %v", r)
		}
		// the next command cleaned up: an --rm container is gone from the store, another one
		// is recorded as killed and can be removed
		ps := m.skiff("ps", "-a", "--format", "{{.Names}} {{.State}} {{.ExitCode}}")
		if m.root {
			if strings.Contains(ps.stdout, name) {
				t.Errorf("the killed --rm container is still in the store: %q", ps.stdout)
			}
		} else {
			if !strings.Contains(ps.stdout, name+" exited 137") {
				t.Errorf("ps -a after kill -9 = %q, want %q", ps.stdout, name+" exited 137")
			}
			if r := m.skiff("rm", name); r.code != 0 {
				t.Errorf("rm of the killed container: %v", r)
			}
		}
		if after := countSkiffMounts(); after > mountsBefore {
			b, _ := os.ReadFile("/proc/self/mountinfo")
			var ls []string
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, "skiff") {
					ls = append(ls, l)
				}
			}
			t.Errorf("skiff mounts in the host mount namespace went from %d to %d:\n%s", mountsBefore, after, strings.Join(ls, "\n"))
		}
	})
}

func TestParallelRuns(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		res := m.parallel(20, func(i int) []string {
			if i%2 == 0 {
				return []string{"run", "--rm", "bbtest", "true"}
			}
			return []string{"run", "--rm", "bbtest", "echo", fmt.Sprint("p", i)}
		})
		failed := 0
		for i, r := range res {
			want := ""
			if i%2 == 1 {
				want = fmt.Sprint("p", i)
			}
			if r.code != 0 || r.signal != 0 || r.timedOut || norm(r.stdout) != want {
				failed++
				if failed <= 3 {
					t.Errorf("parallel run %d: %v", i, r)
				}
			}
		}
		if failed > 0 {
			t.Errorf("%d of 20 parallel runs failed", failed)
		}
	})
}

// countEntries counts the files and directories under dir.
func countEntries(dir string) int {
	n := 0
	filepath.Walk(dir, func(string, os.FileInfo, error) error { n++; return nil })
	return n
}

func TestNoLeakWithRm(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to read the whole store")
	}
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		if r := m.mustSkiff(t, "run", "--rm", "bbtest", "echo", "warm"); norm(r.stdout) != "warm" {
			t.Fatalf("%v", r)
		}
		// counted after a ps, which (like every command) sweeps the few directories the last
		// rm left for the next command
		settled := func() int {
			m.mustSkiff(t, "ps", "-a")
			return countEntries(m.storeDir())
		}
		before := settled()
		if before < 2 {
			t.Fatalf("no store at %s", m.storeDir())
		}
		// what earlier tests left is theirs (named here, to find which): this test's own runs
		// must leave nothing
		earlier := m.mustSkiff(t, "ps", "-a", "-q").stdout
		if strings.TrimSpace(earlier) != "" {
			t.Logf("containers from earlier tests: %s", m.skiff("ps", "-a", "--format", "{{.ID}} {{.Names}} {{.Status}} {{.Command}}").stdout)
		}
		for i := 0; i < 3; i++ {
			m.mustSkiff(t, "run", "--rm", "bbtest", "sh", "-c", "echo x > /leak")
		}
		if after := settled(); after != before {
			t.Errorf("the store grew from %d to %d entries over 3 runs with --rm", before, after)
		}
		// many cycles, with and without --rm: nothing accumulates (records, layers, names,
		// mounts), and no container is left behind
		mounts := countSkiffMounts()
		for i := 0; i < 100; i++ {
			if r := m.skiff("run", "--rm", "bbtest", "true"); r.code != 0 {
				t.Fatalf("cycle %d: %v", i, r)
			}
			if i%10 == 0 {
				name := fmt.Sprint("cycle", i)
				m.mustSkiff(t, "run", "--name", name, "bbtest", "sh", "-c", "echo x > /kept")
				m.mustSkiff(t, "rm", name)
			}
		}
		if after := settled(); after != before {
			t.Errorf("the store went from %d to %d entries over 110 create/remove cycles", before, after)
		}
		if r := m.mustSkiff(t, "ps", "-a", "-q"); r.stdout != earlier {
			t.Errorf("containers left after the cycles: %q (before them: %q)", r.stdout, earlier)
		}
		if after := countSkiffMounts(); after > mounts {
			t.Errorf("skiff mounts on the host went from %d to %d", mounts, after)
		}
	})
}

// TestKill9DuringRunRm kills `skiff run --rm` at several points of its set-up: the next
// command finishes the removal, so the store holds what it held before and the name is free.
func TestKill9DuringRunRm(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to read the whole store")
	}
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		// counted when settled: a run --rm leaves its few directories to the next command's
		// sweep (see container.Discard), which ps does
		settled := func() int {
			m.mustSkiff(t, "ps", "-a")
			return countEntries(m.storeDir())
		}
		m.mustSkiff(t, "run", "--rm", "bbtest", "true")
		before := settled()
		var beforeNames []string
		if ents, err := os.ReadDir(filepath.Join(m.storeDir(), "skiff-containers")); err == nil {
			for _, e := range ents {
				beforeNames = append(beforeNames, e.Name())
			}
		}
		for _, delay := range []time.Duration{0, time.Millisecond, 3 * time.Millisecond, 6 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond} {
			s := m.start(t, "run", "--rm", "--name", "rmkilled", "bbtest", "sleep", "1002")
			time.Sleep(delay)
			syscall.Kill(s.cmd.Process.Pid, syscall.SIGKILL)
			s.wait(t, 10*time.Second)
			if !waitFor(2*time.Second, func() bool { return len(procsMatching("sleep", "1002")) == 0 }) {
				t.Errorf("after a kill at %v the container still runs", delay)
			}
			// ps sweeps; the name is free again at once
			m.mustSkiff(t, "ps", "-a")
			if r := m.skiff("run", "--rm", "--name", "rmkilled", "bbtest", "true"); r.code != 0 {
				t.Errorf("after a kill at %v the name stays taken: %v", delay, r)
			}
		}
		// the next commands finished every removal, half-made directories included
		if after := settled(); after != before {
			ents, _ := os.ReadDir(filepath.Join(m.storeDir(), "skiff-containers"))
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Errorf("the store went from %d to %d entries after killed runs; containers: %v; before: %v", before, after, names, beforeNames)
		}
	})
}

func TestTTY(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		scr := func(inner string) result {
			// script's stdin stays open: at EOF script would type an end-of-file character into the
			// terminal, which -i forwards into the container
			return m.exec(opts{holdStdin: true}, "script", "-qec", skiffBin+" "+inner, "/dev/null")
		}
		r := scr("run --rm -t bbtest tty")
		if r.code != 0 || !regexp.MustCompile(`^/dev/pts/\d+$`).MatchString(norm(r.stdout)) {
			t.Errorf("-t tty: %v", r)
		}
		r = scr(`run --rm -t bbtest sh -c 'test -t 0 && test -t 1 && echo yes'`)
		if r.code != 0 || norm(r.stdout) != "yes" {
			t.Errorf("-t test -t 0: %v", r)
		}
		r = scr(`run --rm -it bbtest sh -c 'test -t 0 && echo yes'`)
		if r.code != 0 || norm(r.stdout) != "yes" {
			t.Errorf("-it test -t 0: %v", r)
		}
		r = scr(`run --rm --tty bbtest sh -c 'exit 5'`)
		if r.code != 5 {
			t.Errorf("-t exit code: want 5: %v", r)
		}
	})
}

func TestNoSubuidRange(t *testing.T) {
	if nosubMode == nil {
		t.Skip("needs root to create a user without subordinate ids")
	}
	m := nosubMode
	m.need(t)
	r := m.skiff("run", "--rm", "bbtest", "true")
	if r.code != 0 {
		t.Fatalf("run true without a subuid range: %v", r)
	}
	warned := 0
	for _, s := range append(append([]string{}, m.setupStderr...), r.stderr) {
		n := len(lines(s))
		if n > 1 {
			t.Errorf("more than one warning line from one command: %q", s)
		}
		warned += n
	}
	if warned == 0 {
		t.Errorf("no warning about the single-id mapping on stderr (setup %q, run %q)", m.setupStderr, r.stderr)
	}
	r = m.skiff("run", "--rm", "bbtest", "echo", "hi")
	if r.code != 0 || norm(r.stdout) != "hi" {
		t.Errorf("echo hi: %v", r)
	}
	r = m.skiff("run", "--rm", "bbtest", "cat", "/proc/self/uid_map")
	if f := strings.Fields(r.stdout); r.code != 0 || len(f) != 3 || f[0] != "0" || f[1] != strconv.Itoa(m.uid) || f[2] != "1" {
		t.Errorf("want only root mapped to %d: %v", m.uid, r)
	}
	r = m.skiff("run", "--rm", "-u", "1000", "bbtest", "true")
	ls := append([]string{""}, lines(r.stderr)...)
	errLines := 0
	for _, l := range ls {
		if strings.HasPrefix(l, "Error: ") {
			errLines++
		}
	}
	if r.code != 125 || errLines != 1 || len(ls) > 3 || !strings.HasPrefix(ls[len(ls)-1], "Error: ") {
		t.Errorf("-u 1000 without a range: want 125 and one Error: line last: %v", r)
	}
}
