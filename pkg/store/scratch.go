package store

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// scratchDir is where, inside the graph root, skiff's processes keep big temporary files:
// blobs being pulled, archives being read (containers/image's BigFilesTemporaryDir). In the
// store and not in /var/tmp, so that they sit on the store's file system and a killed skiff's
// leftovers are found and removed.
const scratchDir = "skiff-tmp"

// Scratch is a temporary directory of this process for big files, removed by Close. Each
// process holds a lock on its own directory while it lives; the first Scratch of a process
// removes the directories no live process holds (those of skiffs killed with -9).
func (s *Store) Scratch() (string, error) {
	if s.scratch != nil {
		return s.scratch.Name(), nil
	}
	parent := filepath.Join(s.Paths.GraphRoot, scratchDir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return "", fmt.Errorf("create the store's temporary directory: %w", err)
	}
	removeStale(parent)
	dir, err := os.MkdirTemp(parent, "p")
	if err != nil {
		return "", fmt.Errorf("create a temporary directory in the store: %w", err)
	}
	f, err := os.Open(dir)
	if err == nil {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		os.RemoveAll(dir)
		return "", fmt.Errorf("lock the temporary directory %s: %w", dir, err)
	}
	s.scratch = f
	return dir, nil
}

// removeStale removes the directories in parent that no process holds a lock on.
func removeStale(parent string) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range ents {
		p := filepath.Join(parent, e.Name())
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			os.RemoveAll(p)
		}
		f.Close()
	}
}

// closeScratch removes this process's temporary directory.
func (s *Store) closeScratch() {
	if s.scratch == nil {
		return
	}
	os.RemoveAll(s.scratch.Name())
	s.scratch.Close()
	s.scratch = nil
}
