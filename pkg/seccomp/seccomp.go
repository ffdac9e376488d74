// Package seccomp gives containers docker's default seccomp profile (from
// github.com/moby/profiles/seccomp) or a profile file, compiled with libseccomp into the classic
// BPF program that skiff-init loads. Compiling costs milliseconds, so programs are cached.
package seccomp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	moby "github.com/moby/profiles/seccomp"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

func specWithCaps(caps []string) *rspec.Spec {
	return &rspec.Spec{Process: &rspec.Process{Capabilities: &rspec.LinuxCapabilities{
		Bounding: caps, Effective: caps, Permitted: caps,
	}}}
}

// Default is docker's default profile for a container with these capabilities (some syscalls,
// e.g. mount with CAP_SYS_ADMIN, are allowed only with a capability).
func Default(caps []string) (*rspec.LinuxSeccomp, error) {
	return moby.GetDefaultProfile(specWithCaps(caps))
}

// LoadFile reads a docker-format JSON profile.
func LoadFile(path string, caps []string) (*rspec.LinuxSeccomp, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile %s: %w", path, err)
	}
	p, err := moby.LoadProfile(string(b), specWithCaps(caps))
	if err != nil {
		return nil, fmt.Errorf("seccomp profile %s is not a valid docker seccomp profile: %w", path, err)
	}
	return p, nil
}

// Version is libseccomp's version.
func Version() string {
	a, b, c := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", a, b, c)
}

var archNames = map[rspec.Arch]string{
	rspec.ArchX86: "x86", rspec.ArchX86_64: "amd64", rspec.ArchX32: "x32", rspec.ArchARM: "arm",
	rspec.ArchAARCH64: "arm64", rspec.ArchMIPS: "mips", rspec.ArchMIPS64: "mips64", rspec.ArchMIPS64N32: "mips64n32",
	rspec.ArchMIPSEL: "mipsel", rspec.ArchMIPSEL64: "mipsel64", rspec.ArchMIPSEL64N32: "mipsel64n32",
	rspec.ArchPPC: "ppc", rspec.ArchPPC64: "ppc64", rspec.ArchPPC64LE: "ppc64le", rspec.ArchS390: "s390",
	rspec.ArchS390X: "s390x", rspec.ArchRISCV64: "riscv64",
}

var ops = map[rspec.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	rspec.OpNotEqual: libseccomp.CompareNotEqual, rspec.OpLessThan: libseccomp.CompareLess,
	rspec.OpLessEqual: libseccomp.CompareLessOrEqual, rspec.OpEqualTo: libseccomp.CompareEqual,
	rspec.OpGreaterEqual: libseccomp.CompareGreaterEqual, rspec.OpGreaterThan: libseccomp.CompareGreater,
	rspec.OpMaskedEqual: libseccomp.CompareMaskedEqual,
}

func action(a rspec.LinuxSeccompAction, errno *uint, defErrno int16) (libseccomp.ScmpAction, error) {
	code := defErrno
	if errno != nil {
		code = int16(*errno)
	}
	switch a {
	case rspec.ActAllow:
		return libseccomp.ActAllow, nil
	case rspec.ActErrno:
		return libseccomp.ActErrno.SetReturnCode(code), nil
	case rspec.ActKill, rspec.ActKillThread:
		return libseccomp.ActKillThread, nil
	case rspec.ActKillProcess:
		return libseccomp.ActKillProcess, nil
	case rspec.ActTrap:
		return libseccomp.ActTrap, nil
	case rspec.ActTrace:
		return libseccomp.ActTrace.SetReturnCode(code), nil
	case rspec.ActLog:
		return libseccomp.ActLog, nil
	}
	return libseccomp.ActInvalid, fmt.Errorf("unsupported seccomp action %s", a)
}

