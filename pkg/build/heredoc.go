package build

import (
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// extraFS serves files a COPY or ADD names that are not in its source, at the source's root,
// over the source itself: here-documents (`COPY <<EOF /dest`; BuildKit's rules: mode 0644,
// owned by 0:0 unless --chown, the content with $variables expanded unless the delimiter was
// quoted) and ADD's downloads (see fetch).
type extraFS struct {
	base  SourceFS
	files map[string]extraFile
}

// extraFile is one file of an extraFS: data, or a file on the host at path.
type extraFile struct {
	data    string
	path    string
	size    int64
	mode    fs.FileMode
	mtime   time.Time
	fetched bool // ADD's download: copied as it is, never unpacked
}

// withHeredocs returns the source and source names a COPY or ADD copies from, its
// here-documents and the files of fetched (ADD's downloads, by URL) added; src alone when it
// has none of them.
func withHeredocs(src SourceFS, sd instructions.SourcesAndDest, fetched map[string]extraFile) (SourceFS, []string) {
	if len(sd.SourceContents) == 0 && len(fetched) == 0 {
		return src, sd.SourcePaths
	}
	x := &extraFS{base: src, files: map[string]extraFile{}}
	var names []string
	for _, s := range sd.SourcePaths {
		if f, ok := fetched[s]; ok {
			s = path.Base(f.path)
			x.files[s] = f
		}
		names = append(names, s)
	}
	for _, c := range sd.SourceContents {
		name := strings.TrimPrefix(path.Clean("/"+c.Path), "/")
		x.files[name] = extraFile{data: c.Data, size: int64(len(c.Data)), mode: 0o644, mtime: time.Unix(0, 0)}
		names = append(names, name)
	}
	return x, names
}

func (x *extraFS) file(name string) (extraFile, bool) {
	f, ok := x.files[strings.TrimPrefix(path.Clean("/"+name), "/")]
	return f, ok
}

func (x *extraFS) Lstat(name string) (fs.FileInfo, error) {
	if f, ok := x.file(name); ok {
		return extraInfo{name: path.Base(name), f: f}, nil
	}
	return x.base.Lstat(name)
}

func (x *extraFS) ReadDir(name string) ([]fs.DirEntry, error) { return x.base.ReadDir(name) }

func (x *extraFS) Open(name string) (io.ReadCloser, error) {
	if f, ok := x.file(name); ok {
		if f.path != "" {
			return os.Open(f.path)
		}
		return io.NopCloser(strings.NewReader(f.data)), nil
	}
	return x.base.Open(name)
}

func (x *extraFS) Readlink(name string) (string, error) { return x.base.Readlink(name) }

// unpack says whether ADD may unpack the source name: not when it was downloaded.
func (x *extraFS) unpack(name string) bool {
	f, ok := x.file(name)
	return !ok || !f.fetched
}

type extraInfo struct {
	name string
	f    extraFile
}

func (i extraInfo) Name() string       { return i.name }
func (i extraInfo) Size() int64        { return i.f.size }
func (i extraInfo) Mode() fs.FileMode  { return i.f.mode }
func (i extraInfo) ModTime() time.Time { return i.f.mtime }
func (i extraInfo) IsDir() bool        { return false }
func (i extraInfo) Sys() any           { return nil }
