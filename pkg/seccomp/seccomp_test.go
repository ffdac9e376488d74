package seccomp

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
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

func TestAction(t *testing.T) {
	eperm, enosys := uint(1), uint(38)
	for _, tt := range []struct {
		in      rspec.LinuxSeccompAction
		errno   *uint
		want    libseccomp.ScmpAction
		wantErr bool
	}{
		{in: rspec.ActAllow, want: libseccomp.ActAllow},
		{in: rspec.ActErrno, want: libseccomp.ActErrno.SetReturnCode(1)},
		{in: rspec.ActErrno, errno: &eperm, want: libseccomp.ActErrno.SetReturnCode(1)},
		{in: rspec.ActErrno, errno: &enosys, want: libseccomp.ActErrno.SetReturnCode(38)},
		{in: rspec.ActKill, want: libseccomp.ActKillThread},
		{in: rspec.ActKillThread, want: libseccomp.ActKillThread},
		{in: rspec.ActKillProcess, want: libseccomp.ActKillProcess},
		{in: rspec.ActTrap, want: libseccomp.ActTrap},
		{in: rspec.ActTrace, errno: &enosys, want: libseccomp.ActTrace.SetReturnCode(38)},
		{in: rspec.ActLog, want: libseccomp.ActLog},
		{in: rspec.ActNotify, wantErr: true},
		{in: "SCMP_ACT_BOGUS", wantErr: true},
		{in: "", wantErr: true},
	} {
		got, err := action(tt.in, tt.errno)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("action(%s) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestConditions(t *testing.T) {
	arg := func(i uint, v uint64) rspec.LinuxSeccompArg {
		return rspec.LinuxSeccompArg{Index: i, Value: v, Op: rspec.OpEqualTo}
	}
	// shape renders condition sets as "a0=1,a1=3|a0=2,a1=3".
	shape := func(sets [][]libseccomp.ScmpCondition) string {
		var parts []string
		for _, set := range sets {
			var cs []string
			for _, c := range set {
				cs = append(cs, "a"+string(rune('0'+c.Argument))+"="+string(rune('0'+c.Operand1)))
			}
			parts = append(parts, strings.Join(cs, ","))
		}
		return strings.Join(parts, "|")
	}
	for _, tt := range []struct {
		name string
		args []rspec.LinuxSeccompArg
		want string
	}{
		{"none", nil, ""},
		{"one", []rspec.LinuxSeccompArg{arg(0, 1)}, "a0=1"},
		{"different indexes AND", []rspec.LinuxSeccompArg{arg(0, 1), arg(1, 3)}, "a0=1,a1=3"},
		{"same index OR", []rspec.LinuxSeccompArg{arg(0, 1), arg(0, 2)}, "a0=1|a0=2"},
		{"mixed", []rspec.LinuxSeccompArg{arg(0, 1), arg(1, 3), arg(0, 2)}, "a0=1,a1=3|a0=2,a1=3"},
		{"two by two", []rspec.LinuxSeccompArg{arg(0, 1), arg(0, 2), arg(1, 3), arg(1, 4)}, "a0=1,a1=3|a0=1,a1=4|a0=2,a1=3|a0=2,a1=4"},
	} {
		sets, err := conditions(tt.args)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := shape(sets); got != tt.want || len(sets) == 0 {
			t.Errorf("%s: got %q (%d sets), want %q", tt.name, got, len(sets), tt.want)
		}
	}
	masked, err := conditions([]rspec.LinuxSeccompArg{{Index: 2, Op: rspec.OpMaskedEqual, Value: 0xff, ValueTwo: 0x10}})
	if err != nil || len(masked) != 1 || masked[0][0].Operand1 != 0xff || masked[0][0].Operand2 != 0x10 || masked[0][0].Op != libseccomp.CompareMaskedEqual {
		t.Errorf("MASKED_EQ: %+v, %v", masked, err)
	}
	if _, err := conditions([]rspec.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_BOGUS"}}); err == nil {
		t.Error("unknown operator accepted")
	}
	if _, err := conditions([]rspec.LinuxSeccompArg{{Index: 6, Op: rspec.OpEqualTo}}); err == nil {
		t.Error("argument index 6 accepted")
	}
}

func TestCompile(t *testing.T) {
	for _, caps := range [][]string{dockerCaps, withCaps("CAP_SYS_ADMIN"), nil} {
		p, err := Default(caps)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := Compile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(prog) == 0 || len(prog)%8 != 0 {
			t.Errorf("program of %d bytes", len(prog))
		}
		again, err := Compile(p)
		if err != nil || !bytes.Equal(prog, again) {
			t.Errorf("Compile is not deterministic (%v)", err)
		}
	}

	errno := uint(13)
	small := &rspec.LinuxSeccomp{
		DefaultAction: rspec.ActAllow,
		Architectures: []rspec.Arch{rspec.ArchX86_64, rspec.ArchX86, rspec.ArchAARCH64, rspec.ArchLOONGARCH64},
		Syscalls: []rspec.LinuxSyscall{
			{Names: []string{"no_such_syscall", "getpriority"}, Action: rspec.ActErrno, ErrnoRet: &errno,
				Args: []rspec.LinuxSeccompArg{{Index: 0, Op: rspec.OpEqualTo, Value: 1}, {Index: 0, Op: rspec.OpLessThan, Value: 1}, {Index: 1, Op: rspec.OpNotEqual}}},
			{Names: []string{"read"}, Action: rspec.ActAllow}, // same as default: skipped
			{Names: []string{"ptrace"}, Action: rspec.ActKillProcess},
			{Names: []string{"kexec_load"}, Action: rspec.ActLog},
			{Names: []string{"personality"}, Action: rspec.ActTrap, Args: []rspec.LinuxSeccompArg{{Index: 0, Op: rspec.OpMaskedEqual, Value: 0xff, ValueTwo: 8}}},
			{Names: []string{"setns"}, Action: rspec.ActKill, Args: []rspec.LinuxSeccompArg{{Index: 1, Op: rspec.OpGreaterEqual, Value: 2}, {Index: 2, Op: rspec.OpLessEqual, Value: 2}, {Index: 3, Op: rspec.OpGreaterThan, Value: 2}}},
		},
	}
	if prog, err := Compile(small); err != nil || len(prog) == 0 || len(prog)%8 != 0 {
		t.Errorf("Compile(small) = %d bytes, %v", len(prog), err)
	}

	for name, p := range map[string]*rspec.LinuxSeccomp{
		"nil":            nil,
		"no action":      {},
		"bad default":    {DefaultAction: "SCMP_ACT_BOGUS"},
		"bad rule":       {DefaultAction: rspec.ActErrno, Syscalls: []rspec.LinuxSyscall{{Names: []string{"read"}, Action: rspec.ActNotify}}},
		"no names":       {DefaultAction: rspec.ActErrno, Syscalls: []rspec.LinuxSyscall{{Action: rspec.ActAllow}}},
		"bad arch":       {DefaultAction: rspec.ActErrno, Architectures: []rspec.Arch{"SCMP_ARCH_VAX"}},
		"bad operator":   {DefaultAction: rspec.ActErrno, Syscalls: []rspec.LinuxSyscall{{Names: []string{"read"}, Action: rspec.ActAllow, Args: []rspec.LinuxSeccompArg{{Op: "x"}}}}},
		"errno too high": {DefaultAction: rspec.ActErrno, DefaultErrnoRet: new(uint(70000))},
	} {
		if _, err := Compile(p); err == nil {
			t.Errorf("Compile(%s) succeeded", name)
		}
	}
}

func TestCachedBPF(t *testing.T) {
	p, err := Default(dockerCaps)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "cache", "seccomp")
	a, err := CachedBPF(dir, p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := CachedBPF(dir, p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) || !bytes.Equal(a, prog) {
		t.Fatal("cached program differs from the compiled one")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || !strings.HasSuffix(entries[0].Name(), ".bpf") || strings.HasPrefix(entries[0].Name(), ".") {
		t.Fatalf("cache holds %v, want one <key>.bpf file", entries)
	}
	key, _ := CacheKey(p)
	file := filepath.Join(dir, key+".bpf")
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("cache file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache dir: %v, %v; want mode 0700", fi.Mode(), err)
	}

	// A second call must read the file rather than compile: plant a marker program.
	marker := []byte("skiff!!!")
	if err := os.WriteFile(file, marker, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := CachedBPF(dir, p); !bytes.Equal(got, marker) {
		t.Error("CachedBPF did not use the cache file")
	}

	// Another profile gets another key.
	p2, _ := Default(withCaps("CAP_SYS_ADMIN"))
	if k2, _ := CacheKey(p2); k2 == key {
		t.Error("different profiles share a cache key")
	}

	// An unusable cache directory costs speed, not correctness.
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o600)
	if got, err := CachedBPF(filepath.Join(blocker, "sub"), p); err != nil || !bytes.Equal(got, prog) {
		t.Errorf("CachedBPF with an unusable dir: %v", err)
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
	if _, err := Compile(p); err != nil {
		t.Errorf("compile loaded profile: %v", err)
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
