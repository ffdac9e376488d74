package build

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// SourceFS is a read-only tree COPY reads from: the build context, or (COPY --from) another
// stage's or image's root file system. Names are slash-separated, relative to the root ("." is
// the root), no leading slash. Lstat's FileInfo.Sys() is a *syscall.Stat_t.
type SourceFS interface {
	Lstat(name string) (fs.FileInfo, error)
	ReadDir(name string) ([]fs.DirEntry, error) // sorted by name
	Open(name string) (io.ReadCloser, error)
	Readlink(name string) (string, error)
}

// Context is a build context directory, with its .dockerignore applied: it implements
// SourceFS, and an ignored path is fs.ErrNotExist to Lstat and Open and left out of ReadDir.
// An ignored directory that holds re-included ("!") files stays visible, holding just those.
// Symbolic links are seen as links and never followed out of Dir. Close releases it.
type Context struct {
	Dir        string // absolute
	Dockerfile string // the Dockerfile's path relative to Dir, "" when it is not in the context

	root *os.Root
	pm   *patternmatcher.PatternMatcher // nil when nothing is ignored
	pmu  sync.Mutex                     // guards pm

	mu   sync.Mutex
	kept map[string]bool // ignored directories: whether something inside is re-included
}

var _ SourceFS = (*Context)(nil)

// OpenContext opens the build context dir, reading its .dockerignore (docker's syntax:
// comments, "**", "!" exceptions). dockerfile is the Dockerfile's path relative to dir, or ""
// when the Dockerfile is not in the context; it is read by the caller, so an ignored
// Dockerfile (or .dockerignore) is still built from but is not seen by COPY, as in docker.
func OpenContext(dir, dockerfile string) (*Context, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("build context %s: %w", dir, err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("build context %s: %w: give a directory that exists", dir, unwrapPath(err))
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("build context %s is not a directory: give the directory holding the files to COPY", dir)
	}
	if dockerfile != "" {
		n, ok := cleanName(filepath.ToSlash(dockerfile))
		if !ok || path.IsAbs(dockerfile) {
			return nil, fmt.Errorf("Dockerfile %q is not inside the build context %s: pass \"\" for a Dockerfile outside it", dockerfile, dir)
		}
		dockerfile = n
	}
	c := &Context{Dir: abs, Dockerfile: dockerfile, kept: map[string]bool{}}
	f, err := os.Open(filepath.Join(abs, ".dockerignore"))
	switch {
	case err == nil:
		patterns, err := ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w: fix or remove it", filepath.Join(dir, ".dockerignore"), err)
		}
		if len(patterns) > 0 {
			if c.pm, err = patternmatcher.New(patterns); err != nil {
				return nil, fmt.Errorf("%s: %w: fix the pattern", filepath.Join(dir, ".dockerignore"), err)
			}
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: %w: make it readable or remove it", filepath.Join(dir, ".dockerignore"), unwrapPath(err))
	}
	if c.root, err = os.OpenRoot(abs); err != nil {
		return nil, fmt.Errorf("build context %s: %w", dir, unwrapPath(err))
	}
	return c, nil
}

// Close releases the context's directory; the files are left alone.
func (c *Context) Close() error {
	return c.root.Close()
}

// Lstat describes name without following a final symbolic link.
func (c *Context) Lstat(name string) (fs.FileInfo, error) {
	n, err := c.name("lstat", name)
	if err != nil {
		return nil, err
	}
	fi, err := c.root.Lstat(n)
	if err != nil {
		return nil, err
	}
	if !c.visible(n, fi.IsDir()) {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
	}
	return fi, nil
}

// ReadDir lists the directory name's entries that are not ignored, sorted by name.
func (c *Context) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := c.name("readdir", name)
	if err != nil {
		return nil, err
	}
	all, err := c.readDir(n)
	if err != nil {
		return nil, err
	}
	if c.pm == nil {
		return all, nil
	}
	if n != "." {
		// name must be visible itself
		if !c.visible(n, true) {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
		}
	}
	out := all[:0:0]
	for _, e := range all {
		if c.visible(path.Join(n, e.Name()), e.IsDir()) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Open opens the file name for reading; a final symbolic link is not followed.
func (c *Context) Open(name string) (io.ReadCloser, error) {
	n, err := c.name("open", name)
	if err != nil {
		return nil, err
	}
	fi, err := c.Lstat(n)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.ELOOP} // links are copied as links
	}
	return c.root.Open(n)
}

