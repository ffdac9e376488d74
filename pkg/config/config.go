// Package config says where skiff keeps things: the image store, the run-state directory and the
// per-container state, for root and for rootless users.
package config

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/skiff-project/skiff/pkg/userns"
)

// Paths are the directories one skiff invocation works with.
type Paths struct {
	// GraphRoot holds images, layers and containers (containers/storage's graph root).
	GraphRoot string
	// RunRoot holds containers/storage's volatile state (mount counts, locks).
	RunRoot string
	// RunDir holds skiff's own run state: one directory per live container, caches.
	RunDir string
	// Driver is the storage driver ("" picks overlay, then vfs).
	Driver string
}

// Options are the global flags that change the paths.
type Options struct {
	Root, RunRoot, Driver string
}

// Default returns the paths for the current user, honouring XDG_DATA_HOME for rootless users.
func Default(o Options) (Paths, error) {
	st := userns.Current()
	var p Paths
	if st.Rootless {
		data := os.Getenv("XDG_DATA_HOME")
		if data == "" || !filepath.IsAbs(data) {
			home, err := os.UserHomeDir()
			if err != nil || home == "" || home == "/" {
				return p, fmt.Errorf("cannot find your home directory for the image store: set HOME or XDG_DATA_HOME")
			}
			data = filepath.Join(home, ".local", "share")
		}
		p.GraphRoot = filepath.Join(data, "skiff", "storage")
		p.RunDir = st.RunDir
		if p.RunDir == "" {
			p.RunDir = fmt.Sprintf("/tmp/skiff-%d", st.UID)
		}
	} else {
		p.GraphRoot = "/var/lib/skiff/storage"
		p.RunDir = "/run/skiff"
	}
	if o.Root != "" {
		p.GraphRoot = o.Root
	}
	p.RunRoot = filepath.Join(p.RunDir, "storage")
	if o.RunRoot != "" {
		p.RunRoot = o.RunRoot
	}
	p.Driver = o.Driver
	if p.Driver == "" {
		p.Driver = os.Getenv("STORAGE_DRIVER")
	}
	return p, nil
}

// ContainerRunDir is where a live container's run state (lock, pid, generated files) lives.
func (p Paths) ContainerRunDir(id string) string { return filepath.Join(p.RunDir, "containers", id) }

// Libexec finds one of skiff's helper programs (skiff-init, skiff-image): $ENV when set, else
// beside the running binary, else ../libexec/skiff/ from it, else /usr/local/libexec/skiff or
// /usr/libexec/skiff.
func Libexec(name, env string) (string, error) {
	if p := os.Getenv(env); p != "" {
		return p, nil
	}
	exe, err := os.Executable()
	var cands []string
	if err == nil {
		dir := filepath.Dir(exe)
		cands = append(cands, filepath.Join(dir, name), filepath.Join(dir, "..", "libexec", "skiff", name))
	}
	cands = append(cands, "/usr/local/libexec/skiff/"+name, "/usr/libexec/skiff/"+name)
	for _, p := range cands {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found beside %s or in /usr/local/libexec/skiff: reinstall skiff (make install) or set %s", name, exe, env)
}
