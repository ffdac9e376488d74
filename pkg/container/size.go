package container

import (
	"os"
	"path/filepath"
	"syscall"

	"github.com/skiff-project/skiff/pkg/catalog"
)

// SizeRw is the size of what a container wrote, docker's SizeRw: the apparent size of the
// files (not directories) of its own layer, a hard-linked file counted once. For an overlay
// that is its upper/ directory; for a vfs copy, the files of rootfs/ that are not the image's
// as it was copied (new, or changed in type, mode, size or time), as docker's naive diff finds
// them. cat finds the image's files of a copy; without it a copy counts whole.
func (r *Records) SizeRw(in Info, cat *catalog.Catalog) int64 {
	dir := r.Path(in.ID)
	if in.Meta.Rootfs != RootfsCopy {
		return DirSize(filepath.Join(dir, "upper"))
	}
	base := ""
	if cat != nil {
		if img, err := cat.Lookup(in.Meta.ImageID); err == nil && img.TopLayer != "" {
			base = cat.LayerDir(img.TopLayer)
		}
	}
	return treeSize(filepath.Join(dir, "rootfs"), base)
}

// DirSize is the apparent size of the files under dir (symbolic links, devices and the like
// included; directories not; a hard-linked file once), as docker counts a layer or a volume.
// What cannot be read is not counted.
func DirSize(dir string) int64 { return treeSize(dir, "") }

// treeSize sums the sizes under dir of the files that differ from their namesakes under base
// ("" counts them all).
func treeSize(dir, base string) int64 {
	seen := map[uint64]bool{}
	var size int64
	var walk func(rel string)
	walk = func(rel string) {
		f, err := os.Open(filepath.Join(dir, rel))
		if err != nil {
			return
		}
		names, _ := f.Readdirnames(-1)
		f.Close()
		for _, n := range names {
			p := filepath.Join(rel, n)
			var st syscall.Stat_t
			if syscall.Lstat(filepath.Join(dir, p), &st) != nil {
				continue
			}
			if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
				walk(p)
				continue
			}
			if st.Nlink > 1 {
				if seen[st.Ino] {
					continue
				}
				seen[st.Ino] = true
			}
			if base != "" && same(&st, filepath.Join(base, p)) {
				continue
			}
			size += st.Size
		}
	}
	walk("")
	return size
}

// same reports whether the file at p looks like the one st describes (the copy cp -a made).
func same(st *syscall.Stat_t, p string) bool {
	var o syscall.Stat_t
	if syscall.Lstat(p, &o) != nil {
		return false
	}
	return o.Mode == st.Mode && o.Size == st.Size && o.Mtim == st.Mtim
}
