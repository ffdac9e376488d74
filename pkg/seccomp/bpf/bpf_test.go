package bpf

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"

	"github.com/skiff-project/skiff/pkg/seccomp"
)

// dockerCaps is docker's default capability set (kept here so the test needs no other package).
var dockerCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}

func withCaps(extra ...string) []string { return append(slices.Clone(dockerCaps), extra...) }

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
		p, err := seccomp.Default(caps)
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

// TestCachedCompile: a program compiled through the cache is the compiler's.
func TestCachedCompile(t *testing.T) {
	p, err := seccomp.Default(dockerCaps)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		got, err := seccomp.CachedBPF(dir, p, Compile)
		if err != nil || !bytes.Equal(got, prog) {
			t.Fatalf("call %d: cached program differs from the compiled one (%v)", i, err)
		}
	}
}
