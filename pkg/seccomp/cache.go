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

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// cacheFormat names the way Compile builds programs; change it whenever Compile's output for
// a given profile changes, so stale cache files are no longer used.
const cacheFormat = "skiff-seccomp-1"

// CacheKey identifies the program Compile makes of p with this libseccomp: the hex sha256
// of the profile's JSON, libseccomp's version and the architecture.
func CacheKey(p *rspec.LinuxSeccomp) (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("seccomp: hash profile: %w", err)
	}
	h := sha256.New()
	h.Write(b)
	fmt.Fprintf(h, "\x00%s\x00libseccomp %s\x00%s", cacheFormat, Version(), runtime.GOARCH)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// CachedBPF returns Compile(p), reusing dir/<CacheKey(p)>.bpf when it exists. A freshly
// compiled program is stored there atomically (temporary file renamed into place) with mode
// 0600; dir is created with mode 0700 if missing. Failing to write the cache is not an
// error: the program is returned all the same.
func CachedBPF(dir string, p *rspec.LinuxSeccomp) ([]byte, error) {
	if p == nil {
		return nil, errors.New("seccomp: no profile to compile")
	}
	key, err := CacheKey(p)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, key+".bpf")
	if prog, err := os.ReadFile(path); err == nil && len(prog) > 0 && len(prog)%8 == 0 {
		return prog, nil
	}
	prog, err := Compile(p)
	if err != nil {
		return nil, err
	}
	// The cache only saves time: failing to fill it must not fail the container.
	_ = writeAtomic(dir, path, prog)
	return prog, nil
}

func writeAtomic(dir, path string, data []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*.bpf") // mode 0600
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
