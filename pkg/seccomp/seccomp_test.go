package seccomp

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// dockerCaps is docker's default capability set (kept here so the test needs no other package).
var dockerCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}

func withCaps(extra ...string) []string { return append(slices.Clone(dockerCaps), extra...) }

// allowState says whether p allows name unconditionally, only with argument checks, or not.
func allowState(p *rspec.LinuxSeccomp, name string) string {
	state := "no"
	for _, s := range p.Syscalls {
		if s.Action != rspec.ActAllow || !slices.Contains(s.Names, name) {
			continue
		}
		if len(s.Args) == 0 {
			return "yes"
		}
		state = "conditional"
	}
	return state
}

func TestDefault(t *testing.T) {
	tests := []struct {
		caps    []string
		syscall string
		want    string
	}{
		{dockerCaps, "read", "yes"},
		{dockerCaps, "getpid", "yes"},
		{dockerCaps, "mount", "no"},
		{dockerCaps, "umount2", "no"},
		{dockerCaps, "keyctl", "no"},
		{dockerCaps, "add_key", "no"},
		{dockerCaps, "unshare", "no"},
		{dockerCaps, "setns", "no"},
		{withCaps("CAP_SYS_ADMIN"), "mount", "yes"},
		{withCaps("CAP_SYS_ADMIN"), "unshare", "yes"},
		{withCaps("CAP_SYS_ADMIN"), "keyctl", "no"},
		{withCaps("CAP_SYS_PTRACE"), "ptrace", "yes"},
	}
	for _, tt := range tests {
		p, err := Default(tt.caps)
		if err != nil {
			t.Fatal(err)
		}
		if p.DefaultAction != rspec.ActErrno {
			t.Errorf("default action %s, want SCMP_ACT_ERRNO", p.DefaultAction)
		}
		if got := allowState(p, tt.syscall); got != tt.want {
			t.Errorf("%s allowed: %s, want %s (SYS_ADMIN: %v)", tt.syscall, got, tt.want, slices.Contains(tt.caps, "CAP_SYS_ADMIN"))
		}
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	good := write("good.json", `{
		"defaultAction": "SCMP_ACT_ERRNO",
		"defaultErrnoRet": 1,
		"archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
		            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
		"syscalls": [
			{"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
			{"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}}
		]}`)
	p, err := LoadFile(good, dockerCaps)
	if err != nil {
		t.Fatal(err)
	}
	if allowState(p, "read") != "yes" || allowState(p, "mount") != "no" || len(p.Architectures) == 0 {
		t.Errorf("good profile loaded as %+v", p)
	}
	if p, err = LoadFile(good, withCaps("CAP_SYS_ADMIN")); err != nil || allowState(p, "mount") != "yes" {
		t.Errorf("with CAP_SYS_ADMIN: mount %s, %v", allowState(p, "mount"), err)
	}

	for _, tt := range []struct{ path, want string }{
		{write("bad.json", "{not json"), "not valid JSON: invalid character"},
		{write("type.json", `{"defaultAction": 3}`), "not valid JSON"},
		{write("empty.json", ""), "unexpected end"},
		{write("nothing.json", "{}"), "no defaultAction"},
		{write("action.json", `{"defaultAction": "SCMP_ACT_NOPE"}`), "unsupported action"},
		{write("rule.json", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}`), "syscalls[0] (read)"},
		{write("both.json", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "read", "names": ["read"], "action": "SCMP_ACT_ALLOW"}]}`), "both 'name' and 'names'"},
		{filepath.Join(dir, "missing.json"), "no such file"},
	} {
		_, err := LoadFile(tt.path, dockerCaps)
		if err == nil {
			t.Errorf("LoadFile(%s) succeeded", tt.path)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.path) || !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") || strings.Count(msg, tt.path) != 1 {
			t.Errorf("LoadFile(%s): error %q, want one line naming the file once and containing %q", filepath.Base(tt.path), msg, tt.want)
		}
	}
}
