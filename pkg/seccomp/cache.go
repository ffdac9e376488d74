package seccomp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// cacheFormat names the way programs are compiled and cached; change it whenever the
// compiler's output for a given profile changes, so stale cache files are no longer used.
const cacheFormat = "skiff-seccomp-2"

// Compiler turns a profile into a BPF program (bpf.Compile in skiff-image; the lean skiff asks
// skiff-image to do it).
type Compiler func(p *rspec.LinuxSeccomp) ([]byte, error)

// cacheIdentity is what a cached program was compiled from: the cache format, the
// architecture and the profile's JSON. A cache file holds it in full before the program, and
// a program is used only when it matches byte for byte, so the file name's short hash needs
// no collision resistance (and the run path no cryptographic hash).
func cacheIdentity(p *rspec.LinuxSeccomp) ([]byte, error) {
	if d, ok := defaults.Load(p); ok {
		return identityOf([]byte(d.(string))), nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("seccomp: encode profile: %w", err)
	}
	return identityOf(b), nil
}

// identityOf prefixes what a program is made from with the cache format and architecture.
func identityOf(origin []byte) []byte {
	return append([]byte(cacheFormat+"\x00"+runtime.GOARCH+"\x00"), origin...)
}

// cacheName is the file name of the program of identity id.
func cacheName(id []byte) string {
	h := fnv.New128a()
	h.Write(id)
	return hex.EncodeToString(h.Sum(nil)) + ".bpf"
}

// cached returns the program dir holds for identity id, if any.
func cached(dir string, id []byte) ([]byte, bool) {
	b, err := os.ReadFile(filepath.Join(dir, cacheName(id)))
	if err != nil {
		return nil, false
	}
	return decodeCache(b, id)
}

// CacheKey names the cache file of the program compiled from p (without ".bpf").
func CacheKey(p *rspec.LinuxSeccomp) (string, error) {
	id, err := cacheIdentity(p)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(cacheName(id), ".bpf"), nil
}

// CachedBPF returns compile(p), reusing dir/<CacheKey(p)>.bpf when it holds the program of
// exactly this profile. A freshly compiled program is stored there atomically (temporary
// file renamed into place) with mode 0600; dir is created with mode 0700 if missing. Failing
// to write the cache is not an error: the program is returned all the same.
func CachedBPF(dir string, p *rspec.LinuxSeccomp, compile Compiler) ([]byte, error) {
	if p == nil {
		return nil, errors.New("seccomp: no profile to compile")
	}
	id, err := cacheIdentity(p)
	if err != nil {
		return nil, err
	}
	if prog, ok := cached(dir, id); ok {
		return prog, nil
	}
	prog, err := compile(p)
	if err != nil {
		return nil, err
	}
	if len(prog) == 0 || len(prog)%8 != 0 {
		return nil, fmt.Errorf("seccomp: the compiler returned a malformed program (%d bytes)", len(prog))
	}
	// The cache only saves time: failing to fill it must not fail the container.
	_ = writeAtomic(dir, filepath.Join(dir, cacheName(id)), encodeCache(id, prog))
	return prog, nil
}

// A cache file: the identity's length (8 bytes, little endian), the identity, the program.
func encodeCache(id, prog []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(id)))
	return append(append(out, id...), prog...)
}

func decodeCache(b, id []byte) ([]byte, bool) {
	if len(b) < 8 {
		return nil, false
	}
	n := binary.LittleEndian.Uint64(b)
	if n != uint64(len(id)) || uint64(len(b)-8) < n || !bytes.Equal(b[8:8+n], id) {
		return nil, false
	}
	prog := b[8+n:]
	if len(prog) == 0 || len(prog)%8 != 0 {
		return nil, false
	}
	return prog, true
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

// CachedDefaultBPF returns the program of Default(caps), from the cache when it holds it,
// without building the profile; otherwise it builds it and goes through CachedBPF.
func CachedDefaultBPF(dir string, caps []string, compile Compiler) ([]byte, error) {
	if d := defaultOrigin(caps); d != "" {
		if prog, ok := cached(dir, identityOf([]byte(d))); ok {
			return prog, nil
		}
	}
	p, err := Default(caps)
	if err != nil {
		return nil, err
	}
	return CachedBPF(dir, p, compile)
}