// Compile turns p into a BPF program (an array of struct sock_filter).
func Compile(p *rspec.LinuxSeccomp) ([]byte, error) {
	defErrno := int16(unix.EPERM)
	if p.DefaultErrnoRet != nil {
		defErrno = int16(*p.DefaultErrnoRet)
	}
	def, err := action(p.DefaultAction, p.DefaultErrnoRet, defErrno)
	if err != nil {
		return nil, err
	}
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, fmt.Errorf("libseccomp: %w", err)
	}
	defer f.Release()
	if err := f.SetNoNewPrivsBit(false); err != nil {
		return nil, err
	}
	for _, a := range p.Architectures {
		name, ok := archNames[a]
		if !ok {
			continue
		}
		arch, err := libseccomp.GetArchFromString(name)
		if err != nil {
			continue
		}
		if err := f.AddArch(arch); err != nil && !errors.Is(err, unix.EEXIST) {
			continue
		}
	}
	for _, rule := range p.Syscalls {
		act, err := action(rule.Action, rule.ErrnoRet, defErrno)
		if err != nil {
			return nil, err
		}
		if act == def {
			continue // libseccomp refuses rules equal to the default
		}
		condSets, err := conditions(rule.Args)
		if err != nil {
			return nil, err
		}
		for _, name := range rule.Names {
			call, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				continue // unknown to this libseccomp: nothing to filter
			}
			for _, conds := range condSets {
				if len(conds) == 0 {
					err = f.AddRule(call, act)
				} else {
					err = f.AddRuleConditional(call, act, conds)
				}
				if err != nil {
					return nil, fmt.Errorf("seccomp rule for %s: %w", name, err)
				}
			}
		}
	}
	fd, err := unix.MemfdCreate("seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	mf := os.NewFile(uintptr(fd), "seccomp-bpf")
	defer mf.Close()
	if err := f.ExportBPF(mf); err != nil {
		return nil, fmt.Errorf("export seccomp program: %w", err)
	}
	prog, err := os.ReadFile(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil {
		return nil, err
	}
	if len(prog) == 0 || len(prog)%8 != 0 {
		return nil, fmt.Errorf("libseccomp produced a malformed program (%d bytes)", len(prog))
	}
	return prog, nil
}

// conditions turns a rule's argument checks into the rules to add: checks on different
// arguments are ANDed in one rule; several checks on the same argument mean OR (one rule each).
func conditions(args []rspec.LinuxSeccompArg) ([][]libseccomp.ScmpCondition, error) {
	if len(args) == 0 {
		return [][]libseccomp.ScmpCondition{nil}, nil
	}
	var all []libseccomp.ScmpCondition
	perIndex := map[uint]int{}
	for _, a := range args {
		op, ok := ops[a.Op]
		if !ok {
			return nil, fmt.Errorf("unsupported seccomp operator %s", a.Op)
		}
		c, err := libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
		if err != nil {
			return nil, err
		}
		all = append(all, c)
		perIndex[a.Index]++
	}
	if len(perIndex) == 1 && len(all) > 1 {
		out := make([][]libseccomp.ScmpCondition, len(all))
		for i, c := range all {
			out[i] = []libseccomp.ScmpCondition{c}
		}
		return out, nil
	}
	return [][]libseccomp.ScmpCondition{all}, nil
}

// CachedBPF compiles p once per profile and libseccomp version, keeping programs in dir.
func CachedBPF(dir string, p *rspec.LinuxSeccomp) ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write(b)
	h.Write([]byte(Version() + runtime.GOARCH))
	key := hex.EncodeToString(h.Sum(nil))
	file := filepath.Join(dir, key+".bpf")
	if prog, err := os.ReadFile(file); err == nil && len(prog) > 0 && len(prog)%8 == 0 {
		return prog, nil
	}
	prog, err := Compile(p)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err == nil {
		if tmp, err := os.CreateTemp(dir, ".bpf-*"); err == nil {
			_, werr := tmp.Write(prog)
			cerr := tmp.Close()
			if werr == nil && cerr == nil {
				_ = os.Rename(tmp.Name(), file)
			} else {
				os.Remove(tmp.Name())
			}
		}
	}
	return prog, nil
}
