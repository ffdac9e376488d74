package seccomp

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCachedBPF(t *testing.T) {
	p, err := Default(dockerCaps)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	prog := []byte("12345678abcdefgh")
	compile := func(*rspec.LinuxSeccomp) ([]byte, error) { calls++; return prog, nil }
	dir := filepath.Join(t.TempDir(), "cache", "seccomp")

	for i := 0; i < 3; i++ {
		got, err := CachedBPF(dir, p, compile)
		if err != nil || !bytes.Equal(got, prog) {
			t.Fatalf("call %d: %q, %v", i, got, err)
		}
	}
	if calls != 1 {
		t.Errorf("compiled %d times, want once (then from the cache)", calls)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || !strings.HasSuffix(entries[0].Name(), ".bpf") || strings.HasPrefix(entries[0].Name(), ".") {
		t.Fatalf("cache holds %v, want one <key>.bpf file", entries)
	}
	key, _ := CacheKey(p)
	file := filepath.Join(dir, key+".bpf")
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("cache file: %v; want mode 0600", err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache dir: %v; want mode 0700", err)
	}

	// Default's profiles are known by what they were made from, not by their encoding
	// (go test binaries carry no module versions: there the profile's JSON is its identity)
	id, _ := cacheIdentity(p)
	if v := profilesVersion(); v != "" && !bytes.Contains(id, []byte("moby-default "+v)) {
		t.Errorf("identity of the default profile: %q", id)
	} else if v == "" && !bytes.Contains(id, []byte(`"defaultAction"`)) {
		t.Errorf("identity of a profile without a known origin: %.80q", id)
	}

	// Another profile gets another key.
	p2, _ := Default(append(append([]string{}, dockerCaps...), "CAP_SYS_ADMIN"))
	if k2, _ := CacheKey(p2); k2 == key {
		t.Error("different profiles share a cache key")
	}

	// A file under p's name that holds another profile's program (a hash collision, or a
	// damaged file) is not used: the identity in it must match in full.
	id2, _ := cacheIdentity(p2)
	for name, content := range map[string][]byte{
		"other profile": encodeCache(id2, []byte("evil....")),
		"truncated":     []byte("1234"),
		"garbage":       []byte("not a cache file at all"),
	} {
		os.WriteFile(file, content, 0o600)
		calls = 0
		if got, err := CachedBPF(dir, p, compile); err != nil || !bytes.Equal(got, prog) || calls != 1 {
			t.Errorf("%s: got %q (%v), compiled %d times; want a fresh compile", name, got, err, calls)
		}
	}

	// An unusable cache directory costs speed, not correctness.
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o600)
	if got, err := CachedBPF(filepath.Join(blocker, "sub"), p, compile); err != nil || !bytes.Equal(got, prog) {
		t.Errorf("CachedBPF with an unusable dir: %v", err)
	}

	// Compiler errors and malformed programs are errors.
	fail := func(*rspec.LinuxSeccomp) ([]byte, error) { return nil, errors.New("boom") }
	if _, err := CachedBPF(t.TempDir(), p, fail); err == nil {
		t.Error("compiler error not reported")
	}
	odd := func(*rspec.LinuxSeccomp) ([]byte, error) { return []byte("123"), nil }
	if _, err := CachedBPF(t.TempDir(), p, odd); err == nil {
		t.Error("malformed program accepted")
	}
}

// TestCachedDefaultBPF: the default profile's program, by its capabilities, is the one
// CachedBPF gives for Default(caps), and is compiled once.
func TestCachedDefaultBPF(t *testing.T) {
	dir := t.TempDir()
	calls := 0
	compile := func(p *rspec.LinuxSeccomp) ([]byte, error) {
		calls++
		return []byte(fmt.Sprintf("%08d", len(p.Syscalls))), nil
	}
	a, err := CachedDefaultBPF(dir, dockerCaps, compile)
	if err != nil {
		t.Fatal(err)
	}
	b, err := CachedDefaultBPF(dir, dockerCaps, compile)
	if err != nil || !bytes.Equal(a, b) || calls != 1 {
		t.Errorf("second call: %q, %v, compiled %d times; want the first program, compiled once", b, err, calls)
	}
	p, _ := Default(dockerCaps)
	if c, err := CachedBPF(dir, p, compile); err != nil || !bytes.Equal(a, c) {
		t.Errorf("CachedBPF(Default) = %q, %v; want %q", c, err, a)
	}
}
