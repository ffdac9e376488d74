package seccomp

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"unsafe"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var dockerDefaultCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}

func allowed(p *rspec.LinuxSeccomp, name string) bool {
	for _, s := range p.Syscalls {
		if s.Action == rspec.ActAllow && slices.Contains(s.Names, name) {
			return true
		}
	}
	return false
}

func TestDefaultProfile(t *testing.T) {
	tests := []struct {
		caps    []string
		syscall string
		want    bool
	}{
		{dockerDefaultCaps, "mount", false},
		{dockerDefaultCaps, "keyctl", false},
		{dockerDefaultCaps, "unshare", false},
		{dockerDefaultCaps, "read", true},
		{append(slices.Clone(dockerDefaultCaps), "CAP_SYS_ADMIN"), "mount", true},
	}
	for _, tt := range tests {
		p, err := Default(tt.caps)
		if err != nil {
			t.Fatal(err)
		}
		if got := allowed(p, tt.syscall); got != tt.want {
			t.Errorf("%s allowed = %v, want %v (caps %v)", tt.syscall, got, tt.want, tt.caps)
		}
	}
}

func TestCompileAndCache(t *testing.T) {
	p, err := Default(dockerDefaultCaps)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) == 0 || len(prog)%8 != 0 {
		t.Fatalf("program length %d", len(prog))
	}
	dir := t.TempDir()
	a, err := CachedBPF(dir, p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := CachedBPF(dir, p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) || !bytes.Equal(a, prog) {
		t.Error("cached program differs from the compiled one")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.bpf"))
	if len(files) != 1 {
		t.Errorf("cache holds %d files, want 1", len(files))
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{not json"), 0o644)
	for _, f := range []string{bad, filepath.Join(dir, "missing.json")} {
		_, err := LoadFile(f, dockerDefaultCaps)
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(f)) {
			t.Errorf("LoadFile(%s) err = %v, want an error naming the file", f, err)
		}
	}
}

// TestFilterInKernel loads the compiled default program in a child process and checks that
// keyctl is refused with EPERM while getpid works.
func TestFilterInKernel(t *testing.T) {
	if os.Getenv("SKIFF_SECCOMP_CHILD") == "1" {
		p, _ := Default(dockerDefaultCaps)
		prog, err := Compile(p)
		if err != nil {
			os.Exit(2)
		}
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			os.Exit(3)
		}
		fp := unix.SockFprog{Len: uint16(len(prog) / 8), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
		if _, _, e := unix.Syscall(unix.SYS_SECCOMP, 1 /* SET_MODE_FILTER */, 1 /* TSYNC */, uintptr(unsafe.Pointer(&fp))); e != 0 {
			os.Exit(4)
		}
		if _, _, e := unix.Syscall(unix.SYS_KEYCTL, 0, 0, 0); e != unix.EPERM {
			os.Exit(5)
		}
		if unix.Getpid() <= 0 {
			os.Exit(6)
		}
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=TestFilterInKernel")
	cmd.Env = append(os.Environ(), "SKIFF_SECCOMP_CHILD=1")
	if err := cmd.Run(); err != nil {
		t.Fatalf("child with the filter: %v", err)
	}
}
