// Package diff works out what a container's overlay upper directory changes over its
// image's layers: the list of changes `skiff diff` prints, and the layer tar that
// `skiff build` (for RUN steps) and `skiff commit` store.
//
// A container's root is an overlay file system whose lower directories are the image's
// layer directories (top first) and whose upper directory is the container's own. Both
// follow overlay's conventions: a whiteout (a character device with device number 0/0, or
// an empty regular file with an overlay.whiteout xattr) hides the path below it, and an
// opaque directory (an overlay.opaque xattr of "y") hides what the lower layers have
// under it. Overlay's xattrs are read under both the "user." and the "trusted." prefix.
package diff

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Layers is the merged, read-only view of layer directories (top first), as overlay
// shows them.
//
// Names are slash-separated and relative to the root: "." is the root, "etc/passwd" a
// file in it. A name is cleaned as if it were absolute, so it can never leave the
// layers. Symbolic links in the middle of a name are not followed (every component is
// looked up as Lstat would): a name whose parent is a symbolic link, or anything else
// that is not a directory, in the merged view does not exist.
type Layers []string

// node is a name looked up in a stack of layers.
type node struct {
	path string      // host path of the visible (topmost) entry; "" when there is none
	info fs.FileInfo // its Lstat; nil when there is none
	// stack holds, when the entry is a directory, the host directories overlay merges into
	// it, top first: down to the first opaque one, or to a layer where the name is missing
	// a directory (a whiteout or something else).
	stack []string
}

// lookup finds the child name of the directory whose stack is given.
func lookup(stack []string, name string) (node, error) {
	var n node
	for _, dir := range stack {
		p := filepath.Join(dir, name)
		fi, err := os.Lstat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				continue // not in this layer: look below
			}
			return node{}, err
		}
		if isWhiteout(p, fi) {
			break
		}
		if n.info == nil {
			n.path, n.info = p, fi
		}
		if !fi.IsDir() {
			break // a file hides what is below; so does it a directory above it
		}
		n.stack = append(n.stack, p)
		if isOpaque(p) {
			break
		}
	}
	return n, nil
}

// resolve looks name up in the merged view; a missing name is an fs.ErrNotExist error for
// op.
func (l Layers) resolve(op, name string) (node, error) {
	notExist := &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	if len(l) == 0 {
		return node{}, notExist
	}
	fi, err := os.Lstat(l[0])
	if err != nil {
		return node{}, &fs.PathError{Op: op, Path: name, Err: err}
	}
	n := node{path: l[0], info: fi, stack: append([]string(nil), l...)}
	clean := path.Clean("/" + name)
	if clean == "/" {
		return n, nil
	}
	for _, part := range strings.Split(clean[1:], "/") {
		if n.stack == nil {
			return node{}, notExist // the parent is not a directory
		}
		if n, err = lookup(n.stack, part); err != nil {
			return node{}, &fs.PathError{Op: op, Path: name, Err: err}
		}
		if n.info == nil {
			return node{}, notExist
		}
	}
	return n, nil
}

// Lstat returns the visible entry at name, from the topmost layer that has it; its Sys()
// is the *syscall.Stat_t of the file in that layer. It fails with fs.ErrNotExist when no
// layer has name or a whiteout or opaque directory hides it.
func (l Layers) Lstat(name string) (fs.FileInfo, error) {
	n, err := l.resolve("lstat", name)
	if err != nil {
		return nil, err
	}
	return n.info, nil
}

