package build

import (
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// heredocFS serves the here-documents of a COPY or ADD (`COPY <<EOF /dest`) as files at the
// root of its source, by their delimiter's name, over the source itself (BuildKit's rules:
// mode 0644, owned by 0:0 unless --chown, the content with $variables expanded unless the
// delimiter was quoted).
type heredocFS struct {
	base  SourceFS
	files map[string]string
}

// withHeredocs returns the source and source names a COPY or ADD copies from: src alone
// without here-documents.
func withHeredocs(src SourceFS, sd instructions.SourcesAndDest) (SourceFS, []string) {
	if len(sd.SourceContents) == 0 {
		return src, sd.SourcePaths
	}
	h := &heredocFS{base: src, files: map[string]string{}}
	names := append([]string(nil), sd.SourcePaths...)
	for _, c := range sd.SourceContents {
		name := strings.TrimPrefix(path.Clean("/"+c.Path), "/")
		h.files[name] = c.Data
		names = append(names, name)
	}
	return h, names
}

func (h *heredocFS) doc(name string) (string, bool) {
	d, ok := h.files[strings.TrimPrefix(path.Clean("/"+name), "/")]
	return d, ok
}

func (h *heredocFS) Lstat(name string) (fs.FileInfo, error) {
	if d, ok := h.doc(name); ok {
		return heredocInfo{name: path.Base(name), size: int64(len(d))}, nil
	}
	return h.base.Lstat(name)
}

func (h *heredocFS) ReadDir(name string) ([]fs.DirEntry, error) { return h.base.ReadDir(name) }

func (h *heredocFS) Open(name string) (io.ReadCloser, error) {
	if d, ok := h.doc(name); ok {
		return io.NopCloser(strings.NewReader(d)), nil
	}
	return h.base.Open(name)
}

func (h *heredocFS) Readlink(name string) (string, error) { return h.base.Readlink(name) }

type heredocInfo struct {
	name string
	size int64
}

func (i heredocInfo) Name() string       { return i.name }
func (i heredocInfo) Size() int64        { return i.size }
func (i heredocInfo) Mode() fs.FileMode  { return 0o644 }
func (i heredocInfo) ModTime() time.Time { return time.Unix(0, 0) }
func (i heredocInfo) IsDir() bool        { return false }
func (i heredocInfo) Sys() any           { return nil }
