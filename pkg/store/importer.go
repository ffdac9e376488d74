package store

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"
	"time"

	"github.com/containers/storage"
	"github.com/containers/storage/pkg/archive"
	digest "github.com/opencontainers/go-digest"
	"github.com/skiff-project/skiff/pkg/image"
)

// ImportOptions describe the image made by Import.
type ImportOptions struct {
	Names   []string          // full references to give the image
	Config  image.ImageConfig // the config after --change
	Comment string            // history comment (--message)
	Source  string            // what was imported, for history
}

// BadTarballError is a tarball that cannot become a layer; it says why.
type BadTarballError struct{ Msg string }

func (e *BadTarballError) Error() string { return e.Msg }

// CheckTarball reads a (possibly compressed) tar stream to the end and refuses what must not
// reach the store: a stream that is not a tar archive, entries whose paths climb out of the
// root with "..", and hard or symbolic links whose targets do. It returns the digest of the
// uncompressed stream (the layer's diff ID).
func CheckTarball(r io.Reader) (digest.Digest, error) {
	dr, err := archive.DecompressStream(r)
	if err != nil {
		return "", &BadTarballError{fmt.Sprintf("cannot read the archive: %v", err)}
	}
	defer dr.Close()
	digester := digest.Canonical.Digester()
	tr := tar.NewReader(io.TeeReader(dr, digester.Hash()))
	n := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			if n == 0 {
				return "", &BadTarballError{"the archive is empty or not a tar archive: give a tar of a root file system (plain, gzip, bzip2, xz or zstd)"}
			}
			// the end-of-archive blocks and padding are part of the layer's digest
			// (a plain Reader: pgzip's WriteTo fails after partial reads)
			if _, err := io.Copy(digester.Hash(), struct{ io.Reader }{dr}); err != nil {
				return "", &BadTarballError{fmt.Sprintf("the archive is truncated: %v", err)}
			}
			return digester.Digest(), nil
		}
		if err != nil {
			if n == 0 {
				return "", &BadTarballError{"not a tar archive: give a tar of a root file system (plain, gzip, bzip2, xz or zstd)"}
			}
			return "", &BadTarballError{fmt.Sprintf("the tar archive is corrupt after %d entries: %v", n, err)}
		}
		n++
		name := h.Name
		if escapes(name) {
			return "", &BadTarballError{fmt.Sprintf("tar entry %q points outside the root file system: refusing to import it", name)}
		}
		switch h.Typeflag {
		case tar.TypeLink:
			if escapes(h.Linkname) {
				return "", &BadTarballError{fmt.Sprintf("hard link %q -> %q points outside the root file system: refusing to import it", name, h.Linkname)}
			}
		case tar.TypeSymlink:
			if !path.IsAbs(h.Linkname) && escapes(path.Join(path.Dir(strings.TrimPrefix(path.Clean("/"+name), "/")), h.Linkname)) {
				return "", &BadTarballError{fmt.Sprintf("symbolic link %q -> %q points outside the root file system: refusing to import it", name, h.Linkname)}
			}
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return "", &BadTarballError{fmt.Sprintf("the tar archive is truncated in %q: %v", name, err)}
		}
	}
}

// escapes reports whether a relative tar path climbs above its root.
func escapes(p string) bool {
	p = strings.TrimLeft(p, "/")
	c := path.Clean(p)
	return c == ".." || strings.HasPrefix(c, "../")
}

// Import turns a root file system tarball into a one-layer image. The tarball is checked in
// full before anything is written; a failure leaves the store as it was.
func (s *Store) Import(src io.Reader, o ImportOptions) (*Image, error) {
	// Keep a seekable copy: checking and applying read the stream twice.
	f, ok := src.(*os.File)
	if ok {
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			ok = false
		}
	}
	if !ok {
		dir, err := s.Scratch()
		if err != nil {
			return nil, err
		}
		tmp, err := os.CreateTemp(dir, "import-*.tar")
		if err != nil {
			return nil, err
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		if _, err := io.Copy(tmp, src); err != nil {
			return nil, fmt.Errorf("read the archive: %w", err)
		}
		f = tmp
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("read the archive: %w", err)
	}
	diffID, err := CheckTarball(f)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	// The layer's ID is its diff ID, as containers/image names a bottom layer: the same content
	// imported, pulled or loaded is one layer on disk, and images made from it agree.
	layer, _, err := s.S.PutLayer(diffID.Encoded(), "", nil, "", false, nil, f)
	if errors.Is(err, storage.ErrDuplicateID) {
		layer, err = s.S.Layer(diffID.Encoded())
	}
	if err != nil {
		return nil, fmt.Errorf("store the layer: %w", err)
	}
	now := time.Now().UTC()
	created := "skiff import " + o.Source
	if o.Comment != "" {
		created += " # " + o.Comment
	}
	cfg := image.Config{
		Created:      &now,
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Config:       o.Config,
		RootFS:       image.RootFS{Type: "layers", DiffIDs: []string{layer.UncompressedDigest.String()}},
		History:      []image.History{{Created: &now, CreatedBy: created, Comment: o.Comment}},
	}
	img, err := s.NewImage(layer.ID, cfg, []digest.Digest{layer.UncompressedDigest}, []int64{layer.UncompressedSize}, o.Names)
	if err != nil {
		// no image may point at it: drop the layer again
		if _, derr := s.S.Layer(layer.ID); derr == nil {
			if imgs, _ := s.S.ImagesByTopLayer(layer.ID); len(imgs) == 0 {
				_ = s.S.DeleteLayer(layer.ID)
			}
		}
		if errors.Is(err, storage.ErrDuplicateName) {
			return nil, fmt.Errorf("name already in use: %w", err)
		}
		return nil, err
	}
	return img, nil
}
