package diff

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Change is one path the upper directory adds ('A'), changes ('C') or deletes ('D'), as
// `docker diff` prints it: "C /etc", "A /etc/new".
type Change struct {
	Kind byte   // 'A', 'C' or 'D'
	Path string // absolute: "/etc/new"
}

// String returns the change as `docker diff` prints it: "A /etc/new".
func (c Change) String() string { return string(c.Kind) + " " + c.Path }

// Options tunes Changes and WriteLayer.
type Options struct {
	// Epoch, when not nil, clamps the modification time of every tar entry to it (entries
	// newer than Epoch get Epoch; older keep theirs). Reproducible builds pass
	// SOURCE_DATE_EPOCH or the Unix epoch.
	Epoch *time.Time
	// MountPoints are absolute paths in the container where something was mounted over the
	// root (e.g. /proc, /dev, /sys, /etc/hosts, /etc/hostname, /etc/resolv.conf, volume
	// targets). skiff's init creates them in the upper directory when the image lacks them;
	// they are NOT changes: an upper entry at a mount point that is an empty directory or an
	// empty regular file is left out, and everything below a mount point is left out (so a
	// directory at a mount point is always left out, whatever it holds). A
	// directory that is in the upper only because it holds such mount points (its remaining
	// children are all left out) is left out too — unless it is new AND not an ancestor of a
	// mount point, or its mode/uid/gid differs from the lower one.
	MountPoints []string
}

// entry is one path of the upper directory that goes into the changes.
type entry struct {
	rel    string      // slash-separated, relative to the root: "etc/hosts"
	path   string      // host path in the upper directory
	info   fs.FileInfo // its Lstat
	kind   byte        // 'A', 'C' or 'D' (a whiteout)
	opaque bool        // an opaque directory
}

// walker collects the entries of an upper directory.
type walker struct {
	mounts map[string]bool // mount points, relative: "etc/hosts"
}

func newWalker(o Options) *walker {
	w := &walker{mounts: map[string]bool{}}
	for _, m := range o.MountPoints {
		if m = strings.TrimPrefix(path.Clean("/"+m), "/"); m != "" {
			w.mounts[m] = true
		}
	}
	return w
}

// mountBelow reports whether a mount point lies strictly below rel.
func (w *walker) mountBelow(rel string) bool {
	for m := range w.mounts {
		if strings.HasPrefix(m, rel+"/") {
			return true
		}
	}
	return false
}

// collect returns the entries of upper over lowers (top first), in walk order.
func collect(upper string, lowers []string, o Options) ([]entry, error) {
	fi, err := os.Lstat(upper)
	if err != nil {
		return nil, fmt.Errorf("upper directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("upper directory %s: not a directory", upper)
	}
	w := newWalker(o)
	root := node{stack: append([]string(nil), lowers...)}
	out, _, err := w.children("", upper, root)
	return out, err
}

// children returns the entries below the upper directory p (relative name rel, "" for
// the root), whose lower counterpart is lower, and how many entries p has.
func (w *walker) children(rel, p string, lower node) ([]entry, int, error) {
	names, err := readDirNames(p)
	if err != nil {
		return nil, 0, fmt.Errorf("diff /%s: %w", rel, err)
	}
	var out []entry
	for _, name := range names {
		crel := name
		if rel != "" {
			crel = rel + "/" + name
		}
		cp := filepath.Join(p, name)
		fi, err := os.Lstat(cp)
		if err != nil {
			return nil, 0, fmt.Errorf("diff /%s: %w", crel, err)
		}
		var cl node
		if lower.stack != nil {
			if cl, err = lookup(lower.stack, name); err != nil {
				return nil, 0, fmt.Errorf("diff /%s: lower layers: %w", crel, err)
			}
		}
		sub, err := w.visit(crel, cp, fi, cl)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, sub...)
	}
	return out, len(names), nil
}

