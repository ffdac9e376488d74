package container

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	ocg "github.com/opencontainers/cgroups"

	"github.com/skiff-project/skiff/pkg/cgroups"
)

// pause and unpause freeze a container's processes with the cgroup v1 freezer of the
// container's own cgroup: its directory is freezer/skiff/ID as root and, rootless,
// freezer/skiff/USER/ID in the subtree `skiff system cgroups delegate` hands over (or under
// the container's --cgroup-parent). On a cgroup v2 host it is the container's cgroup's
// cgroup.freeze (OWN/skiff/ID, see pkg/cgroups/v2.go). A container run without limits has no cgroup: pause
// makes its freezer cgroup then and records it with the container's cgroup (cgroup.json), so
// rm and the sweep remove it. Every process of the container's pid namespace moves into it.

// freezerPath is the freezer directory a container's cgroup record names, or "": its v1
// freezer cgroup, or its v2 cgroup.
func freezerPath(dir string) string {
	if cg := readCgroup(dir); cg != nil {
		if p := cg.Paths["freezer"]; p != "" {
			return p
		}
		return cg.Paths[""]
	}
	return ""
}

// frozen says whether the freezer cgroup at path is frozen (or freezing).
func frozen(path string) bool { return cgroups.Frozen(path) }

// freeze sets the freezer cgroup at path to state (the library waits until the kernel is done).
func freeze(path string, state ocg.FreezerState) error { return cgroups.Freeze(path, state) }

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
	dir := r.Path(in.ID)
	cg := readCgroup(dir)
	if cg == nil {
		cg = &cgroups.Cgroup{Paths: map[string]string{}}
	}
	key := cgroups.FreezerController() // the v1 freezer's, or "": the v2 cgroup's
	path := cg.Paths[key]
	if path == "" {
		mode, parent := "", ""
		if in.Meta.Run != nil {
			mode, parent = in.Meta.Run.Cgroups, in.Meta.Run.CgroupParent
		}
		place, err := locateCgroups(cgroups.Limits{}, mode, parent)
		if err != nil {
			return in, fmt.Errorf("pause container %s: %w", ref, err)
		}
		if path, err = place.Freezer(in.ID); err != nil {
			return in, fmt.Errorf("pause container %s: %w", ref, err)
		}
		// recorded before it is made: a kill -9 from here on leaves nothing rm misses
		cg.Paths[key] = path
		if err := replaceJSON(dir, cgroupFile, cg); err != nil {
			return in, err
		}
		if err := r.noteCgroup(cg); err != nil {
			return in, err
		}
	}
	if err := os.Mkdir(path, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
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
			if inCgroup(p, key, path) {
				continue
			}
			if err := ocg.WriteCgroupProc(path, p); err == nil {
				moved++
			}
		}
	}
	if err := freeze(path, ocg.Frozen); err != nil {
		_ = freeze(path, ocg.Thawed)
		return in, fmt.Errorf("pause container %s: %w", ref, err)
	}
	return in, nil
}

// Unpause thaws a paused container (its processes stay in its freezer cgroup, which goes with
// the container).
func (r *Records) Unpause(ref string) (Info, error) {
	in, err := r.Lookup(ref)
	if err != nil {
		return in, err
	}
	if in.State.Status != "paused" {
		return in, fmt.Errorf("container %s is not paused", ref)
	}
	if err := freeze(freezerPath(r.Path(in.ID)), ocg.Thawed); err != nil {
		return in, fmt.Errorf("unpause container %s: %w", ref, err)
	}
	return in, nil
}

// thawKeeper thaws the container whose skiff-init is pid when it is paused, so that a signal
// sent to it (stop, kill, rm -f) takes effect.
func thawKeeper(pid int) {
	if path := cgroupOf(pid, cgroups.FreezerController()); path != "" && frozen(path) {
		_ = freeze(path, ocg.Thawed)
	}
}

// cgroupOf is the directory of process pid's cgroup of a v1 controller, or of the v2
// hierarchy for controller "" ("" when it is in the hierarchy's root or there is none).
func cgroupOf(pid int, controller string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return ""
	}
	if rel := cgroups.ParseProcCgroup(string(b))[controller]; rel != "" && rel != "/" {
		return cgroups.Path(controller, rel)
	}
	return ""
}

// inCgroup reports whether process pid is in the controller's cgroup at path.
func inCgroup(pid int, controller, path string) bool { return cgroupOf(pid, controller) == path }

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
