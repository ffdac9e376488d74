package container

import (
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/skiff-project/skiff/pkg/cgroups"
	"github.com/skiff-project/skiff/pkg/userns"
)

// cgroupFile, in a container's directory, names its cgroup (when it has limits).
const cgroupFile = "cgroup.json"

// cgroupsUsed, in the containers' directory, lists the directories the containers' cgroups
// have been made in (one per line): the sweep looks there for cgroups killed skiff processes
// left, and only when some container ever had a cgroup.
const cgroupsUsed = "cgroups-used"

// locateCgroups finds where this caller's containers get their cgroups (root's /skiff, the
// user's delegated /skiff/USER, parent when set, or below the caller's own with --cgroups
// split) and checks that the limits can be applied.
func locateCgroups(l cgroups.Limits, mode, parent string) (*cgroups.Place, error) {
	st := userns.Current()
	name := ""
	if st.Rootless {
		u, err := user.LookupId(strconv.Itoa(st.UID))
		if err != nil {
			return nil, fmt.Errorf("resource limits: who is user %d? %w", st.UID, err)
		}
		name = u.Username
	}
	p, err := cgroups.Locate(st.Rootless, name)
	if err != nil {
		return nil, err
	}
	if err := p.SetParent(parent); err != nil {
		return nil, err
	}
	if mode == "split" {
		if parent != "" {
			return nil, fmt.Errorf("--cgroup-parent and --cgroups split both say where the container's cgroup goes: give one")
		}
		if err := p.Split(); err != nil {
			return nil, err
		}
	}
	if err := p.Check(l); err != nil {
		return nil, err
	}
	return &p, nil
}

// DelegatedUnit says whether skiff's own cgroup is the caller's to make the container's cgroup
// in (--cgroups split works): under a systemd unit with Delegate=yes, where split is the default.
func DelegatedUnit() bool {
	_, err := locateCgroups(cgroups.Limits{}, "split", "")
	return err == nil
}

// CgroupPlace is where this caller's containers get their cgroups (for skiff info's report).
func CgroupPlace() (*cgroups.Place, error) { return locateCgroups(cgroups.Limits{}, "", "") }

// cgroupParents are the directories cgroupsUsed lists.
func (r *Records) cgroupParents() []string {
	b, err := os.ReadFile(filepath.Join(r.Dir, cgroupsUsed))
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

// noteCgroup adds the directories of a new container's cgroup to cgroupsUsed.
func (r *Records) noteCgroup(cg *cgroups.Cgroup) error {
	dirs := r.cgroupParents()
	n := len(dirs)
	for _, d := range cg.Parents() {
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	if len(dirs) == n {
		return nil
	}
	tmp := filepath.Join(r.Dir, "."+cgroupsUsed+".tmp")
	if err := os.WriteFile(tmp, []byte(strings.Join(dirs, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(r.Dir, cgroupsUsed))
}

// readCgroup returns the cgroup a container's directory names, or nil.
func readCgroup(dir string) *cgroups.Cgroup {
	b, err := os.ReadFile(filepath.Join(dir, cgroupFile))
	if err != nil {
		return nil
	}
	var c cgroups.Cgroup
	if json.Unmarshal(b, &c) != nil {
		return nil
	}
	return &c
}

// sweepCgroups removes the cgroups of containers that are gone (a killed skiff's).
func (r *Records) sweepCgroups() {
	if dirs := r.cgroupParents(); len(dirs) > 0 {
		cgroups.Sweep(dirs, func(id string) bool {
			_, err := os.Stat(r.Path(id))
			return err == nil
		})
	}
}

// Update gives a container the limits n sets (the others stay): in its record, so that a later
// start has them, and in its cgroup while it runs. A container started without limits has no
// cgroup to change: it gets the new limits when it starts again.
func (r *Records) Update(ref string, n cgroups.Limits) (Info, error) {
	in, err := r.Lookup(ref)
	if err != nil {
		return in, err
	}
	dir := r.Path(in.ID)
	m, err := readMeta(dir)
	if err != nil {
		return in, err
	}
	if m.Run == nil {
		return in, fmt.Errorf("container %s was not made by skiff run: it has no limits to update", ref)
	}
	l, err := m.Run.Limits.Update(n)
	if err != nil {
		return in, err
	}
	if in.Running {
		cg := readCgroup(dir)
		if cg == nil {
			return in, fmt.Errorf("container %s runs without limits (it has no cgroup of its own): stop it, update it, and start it again", ref)
		}
		place, err := locateCgroups(l, m.Run.Cgroups, m.Run.CgroupParent)
		if err != nil {
			return in, err
		}
		if err := cg.Update(*place, in.ID, l); err != nil {
			return in, err
		}
		if err := replaceJSON(dir, cgroupFile, cg); err != nil {
			return in, err
		}
		if err := r.noteCgroup(cg); err != nil { // a controller it lacked has a directory now
			return in, err
		}
	}
	m.Run.Limits = l
	return in, writeMeta(dir, m)
}
