package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// Freezer is the directory of container id's freezer cgroup at this place (pause), its parent
// made: root's /skiff, or the user's delegated /skiff/USER.
func (p Place) Freezer(id string) (string, error) {
	if p.Unified {
		return "", errors.New("pause on a cgroup v2 host is not supported by this skiff yet: stop the container instead")
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

// mounts are this host's cgroup v1 hierarchies, read once.
var mounts = sync.OnceValue(func() map[string]string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	p, _ := parseMounts(f)
	return p.Mounts
})

// Path is the directory of a v1 controller's cgroup rel (as /proc/PID/cgroup names it), or ""
// when the controller is not mounted.
func Path(controller, rel string) string {
	mnt, ok := mounts()[controller]
	if !ok {
		return ""
	}
	return filepath.Join(mnt, rel)
}