// visit returns the entries for the upper path p (relative name rel, Lstat fi, lower
// counterpart lower): p's own first, then those below it; none when p is left out.
func (w *walker) visit(rel, p string, fi fs.FileInfo, lower node) ([]entry, error) {
	e := entry{rel: rel, path: p, info: fi, kind: 'A'}
	if lower.info != nil {
		e.kind = 'C'
	}
	if isWhiteout(p, fi) {
		e.kind = 'D'
		return []entry{e}, nil
	}
	mount := w.mounts[rel]
	switch {
	case fi.Mode()&fs.ModeSocket != 0:
		return nil, nil // cannot be stored in a layer
	case mount && fi.Mode().IsRegular() && fi.Size() == 0:
		return nil, nil
	case !fi.IsDir():
		return []entry{e}, nil
	}
	if mount {
		// Everything below a mount point is left out, which leaves the directory empty.
		return nil, nil
	}
	e.opaque = isOpaque(p)
	below, n, err := w.children(rel, p, lower)
	if err != nil {
		return nil, err
	}
	if n > 0 && len(below) == 0 && !e.opaque && !w.keepBare(rel, fi, e.kind, lower) {
		return nil, nil // only holds mount points (or sockets)
	}
	return append([]entry{e}, below...), nil
}

// keepBare reports whether a directory whose entries are all left out still is a change:
// when it is new and not on the way to a mount point, or when its mode, owner or group
// differs from the lower one.
func (w *walker) keepBare(rel string, fi fs.FileInfo, kind byte, lower node) bool {
	if kind == 'A' {
		return !w.mountBelow(rel)
	}
	up, ok1 := fi.Sys().(*syscall.Stat_t)
	lo, ok2 := lower.info.Sys().(*syscall.Stat_t)
	if !ok1 || !ok2 {
		return true
	}
	return up.Mode != lo.Mode || up.Uid != lo.Uid || up.Gid != lo.Gid
}

