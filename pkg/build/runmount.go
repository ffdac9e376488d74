package build

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"golang.org/x/sys/unix"
)

// MountCacheDir is where RUN --mount=type=cache keeps its directories, in the store's root: one
// per cache id (the target when no id is given), kept from build to build until builder prune.
const MountCacheDir = "skiff-build-mounts"

// runFlags are what a RUN's flags ask for: --mount and --network (BuildKit's).
type runFlags struct {
	mounts  []*instructions.Mount
	network string // the step's network: the build's, none or host
}

// runFlagsOf checks a RUN's flags: the mounts skiff makes (cache, bind, tmpfs) and the network
// (default, none, host).
func (b *builder) runFlagsOf(c *instructions.RunCommand, workdir string) (runFlags, error) {
	f := runFlags{network: b.o.Network}
	for _, name := range c.FlagsUsed {
		if !slices.Contains([]string{"mount", "network"}, name) {
			return f, fmt.Errorf("RUN --%s is not supported: skiff's RUN takes --mount and --network", name)
		}
	}
	for _, m := range instructions.GetMounts(c) {
		switch m.Type {
		case instructions.MountTypeCache:
			if m.From != "" {
				return f, fmt.Errorf("RUN --mount=type=cache,from=%s is not supported: a cache starts empty; COPY its seed in a step before", m.From)
			}
			if (m.UID != nil && *m.UID != 0) || (m.GID != nil && *m.GID != 0) {
				return f, fmt.Errorf("RUN --mount=type=cache with uid or gid other than 0 is not supported: the cache belongs to the step's root; chown it in the RUN if needed")
			}
		case instructions.MountTypeBind, instructions.MountTypeTmpfs:
		default:
			return f, fmt.Errorf("RUN --mount=type=%s is not supported: skiff's builds have no secrets or SSH agent; use a bind mount of a context file, or a build argument", m.Type)
		}
		if m.Target == "" {
			return f, fmt.Errorf("RUN --mount=type=%s needs target=PATH: where the step sees it", m.Type)
		}
		if !path.IsAbs(m.Target) {
			m.Target = path.Join(workdir, m.Target)
		}
		m.Target = path.Clean(m.Target)
		if m.Target == "/" {
			return f, fmt.Errorf("RUN --mount target=/ is not allowed: mount it on a directory below the root")
		}
		f.mounts = append(f.mounts, m)
	}
	switch n := instructions.GetNetwork(c); n {
	case instructions.NetworkDefault, "":
	case instructions.NetworkNone, instructions.NetworkHost:
		f.network = string(n)
	}
	return f, nil
}

// bindKey is what the step's cache key takes from its bind mounts: the digest of each one's
// files, so a change of them runs the step again.
func (b *builder) bindKey(f runFlags) (string, error) {
	key := ""
	for _, m := range f.mounts {
		if m.Type != instructions.MountTypeBind {
			continue
		}
		src, _, err := b.source(m.From)
		if err != nil {
			return "", fmt.Errorf("RUN --mount=type=bind,from=%s: %w", m.From, err)
		}
		sum, err := SourcesDigest(src, []string{bindSource(m)})
		if err != nil {
			return "", fmt.Errorf("RUN --mount=type=bind,source=%s: %w", m.Source, err)
		}
		key += m.Target + "=" + sum + "\n"
	}
	return key, nil
}

func bindSource(m *instructions.Mount) string {
	if m.Source == "" {
		return "/"
	}
	return m.Source
}

