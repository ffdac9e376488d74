package build

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// CopySpec is one COPY or ADD instruction, its arguments expanded.
type CopySpec struct {
	// Sources are the source paths as written (after ARG/ENV expansion), relative to the
	// source's root (a leading "/" means the root); they may hold path.Match globs.
	Sources []string
	// Dest is the destination as written; a relative one is relative to WorkDir. A Dest
	// ending in "/" (or ".") is a directory.
	Dest string
	// WorkDir is the image's WORKDIR; "" means "/".
	WorkDir string
	// Chown is --chown, resolved to numbers; nil gives 0:0, or with KeepOwner the source's.
	Chown *Owner
	// KeepOwner keeps the source's uid and gid when Chown is nil (COPY --from).
	KeepOwner bool
	// Chmod is --chmod: the mode of every file and directory copied (not of links).
	Chmod *fs.FileMode
	// Extract is ADD's: a source file that is a tar archive (plain, gzip, bzip2 or xz,
	// recognised by content, not name) is unpacked into Dest instead of copied.
	Extract bool
	// Epoch, when set, caps every entry's mtime (SOURCE_DATE_EPOCH), for reproducible layers.
	Epoch *time.Time
}

// Owner is a numeric uid and gid.
type Owner struct{ UID, GID int }

// WriteCopy writes the layer one COPY or ADD makes, as an uncompressed tar, to w, and returns
// its digest ("sha256:" and the hex of the tar's bytes). Docker's rules apply: a source
// directory copies its contents into Dest; a single file goes to Dest/NAME when Dest ends in
// "/", else is renamed Dest; several sources (or a glob matching several) need a Dest ending
// in "/". The missing parents of what is copied are written as directories 0755, owned by
// 0:0. Entries come in path order, with numeric owners, no user or group names, no atime or
// ctime, and mtimes in whole seconds capped by Epoch, so the same input gives the same bytes.
// Symbolic links are copied as links.
func WriteCopy(w io.Writer, src SourceFS, s CopySpec) (digest string, err error) {
	op := "COPY"
	if s.Extract {
		op = "ADD"
	}
	matches, err := expandSources(src, s.Sources, op)
	if err != nil {
		return "", err
	}
	dest, destIsDir := copyDest(s)
	if len(matches) > 1 && !destIsDir {
		return "", fmt.Errorf("%s with more than one source needs a destination ending in /: write %s/", op, strings.TrimRight(s.Dest, "/"))
	}
	l := &copyTar{s: s, op: op, src: src, entries: map[string]*tarEntry{}, archived: map[string]*tarEntry{}}
	defer l.close()
	for _, m := range matches {
		switch {
		case m.fi.IsDir():
			err = l.addTree(m.name, dest, m.fi)
		case s.Extract && m.fi.Mode().IsRegular() && unpackable(src, m.name):
			var done bool
			if done, err = l.extract(m.name, dest); err == nil && !done {
				err = l.addOne(m.name, fileDest(dest, destIsDir, m.name), m.fi)
			}
		default:
			err = l.addOne(m.name, fileDest(dest, destIsDir, m.name), m.fi)
		}
		if err != nil {
			return "", err
		}
	}
	if err := l.addParents(); err != nil {
		return "", err
	}
	h := sha256.New()
	if err := l.write(io.MultiWriter(w, h)); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// SourcesDigest returns a digest of the names, types, modes, owners, link targets and contents
// of what sources (globs expanded; a Context's ignored files are not seen) select in src,
// without their mtimes: the build cache reuses a COPY step when it is unchanged.
func SourcesDigest(src SourceFS, sources []string) (string, error) {
	matches, err := expandSources(src, sources, "COPY")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	var walk func(name string, fi fs.FileInfo) error
	walk = func(name string, fi fs.FileInfo) error {
		uid, gid, rdev := statIDs(fi)
		fmt.Fprintf(h, "%q %s %d %d %d", name, fi.Mode(), uid, gid, rdev)
		switch {
		case fi.Mode().IsRegular():
			f, err := src.Open(name)
			if err != nil {
				return fmt.Errorf("COPY failed: %w", err)
			}
			fh := sha256.New()
			n, err := io.Copy(fh, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("COPY failed: reading %s: %w", name, unwrapPath(err))
			}
			fmt.Fprintf(h, " %d %x", n, fh.Sum(nil))
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := src.Readlink(name)
			if err != nil {
				return fmt.Errorf("COPY failed: %w", err)
			}
			fmt.Fprintf(h, " -> %q", target)
		}
		h.Write([]byte{'\n'})
		if !fi.IsDir() {
			return nil
		}
		es, err := src.ReadDir(name)
		if err != nil {
			return fmt.Errorf("COPY failed: %w", err)
		}
		for _, e := range es {
			child := path.Join(name, e.Name())
			cfi, err := src.Lstat(child)
			if err != nil {
				return fmt.Errorf("COPY failed: %w", err)
			}
			if err := walk(child, cfi); err != nil {
				return err
			}
		}
		return nil
	}
	for _, m := range matches {
		fmt.Fprintf(h, "source %q\n", m.name)
		if err := walk(m.name, m.fi); err != nil {
			return "", err
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

type sourceMatch struct {
	name string
	fi   fs.FileInfo
}

// expandSources cleans the sources and expands their globs, in order.
func expandSources(src SourceFS, sources []string, op string) ([]sourceMatch, error) {
	where := "source"
	if _, ok := src.(*Context); ok {
		where = "build context"
	}
	if len(sources) == 0 {
		return nil, fmt.Errorf("%s failed: no source given: name at least one file", op)
	}
	var out []sourceMatch
	for _, s := range sources {
		n, ok := cleanName(s)
		if !ok {
			return nil, fmt.Errorf("%s failed: forbidden path outside the %s: %s: name a path inside it", op, where, s)
		}
		if !strings.ContainsAny(n, `*?[\`) {
			fi, err := src.Lstat(n)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
					return nil, fmt.Errorf("%s failed: file not found in %s: %s: check the name and .dockerignore", op, where, s)
				}
				return nil, fmt.Errorf("%s failed: %s: %w", op, s, unwrapPath(err))
			}
			out = append(out, sourceMatch{n, fi})
			continue
		}
		if _, err := path.Match(n, ""); err != nil {
			return nil, fmt.Errorf("%s failed: bad pattern %s: fix its brackets or escapes", op, s)
		}
		found, err := globSource(src, n)
		if err != nil {
			return nil, fmt.Errorf("%s failed: %s: %w", op, s, unwrapPath(err))
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s failed: no file in %s matches %s: check the pattern and .dockerignore", op, where, s)
		}
		out = append(out, found...)
	}
	return out, nil
}

// globSource expands the clean pattern one path element at a time, in name order.
func globSource(src SourceFS, pattern string) ([]sourceMatch, error) {
	cands := []string{"."}
	for _, elem := range strings.Split(pattern, "/") {
		var next []string
		for _, c := range cands {
			if !strings.ContainsAny(elem, `*?[\`) {
				next = append(next, path.Join(c, elem))
				continue
			}
			es, err := src.ReadDir(c)
			if err != nil {
				continue // not a directory, or gone: nothing matches below it
			}
			for _, e := range es {
				if ok, _ := path.Match(elem, e.Name()); ok {
					next = append(next, path.Join(c, e.Name()))
				}
			}
		}
		cands = next
	}
	var out []sourceMatch
	for _, c := range cands {
		fi, err := src.Lstat(c)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				continue
			}
			return nil, err
		}
		out = append(out, sourceMatch{c, fi})
	}
	return out, nil
}

// copyDest returns Dest as a clean path relative to the image's root ("" for the root), and
// whether it names a directory.
func copyDest(s CopySpec) (string, bool) {
	d := s.Dest
	isDir := d == "" || d == "." || strings.HasSuffix(d, "/") || strings.HasSuffix(d, "/.")
	if !path.IsAbs(d) {
		wd := s.WorkDir
		if wd == "" {
			wd = "/"
		}
		d = path.Join("/", wd, d)
	}
	d = strings.TrimPrefix(path.Clean(d), "/")
	return d, isDir || d == ""
}

func fileDest(dest string, destIsDir bool, name string) string {
	if destIsDir {
		return path.Join(dest, path.Base(name))
	}
	return dest
}

type tarEntry struct {
	hdr  tar.Header
	open func() (io.ReadCloser, error) // for regular files
}

// copyTar gathers the entries of one COPY's tar by their path, to write them in order.
type copyTar struct {
	s       CopySpec
	op      string
	src     SourceFS
	entries map[string]*tarEntry

	spool    *os.File             // ADD: extracted contents
	spoolEnd int64                // where the next one goes in spool
	archived map[string]*tarEntry // ADD: the files of the archive being extracted, for hard links
}

func (l *copyTar) close() {
	if l.spool != nil {
		l.spool.Close()
	}
}

func (l *copyTar) mtime(t time.Time) time.Time {
	if l.s.Epoch != nil && t.After(*l.s.Epoch) {
		t = *l.s.Epoch
	}
	return t.Truncate(time.Second)
}

// mode gives the tar mode bits for a copied entry of type typ with source mode m.
func (l *copyTar) mode(typ byte, m fs.FileMode) int64 {
	if typ == tar.TypeSymlink {
		return 0o777
	}
	if l.s.Chmod != nil && (typ == tar.TypeDir || typ == tar.TypeReg) {
		m = *l.s.Chmod
	}
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

// owner gives the uid and gid of a copied entry whose source is owned by uid:gid.
func (l *copyTar) owner(uid, gid int, keep bool) (int, int) {
	switch {
	case l.s.Chown != nil:
		return l.s.Chown.UID, l.s.Chown.GID
	case keep:
		return uid, gid
	}
	return 0, 0
}

func (l *copyTar) put(name string, e *tarEntry) {
	e.hdr.Name = name
	if e.hdr.Typeflag == tar.TypeDir {
		e.hdr.Name += "/"
	}
	e.hdr.ModTime = l.mtime(e.hdr.ModTime)
	l.entries[name] = e
}

// addTree copies the directory name's contents into dest, and its metadata onto dest.
func (l *copyTar) addTree(name, dest string, fi fs.FileInfo) error {
	if dest != "" {
		if err := l.addOne(name, dest, fi); err != nil {
			return err
		}
	}
	es, err := l.src.ReadDir(name)
	if err != nil {
		return fmt.Errorf("%s failed: %w", l.op, err)
	}
	for _, e := range es {
		child := path.Join(name, e.Name())
		cfi, err := l.src.Lstat(child)
		if err != nil {
			return fmt.Errorf("%s failed: %w", l.op, err)
		}
		if cfi.IsDir() {
			err = l.addTree(child, path.Join(dest, e.Name()), cfi)
		} else {
			err = l.addOne(child, path.Join(dest, e.Name()), cfi)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// addOne copies the source entry name (not a directory's contents) to dest.
func (l *copyTar) addOne(name, dest string, fi fs.FileInfo) error {
	uid, gid, rdev := statIDs(fi)
	uid, gid = l.owner(uid, gid, l.s.KeepOwner)
	h := tar.Header{Uid: uid, Gid: gid, ModTime: fi.ModTime()}
	e := &tarEntry{}
	m := fi.Mode()
	switch {
	case m.IsDir():
		h.Typeflag = tar.TypeDir
	case m.IsRegular():
		h.Typeflag, h.Size = tar.TypeReg, fi.Size()
		e.open = func() (io.ReadCloser, error) { return l.src.Open(name) }
	case m&fs.ModeSymlink != 0:
		target, err := l.src.Readlink(name)
		if err != nil {
			return fmt.Errorf("%s failed: %w", l.op, err)
		}
		h.Typeflag, h.Linkname = tar.TypeSymlink, target
	case m&fs.ModeNamedPipe != 0:
		h.Typeflag = tar.TypeFifo
	case m&fs.ModeDevice != 0:
		h.Typeflag = tar.TypeBlock
		if m&fs.ModeCharDevice != 0 {
			h.Typeflag = tar.TypeChar
		}
		h.Devmajor, h.Devminor = int64(unix.Major(rdev)), int64(unix.Minor(rdev))
	default:
		return nil // a socket: docker leaves them out too
	}
	h.Mode = l.mode(h.Typeflag, m)
	e.hdr = h
	l.put(dest, e)
	return nil
}

// addParents adds the missing parent directories of every entry.
func (l *copyTar) addParents() error {
	var newest time.Time
	if l.s.Epoch != nil {
		newest = l.mtime(*l.s.Epoch)
	} else {
		newest = time.Unix(0, 0)
		for _, e := range l.entries {
			if e.hdr.ModTime.After(newest) {
				newest = e.hdr.ModTime
			}
		}
	}
	for _, name := range slices.Collect(maps.Keys(l.entries)) {
		for p := path.Dir(name); p != "."; p = path.Dir(p) {
			if e, ok := l.entries[p]; ok {
				if e.hdr.Typeflag != tar.TypeDir {
					return fmt.Errorf("%s failed: /%s is copied both as a file and as a directory holding /%s: copy them to different places", l.op, p, name)
				}
				continue
			}
			l.put(p, &tarEntry{hdr: tar.Header{Typeflag: tar.TypeDir, Mode: 0o755, ModTime: newest}})
		}
	}
	return nil
}

// write writes the entries as a tar, in path order.
func (l *copyTar) write(w io.Writer) error {
	names := slices.Sorted(maps.Keys(l.entries))
	tw := tar.NewWriter(w)
	for _, name := range names {
		e := l.entries[name]
		if err := tw.WriteHeader(&e.hdr); err != nil {
			return fmt.Errorf("%s failed: writing /%s: %w", l.op, name, err)
		}
		if e.hdr.Typeflag != tar.TypeReg || e.hdr.Size == 0 {
			continue
		}
		rc, err := e.open()
		if err != nil {
			return fmt.Errorf("%s failed: %w", l.op, err)
		}
		n, err := io.CopyN(tw, rc, e.hdr.Size)
		rc.Close()
		if err == io.EOF {
			return fmt.Errorf("%s failed: /%s shrank to %d bytes while being copied: build again once it no longer changes", l.op, name, n)
		}
		if err != nil {
			return fmt.Errorf("%s failed: copying /%s: %w", l.op, name, unwrapPath(err))
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("%s failed: %w", l.op, err)
	}
	return nil
}

// extract unpacks the source file name into the directory dest when it is a tar archive
// (plain or compressed); done is false when it is not one, and nothing was added.
func (l *copyTar) extract(name, dest string) (done bool, err error) {
	f, err := l.src.Open(name)
	if err != nil {
		return false, fmt.Errorf("%s failed: %w", l.op, err)
	}
	defer f.Close()
	dr, closeFn, err := decompressStream(bufio.NewReaderSize(f, 64<<10))
	if errors.Is(err, exec.ErrNotFound) {
		return false, fmt.Errorf("%s failed: %s: %w", l.op, name, err)
	}
	if err != nil {
		return false, nil // compressed-looking, but not: copied as it is
	}
	defer closeFn()
	br := bufio.NewReaderSize(dr, 64<<10)
	if head, _ := br.Peek(512); !isTarHeader(head) {
		return false, nil
	}
	if l.spool == nil {
		if l.spool, err = os.CreateTemp("", "skiff-add-*"); err != nil {
			return false, fmt.Errorf("%s failed: a scratch file for %s: %w: set TMPDIR to a writable directory", l.op, name, err)
		}
		os.Remove(l.spool.Name()) // it lives as long as it is open
	}
	clear(l.archived)
	tr := tar.NewReader(br)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return true, fmt.Errorf("%s failed: unpacking %s: %w: check the archive", l.op, name, err)
		}
		an, ok := cleanName(h.Name)
		if !ok {
			return true, fmt.Errorf("%s failed: archive %s has entry %q outside its root: fix the archive", l.op, name, h.Name)
		}
		target := path.Join(dest, an)
		if target == "." || target == "" {
			continue // the image's root keeps its own metadata
		}
		uid, gid := l.owner(h.Uid, h.Gid, true)
		nh := tar.Header{Typeflag: h.Typeflag, Uid: uid, Gid: gid, ModTime: h.ModTime}
		e := &tarEntry{}
		switch h.Typeflag {
		case tar.TypeDir, tar.TypeFifo:
		case tar.TypeChar, tar.TypeBlock:
			nh.Devmajor, nh.Devminor = h.Devmajor, h.Devminor
		case tar.TypeSymlink:
			nh.Linkname = h.Linkname
		case tar.TypeReg:
			off := l.spoolEnd
			n, err := io.Copy(l.spool, tr)
			l.spoolEnd += n
			if err != nil {
				return true, fmt.Errorf("%s failed: unpacking %s: %s: %w", l.op, name, h.Name, err)
			}
			nh.Size = n
			spool := l.spool
			e.open = func() (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(spool, off, n)), nil }
			l.archived[an] = e
		case tar.TypeLink:
			ln, ok := cleanName(h.Linkname)
			orig := l.archived[ln]
			if !ok || orig == nil {
				return true, fmt.Errorf("%s failed: archive %s has hard link %q to %q, which is not a file before it: fix the archive", l.op, name, h.Name, h.Linkname)
			}
			// written as a copy: the sorted order may put the link before its file
			nh.Typeflag, nh.Size, e.open = tar.TypeReg, orig.hdr.Size, orig.open
			l.archived[an] = e
		default:
			continue // pax globals, sparse or vendor types
		}
		nh.Mode = l.mode(nh.Typeflag, tarMode(h.Mode))
		e.hdr = nh
		l.put(target, e)
	}
}

// statIDs returns the owner and device number in fi.Sys(), zeros when it has none.
func statIDs(fi fs.FileInfo) (uid, gid int, rdev uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid), uint64(st.Rdev)
	}
	return 0, 0, 0
}

// decompressStream returns r's content, decompressed when it starts like gzip, bzip2 or xz.
func decompressStream(r *bufio.Reader) (io.Reader, func() error, error) {
	magic, _ := r.Peek(6)
	nop := func() error { return nil }
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return zr, zr.Close, nil
	case bytes.HasPrefix(magic, []byte("BZh")):
		return bzip2.NewReader(r), nop, nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		return xzReader(r)
	}
	return r, nop, nil
}

// xzReader decompresses with the xz program, as docker does.
func xzReader(r io.Reader) (io.Reader, func() error, error) {
	cmd := exec.Command("xz", "-d", "-c", "-q")
	cmd.Stdin = r
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("xz-compressed, and the xz program is missing (%w): install xz-utils", err)
	}
	x := &xzOut{out: out, cmd: cmd, stderr: &stderr}
	return x, x.Close, nil
}

type xzOut struct {
	out    io.ReadCloser
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   bool
	err    error
}

func (x *xzOut) Read(p []byte) (int, error) {
	n, err := x.out.Read(p)
	if err == io.EOF {
		if werr := x.wait(); werr != nil {
			return n, werr
		}
	}
	return n, err
}

func (x *xzOut) wait() error {
	if !x.done {
		x.done = true
		if err := x.cmd.Wait(); err != nil {
			x.err = fmt.Errorf("xz: %s", strings.TrimSpace(x.stderr.String()))
		}
	}
	return x.err
}

func (x *xzOut) Close() error {
	x.out.Close()
	if !x.done {
		x.cmd.Process.Kill()
		x.wait()
	}
	return nil
}

// isTarHeader reports whether b starts with a tar header block whose checksum holds.
func isTarHeader(b []byte) bool {
	if len(b) < 512 {
		return false
	}
	field := strings.TrimRight(strings.TrimLeft(string(b[148:156]), " \x00"), " \x00")
	want, err := strconv.ParseInt(field, 8, 64)
	if err != nil {
		return false
	}
	var unsigned, signed int64
	for i, c := range b[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	return want == unsigned || want == signed
}

// unpackable says whether ADD may unpack a source file: a download is copied as it is.
func unpackable(src SourceFS, name string) bool {
	if x, ok := src.(*extraFS); ok {
		return x.unpack(name)
	}
	return true
}