// Readlink returns the target of the symbolic link name, as written.
func (c *Context) Readlink(name string) (string, error) {
	n, err := c.name("readlink", name)
	if err != nil {
		return "", err
	}
	if c.pm != nil {
		if _, err := c.Lstat(n); err != nil {
			return "", err
		}
	}
	return c.root.Readlink(n)
}

// name cleans a name given to a SourceFS method, refusing one that leaves the context.
func (c *Context) name(op, name string) (string, error) {
	n, ok := cleanName(name)
	if !ok {
		return "", &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("outside the build context %s: name a path inside it", c.Dir)}
	}
	return n, nil
}

func (c *Context) readDir(n string) ([]fs.DirEntry, error) {
	f, err := c.root.Open(n)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	es, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	sortEntries(es)
	return es, nil
}

// visible reports whether the cleaned name n is not ignored, or is an ignored directory that
// holds a re-included file (docker's rule: "!" can bring back files inside an ignored dir).
func (c *Context) visible(n string, isDir bool) bool {
	if c.pm == nil || n == "." {
		return true
	}
	c.pmu.Lock() // patternmatcher compiles its patterns lazily, unguarded
	ignored, err := c.pm.MatchesOrParentMatches(n)
	c.pmu.Unlock()
	if err != nil || !ignored {
		return true // the patterns were checked by patternmatcher.New; a match error means "keep"
	}
	if !isDir || !c.mayReinclude(n) {
		return false
	}
	c.mu.Lock()
	kept, ok := c.kept[n]
	c.mu.Unlock()
	if ok {
		return kept
	}
	kept = false
	if es, err := c.readDir(n); err == nil {
		for _, e := range es {
			if c.visible(path.Join(n, e.Name()), e.IsDir()) {
				kept = true
				break
			}
		}
	}
	c.mu.Lock()
	c.kept[n] = kept
	c.mu.Unlock()
	return kept
}

