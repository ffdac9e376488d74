package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// IDs is a numeric user and group.
type IDs struct{ UID, GID int }

// UnpackOptions tune Unpack.
type UnpackOptions struct {
	// From and To rename entries: an entry named From, or From/..., is
	// extracted as To, or To/...; hard links' targets are renamed alike.
	// From "" renames nothing; From "." puts every entry below To. To "."
	// puts From's contents into the directory itself.
	From, To string
	// Chown, when set, owns every entry extracted; nil keeps the numeric
	// ids of the stream (docker cp -a).
	Chown *IDs
}

// Unpack extracts the tar stream r into the existing directory dir.
//
// Nothing is written outside dir: leading slashes of names are dropped,
// names that lead out with ".." are an error, and every file operation is
// confined to dir (os.Root), so that symlinks, in the stream or already
// there, never lead out of it either; symlinks are extracted as they are.
//
// A directory merges into one already there; any other entry replaces
// what is there, unless one of the two is a directory and the other not,
// which is an error (as docker cp); an entry for dir itself ("./") leaves
// it as it is. Owners are set before modes, so setuid and setgid bits
// survive. Directories get their mode and mtime
// once everything in them is extracted. Devices that cannot be created
// for lack of privilege (a user namespace) are left out.
func Unpack(r io.Reader, dir string, o UnpackOptions) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return pathError(dir, err)
	}
	defer root.Close()
	u := &unpacker{root: root, dir: dir, o: o}
	if o.From != "" {
		u.o.From, u.o.To = path.Clean(o.From), path.Clean(o.To)
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) { // names are checked here
			return fmt.Errorf("reading tar stream: %w", err)
		}
		if err := u.entry(h, tr); err != nil {
			return err
		}
	}
	return u.finishDirs()
}

// unpacker extracts one stream.
type unpacker struct {
	root *os.Root
	dir  string
	o    UnpackOptions
	dirs []*tar.Header // directories whose mode and mtime are yet to be set
}

// entry extracts one entry, whose contents r holds.
func (u *unpacker) entry(h *tar.Header, r io.Reader) error {
	switch h.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
	default:
		return fmt.Errorf("%s: unsupported tar entry type %q", h.Name, h.Typeflag)
	}
	name, err := u.name(h.Name)
	if err != nil {
		return err
	}
	var target string
	if h.Typeflag == tar.TypeLink {
		if target, err = u.name(h.Linkname); err != nil || target == name {
			return err
		}
	}
	exists, err := u.prepare(name, h.Typeflag == tar.TypeDir)
	if err != nil {
		return err
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return u.mkdir(name, h, exists)
	case tar.TypeReg:
		return u.file(name, h, r)
	case tar.TypeSymlink:
		return u.symlink(name, h)
	case tar.TypeLink:
		return u.link(name, target)
	default: // tar.TypeChar, tar.TypeBlock, tar.TypeFifo
		return u.mknod(name, h)
	}
}

// name is where the entry named raw goes, relative to the directory.
func (u *unpacker) name(raw string) (string, error) {
	n := path.Clean(strings.TrimLeft(raw, "/"))
	if n == ".." || strings.HasPrefix(n, "../") {
		return "", fmt.Errorf("%s: tar entry leads outside %s", raw, u.dir)
	}
	from, to := u.o.From, u.o.To
	switch {
	case from == "":
		return n, nil
	case from == ".":
		return path.Join(to, n), nil
	case n == from:
		return to, nil
	}
	if rest, ok := strings.CutPrefix(n, from+"/"); ok {
		return path.Join(to, rest), nil
	}
	return n, nil
}

// prepare makes room for name: it creates missing parent directories and
// removes a non-directory in the way. It reports whether a directory is
// there already, to merge into.
func (u *unpacker) prepare(name string, isDir bool) (exists bool, err error) {
	if err := u.mkdirAll(path.Dir(name)); err != nil {
		return false, err
	}
	fi, err := u.root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, u.error(name, err)
	case fi.IsDir() && !isDir:
		return false, fmt.Errorf("cannot overwrite directory %s with non-directory", u.path(name))
	case !fi.IsDir() && isDir:
		return false, fmt.Errorf("cannot overwrite non-directory %s with directory", u.path(name))
	case fi.IsDir():
		return true, nil
	}
	return false, u.error(name, u.root.Remove(name))
}

// mkdirAll creates the directory name and its missing parents, with mode
// 0755 and owned as Chown says, for a stream that leaves them out.
func (u *unpacker) mkdirAll(name string) error {
	fi, err := u.root.Stat(name)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("%s: not a directory", u.path(name))
	case !errors.Is(err, fs.ErrNotExist):
		return u.error(name, err)
	}
	if err := u.mkdirAll(path.Dir(name)); err != nil {
		return err
	}
	if err := u.root.Mkdir(name, 0o755); err != nil {
		return u.error(name, err)
	}
	if u.o.Chown != nil {
		return u.lchown(name, u.o.Chown.UID, u.o.Chown.GID)
	}
	return nil
}

