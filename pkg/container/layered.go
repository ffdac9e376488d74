package container

import (
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// layeredFiles reads a file of the container's root file system straight from the image's
// layer directories (top first), the way overlay would show it, without mounting anything:
// skiff needs the image's /etc/passwd and /etc/group before skiff-init mounts the root in the
// container's own mount namespace. It follows overlay's rules for whiteouts (a 0/0 character
// device hides what is below) and opaque directories (an overlay.opaque xattr of "y" hides
// the lower layers' entries). A symbolic link on the way is resolved inside the layers too.
type layeredFiles []string

var errLayeredLoop = errors.New("too many symbolic links")

func (l layeredFiles) ReadFile(name string) ([]byte, error) {
	p := path.Clean("/" + name)
	for hops := 0; hops < 40; hops++ {
		b, link, err := l.lookup(p)
		if err != nil || link == "" {
			return b, err
		}
		p = link
	}
	return nil, errLayeredLoop
}

// lookup finds p in the layers; when a component is a symbolic link it returns the path the
// link leads to instead.
func (l layeredFiles) lookup(p string) ([]byte, string, error) {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for _, dir := range l {
		cur := dir
		hidden := false // an opaque directory on the way hides the layers below
		for i, part := range parts {
			cur = filepath.Join(cur, part)
			var st unix.Stat_t
			if err := unix.Lstat(cur, &st); err != nil {
				break // not in this layer: look below
			}
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFCHR:
				if st.Rdev == 0 {
					return nil, "", os.ErrNotExist // whiteout
				}
				return nil, "", errors.New(p + " is not a regular file")
			case unix.S_IFLNK:
				target, err := os.Readlink(cur)
				if err != nil {
					return nil, "", err
				}
				rest := path.Join(parts[i+1:]...)
				base := "/" + path.Join(parts[:i]...)
				if path.IsAbs(target) {
					return nil, path.Join(target, rest), nil
				}
				return nil, path.Join(base, target, rest), nil
			case unix.S_IFDIR:
				if i == len(parts)-1 {
					return nil, "", errors.New(p + " is a directory")
				}
				if opaque(cur) {
					hidden = true
				}
				continue
			case unix.S_IFREG:
				if i != len(parts)-1 {
					return nil, "", os.ErrNotExist
				}
				f, err := os.Open(cur)
				if err != nil {
					return nil, "", err
				}
				defer f.Close()
				b, err := io.ReadAll(io.LimitReader(f, 4<<20))
				return b, "", err
			default:
				return nil, "", os.ErrNotExist
			}
		}
		if hidden {
			return nil, "", os.ErrNotExist
		}
	}
	return nil, "", os.ErrNotExist
}

// opaque reports whether an overlay directory hides what lower layers have under it.
func opaque(dir string) bool {
	buf := make([]byte, 4)
	for _, attr := range []string{"user.overlay.opaque", "trusted.overlay.opaque"} {
		if n, err := unix.Lgetxattr(dir, attr, buf); err == nil && n == 1 && buf[0] == 'y' {
			return true
		}
	}
	return false
}
