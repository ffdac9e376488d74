// Package bpf compiles seccomp profiles into the classic BPF programs the kernel loads, with
// libseccomp. Only skiff-image links it: the run path reads programs compiled once and cached
// (see seccomp.CachedBPF).
package bpf

import (
	"errors"
	"fmt"
	"io"
	"os"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Version returns the version of the libseccomp skiff is linked with.
func Version() string {
	major, minor, micro := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", major, minor, micro)
}

// archNames maps OCI architecture names to libseccomp's.
var archNames = map[rspec.Arch]string{
	rspec.ArchX86:         "x86",
	rspec.ArchX86_64:      "amd64",
	rspec.ArchX32:         "x32",
	rspec.ArchARM:         "arm",
	rspec.ArchAARCH64:     "arm64",
	rspec.ArchLOONGARCH64: "loongarch64",
	rspec.ArchMIPS:        "mips",
	rspec.ArchMIPS64:      "mips64",
	rspec.ArchMIPS64N32:   "mips64n32",
	rspec.ArchMIPSEL:      "mipsel",
	rspec.ArchMIPSEL64:    "mipsel64",
	rspec.ArchMIPSEL64N32: "mipsel64n32",
	rspec.ArchPPC:         "ppc",
	rspec.ArchPPC64:       "ppc64",
	rspec.ArchPPC64LE:     "ppc64le",
	rspec.ArchS390:        "s390",
	rspec.ArchS390X:       "s390x",
	rspec.ArchPARISC:      "parisc",
	rspec.ArchPARISC64:    "parisc64",
	rspec.ArchRISCV64:     "riscv64",
}

// operators maps OCI comparison operators to libseccomp's.
var operators = map[rspec.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	rspec.OpEqualTo:      libseccomp.CompareEqual,
	rspec.OpNotEqual:     libseccomp.CompareNotEqual,
	rspec.OpLessThan:     libseccomp.CompareLess,
	rspec.OpLessEqual:    libseccomp.CompareLessOrEqual,
	rspec.OpGreaterThan:  libseccomp.CompareGreater,
	rspec.OpGreaterEqual: libseccomp.CompareGreaterEqual,
	rspec.OpMaskedEqual:  libseccomp.CompareMaskedEqual,
}

// action maps an OCI action to libseccomp's. ERRNO and TRACE return errno (EPERM if nil).
func action(a rspec.LinuxSeccompAction, errno *uint) (libseccomp.ScmpAction, error) {
	code := int16(unix.EPERM)
	if errno != nil {
		if *errno > 0xffff {
			return libseccomp.ActInvalid, fmt.Errorf("errno %d out of range", *errno)
		}
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
	case "":
		return libseccomp.ActInvalid, errors.New("no action")
	}
	return libseccomp.ActInvalid, fmt.Errorf("unsupported action %q", a)
}

// conditions turns a rule's argument checks into the condition sets to add, one libseccomp
// rule each. Checks on different arguments are ANDed; several checks on the same argument
// are alternatives (OR), as in docker and runc. So the sets are the cross product of the
// per-argument alternatives: a0==1, a0==2, a1==3 gives {a0==1, a1==3} and {a0==2, a1==3}.
// A rule without checks yields one empty set.
func conditions(args []rspec.LinuxSeccompArg) ([][]libseccomp.ScmpCondition, error) {
	var order []uint // argument indexes in first-seen order, for a stable output
	byIndex := map[uint][]libseccomp.ScmpCondition{}
	for _, a := range args {
		op, ok := operators[a.Op]
		if !ok {
			return nil, fmt.Errorf("unsupported operator %q", a.Op)
		}
		values := []uint64{a.Value}
		if a.Op == rspec.OpMaskedEqual {
			values = append(values, a.ValueTwo) // mask, then the value to compare with
		}
		c, err := libseccomp.MakeCondition(a.Index, op, values...)
		if err != nil {
			return nil, fmt.Errorf("argument %d %s: %w", a.Index, a.Op, err)
		}
		if _, seen := byIndex[a.Index]; !seen {
			order = append(order, a.Index)
		}
		byIndex[a.Index] = append(byIndex[a.Index], c)
	}
	sets := [][]libseccomp.ScmpCondition{nil}
	for _, idx := range order {
		var next [][]libseccomp.ScmpCondition
		for _, set := range sets {
			for _, c := range byIndex[idx] {
				next = append(next, append(set[:len(set):len(set)], c))
			}
		}
		sets = next
	}
	return sets, nil
}

// Compile turns p into a classic BPF program: the raw array of struct sock_filter (8 bytes
// each, native byte order) that libseccomp exports, ready for seccomp(2) in a sock_fprog.
// Syscalls this libseccomp does not know are skipped. The program does not set
// no_new_privs; the loader does that itself when it should.
func Compile(p *rspec.LinuxSeccomp) ([]byte, error) {
	if p == nil {
		return nil, errors.New("seccomp: no profile to compile")
	}
	if err := check(p); err != nil {
		return nil, fmt.Errorf("seccomp: %w", err)
	}
	def, _ := action(p.DefaultAction, p.DefaultErrnoRet)
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, fmt.Errorf("seccomp: new filter: %w", err)
	}
	defer f.Release()
	if err := f.SetNoNewPrivsBit(false); err != nil {
		return nil, fmt.Errorf("seccomp: clear no_new_privs attribute: %w", err)
	}
	// Binary-tree dispatch on the syscall number makes every syscall of the container
	// cheaper; libseccomp before 2.5 lacks it, and the linear program is equally correct.
	_ = f.SetOptimize(2)

	for _, a := range p.Architectures {
		// An architecture this libseccomp cannot handle is skipped: programs of that
		// architecture cannot run on this host anyway.
		if arch, err := libseccomp.GetArchFromString(archNames[a]); err == nil {
			_ = f.AddArch(arch)
		}
	}

	for _, r := range p.Syscalls {
		act, _ := action(r.Action, r.ErrnoRet)
		if act == def {
			continue // libseccomp refuses rules that repeat the default action
		}
		sets, _ := conditions(r.Args)
		for _, name := range r.Names {
			call, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				continue // unknown to this libseccomp
			}
			for _, conds := range sets {
				if len(conds) == 0 {
					err = f.AddRule(call, act)
				} else {
					err = f.AddRuleConditional(call, act, conds)
				}
				if err != nil {
					return nil, fmt.Errorf("seccomp: rule %s %s: %w", name, r.Action, err)
				}
			}
		}
	}
	return export(f)
}

