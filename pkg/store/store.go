// Package store keeps images, layers and containers in a per-user containers/storage store.
package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/containers/storage"
	graphdriver "github.com/containers/storage/drivers"
	"github.com/containers/storage/types"
	"github.com/moby/sys/mountinfo"

	"github.com/skiff-project/skiff/pkg/catalog"
	"github.com/skiff-project/skiff/pkg/config"
	"github.com/skiff-project/skiff/pkg/userns"
)

// Store is skiff's view of a containers/storage store.
type Store struct {
	S      storage.Store
	Paths  config.Paths
	Driver string

	scratch *os.File // this process's temporary directory, locked while it lives (see Scratch)
}

// Open opens (creating if needed) the store at p. The storage driver is overlay when the kernel
// supports it in this namespace, overlay through fuse-overlayfs when not, else vfs; a store that
// already holds a driver's data keeps using it.
func Open(p config.Paths) (*Store, error) {
	for _, dir := range []string{p.GraphRoot, p.RunRoot} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create store directory: %w (set --root or XDG_DATA_HOME to a writable place)", err)
		}
	}
	single := userns.Current().SingleID
	conf, err := confOptions(p)
	if err != nil {
		return nil, err
	}
	if p.Driver == "" {
		p.Driver = conf.GraphDriverName
	}
	try := func(driver string, priority []string, extra ...string) (storage.Store, error) {
		opts := append(append([]string{}, conf.GraphDriverOptions...), extra...)
		if driver == "" || driver == "overlay" {
			// skiff works in a private mount namespace: the driver need not make its home a
			// private mount (a mount and an unmount per process)
			opts = append(opts, "overlay.skip_mount_home=true")
		}
		if single {
			// Only one id is mapped: files of other owners in images become ours.
			d := driver
			if d == "" {
				d = "overlay"
			}
			opts = append(opts, d+".ignore_chown_errors=true")
		}
		return storage.GetStore(types.StoreOptions{
			RunRoot:             p.RunRoot,
			GraphRoot:           p.GraphRoot,
			GraphDriverName:     driver,
			GraphDriverPriority: priority,
			GraphDriverOptions:  opts,
		})
	}
	// The driver: the one asked for, else the one this store already holds data of, else
	// overlay (containers/storage itself moves to fuse-overlayfs when the kernel cannot do
	// overlay here), else vfs when overlay is not supported at all. Only "not supported" falls
	// back: any other error is reported, never papered over by another driver.
	driver := p.Driver
	if driver == "" {
		for _, d := range []string{"overlay", "vfs"} {
			if _, err := os.Stat(filepath.Join(p.GraphRoot, d+"-layers")); err == nil {
				driver = d
				break
			}
		}
	}
	var s storage.Store
	if driver != "" {
		s, err = try(driver, nil)
	} else {
		s, err = try("overlay", nil)
		if err != nil && (errors.Is(err, graphdriver.ErrNotSupported) || errors.Is(err, graphdriver.ErrPrerequisites) || errors.Is(err, graphdriver.ErrIncompatibleFS)) {
			s, err = try("vfs", nil)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open the image store at %s: %w", p.GraphRoot, err)
	}
	return &Store{S: s, Paths: p, Driver: s.GraphDriverName()}, nil
}

// confPath is the storage.conf skiff honours: $CONTAINERS_STORAGE_CONF, else the user's
// ($XDG_CONFIG_HOME or ~/.config)/containers/storage.conf when rootless, else
// /etc/containers/storage.conf, else /usr/share/containers/storage.conf; "" when none exists.
func confPath() string {
	var cands []string
	if f := os.Getenv("CONTAINERS_STORAGE_CONF"); f != "" {
		cands = append(cands, f)
	}
	if userns.Current().Rootless {
		cfg := os.Getenv("XDG_CONFIG_HOME")
		if cfg == "" {
			if home, err := os.UserHomeDir(); err == nil {
				cfg = filepath.Join(home, ".config")
			}
		}
		if cfg != "" {
			cands = append(cands, filepath.Join(cfg, "containers", "storage.conf"))
		}
	}
	cands = append(cands, "/etc/containers/storage.conf", "/usr/share/containers/storage.conf")
	for _, c := range cands {
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	return ""
}

// confOptions reads the driver and driver options of storage.conf. Its paths (graphroot,
// runroot) are podman's store, not skiff's: skiff keeps its own unless --root says otherwise.
func confOptions(p config.Paths) (types.StoreOptions, error) {
	var o types.StoreOptions
	f := confPath()
	if f == "" {
		return o, nil
	}
	if err := types.ReloadConfigurationFile(f, &o); err != nil {
		return o, fmt.Errorf("read %s: %w (fix or move it away)", f, err)
	}
	if p.Driver != "" && o.GraphDriverName != p.Driver {
		o.GraphDriverOptions = nil // options of another driver
	}
	return types.StoreOptions{GraphDriverName: o.GraphDriverName, GraphDriverOptions: o.GraphDriverOptions}, nil
}

// Close releases the store (it does not unmount layers in use by other processes).
func (s *Store) Close() {
	if s != nil && s.S != nil {
		_, _ = s.S.Shutdown(false)
	}
	if s != nil {
		s.closeScratch()
	}
}

// NotFoundError names what was not found and how to fix it.
type NotFoundError = catalog.NotFoundError

// FSType is the type of the file system holding path (e.g. ext4, xfs, overlay, tmpfs): overlay
// needs its layers on a file system that supports it as an upper layer, which is why info shows it.
func FSType(path string) string {
	ms, err := mountinfo.GetMounts(mountinfo.ParentsFilter(path))
	if err != nil || len(ms) == 0 {
		return "unknown"
	}
	best := ms[0]
	for _, m := range ms[1:] {
		if len(m.Mountpoint) > len(best.Mountpoint) {
			best = m
		}
	}
	return best.FSType
}
