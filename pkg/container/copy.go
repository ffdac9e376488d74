package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/skiff-project/skiff/pkg/catalog"
	"github.com/skiff-project/skiff/pkg/config"
	"github.com/skiff-project/skiff/pkg/userns"
)

// skiff cp copies files as the container sees them, from a helper process (a skiff itself)
// whose root is the container's: the parent tells it where that root is through its
// environment, and the helper enters it before it does anything else (EnterCopyRoot).
const (
	// JoinMountsEnv holds the pid of a running container's skiff-init: the helper's C
	// constructor (pkg/userns/enter) joins its mount namespace before the Go runtime starts.
	JoinMountsEnv = "_SKIFF_JOIN_MNT"
	// TimerSlackEnv holds the caller's timer slack, which skiff's C constructor replaced with
	// a coarse one (pkg/userns/enter); skiff-init gives it back to what it runs.
	TimerSlackEnv = "_SKIFF_TIMERSLACK"
	// a stopped container's overlay: the helper mounts it there and makes it its root
	copyMountEnv      = "_SKIFF_CP_MOUNT"
	copyOverlayEnv    = "_SKIFF_CP_OVERLAY"
	copyOverlayDirEnv = "_SKIFF_CP_OVERLAY_DIR"
	// a stopped container whose root is a plain directory (a vfs store's copy)
	copyChrootEnv = "_SKIFF_CP_CHROOT"
)

// CopyRoot tells how a cp helper reaches the file system of container ref: the environment
// to give it, and what to call when it has ended. A running container's files are seen in its
// own mount namespace (what its volumes show included); a stopped one's overlay is mounted
// for the helper alone, in this process's private mount namespace.
func (r *Records) CopyRoot(paths config.Paths, ref string) (env []string, done func(), err error) {
	in, err := r.Lookup(ref)
	if err != nil {
		return nil, nil, err
	}
	if in.Running && in.State.Pid > 0 {
		return []string{JoinMountsEnv + "=" + strconv.Itoa(in.State.Pid)}, func() {}, nil
	}
	dir := r.Path(in.ID)
	if in.Meta.Rootfs != RootfsOverlay {
		return []string{copyChrootEnv + "=" + filepath.Join(dir, "rootfs")}, func() {}, nil
	}
	unlock, err := r.LockImages(false) // the image's layers stay while they are mounted
	if err != nil {
		return nil, nil, err
	}
	cat, err := catalog.Open(paths.GraphRoot, paths.Driver)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	img, err := cat.Lookup(in.Meta.ImageID)
	var layers []*catalog.Layer
	if err == nil {
		layers, err = cat.Layers(img)
	}
	if err != nil {
		unlock()
		return nil, nil, fmt.Errorf("the image of container %s: %w", in.Meta.Name, err)
	}
	opts, odir, err := overlayMount(cat, layers, dir, userns.Current().Rootless, false)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	if err := os.MkdirAll(paths.RunDir, 0o700); err != nil {
		unlock()
		return nil, nil, err
	}
	mnt, err := os.MkdirTemp(paths.RunDir, "cp-")
	if err != nil {
		unlock()
		return nil, nil, err
	}
	env = []string{copyMountEnv + "=" + mnt, copyOverlayEnv + "=" + opts, copyOverlayDirEnv + "=" + odir}
	return env, func() {
		// the helper's mount is in this process's namespace: gone with it in any case
		_ = unix.Unmount(mnt, unix.MNT_DETACH)
		os.Remove(mnt)
		unlock()
	}, nil
}

// EnterCopyRoot makes the container's root this (helper) process's root, as CopyRoot's
// environment says. A running container's mount namespace was joined before Go started.
func EnterCopyRoot() error {
	if os.Getenv(JoinMountsEnv) != "" {
		return os.Chdir("/")
	}
	root := os.Getenv(copyChrootEnv)
	if mnt := os.Getenv(copyMountEnv); mnt != "" {
		// relative lowerdirs (a long list) start from the overlay directory
		if d := os.Getenv(copyOverlayDirEnv); d != "" {
			if err := os.Chdir(d); err != nil {
				return err
			}
		}
		if err := unix.Mount("overlay", mnt, "overlay", 0, os.Getenv(copyOverlayEnv)); err != nil {
			if errors.Is(err, unix.EBUSY) {
				return fmt.Errorf("mount the container's file system: %w (is it being started?)", err)
			}
			return fmt.Errorf("mount the container's file system: %w", err)
		}
		root = mnt
	}
	if root == "" {
		return errors.New("the cp helper was not told where the container's files are")
	}
	if err := unix.Chroot(root); err != nil {
		return fmt.Errorf("enter the container's file system: %w", err)
	}
	return os.Chdir("/")
}
