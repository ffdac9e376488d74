// Package archive moves a path between two file systems as a tar stream,
// with docker cp's rules for where the copy lands.
//
// One side runs where the source lives: Stat describes it and Pack writes
// it as a tar stream. The other side runs where it goes: Resolve applies
// docker cp's destination rules to that description and Unpack extracts
// the stream there, confined to the destination directory however hostile
// the stream is:
//
//	src, err := archive.Stat(srcPath, follow)
//	err = archive.Pack(w, srcPath, archive.PackOptions{Name: src.Base, Follow: follow})
//
//	dir, name, err := archive.Resolve(destPath, src)
//	err = archive.Unpack(r, dir, archive.UnpackOptions{From: src.Base, To: name})
package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Source describes what is copied.
type Source struct {
	// Base is the name the copy takes by default: the source path's last
	// element ("." for the root directory).
	Base string
	// Dir says the source is a directory.
	Dir bool
	// Contents says the source path ended in "/.": the directory's
	// contents are copied, not the directory itself.
	Contents bool
}

// Stat describes the source path. With follow (docker cp -L) a symlink at
// path describes what it points to; otherwise the link itself is copied.
func Stat(path string, follow bool) (Source, error) {
	fi, err := stat(path, follow)
	if err != nil {
		return Source{}, err
	}
	return Source{
		Base:     baseName(path),
		Dir:      fi.IsDir(),
		Contents: fi.IsDir() && filepath.Base(path) == ".",
	}, nil
}

// Resolve applies docker cp's rules to a destination path: it returns the
// existing directory to extract into and the name the source's entry takes
// there ("." when the source's contents go into dir itself). A symlink at
// dest is followed.
//
//	source     dest missing             dest a file     dest a directory
//	file       file dest (parent must   overwritten     dest/Base
//	           exist; "dest/" fails)
//	directory  directory dest (parent   error           dest/Base, or its contents
//	           must exist)                              into dest for "src/."
func Resolve(dest string, src Source) (dir, name string, err error) {
	slash := strings.HasSuffix(dest, "/") || filepath.Base(dest) == "."
	target := followLinks(filepath.Clean(dest))
	fi, err := os.Stat(target)
	switch {
	case err == nil && fi.IsDir():
		if src.Contents || src.Base == "." {
			return target, ".", nil
		}
		return target, src.Base, nil
	case err == nil && slash:
		return "", "", fmt.Errorf("%s: not a directory", dest)
	case err == nil && src.Dir:
		return "", "", fmt.Errorf("%s: cannot copy a directory to a file", dest)
	case err == nil:
		return filepath.Dir(target), filepath.Base(target), nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", "", pathError(dest, err)
	case slash && !src.Dir:
		return "", "", fmt.Errorf("%s: no such directory", dest)
	}
	parent := filepath.Dir(target)
	if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
		return "", "", fmt.Errorf("%s: no such directory", parent)
	}
	return parent, filepath.Base(target), nil
}

// followLinks follows symlinks at p's last element, also dangling ones, so
// that a copy to a symlink lands where it points.
func followLinks(p string) string {
	for range 40 {
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode().Type() != fs.ModeSymlink {
			return p
		}
		link, err := os.Readlink(p)
		if err != nil {
			return p
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(p), link)
		}
		p = link
	}
	return p // os.Stat reports the loop
}

// stat is os.Lstat, or os.Stat when following, with a one-line error.
func stat(path string, follow bool) (fs.FileInfo, error) {
	statFn := os.Lstat
	if follow {
		statFn = os.Stat
	}
	fi, err := statFn(path)
	if err != nil {
		return nil, pathError(path, err)
	}
	return fi, nil
}

// baseName is the name a copy of path takes: its last element, "." for the
// root directory.
func baseName(path string) string {
	b := filepath.Base(filepath.Clean(path))
	if b == "/" {
		return "."
	}
	return b
}

// pathError is "path: problem", without the system call that os errors
// name; errors.Is still sees the cause.
func pathError(path string, err error) error {
	return fmt.Errorf("%s: %w", path, unwrap(err))
}
