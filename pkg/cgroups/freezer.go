package cgroups

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ocg "github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/fs"
	"github.com/opencontainers/cgroups/fs2"
	"golang.org/x/sys/unix"
)

// Freezer is the directory of container id's freezer cgroup at this place (pause), its parent
// made: root's /skiff, or the user's delegated /skiff/USER.
func (p Place) Freezer(id string) (string, error) {
	if p.Unified {
		return p.freezerV2(id)
	}
	mnt, ok := p.Mounts["freezer"]
	if !ok {
		return "", errors.New("this host has no cgroup v1 freezer to pause with: stop the container instead")
	}
	if p.Rootless {
		if base := filepath.Join(mnt, p.Base); unix.Access(base, unix.W_OK|unix.X_OK) != nil {
			return "", fmt.Errorf("the freezer cgroup controller is not delegated to %s (%s is missing or not theirs): run `sudo skiff system cgroups delegate %s` once, or stop the container instead", p.User, base, p.User)
		}
	}
	parent := filepath.Join(mnt, p.Dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("make the freezer cgroup %s: %w", parent, err)
	}
	return filepath.Join(parent, id), nil
}

// hierarchies are this host's cgroup file systems, read once.
var hierarchies = sync.OnceValue(func() Place {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return Place{}
	}
	defer f.Close()
	p, _ := parseMounts(f)
	return p
})

// Path is the directory of cgroup rel (as /proc/PID/cgroup names it) of a v1 controller, or of
// the v2 hierarchy for controller "", or "" when that is not mounted.
func Path(controller, rel string) string {
	h := hierarchies()
	mnt, ok := h.Mounts[controller]
	if controller == "" {
		mnt, ok = h.Root, h.Root != ""
	}
	if !ok {
		return ""
	}
	return filepath.Join(mnt, rel)
}

// FreezerController is the /proc/PID/cgroup key of the hierarchy pause freezes in: the v1
// freezer's, or the v2 hierarchy's ("") on a cgroup v2 host.
func FreezerController() string {
	if hierarchies().Unified {
		return ""
	}
	return "freezer"
}

// Freeze sets the freezer of the cgroup at path to state: a v1 freezer cgroup's freezer.state,
// or a v2 cgroup's cgroup.freeze (the library waits until the kernel is done).
func Freeze(path string, state ocg.FreezerState) error {
	r := &ocg.Cgroup{Resources: &ocg.Resources{}}
	if v1Freezer(path) {
		m, err := fs.NewManager(r, map[string]string{"freezer": path})
		if err != nil {
			return err
		}
		return m.Freeze(state)
	}
	m, err := fs2.NewManager(r, path)
	if err != nil {
		return err
	}
	return m.Freeze(state)
}

// Frozen says whether the freezer of the cgroup at path is frozen (or freezing).
func Frozen(path string) bool {
	if path == "" {
		return false
	}
	if v1Freezer(path) {
		b, err := os.ReadFile(filepath.Join(path, "freezer.state"))
		return err == nil && !bytes.HasPrefix(b, []byte("THAWED"))
	}
	b, err := os.ReadFile(filepath.Join(path, "cgroup.freeze"))
	return err == nil && bytes.HasPrefix(b, []byte("1"))
}

// v1Freezer says whether path is a cgroup v1 freezer cgroup (else a v2 cgroup).
func v1Freezer(path string) bool {
	_, err := os.Stat(filepath.Join(path, "freezer.state"))
	return err == nil
}