// export writes f's BPF program into a memfd (ExportBPF wants an *os.File) and reads it back.
func export(f *libseccomp.ScmpFilter) ([]byte, error) {
	fd, err := unix.MemfdCreate("skiff-seccomp", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("seccomp: memfd_create: %w", err)
	}
	file := os.NewFile(uintptr(fd), "skiff-seccomp")
	defer file.Close()
	if err := f.ExportBPF(file); err != nil {
		return nil, fmt.Errorf("seccomp: export BPF: %w", err)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seccomp: read BPF: %w", err)
	}
	prog, err := io.ReadAll(file)
	if err != nil {
		return nil, fmt.Errorf("seccomp: read BPF: %w", err)
	}
	if len(prog) == 0 || len(prog)%8 != 0 || len(prog)/8 > 0xffff {
		return nil, fmt.Errorf("seccomp: libseccomp produced a malformed program (%d bytes)", len(prog))
	}
	return prog, nil
}

// check makes sure every action, architecture and condition of p maps to libseccomp's.
func check(p *rspec.LinuxSeccomp) error {
	if _, err := action(p.DefaultAction, p.DefaultErrnoRet); err != nil {
		return fmt.Errorf("defaultAction: %w", err)
	}
	for _, a := range p.Architectures {
		if _, ok := archNames[a]; !ok {
			return fmt.Errorf("unsupported architecture %q", a)
		}
	}
	for i, r := range p.Syscalls {
		if len(r.Names) == 0 {
			return fmt.Errorf("syscalls[%d]: no syscall names", i)
		}
		if _, err := action(r.Action, r.ErrnoRet); err != nil {
			return fmt.Errorf("syscalls[%d] (%s): %w", i, r.Names[0], err)
		}
		if _, err := conditions(r.Args); err != nil {
			return fmt.Errorf("syscalls[%d] (%s): %w", i, r.Names[0], err)
		}
	}
	return nil
}