// runMounts makes what f's mounts need on the host: a cache's directory (locked for the step
// with sharing=locked or private), a copy of a bind mount's files (what the step writes there,
// with rw, goes with the copy). It returns the step's -v and --tmpfs options, and release,
// which removes the copies and lets go of the locks.
func (b *builder) runMounts(f runFlags) (volumes, tmpfs []string, release func(), err error) {
	var cleanup []func()
	release = func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	for _, m := range f.mounts {
		switch m.Type {
		case instructions.MountTypeTmpfs:
			t := m.Target
			if m.SizeLimit > 0 {
				t += ":size=" + strconv.FormatInt(m.SizeLimit, 10)
			}
			tmpfs = append(tmpfs, t)
		case instructions.MountTypeCache:
			id := m.CacheID
			if id == "" {
				id = m.Target
			}
			sum := sha256.Sum256([]byte(id))
			root := filepath.Join(b.o.Paths.GraphRoot, MountCacheDir)
			dir := filepath.Join(root, hex.EncodeToString(sum[:16]))
			mode := os.FileMode(0o755)
			if m.Mode != nil {
				mode = os.FileMode(*m.Mode) & os.ModePerm
			}
			if err = os.MkdirAll(root, 0o700); err == nil {
				if err = os.Mkdir(dir, mode); err == nil {
					err = os.Chmod(dir, mode) // past the umask
				} else if os.IsExist(err) {
					err = nil
				}
			}
			if err != nil {
				return nil, nil, nil, fmt.Errorf("RUN --mount=type=cache,id=%s: make its directory: %w", id, err)
			}
			if m.CacheSharing == instructions.MountSharingLocked || m.CacheSharing == instructions.MountSharingPrivate {
				// private is served as locked: one step at a time uses the directory
				lock, err := os.OpenFile(dir+".lock", os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
				if err == nil {
					err = unix.Flock(int(lock.Fd()), unix.LOCK_EX)
				}
				if err != nil {
					return nil, nil, nil, fmt.Errorf("RUN --mount=type=cache,id=%s: lock it: %w", id, err)
				}
				cleanup = append(cleanup, func() { lock.Close() })
			}
			volumes = append(volumes, dir+":"+m.Target+roOpt(m.ReadOnly))
		case instructions.MountTypeBind:
			host, done, err := b.bindCopy(m)
			if err != nil {
				return nil, nil, nil, err
			}
			cleanup = append(cleanup, done)
			volumes = append(volumes, host+":"+m.Target+roOpt(m.ReadOnly))
		}
	}
	return volumes, tmpfs, release, nil
}

func roOpt(ro bool) string {
	if ro {
		return ":ro"
	}
	return ""
}

// bindCopy copies a bind mount's source (the context, with .dockerignore applied, an earlier
// stage or an image) into the store's scratch directory, and returns the path to mount.
func (b *builder) bindCopy(m *instructions.Mount) (string, func(), error) {
	src, keep, err := b.source(m.From)
	if err != nil {
		return "", nil, fmt.Errorf("RUN --mount=type=bind,from=%s: %w", m.From, err)
	}
	source := bindSource(m)
	fi, err := src.Lstat(path.Clean("/" + source)[1:])
	if source == "/" || path.Clean("/"+source) == "/" {
		err = nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("RUN --mount=type=bind,source=%s: not found in the %s: %w", m.Source, sourceName(m.From), err)
	}
	scratch, err := b.o.Store.Scratch()
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp(scratch, "bind-")
	if err != nil {
		return "", nil, err
	}
	done := func() { _ = os.RemoveAll(dir) }
	root, err := os.OpenRoot(dir)
	if err != nil {
		done()
		return "", nil, err
	}
	defer root.Close()
	pr, pw := io.Pipe()
	go func() {
		_, err := WriteCopy(pw, src, CopySpec{Sources: []string{source}, Dest: "/", KeepOwner: keep})
		pw.CloseWithError(err)
	}()
	err = untarContext(tar.NewReader(pr), root)
	pr.CloseWithError(err)
	if err != nil {
		done()
		return "", nil, fmt.Errorf("RUN --mount=type=bind,source=%s: copy it: %w", m.Source, err)
	}
	host := dir
	if fi != nil && !fi.IsDir() {
		host = filepath.Join(dir, path.Base(source)) // a file is copied into "/"
	}
	return host, done, nil
}

func sourceName(from string) string {
	if from == "" {
		return "build context"
	}
	return "stage or image " + from
}