// mkdir creates a directory, or merges into the one there; its mode and
// mtime wait for finishDirs. The destination itself is left as it is.
func (u *unpacker) mkdir(name string, h *tar.Header, exists bool) error {
	if name == "." {
		return nil
	}
	if !exists {
		if err := u.root.Mkdir(name, 0o700); err != nil {
			return u.error(name, err)
		}
	}
	if err := u.chown(name, h); err != nil {
		return err
	}
	h.Name = name
	u.dirs = append(u.dirs, h)
	return nil
}

// finishDirs sets the directories' modes and mtimes, deepest first.
func (u *unpacker) finishDirs() error {
	for i := len(u.dirs) - 1; i >= 0; i-- {
		h := u.dirs[i]
		if err := u.chmod(h.Name, h); err != nil {
			return err
		}
		if err := u.chtimes(h.Name, h); err != nil {
			return err
		}
	}
	return nil
}

// file creates a regular file.
func (u *unpacker) file(name string, h *tar.Header, r io.Reader) error {
	f, err := u.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return u.error(name, err)
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return u.error(name, err)
	}
	return u.meta(name, h)
}

// symlink creates a symbolic link; its target is not checked, since every
// operation of Unpack is confined to the directory anyway.
func (u *unpacker) symlink(name string, h *tar.Header) error {
	if err := u.root.Symlink(h.Linkname, name); err != nil {
		return u.error(name, err)
	}
	if err := u.chown(name, h); err != nil {
		return err
	}
	return u.chtimes(name, h)
}

// link makes name a hard link to target, an entry extracted before.
func (u *unpacker) link(name, target string) error {
	if err := u.root.Link(target, name); err != nil {
		return fmt.Errorf("%s: hard link to %s: %w", u.path(name), target, unwrap(err))
	}
	return nil
}

// mknod creates a fifo or a device; a device that the kernel does not let
// us create (EPERM: in a user namespace) is left out.
func (u *unpacker) mknod(name string, h *tar.Header) error {
	mode := uint32(unix.S_IFIFO)
	switch h.Typeflag {
	case tar.TypeChar:
		mode = unix.S_IFCHR
	case tar.TypeBlock:
		mode = unix.S_IFBLK
	}
	dev := int(unix.Mkdev(uint32(h.Devmajor), uint32(h.Devminor)))
	err := u.at(name, func(fd int, base string) error {
		return unix.Mknodat(fd, base, mode|0o600, dev)
	})
	if errors.Is(err, unix.EPERM) && h.Typeflag != tar.TypeFifo {
		return nil
	}
	if err != nil {
		return u.error(name, err)
	}
	return u.meta(name, h)
}

// meta sets the owner, mode and mtime of a new non-directory.
func (u *unpacker) meta(name string, h *tar.Header) error {
	if err := u.chown(name, h); err != nil {
		return err
	}
	if err := u.chmod(name, h); err != nil {
		return err
	}
	return u.chtimes(name, h)
}

// chown gives name the owner the options ask for.
func (u *unpacker) chown(name string, h *tar.Header) error {
	if c := u.o.Chown; c != nil {
		return u.lchown(name, c.UID, c.GID)
	}
	return u.lchown(name, h.Uid, h.Gid)
}

// lchown changes name's owner; a symlink's own.
func (u *unpacker) lchown(name string, uid, gid int) error {
	err := u.root.Lchown(name, uid, gid)
	if errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("%s: cannot chown to %d:%d: uid or gid not mapped in the user namespace", u.path(name), uid, gid)
	}
	if err != nil {
		return fmt.Errorf("%s: cannot chown to %d:%d: %w", u.path(name), uid, gid, unwrap(err))
	}
	return nil
}

// chmod sets name's permission bits, setuid, setgid and sticky included,
// after chown (which clears setuid and setgid).
func (u *unpacker) chmod(name string, h *tar.Header) error {
	const bits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
	return u.error(name, u.root.Chmod(name, h.FileInfo().Mode()&bits))
}

// chtimes sets name's mtime and atime (the mtime when the stream has
// none), not following a symlink.
func (u *unpacker) chtimes(name string, h *tar.Header) error {
	atime := h.AccessTime
	if atime.IsZero() {
		atime = h.ModTime
	}
	ts := []unix.Timespec{timespec(atime), timespec(h.ModTime)}
	return u.error(name, u.at(name, func(fd int, base string) error {
		return unix.UtimesNanoAt(fd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
	}))
}

func timespec(t time.Time) unix.Timespec {
	return unix.NsecToTimespec(t.UnixNano())
}

// at calls fn with a descriptor of name's parent directory, opened within
// the root, and name's last element: for the *at system calls that os.Root
// does not offer.
func (u *unpacker) at(name string, fn func(fd int, base string) error) error {
	d, err := u.root.Open(path.Dir(name))
	if err != nil {
		return err
	}
	defer d.Close()
	conn, err := d.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := conn.Control(func(fd uintptr) { ferr = fn(int(fd), path.Base(name)) }); err != nil {
		return err
	}
	return ferr
}

// path is name as the user knows it.
func (u *unpacker) path(name string) string {
	return filepath.Join(u.dir, name)
}

// error is err about name, in one line, or nil.
func (u *unpacker) error(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", u.path(name), unwrap(err))
}

// unwrap drops the system call and path that os errors carry.
func unwrap(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}
