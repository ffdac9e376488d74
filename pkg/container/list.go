package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containers/storage"
	"golang.org/x/sys/unix"

	"github.com/skiff-project/skiff/pkg/store"
)

// Info describes one container for ps and rm.
type Info struct {
	ID      string
	Names   []string
	Meta    Meta
	State   State
	Running bool
}

// alive reports whether a process holds the container's run-directory lock, and its pid file.
func alive(st *store.Store, id string) (bool, int) {
	dir := st.Paths.ContainerRunDir(id)
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, 0
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) == nil {
		return false, 0
	}
	b, _ := os.ReadFile(filepath.Join(dir, "pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return true, pid
}

// List returns the store's containers, newest first.
func List(st *store.Store) ([]Info, error) {
	cs, err := st.S.Containers()
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(cs))
	for _, c := range cs {
		out = append(out, info(st, &c))
	}
	slices.SortFunc(out, func(a, b Info) int { return b.Meta.Created.Compare(a.Meta.Created) })
	return out, nil
}

func info(st *store.Store, c *storage.Container) Info {
	in := Info{ID: c.ID, Names: c.Names}
	_ = json.Unmarshal([]byte(c.Metadata), &in.Meta)
	if in.Meta.Created.IsZero() {
		in.Meta.Created = c.Created
	}
	in.State, _ = ReadState(st, c.ID)
	if running, pid := alive(st, c.ID); running {
		in.Running = true
		in.State.Status = "running"
		in.State.Pid = pid
	} else if in.State.Status == "running" || in.State.Status == "" {
		in.State.Status = "exited"
	}
	return in
}

// Lookup finds a container by name, full ID or unique ID prefix.
func Lookup(st *store.Store, ref string) (Info, error) {
	if c, err := st.S.Container(ref); err == nil {
		return info(st, c), nil
	}
	cs, err := st.S.Containers()
	if err != nil {
		return Info{}, err
	}
	var match *storage.Container
	for i := range cs {
		if strings.HasPrefix(cs[i].ID, ref) {
			if match != nil {
				return Info{}, fmt.Errorf("%q matches more than one container: give more of the ID or the name", ref)
			}
			match = &cs[i]
		}
	}
	if match == nil || ref == "" {
		return Info{}, &store.NotFoundError{Kind: "container", Name: ref, Hint: "see skiff ps -a"}
	}
	return info(st, match), nil
}

// ErrRunning is returned by Remove for a running container without force.
var ErrRunning = errors.New("container is running")

// Remove deletes a container; a running one only with force, after killing it.
func Remove(st *store.Store, ref string, force bool) (Info, error) {
	in, err := Lookup(st, ref)
	if err != nil {
		return in, err
	}
	if in.Running {
		if !force {
			return in, fmt.Errorf("container %s is running: stop it first, or use rm -f", ref)
		}
		if in.State.Pid > 0 {
			_ = syscall.Kill(in.State.Pid, syscall.SIGKILL)
		}
		// the process keeping it lets go of its lock when it has died
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if ok, _ := alive(st, in.ID); !ok {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	_, _ = st.S.Unmount(in.ID, true)
	if err := st.S.DeleteContainer(in.ID); err != nil && !errors.Is(err, storage.ErrContainerUnknown) {
		return in, fmt.Errorf("remove container %.12s: %w", in.ID, err)
	}
	os.RemoveAll(st.Paths.ContainerRunDir(in.ID))
	return in, nil
}