// ReadDir lists the directory name as overlay merges it: the entries of every layer
// down to the first opaque one, the topmost of each name winning, whiteouts hiding what is
// below them and never listed themselves. The entries are sorted by name.
func (l Layers) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := l.resolve("readdir", name)
	if err != nil {
		return nil, err
	}
	if !n.info.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: syscall.ENOTDIR}
	}
	seen := map[string]bool{}
	var out []fs.DirEntry
	for _, dir := range n.stack {
		names, err := readDirNames(dir)
		if err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
		}
		for _, child := range names {
			if seen[child] {
				continue
			}
			p := filepath.Join(dir, child)
			fi, err := os.Lstat(p)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // removed meanwhile
				}
				return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
			}
			seen[child] = true
			if !isWhiteout(p, fi) {
				out = append(out, fs.FileInfoToDirEntry(fi))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// Open opens the regular file name for reading.
func (l Layers) Open(name string) (io.ReadCloser, error) {
	n, err := l.resolve("open", name)
	if err != nil {
		return nil, err
	}
	if !n.info.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("not a regular file")}
	}
	return os.Open(n.path)
}

// Readlink returns the target of the symbolic link name.
func (l Layers) Readlink(name string) (string, error) {
	n, err := l.resolve("readlink", name)
	if err != nil {
		return "", err
	}
	if n.info.Mode()&fs.ModeSymlink == 0 {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: syscall.EINVAL}
	}
	return os.Readlink(n.path)
}

// readDirNames returns the names in the directory p, sorted.
func readDirNames(p string) ([]string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// Overlay's xattrs, under the prefixes it uses unprivileged ("user.", the userxattr mount
// option) and privileged ("trusted.").
var (
	opaqueXattrs   = []string{"user.overlay.opaque", "trusted.overlay.opaque"}
	whiteoutXattrs = []string{"user.overlay.whiteout", "trusted.overlay.whiteout"}
)

// isWhiteout reports whether the file p, whose Lstat is fi, is an overlay whiteout: a
// character device 0/0, or (as newer kernels also accept) an empty regular file with an
// overlay.whiteout xattr.
func isWhiteout(p string, fi fs.FileInfo) bool {
	switch {
	case fi.Mode()&fs.ModeType == fs.ModeDevice|fs.ModeCharDevice:
		st, ok := fi.Sys().(*syscall.Stat_t)
		return ok && st.Rdev == 0
	case fi.Mode().IsRegular() && fi.Size() == 0:
		for _, attr := range whiteoutXattrs {
			if _, err := unix.Lgetxattr(p, attr, nil); err == nil {
				return true
			}
		}
	}
	return false
}

// isOpaque reports whether the overlay directory p hides what the layers below have under
// it.
func isOpaque(p string) bool {
	buf := make([]byte, 4)
	for _, attr := range opaqueXattrs {
		if n, err := unix.Lgetxattr(p, attr, buf); err == nil && n == 1 && buf[0] == 'y' {
			return true
		}
	}
	return false
}

// overlayXattr reports whether the xattr name is one of overlay's own.
func overlayXattr(name string) bool {
	return strings.HasPrefix(name, "user.overlay.") || strings.HasPrefix(name, "trusted.overlay.")
}

// xattrs returns the xattrs of p worth keeping in a layer: all but overlay's and
// security.selinux (which the host labels anew).
func xattrs(p string) (map[string]string, error) {
	list, err := getList(func(b []byte) (int, error) { return unix.Llistxattr(p, b) })
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		return nil, fmt.Errorf("listxattr %s: %w", p, err)
	}
	var out map[string]string
	for _, name := range strings.Split(string(list), "\x00") {
		if name == "" || overlayXattr(name) || name == "security.selinux" {
			continue
		}
		v, err := getList(func(b []byte) (int, error) { return unix.Lgetxattr(p, name, b) })
		if err != nil {
			if errors.Is(err, unix.ENODATA) {
				continue // removed meanwhile
			}
			return nil, fmt.Errorf("getxattr %s %s: %w", p, name, err)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = string(v)
	}
	return out, nil
}

// getList calls a size-probing xattr call (f(nil) returns the size needed) until the
// buffer is large enough.
func getList(f func([]byte) (int, error)) ([]byte, error) {
	for {
		n, err := f(nil)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil
		}
		buf := make([]byte, n+64)
		n, err = f(buf)
		if errors.Is(err, unix.ERANGE) {
			continue // grew meanwhile
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}
