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
	"syscall"
)

// PackOptions tune Pack.
type PackOptions struct {
	// Name is the source's own entry in the stream; what lies below a
	// directory is named Name+"/...". Empty means the source's Base.
	Name string
	// Follow packs what a symlink at the path points to, under the link's
	// name (docker cp -L). Symlinks below the path are always packed as
	// links.
	Follow bool
}

// Pack writes a tar stream of path to w: the path itself, then, for a
// directory, everything below it depth first in lexical order, so that the
// same tree gives the same stream. Entries keep their numeric owner, mode
// (setuid, setgid and sticky bits included) and mtime (whole seconds), but
// no user or group names: those would come from the source's /etc/passwd.
// Regular files linked more than once become hard links to their first
// name. Sockets are left out. Files that vanish while the tree is walked
// are left out too.
func Pack(w io.Writer, path string, o PackOptions) error {
	name := o.Name
	if name == "" {
		name = baseName(path)
	}
	fi, err := stat(path, o.Follow)
	if err != nil {
		return err
	}
	p := &packer{tw: tar.NewWriter(w), links: map[inode]string{}}
	if err := p.add(path, name, fi); err != nil {
		return err
	}
	return p.tw.Close()
}

// inode identifies a file across its hard links.
type inode struct{ dev, ino uint64 }

// packer writes one tree to a tar stream.
type packer struct {
	tw    *tar.Writer
	links map[inode]string // the first name of each multiply-linked file
}

// add writes the entry name for file, and what lies below it.
func (p *packer) add(file, name string, fi fs.FileInfo) error {
	if fi.Mode().Type() == fs.ModeSocket {
		return nil
	}
	h, err := p.header(file, name, fi)
	if err != nil {
		return pathError(file, err)
	}
	if err := p.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	switch {
	case h.Typeflag == tar.TypeReg:
		return p.copy(file, h.Size)
	case h.Typeflag == tar.TypeDir:
		return p.addChildren(file, name)
	}
	return nil
}

// addChildren adds what lies in the directory file, in lexical order.
func (p *packer) addChildren(file, name string) error {
	entries, err := os.ReadDir(file)
	if err != nil {
		return pathError(file, err)
	}
	for _, e := range entries {
		child := filepath.Join(file, e.Name())
		fi, err := e.Info() // lstat
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return pathError(child, err)
		}
		if err := p.add(child, path.Join(name, e.Name()), fi); err != nil {
			return err
		}
	}
	return nil
}

// header is file's tar header, named name.
func (p *packer) header(file, name string, fi fs.FileInfo) (*tar.Header, error) {
	var link string
	if fi.Mode().Type() == fs.ModeSymlink {
		var err error
		if link, err = os.Readlink(file); err != nil {
			return nil, err
		}
	}
	h, err := tar.FileInfoHeader(noNames{fi}, link)
	if err != nil {
		return nil, err
	}
	h.Name = name
	if h.Typeflag == tar.TypeDir {
		h.Name += "/"
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && h.Typeflag == tar.TypeReg && st.Nlink > 1 {
		id := inode{uint64(st.Dev), st.Ino}
		if first, seen := p.links[id]; seen {
			h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
		} else {
			p.links[id] = name
		}
	}
	return h, nil
}

// copy writes the first size bytes of file.
func (p *packer) copy(file string, size int64) error {
	f, err := os.Open(file)
	if err != nil {
		return pathError(file, err)
	}
	defer f.Close()
	if _, err := io.CopyN(p.tw, f, size); err != nil {
		if err == io.EOF {
			return fmt.Errorf("%s: file shrank while it was read", file)
		}
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// noNames keeps tar.FileInfoHeader from looking up user and group names.
type noNames struct{ fs.FileInfo }

func (noNames) Uname() (string, error) { return "", nil }
func (noNames) Gname() (string, error) { return "", nil }
