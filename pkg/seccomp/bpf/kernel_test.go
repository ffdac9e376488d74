package bpf

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-project/skiff/pkg/seccomp"
)

// childEnv selects, in a re-executed test binary, a child that loads a filter and probes it.
const childEnv = "SKIFF_SECCOMP_TEST_CHILD"

// exitSkip tells the parent the kernel cannot load seccomp filters here.
const exitSkip = 77

// children are the filtered processes the kernel tests run; each returns nil on success.
var children = map[string]func() error{
	"default":    childDefault,
	"conditions": childConditions,
}

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		child, ok := children[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "no child %q\n", name)
			os.Exit(2)
		}
		if err := child(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild re-executes the test binary as the named child and fails t if the child fails.
func runChild(t *testing.T, name string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name)
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == exitSkip {
		t.Skipf("seccomp filters unavailable: %s", out)
	}
	if err != nil {
		t.Fatalf("child %s: %v\n%s", name, err, out)
	}
}

// install loads prog into the whole (multi-threaded) process, as the C shim does.
func install(prog []byte) error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("PR_SET_NO_NEW_PRIVS: %w", err)
	}
	fprog := unix.SockFprog{
		Len:    uint16(len(prog) / 8),
		Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0])),
	}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	switch {
	case errno == unix.ENOSYS || errno == unix.EINVAL:
		fmt.Fprintf(os.Stderr, "seccomp(SET_MODE_FILTER): %v\n", errno)
		os.Exit(exitSkip)
	case errno != 0:
		return fmt.Errorf("seccomp(SET_MODE_FILTER): %w", errno)
	case r != 0:
		return fmt.Errorf("seccomp TSYNC failed for thread %d", r)
	}
	return nil
}

// expect checks that syscall nr with args fails with want (0: succeeds).
func expect(name string, want unix.Errno, nr uintptr, args ...uintptr) error {
	var a [6]uintptr
	copy(a[:], args)
	_, _, errno := unix.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
	if errno != want {
		return fmt.Errorf("%s%v: errno %d (%v), want %d (%v)", name, args, int(errno), errno, int(want), want)
	}
	return nil
}

// childDefault loads docker's default program for docker's default capabilities.
func childDefault() error {
	p, err := seccomp.Default(dockerCaps)
	if err != nil {
		return err
	}
	prog, err := Compile(p)
	if err != nil {
		return err
	}
	if err := install(prog); err != nil {
		return err
	}
	var errs []error
	errs = append(errs,
		expect("keyctl", unix.EPERM, unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, 0, 0),
		expect("add_key", unix.EPERM, unix.SYS_ADD_KEY),
		expect("unshare", unix.EPERM, unix.SYS_UNSHARE, unix.CLONE_NEWUSER),
		expect("mount", unix.EPERM, unix.SYS_MOUNT),
		expect("getpid", 0, unix.SYS_GETPID),
		expect("getppid", 0, unix.SYS_GETPPID),
	)
	if pid := os.Getpid(); pid <= 0 {
		errs = append(errs, fmt.Errorf("getpid() = %d", pid))
	}
	// The Go runtime still works: allocate, start goroutines, use files.
	if _, err := os.ReadFile("/proc/self/status"); err != nil {
		errs = append(errs, fmt.Errorf("read /proc/self/status under the filter: %w", err))
	}
	return errors.Join(errs...)
}

// childConditions checks in the kernel that checks on one argument are ORed and checks on
// different arguments ANDed, along with MASKED_EQ and a custom errno.
func childConditions() error {
	enotblk, exdev := uint(unix.ENOTBLK), uint(unix.EXDEV)
	p := &rspec.LinuxSeccomp{
		DefaultAction: rspec.ActAllow,
		Architectures: []rspec.Arch{rspec.ArchX86_64, rspec.ArchX86, rspec.ArchAARCH64},
		Syscalls: []rspec.LinuxSyscall{
			// getpriority(which, who): (which == 0 || which == 1) && who == 4242
			{Names: []string{"getpriority"}, Action: rspec.ActErrno, ErrnoRet: &enotblk, Args: []rspec.LinuxSeccompArg{
				{Index: 0, Op: rspec.OpEqualTo, Value: unix.PRIO_PROCESS},
				{Index: 1, Op: rspec.OpEqualTo, Value: 4242},
				{Index: 0, Op: rspec.OpEqualTo, Value: unix.PRIO_PGRP},
			}},
			// getpgid(pid): (pid & 0xf0) == 0x30
			{Names: []string{"getpgid"}, Action: rspec.ActErrno, ErrnoRet: &exdev, Args: []rspec.LinuxSeccompArg{
				{Index: 0, Op: rspec.OpMaskedEqual, Value: 0xf0, ValueTwo: 0x30},
			}},
			{Names: []string{"keyctl"}, Action: rspec.ActErrno}, // no errnoRet: EPERM
		},
	}
	prog, err := Compile(p)
	if err != nil {
		return err
	}
	if err := install(prog); err != nil {
		return err
	}
	matchesErrno := func(name string, nr uintptr, want unix.Errno, args ...uintptr) error {
		var a [6]uintptr
		copy(a[:], args)
		_, _, errno := unix.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
		// want 0: the filter lets the call through (the kernel may still fail it, e.g. ESRCH).
		if want != 0 && errno != want || want == 0 && (errno == unix.ENOTBLK || errno == unix.EXDEV) {
			return fmt.Errorf("%s%v: errno %d (%v), want filter errno %d", name, args, int(errno), errno, int(want))
		}
		return nil
	}
	pid := uintptr(os.Getpid())
	return errors.Join(
		matchesErrno("getpriority", unix.SYS_GETPRIORITY, unix.ENOTBLK, unix.PRIO_PROCESS, 4242),
		matchesErrno("getpriority", unix.SYS_GETPRIORITY, unix.ENOTBLK, unix.PRIO_PGRP, 4242),
		matchesErrno("getpriority", unix.SYS_GETPRIORITY, 0, unix.PRIO_USER, 4242),
		matchesErrno("getpriority", unix.SYS_GETPRIORITY, 0, unix.PRIO_PROCESS, 0),
		matchesErrno("getpgid", unix.SYS_GETPGID, unix.EXDEV, 0x1234537),
		matchesErrno("getpgid", unix.SYS_GETPGID, 0, pid&^0xf0|0x40),
		expect("getpgid", 0, unix.SYS_GETPGID, 0),
		expect("keyctl", unix.EPERM, unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, 0, 0),
	)
}

func TestKernelDefaultFilter(t *testing.T) {
	runChild(t, "default")
}

func TestKernelConditions(t *testing.T) {
	if !strings.HasPrefix(runtime.GOARCH, "amd64") && runtime.GOARCH != "arm64" {
		t.Skip("the test profile lists amd64 and arm64 only")
	}
	runChild(t, "conditions")
}
