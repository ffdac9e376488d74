package container

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-project/skiff/pkg/userns"
)

// pause and unpause freeze a container's processes with the cgroup v1 freezer: skiff gives a
// container a cgroup of its own only then, freezer/skiff/<id>, moving every process of the
// container's pid namespace into it. The freezer is root's on a v1 host (it cannot be
// delegated to a user); elsewhere pause says why it cannot work.

// freezerRoot is where the v1 freezer hierarchy is mounted.
var freezerRoot = "/sys/fs/cgroup/freezer"

func freezerDir(id string) string { return filepath.Join(freezerRoot, "skiff", id) }

// freezerUsable says why pause cannot work here, or nil.
func freezerUsable() error {
	if _, err := os.Stat(filepath.Join(freezerRoot, "cgroup.procs")); err != nil {
		return errors.New("this host has no cgroup v1 freezer, and skiff does not make cgroup v2 containers yet: stop the container instead (skiff stop)")
	}
	if userns.Current().Rootless {
		return errors.New("the cgroup v1 freezer is root's: a rootless container cannot be paused on this host (stop it instead, or run it as root)")
	}
	return nil
}

// paused reports whether container id is frozen.
func paused(id string) bool {
	b, err := os.ReadFile(filepath.Join(freezerDir(id), "freezer.state"))
	return err == nil && !bytes.HasPrefix(b, []byte("THAWED"))
}

// Pause freezes every process of the running container ref.
func (r *Records) Pause(ref string) (Info, error) {
	in, err := r.Lookup(ref)
	if err != nil {
		return in, err
	}
	if !in.Running {
		return in, fmt.Errorf("container %s is not running: only a running container can be paused", ref)
	}
	if in.State.Status == "paused" {
		return in, fmt.Errorf("container %s is already paused", ref)
	}
	if err := freezerUsable(); err != nil {
		return in, err
	}
	dir := freezerDir(in.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return in, fmt.Errorf("pause container %s: make its freezer cgroup: %w", ref, err)
	}
	// every process of the container's pid namespace, again until none is left out (one may
	// fork while the others move)
	for moved := -1; moved != 0; {
		pids, err := namespacePids(in.State.Pid)
		if err != nil {
			return in, fmt.Errorf("pause container %s: %w", ref, err)
		}
		moved = 0
		for _, p := range pids {
			if inFreezer(p, in.ID) {
				continue
			}
			if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(p)), 0); err == nil {
				moved++
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("FROZEN"), 0); err != nil {
		return in, fmt.Errorf("pause container %s: %w", ref, err)
	}
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if b, _ := os.ReadFile(filepath.Join(dir, "freezer.state")); bytes.HasPrefix(b, []byte("FROZEN")) {
			return in, nil
		}
	}
	return in, fmt.Errorf("pause container %s: its processes did not freeze within 5 s", ref)
}

// Unpause thaws a paused container and gives its processes back to the freezer's root.
func (r *Records) Unpause(ref string) (Info, error) {
	in, err := r.Lookup(ref)
	if err != nil {
		return in, err
	}
	if in.State.Status != "paused" {
		return in, fmt.Errorf("container %s is not paused", ref)
	}
	if err := thaw(in.ID); err != nil {
		return in, fmt.Errorf("unpause container %s: %w", ref, err)
	}
	return in, nil
}

// thaw thaws container id's freezer cgroup and removes it.
func thaw(id string) error {
	dir := freezerDir(id)
	if err := os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("THAWED"), 0); err != nil {
		return err
	}
	// a process may fork while the others move: again until the cgroup is empty
	for i := 0; i < 100; i++ {
		b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if len(bytes.TrimSpace(b)) == 0 {
			break
		}
		for _, p := range strings.Fields(string(b)) {
			_ = os.WriteFile(filepath.Join(freezerRoot, "cgroup.procs"), []byte(p), 0)
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the freezer cgroup: %w", err)
	}
	return nil
}

// thawKeeper thaws the container whose skiff-init is pid when it is paused, so that a signal
// sent to it (stop, kill, rm -f) takes effect.
func thawKeeper(pid int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return
	}
	for _, l := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) == 3 && parts[1] == "freezer" && strings.HasPrefix(parts[2], "/skiff/") {
			_ = thaw(strings.TrimPrefix(parts[2], "/skiff/"))
		}
	}
}

// inFreezer reports whether process pid is in container id's freezer cgroup.
func inFreezer(pid int, id string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	return err == nil && bytes.Contains(b, []byte(":freezer:/skiff/"+id+"\n"))
}

// namespacePids lists the processes in the pid namespace of process pid (a container's
// skiff-init, the namespace's first process), pid first.
func namespacePids(pid int) ([]int, error) {
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if err != nil {
		return nil, fmt.Errorf("find the container's processes: %w", err)
	}
	pids := []int{pid}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil || p == pid {
			continue
		}
		// skiff-init itself lives in the namespace it made: the others share it
		if l, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && l == ns {
			pids = append(pids, p)
		}
	}
	return pids, nil
}