// mayReinclude reports whether an exception ("!" pattern) could match something inside the
// directory n, judging by the exception's literal start, so that the ignored directories no
// exception reaches (node_modules...) are not walked.
func (c *Context) mayReinclude(n string) bool {
	dir := n + "/"
	for _, p := range c.pm.Patterns() {
		if !p.Exclusion() {
			continue
		}
		lit := p.String()
		if i := strings.IndexAny(lit, `*?[\`); i >= 0 {
			lit = lit[:i]
		}
		if strings.HasPrefix(lit, dir) || strings.HasPrefix(dir, lit) {
			return true
		}
	}
	return false
}

// cleanName makes name a clean slash-separated name relative to a root ("." for the root);
// a leading "/" means the root. ok is false when the name climbs out of the root with "..".
func cleanName(name string) (n string, ok bool) {
	n = path.Clean(name)
	if n == ".." || strings.HasPrefix(n, "../") {
		return "", false
	}
	n = strings.TrimLeft(n, "/")
	if n == "" {
		n = "."
	}
	return n, true
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ContextFromTar unpacks a build context sent as a tar stream (plain, or gzip, bzip2 or xz
// compressed: `skiff build - < context.tar`) into dir, an empty scratch directory the caller
// owns and removes, and opens it. No entry may land outside dir: a name with ".." or a leading
// "/", a hard link to outside, or a file written through a symbolic link leading out is an
// error naming the entry. A stream that is not a tar is the Dockerfile itself (`skiff build -
// < Dockerfile`): it is written to dir/Dockerfile, the context is otherwise empty, and
// bareDockerfile is true.
func ContextFromTar(r io.Reader, dir string) (c *Context, bareDockerfile bool, err error) {
	dr, closeFn, err := decompressStream(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return nil, false, fmt.Errorf("build context on stdin: %w", err)
	}
	defer closeFn()
	br := bufio.NewReaderSize(dr, 64<<10)
	head, _ := br.Peek(512)
	if len(head) == 0 {
		return nil, false, errors.New("build context on stdin is empty: pipe in a Dockerfile or a tar of the context")
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, false, fmt.Errorf("build context scratch directory: %w", err)
	}
	defer root.Close()
	if !isTarHeader(head) {
		f, err := root.OpenFile("Dockerfile", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, false, fmt.Errorf("writing the Dockerfile from stdin: %w", err)
		}
		_, err = io.Copy(f, br)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, false, fmt.Errorf("reading the Dockerfile from stdin: %w", err)
		}
		c, err := OpenContext(dir, "Dockerfile")
		return c, true, err
	}
	if err := untarContext(tar.NewReader(br), root); err != nil {
		return nil, false, err
	}
	c, err = OpenContext(dir, "")
	return c, false, err
}

// untarContext writes the entries of tr inside root.
func untarContext(tr *tar.Reader, root *os.Root) error {
	type dirMeta struct {
		name  string
		mode  fs.FileMode
		mtime time.Time
	}
	var dirs []dirMeta
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("build context tar on stdin: %w: send a valid tar", err)
		}
		bad := func(why string) error {
			return fmt.Errorf("build context tar on stdin: entry %q %s: build the tar from inside the context directory", h.Name, why)
		}
		if path.IsAbs(h.Name) {
			return bad("has an absolute name")
		}
		name, ok := cleanName(h.Name)
		if !ok {
			return bad("leads out of the context with \"..\"")
		}
		if name == "." {
			if h.Typeflag == tar.TypeDir {
				dirs = append(dirs, dirMeta{name, tarMode(h.Mode), h.ModTime})
			}
			continue
		}
		if parent := path.Dir(name); parent != "." {
			if err := root.MkdirAll(parent, 0o755); err != nil {
				return bad("cannot be written: " + err.Error())
			}
		}
		// replace what an earlier entry left there, but merge directories
		if fi, err := root.Lstat(name); err == nil && !(fi.IsDir() && h.Typeflag == tar.TypeDir) {
			if err := root.RemoveAll(name); err != nil {
				return bad("cannot be written: " + err.Error())
			}
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.Mkdir(name, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return bad("cannot be written: " + err.Error())
			}
			dirs = append(dirs, dirMeta{name, tarMode(h.Mode), h.ModTime})
			continue
		case tar.TypeReg: // tar.Reader reports the old TypeRegA as TypeReg
			f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
			if err != nil {
				return bad("cannot be written: " + err.Error())
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return bad("cannot be written: " + err.Error())
			}
			if err := root.Chmod(name, tarMode(h.Mode)); err != nil {
				return bad("cannot be written: " + err.Error())
			}
		case tar.TypeSymlink:
			// the link is kept as written; it is never followed out (os.Root refuses that)
			if err := root.Symlink(h.Linkname, name); err != nil {
				return bad("cannot be written: " + err.Error())
			}
			continue
		case tar.TypeLink:
			target, ok := cleanName(h.Linkname)
			if !ok || path.IsAbs(h.Linkname) {
				return bad(fmt.Sprintf("is a hard link to %q, outside the context", h.Linkname))
			}
			if err := root.Link(target, name); err != nil {
				return bad("cannot be written: " + err.Error())
			}
			continue
		default:
			continue // devices, fifos and the like have no place in a build context
		}
		_ = root.Chtimes(name, h.ModTime, h.ModTime)
	}
	// directories last, deepest first, so a read-only one does not stop its own files
	slices.SortStableFunc(dirs, func(a, b dirMeta) int { return strings.Compare(b.name, a.name) })
	for _, d := range dirs {
		if err := root.Chmod(d.name, d.mode); err != nil {
			return fmt.Errorf("build context tar on stdin: entry %q: %w", d.name, err)
		}
		_ = root.Chtimes(d.name, d.mtime, d.mtime)
	}
	return nil
}

// tarMode turns a tar header's mode into an fs.FileMode's permission and special bits.
func tarMode(m int64) fs.FileMode {
	mode := fs.FileMode(m) & fs.ModePerm
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

func sortEntries(es []fs.DirEntry) {
	slices.SortFunc(es, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
}
