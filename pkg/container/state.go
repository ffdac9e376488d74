package container

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containers/storage"
	"golang.org/x/sys/unix"

	"github.com/skiff-project/skiff/pkg/store"
)

// Meta is skiff's record of a container, kept as the storage container's metadata.
type Meta struct {
	Name       string    `json:"name"`
	Image      string    `json:"image"` // as the user named it
	ImageID    string    `json:"imageID"`
	Command    []string  `json:"command"`
	Created    time.Time `json:"created"`
	AutoRemove bool      `json:"autoRemove,omitempty"`
}

// State is a container's last known run state, in its storage directory (state.json).
type State struct {
	Status     string    `json:"status"` // created, running, exited
	Pid        int       `json:"pid,omitempty"`
	ExitCode   int       `json:"exitCode"`
	StartedAt  time.Time `json:"startedAt,omitempty"`
	FinishedAt time.Time `json:"finishedAt,omitempty"`
}

// NewID returns a random 64-hex-digit container ID.
func NewID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// runDir is a live container's directory under the run directory. The process that keeps the
// container (the foreground skiff, later the detached shim) holds an exclusive flock on its
// "lock" file for as long as the container lives; the kernel drops it when that process dies,
// however it dies, which is how the next skiff knows the state is stale.
type runDir struct {
	path string
	lock *os.File
}

// createRunDir makes the run directory of id already locked: it is prepared under a hidden
// name and renamed into place, so a sweeper never sees it unlocked.
func createRunDir(base, id string) (*runDir, error) {
	parent := filepath.Join(base, "containers")
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, err
	}
	tmp := filepath.Join(parent, ".new-"+id)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(tmp, "lock"), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		os.RemoveAll(tmp)
		return nil, err
	}
	final := filepath.Join(parent, id)
	if err := os.Rename(tmp, final); err != nil {
		f.Close()
		os.RemoveAll(tmp)
		return nil, err
	}
	return &runDir{path: final, lock: f}, nil
}

func (r *runDir) file(name string) string { return filepath.Join(r.path, name) }

// release removes the directory and drops the lock.
func (r *runDir) release() {
	if r == nil {
		return
	}
	os.RemoveAll(r.path)
	r.lock.Close()
}

// Sweep cleans up after skiff processes that were killed: for every run directory nobody holds
// locked, an --rm container is deleted from the store, another is marked exited, and the
// directory goes. It returns the IDs it cleaned.
func Sweep(st *store.Store) []string {
	parent := filepath.Join(st.Paths.RunDir, "containers")
	ents, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	var cleaned []string
	for _, e := range ents {
		name := e.Name()
		dir := filepath.Join(parent, name)
		if strings.HasPrefix(name, ".new-") {
			// a creator killed before renaming: stale when older than a minute
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Minute {
				os.RemoveAll(dir)
			}
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			os.RemoveAll(dir)
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			f.Close() // alive
			continue
		}
		cleanupStale(st, name)
		os.RemoveAll(dir)
		f.Close()
		cleaned = append(cleaned, name)
	}
	return cleaned
}

func cleanupStale(st *store.Store, id string) {
	c, err := st.S.Container(id)
	if err != nil {
		return
	}
	var m Meta
	_ = json.Unmarshal([]byte(c.Metadata), &m)
	_, _ = st.S.Unmount(id, true)
	if m.AutoRemove {
		_ = st.S.DeleteContainer(id)
		return
	}
	s, _ := ReadState(st, id)
	if s.Status == "running" || s.Status == "created" {
		s.Status = "exited"
		s.ExitCode = 137
		s.FinishedAt = time.Now().UTC()
		_ = WriteState(st, id, s)
	}
}

// ReadState reads a container's state.json.
func ReadState(st *store.Store, id string) (State, error) {
	var s State
	b, err := st.S.FromContainerDirectory(id, "state.json")
	if err != nil {
		return State{Status: "created"}, err
	}
	err = json.Unmarshal(b, &s)
	return s, err
}

// WriteState replaces a container's state.json atomically.
func WriteState(st *store.Store, id string, s State) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	dir, err := st.S.ContainerDirectory(id)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ".state.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "state.json"))
}

// nameInUse turns storage's duplicate-name error into one that says what to do.
func nameInUse(err error, name string) error {
	if errors.Is(err, storage.ErrDuplicateName) {
		return fmt.Errorf("the container name %q is already in use: choose another --name or remove that container (skiff rm %s)", name, name)
	}
	return err
}
