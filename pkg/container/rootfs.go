package container

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/skiff-project/skiff/pkg/catalog"
)

// Rootfs kinds (Meta.Rootfs).
const (
	RootfsOverlay = "overlay" // the container's upper/ over the image's layers
	RootfsCopy    = "copy"    // a copy of a vfs store's top layer in rootfs/
)

// rootfsKind is how a container is made from the store's layers.
func rootfsKind(cat *catalog.Catalog) string {
	if cat.Driver == "vfs" {
		return RootfsCopy
	}
	return RootfsOverlay
}

// prepareRootfs fills a new container's rootfs/ when it is a copy; an overlay needs nothing
// until it is mounted.
func prepareRootfs(cat *catalog.Catalog, layers []*catalog.Layer, dir, kind string) error {
	if kind != RootfsCopy {
		// overlay's root directory has the upper directory's mode: give it the image's
		st, err := os.Stat(cat.LayerDir(layers[0].ID))
		if err != nil {
			return fmt.Errorf("a layer of the image is missing (%w): pull or import it again", err)
		}
		return os.Chmod(filepath.Join(dir, "upper"), st.Mode().Perm())
	}
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		return err
	}
	// a vfs layer's directory holds the whole file system up to it
	out, err := exec.Command("cp", "-a", "--reflink=auto", cat.LayerDir(layers[0].ID)+"/.", filepath.Join(dir, "rootfs")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("copy the image's files: %s: %w", strings.TrimSpace(string(out)), err)
	}
	return nil
}

// overlayMount returns the overlay mount options of a container (its upper/ over the
// image's layers) for skiff-init to mount in the container's mount namespace: the mount is
// never in skiff's or the host's namespace, and goes away with the container. volatile skips
// the syncs of the upper layer (for --rm: its data dies with it). dir, when not "", is the
// directory the options' lowerdirs are relative to (short layer links keep a long list under
// the kernel's one-page limit).
func overlayMount(cat *catalog.Catalog, layers []*catalog.Layer, cdir string, rootless, volatile bool) (opts, dir string, err error) {
	// containers/storage's overlay driver falls back to fuse-overlayfs where the kernel
	// cannot mount overlay here, and records so in the store
	if b, err := os.ReadFile(filepath.Join(cat.Root, cat.Driver, ".has-mount-program")); err == nil && string(bytes.TrimSpace(b)) == "true" {
		return "", "", errors.New("this store mounts layers with fuse-overlayfs, which skiff does not support yet: use a kernel with rootless overlay (5.13 or newer) or --storage-driver vfs with a new --root")
	}
	var extra []string
	if rootless {
		extra = append(extra, "userxattr") // overlay's own xattrs in the user.* namespace
	}
	if volatile {
		extra = append(extra, "volatile")
	}
	upper, work := filepath.Join(cdir, "upper"), filepath.Join(cdir, "work")
	lowers := cat.LayerDirs(layers)
	opts = overlayOptions(lowers, upper, work, extra)
	if len(opts) < unix.Getpagesize()-1 {
		return opts, "", nil
	}
	for i, l := range layers {
		link, err := cat.LayerLink(l.ID)
		if err != nil {
			return "", "", fmt.Errorf("layer %.12s has no short link: %w", l.ID, err)
		}
		lowers[i] = link
	}
	opts = overlayOptions(lowers, upper, work, extra)
	if len(opts) >= unix.Getpagesize()-1 {
		return "", "", fmt.Errorf("the image has too many layers (%d) for one overlay mount", len(layers))
	}
	return opts, filepath.Join(cat.Root, cat.Driver), nil
}

func overlayOptions(lowers []string, upper, work string, extra []string) string {
	o := "lowerdir=" + strings.Join(lowers, ":") + ",upperdir=" + upper + ",workdir=" + work
	if len(extra) > 0 {
		o += "," + strings.Join(extra, ",")
	}
	return o
}