// Changes lists the changes of upper over lowers (top first), sorted by path. A path in
// upper that does not exist in lowers is 'A'; one that exists below is 'C' (directories
// that were only copied up because something below them changed are 'C' as well, as
// docker lists them); a whiteout is 'D'. An opaque directory that existed below is 'C',
// and the lower entries it hides are not listed as 'D'. Entries below an 'A' directory are
// listed too. Sockets are skipped, and o.MountPoints are applied (see Options).
func Changes(upper string, lowers []string, o Options) ([]Change, error) {
	ents, err := collect(upper, lowers, o)
	if err != nil {
		return nil, err
	}
	out := make([]Change, 0, len(ents))
	for _, e := range ents {
		out = append(out, Change{Kind: e.kind, Path: "/" + e.rel})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Names of overlay's markers in a layer tar.
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// WriteLayer writes the upper directory as an uncompressed OCI/docker layer tar to w,
// with the same entries Changes lists (lowers decide nothing else but which directories
// holding only mount points are left out; see Options):
//   - entries in lexical order of their names, so parents come before children and the
//     output is deterministic; names have no leading "/" or "./", directories end with
//     "/", and the root itself is not written;
//   - a whiteout is an empty regular file ".wh.<name>"; an opaque directory is its
//     directory entry directly followed by "<dir>/.wh..wh..opq";
//   - numeric uid/gid as stat reports them (no user or group names), the mode including
//     setuid/setgid/sticky, symbolic links, hard links between files of the upper (the
//     second and later links are TypeLink entries naming the first), character and block
//     devices other than whiteouts, and fifos; sockets are skipped;
//   - xattrs other than overlay's (user.overlay.*, trusted.overlay.*) and
//     security.selinux as PAX "SCHILY.xattr.<name>" records;
//   - modification times truncated to whole seconds and clamped by o.Epoch; no access or
//     change times, so the same upper gives the same bytes.
func WriteLayer(w io.Writer, upper string, lowers []string, o Options) error {
	ents, err := collect(upper, lowers, o)
	if err != nil {
		return err
	}
	type named struct {
		e    *entry
		name string // the tar name, without a directory's trailing slash
	}
	list := make([]named, len(ents))
	for i := range ents {
		e := &ents[i]
		list[i] = named{e, e.rel}
		if e.kind == 'D' {
			dir, base := path.Split(e.rel)
			list[i].name = dir + whiteoutPrefix + base
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })

	tw := tar.NewWriter(w)
	links := map[[2]uint64]string{} // dev/ino of regular files with more than one link: first name
	for _, n := range list {
		if err := writeEntry(tw, n.e, n.name, links, o); err != nil {
			return fmt.Errorf("diff /%s: %w", n.e.rel, err)
		}
	}
	return tw.Close()
}

// writeEntry writes e as name (without the directory's trailing slash).
func writeEntry(tw *tar.Writer, e *entry, name string, links map[[2]uint64]string, o Options) error {
	st, ok := e.info.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("no stat data")
	}
	hdr := &tar.Header{
		Name:    name,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: clamp(e.info.ModTime(), o.Epoch),
	}
	if e.kind == 'D' {
		hdr.Typeflag = tar.TypeReg
		hdr.Mode = 0o600
		return tw.WriteHeader(hdr)
	}
	mode := e.info.Mode()
	switch {
	case mode.IsDir():
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
	case mode.IsRegular():
		hdr.Typeflag = tar.TypeReg
		if st.Nlink > 1 {
			id := [2]uint64{uint64(st.Dev), st.Ino}
			if first, ok := links[id]; ok {
				hdr.Typeflag = tar.TypeLink
				hdr.Linkname = first
				return tw.WriteHeader(hdr)
			}
			links[id] = name
		}
		hdr.Size = e.info.Size()
	case mode&fs.ModeSymlink != 0:
		hdr.Typeflag = tar.TypeSymlink
		target, err := os.Readlink(e.path)
		if err != nil {
			return err
		}
		hdr.Linkname = target
	case mode&fs.ModeDevice != 0:
		hdr.Typeflag = tar.TypeBlock
		if mode&fs.ModeCharDevice != 0 {
			hdr.Typeflag = tar.TypeChar
		}
		hdr.Devmajor = int64(unix.Major(uint64(st.Rdev)))
		hdr.Devminor = int64(unix.Minor(uint64(st.Rdev)))
	case mode&fs.ModeNamedPipe != 0:
		hdr.Typeflag = tar.TypeFifo
	default:
		return fmt.Errorf("unsupported file type %v", mode.Type())
	}
	attrs, err := xattrs(e.path)
	if err != nil {
		return err
	}
	if len(attrs) > 0 {
		hdr.Format = tar.FormatPAX
		hdr.PAXRecords = make(map[string]string, len(attrs))
		for k, v := range attrs {
			hdr.PAXRecords["SCHILY.xattr."+k] = v
		}
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
		f, err := os.Open(e.path)
		if err != nil {
			return err
		}
		n, err := io.Copy(tw, io.LimitReader(f, hdr.Size))
		f.Close()
		if err != nil {
			return err
		}
		if n != hdr.Size {
			return fmt.Errorf("file shrank while writing it: %d of %d bytes", n, hdr.Size)
		}
	}
	if e.opaque {
		return tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeReg,
			Name:     name + "/" + opaqueMarker,
			Mode:     int64(st.Mode & 0o777),
			Uid:      int(st.Uid),
			Gid:      int(st.Gid),
			ModTime:  hdr.ModTime,
		})
	}
	return nil
}

// clamp truncates t to whole seconds and, when epoch is not nil, clamps it to epoch.
func clamp(t time.Time, epoch *time.Time) time.Time {
	t = time.Unix(t.Unix(), 0)
	if epoch != nil {
		if e := time.Unix(epoch.Unix(), 0); t.After(e) {
			return e
		}
	}
	return t
}
