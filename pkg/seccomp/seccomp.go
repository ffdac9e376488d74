// Package seccomp produces the seccomp filter of a container: docker's default profile (from
// github.com/moby/profiles/seccomp) or a docker-format profile file, compiled with libseccomp
// into the classic BPF program the C shim loads with seccomp(2).
//
// Compiling docker's profile takes milliseconds, so CachedBPF keeps compiled programs on disk.
package seccomp

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	moby "github.com/moby/profiles/seccomp"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// specWithCaps is the minimal runtime spec moby's profile code looks at: the capabilities
// decide which capability-conditional rules of a profile apply.
func specWithCaps(caps []string) *rspec.Spec {
	return &rspec.Spec{Process: &rspec.Process{Capabilities: &rspec.LinuxCapabilities{
		Bounding:  caps,
		Effective: caps,
		Permitted: caps,
	}}}
}

// Default returns docker's default profile for a container with these capabilities
// (canonical CAP_* names); e.g. mount and unshare are allowed only with CAP_SYS_ADMIN. The
// profile must not be changed: CachedBPF knows it by what it was made from (the capabilities
// and the version of moby's profile), which spares encoding it on every run.
func Default(caps []string) (*rspec.LinuxSeccomp, error) {
	p, err := moby.GetDefaultProfile(specWithCaps(caps))
	if err != nil {
		return nil, fmt.Errorf("docker default seccomp profile: %w", err)
	}
	if d := defaultOrigin(caps); d != "" {
		defaults.Store(p, d)
	}
	return p, nil
}

// defaultOrigin says what Default(caps) is made from, "" when the binary does not know its
// version of moby's profile.
func defaultOrigin(caps []string) string {
	v := profilesVersion()
	if v == "" {
		return ""
	}
	sorted := slices.Clone(caps)
	slices.Sort(sorted)
	return "moby-default " + v + " " + strings.Join(sorted, ",")
}

// defaults maps the profiles Default made to what they were made from.
var defaults sync.Map

// profilesVersion is the version of github.com/moby/profiles/seccomp built in, "" when the
// binary does not say (then profiles are known by their content).
var profilesVersion = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/moby/profiles/seccomp" {
			if d.Replace != nil {
				return ""
			}
			return d.Version
		}
	}
	return ""
})

// LoadFile reads a docker-format JSON seccomp profile for a container with these
// capabilities. Errors are one line naming the file.
func LoadFile(path string, caps []string) (*rspec.LinuxSeccomp, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("seccomp profile %s: %w", path, err)
	}
	p, err := moby.LoadProfile(string(b), specWithCaps(caps))
	if err != nil {
		msg := oneLine(strings.TrimPrefix(err.Error(), "Decoding seccomp profile failed: "))
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if errors.As(err, &syntax) || errors.As(err, &typ) || strings.Contains(msg, "unexpected end of JSON") {
			msg = "not valid JSON: " + msg
		}
		return nil, fmt.Errorf("seccomp profile %s: %s", path, msg)
	}
	if p == nil {
		return nil, fmt.Errorf("seccomp profile %s: no defaultAction and no syscalls (use --security-opt seccomp=unconfined to run without a filter)", path)
	}
	if err := validate(p); err != nil {
		return nil, fmt.Errorf("seccomp profile %s: %w", path, err)
	}
	return p, nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// validate checks that every part of p is something bpf.Compile knows how to turn into a
// filter, without libseccomp (the run path does not link it).
func validate(p *rspec.LinuxSeccomp) error {
	if err := checkAction(p.DefaultAction, p.DefaultErrnoRet); err != nil {
		return fmt.Errorf("defaultAction: %w", err)
	}
	for _, a := range p.Architectures {
		if !slices.Contains(Architectures, a) {
			return fmt.Errorf("unsupported architecture %q", a)
		}
	}
	for i, r := range p.Syscalls {
		if len(r.Names) == 0 {
			return fmt.Errorf("syscalls[%d]: no syscall names", i)
		}
		if err := checkAction(r.Action, r.ErrnoRet); err != nil {
			return fmt.Errorf("syscalls[%d] (%s): %w", i, r.Names[0], err)
		}
		for _, a := range r.Args {
			if !slices.Contains(operators, a.Op) {
				return fmt.Errorf("syscalls[%d] (%s): unsupported operator %q", i, r.Names[0], a.Op)
			}
			if a.Index > 5 {
				return fmt.Errorf("syscalls[%d] (%s): argument %d %s: a syscall has arguments 0 to 5", i, r.Names[0], a.Index, a.Op)
			}
		}
	}
	return nil
}

// Architectures are the OCI architecture names a profile may list.
var Architectures = []rspec.Arch{rspec.ArchX86, rspec.ArchX86_64, rspec.ArchX32, rspec.ArchARM, rspec.ArchAARCH64,
	rspec.ArchLOONGARCH64, rspec.ArchMIPS, rspec.ArchMIPS64, rspec.ArchMIPS64N32, rspec.ArchMIPSEL, rspec.ArchMIPSEL64,
	rspec.ArchMIPSEL64N32, rspec.ArchPPC, rspec.ArchPPC64, rspec.ArchPPC64LE, rspec.ArchS390, rspec.ArchS390X,
	rspec.ArchPARISC, rspec.ArchPARISC64, rspec.ArchRISCV64}

var operators = []rspec.LinuxSeccompOperator{rspec.OpEqualTo, rspec.OpNotEqual, rspec.OpLessThan, rspec.OpLessEqual,
	rspec.OpGreaterThan, rspec.OpGreaterEqual, rspec.OpMaskedEqual}

func checkAction(a rspec.LinuxSeccompAction, errno *uint) error {
	if errno != nil && *errno > 0xffff {
		return fmt.Errorf("errno %d out of range", *errno)
	}
	switch a {
	case rspec.ActAllow, rspec.ActErrno, rspec.ActKill, rspec.ActKillThread, rspec.ActKillProcess, rspec.ActTrap, rspec.ActTrace, rspec.ActLog:
		return nil
	case "":
		return errors.New("no action")
	}
	return fmt.Errorf("unsupported action %q", a)
}
