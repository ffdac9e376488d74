package build

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/skiff-project/skiff/pkg/catalog"
	"github.com/skiff-project/skiff/pkg/container"
	"github.com/skiff-project/skiff/pkg/diff"
	"github.com/skiff-project/skiff/pkg/image"
	"github.com/skiff-project/skiff/pkg/spec"
	"github.com/skiff-project/skiff/pkg/store"
)

// containerFS is a container's own layer (its overlay's upper directory) and its image's
// layer directories, top first.
type containerFS struct {
	info   container.Info
	img    *catalog.Image
	layers []*catalog.Layer
	upper  string
	lowers []string
}

func openContainer(st *store.Store, ref string) (*containerFS, error) {
	recs := container.OpenRecords(st.Paths.GraphRoot)
	in, err := recs.Lookup(ref)
	if err != nil {
		return nil, err
	}
	if in.Meta.Rootfs != container.RootfsOverlay {
		return nil, fmt.Errorf("container %s has a copied root (vfs storage driver): commit, diff and export need the overlay driver", ref)
	}
	cat, err := st.Catalog()
	if err != nil {
		return nil, err
	}
	img, err := cat.Lookup(in.Meta.ImageID)
	if err != nil {
		return nil, fmt.Errorf("the image of container %s: %w", ref, err)
	}
	layers, err := cat.Layers(img)
	if err != nil {
		return nil, err
	}
	return &containerFS{info: in, img: img, layers: layers, upper: filepath.Join(recs.Path(in.ID), "upper"), lowers: cat.LayerDirs(layers)}, nil
}

// containerMounts are the paths skiff mounts in every container; what skiff-init made for
// them in the container's layer is no change of the container's.
func containerMounts(in container.Info, cfg image.ImageConfig) []string {
	points := append([]string{}, mountPoints...)
	for v := range cfg.Volumes {
		points = append(points, v)
	}
	if in.Meta.Run != nil {
		// run keeps every volume as the bind mount it became (HOST:CTR[:OPTS])
		for _, v := range in.Meta.Run.Spec.Volumes {
			if m, err := spec.ParseVolume(v); err == nil {
				points = append(points, m.Destination)
			}
		}
		for _, t := range in.Meta.Run.Spec.Tmpfs {
			if m, err := spec.ParseTmpfs(t); err == nil {
				points = append(points, m.Destination)
			}
		}
	}
	return points
}

// ContainerDiff lists what a container changed in its image, as docker diff.
func ContainerDiff(st *store.Store, ref string) ([]diff.Change, error) {
	c, err := openContainer(st, ref)
	if err != nil {
		return nil, err
	}
	return diff.Changes(c.upper, c.lowers, diff.Options{MountPoints: containerMounts(c.info, c.img.Config.Config)})
}

// ImageDiff lists what an image's top layer changes in the layers below it.
func ImageDiff(st *store.Store, ref string) ([]diff.Change, error) {
	cat, err := st.Catalog()
	if err != nil {
		return nil, err
	}
	img, err := cat.Lookup(ref)
	if err != nil {
		return nil, err
	}
	layers, err := cat.Layers(img)
	if err != nil {
		return nil, err
	}
	return diff.Changes(cat.LayerDir(layers[0].ID), cat.LayerDirs(layers[1:]), diff.Options{})
}

// CommitOptions is one skiff commit.
type CommitOptions struct {
	Changes []string // -c: Dockerfile instructions for the configuration (CMD, ENV, ...)
	Message string   // -m
	Author  string   // -a
	Names   []string // full references
}

// Commit makes an image of a container: its image's layers and one more with what it changed.
func Commit(st *store.Store, ref string, o CommitOptions) (string, error) {
	c, err := openContainer(st, ref)
	if err != nil {
		return "", err
	}
	cfg := cloneConfig(c.img.Config)
	for _, ch := range o.Changes {
		if err := image.ApplyChange(&cfg.Config, ch); err != nil {
			return "", err
		}
	}
	refs := layerRefs(c.layers)
	now := time.Now().UTC().Truncate(time.Second)
	layer, err := putLayer(st, refs, func(w io.Writer) error {
		return diff.WriteLayer(w, c.upper, c.lowers, diff.Options{MountPoints: containerMounts(c.info, c.img.Config.Config)})
	})
	if err != nil {
		return "", err
	}
	refs = append(refs, *layer)
	cfg.Created = &now
	if o.Author != "" {
		cfg.Author = o.Author
	}
	cfg.History = append(cfg.History, image.History{Created: &now, CreatedBy: strings.Join(c.info.Meta.Command, " "), Author: o.Author, Comment: o.Message})
	img, err := storeImage(st, cfg, refs, o.Names)
	if err != nil {
		return "", err
	}
	return img.ID, nil
}

// Export writes a container's whole file system, as it sees it, as a tar archive to w.
func Export(st *store.Store, ref string, w io.Writer) error {
	c, err := openContainer(st, ref)
	if err != nil {
		return err
	}
	merged := diff.Layers(append([]string{c.upper}, c.lowers...))
	tw := tar.NewWriter(w)
	links := map[[2]uint64]string{}
	var walk func(name string) error
	walk = func(name string) error {
		ents, err := merged.ReadDir(name)
		if err != nil {
			return fmt.Errorf("export %s: %w", "/"+name, err)
		}
		for _, e := range ents {
			p := path.Join(name, e.Name())
			fi, err := merged.Lstat(p)
			if err != nil {
				return fmt.Errorf("export /%s: %w", p, err)
			}
			hdr, err := tar.FileInfoHeader(fi, "")
			if err != nil {
				return fmt.Errorf("export /%s: %w", p, err)
			}
			hdr.Name = p
			hdr.Uname, hdr.Gname = "", ""
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
				if fi.Mode().IsRegular() && st.Nlink > 1 {
					key := [2]uint64{st.Dev, st.Ino}
					if first, ok := links[key]; ok {
						hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
					} else {
						links[key] = p
					}
				}
			}
			switch {
			case fi.IsDir():
				hdr.Name += "/"
			case fi.Mode()&fs.ModeSymlink != 0:
				if hdr.Linkname, err = merged.Readlink(p); err != nil {
					return err
				}
			}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if hdr.Typeflag == tar.TypeReg {
				r, err := merged.Open(p)
				if err != nil {
					return fmt.Errorf("export /%s: %w", p, err)
				}
				_, err = io.Copy(tw, r)
				r.Close()
				if err != nil {
					return fmt.Errorf("export /%s: %w", p, err)
				}
			}
			if fi.IsDir() {
				if err := walk(p); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk("."); err != nil {
		return err
	}
	return tw.Close()
}
