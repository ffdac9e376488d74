// Package volume keeps named volumes: directories beside the image store that outlive the
// containers mounting them (docker's local driver: <store>/skiff-volumes/NAME/_data).
package volume

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/skiff-project/skiff/pkg/catalog"
)

// Volume is one named volume, as volume inspect shows it (docker's field names).
type Volume struct {
	Name       string            `json:"Name"`
	Driver     string            `json:"Driver"`
	Mountpoint string            `json:"Mountpoint"`
	CreatedAt  time.Time         `json:"CreatedAt"`
	Labels     map[string]string `json:"Labels"`
	Scope      string            `json:"Scope"`
	Options    map[string]string `json:"Options"`
}

// Store is the volumes of one image store.
type Store struct{ Dir string }

// Open returns the volumes kept beside the store at graphRoot.
func Open(graphRoot string) *Store { return &Store{Dir: filepath.Join(graphRoot, "skiff-volumes")} }

// ValidName checks a volume name as docker does: [a-zA-Z0-9][a-zA-Z0-9_.-]+.
func ValidName(name string) error {
	if len(name) < 2 || len(name) > 255 {
		return fmt.Errorf("invalid volume name %q: use 2 to 255 letters, digits, '_', '.' and '-'", name)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '_' || r == '.' || r == '-')
		if !ok {
			return fmt.Errorf("invalid volume name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", name)
		}
	}
	return nil
}

// IsName reports whether the source of a -v option names a volume rather than a host path.
func IsName(src string) bool {
	return src != "" && !strings.HasPrefix(src, "/") && !strings.HasPrefix(src, ".")
}

func (s *Store) path(name string) string { return filepath.Join(s.Dir, name) }

// AnonymousLabel marks a volume made for one container's path (docker's label): `rm -v`
// and `run --rm` remove such a volume with its container.
const AnonymousLabel = "com.docker.volume.anonymous"

// copyUpFile, in a volume's directory, says no container has mounted it yet: the first one
// copies its image's files at the mount point into the (empty) volume, as docker does.
const copyUpFile = "copyup"

// Create makes a volume (a random name when name is ""); an existing one is returned as it is
// unless exclusive is set.
func (s *Store) Create(name string, exclusive bool) (Volume, error) {
	return s.create(name, exclusive, nil)
}

// CreateAnonymous makes a volume with a random name for one container's path.
func (s *Store) CreateAnonymous() (Volume, error) {
	return s.create("", true, map[string]string{AnonymousLabel: ""})
}

// TakeCopyUp reports whether the volume was never mounted, and marks it mounted: of several
// containers starting with it at once, one is told to copy the image's files into it.
func (s *Store) TakeCopyUp(name string) bool {
	return os.Remove(filepath.Join(s.path(name), copyUpFile)) == nil
}

// Anonymous reports whether v was made for one container's path.
func (v Volume) Anonymous() bool {
	_, ok := v.Labels[AnonymousLabel]
	return ok
}

// MountpointOf returns the name of the volume whose data directory is dir ("" when dir is not
// one of these volumes').
func (s *Store) MountpointOf(dir string) string {
	rel, err := filepath.Rel(s.Dir, dir)
	if err != nil {
		return ""
	}
	name, data, ok := strings.Cut(rel, string(filepath.Separator))
	if !ok || data != "_data" || ValidName(name) != nil {
		return ""
	}
	return name
}

func (s *Store) create(name string, exclusive bool, labels map[string]string) (Volume, error) {
	if labels == nil {
		labels = map[string]string{}
	}
	if name == "" {
		var b [32]byte
		for i := range b {
			b[i] = byte(rand.Uint32())
		}
		name = hex.EncodeToString(b[:])
	}
	if err := ValidName(name); err != nil {
		return Volume{}, err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return Volume{}, fmt.Errorf("create volume %s: %w", name, err)
	}
	// made under a temporary name and renamed into place: a volume is there whole or not at all
	tmp, err := os.MkdirTemp(s.Dir, ".new-")
	if err != nil {
		return Volume{}, fmt.Errorf("create volume %s: %w", name, err)
	}
	v := Volume{Name: name, Driver: "local", Mountpoint: filepath.Join(s.path(name), "_data"), CreatedAt: time.Now().UTC().Truncate(time.Second),
		Labels: labels, Scope: "local", Options: map[string]string{}}
	b, _ := json.Marshal(v)
	if err := os.Mkdir(filepath.Join(tmp, "_data"), 0o755); err == nil {
		err = os.WriteFile(filepath.Join(tmp, "volume.json"), b, 0o600)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(tmp, copyUpFile), nil, 0o600)
	}
	if err == nil {
		err = os.Rename(tmp, s.path(name))
	}
	if err != nil {
		os.RemoveAll(tmp)
		if errors.Is(err, os.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) {
			if exclusive {
				return Volume{}, fmt.Errorf("volume %s already exists: choose another name or remove it (skiff volume rm %s)", name, name)
			}
			return s.Inspect(name)
		}
		return Volume{}, fmt.Errorf("create volume %s: %w", name, err)
	}
	return v, nil
}

// Inspect returns the volume name.
func (s *Store) Inspect(name string) (Volume, error) {
	if ValidName(name) != nil {
		return Volume{}, &catalog.NotFoundError{Kind: "volume", Name: name, Hint: "see skiff volume ls"}
	}
	b, err := os.ReadFile(filepath.Join(s.path(name), "volume.json"))
	if errors.Is(err, os.ErrNotExist) {
		return Volume{}, &catalog.NotFoundError{Kind: "volume", Name: name, Hint: "see skiff volume ls"}
	}
	if err != nil {
		return Volume{}, err
	}
	var v Volume
	if err := json.Unmarshal(b, &v); err != nil {
		return Volume{}, fmt.Errorf("volume %s: damaged volume.json: %w", name, err)
	}
	v.Mountpoint = filepath.Join(s.path(name), "_data")
	return v, nil
}

// List returns the volumes sorted by name.
func (s *Store) List() ([]Volume, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Volume
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if v, err := s.Inspect(e.Name()); err == nil {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes a volume and its data. users lists the containers that mount it; a volume in
// use is only removed with force, as docker does.
func (s *Store) Remove(name string, force bool, users []string) error {
	if _, err := s.Inspect(name); err != nil {
		return err
	}
	if len(users) > 0 && !force {
		return fmt.Errorf("volume %s is in use by container %s: remove the container first, or use volume rm -f", name, users[0][:min(12, len(users[0]))])
	}
	gone := filepath.Join(s.Dir, ".rm-"+name)
	if err := os.Rename(s.path(name), gone); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	return nil
}

// Sweep removes what killed creators and removers left.
func (s *Store) Sweep() {
	ents, _ := os.ReadDir(s.Dir)
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".rm-") || strings.HasPrefix(n, ".new-") && time.Since(modTime(e)) > time.Minute {
			os.RemoveAll(filepath.Join(s.Dir, n))
		}
	}
}

func modTime(e os.DirEntry) time.Time {
	if i, err := e.Info(); err == nil {
		return i.ModTime()
	}
	return time.Time{}
}
