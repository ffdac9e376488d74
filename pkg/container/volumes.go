package container

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/skiff-project/skiff/pkg/config"
	"github.com/skiff-project/skiff/pkg/volume"
)

// The volumes of a run, as docker makes them. Every kind ends as a bind mount of a host
// directory in Spec.Volumes ("HOST:CTR[:OPTS]"), which is also what start reuses:
//
//	-v NAME:/path        the named volume, created on first use
//	-v /path             an anonymous volume (a random name), removed with the container by
//	                     rm -v and --rm
//	VOLUME in the image  an anonymous volume at each path no -v, --mount or --tmpfs covers
//	--volumes-from CTR   the volumes and bind mounts of another container, at the same paths
//
// A volume no container has mounted yet gets the image's files at its path first (copy-up:
// skiff-init copies them into the empty volume before mounting it), unless the option
// nocopy says not to.

// resolveVolumes turns the run's volume options into host directories, before the image is
// known (the image's own VOLUMEs are imageVolumes').
func (o *RunOptions) resolveVolumes(paths config.Paths) error {
	if len(o.Spec.Volumes) == 0 && len(o.VolumesFrom) == 0 {
		return nil
	}
	vols := volume.Open(paths.GraphRoot)
	out := make([]string, 0, len(o.Spec.Volumes))
	for _, v := range o.Spec.Volumes {
		src, rest, ok := strings.Cut(v, ":")
		switch {
		case !ok && path.IsAbs(v):
			// -v /path: an anonymous volume
			vol, err := vols.CreateAnonymous()
			if err != nil {
				return fmt.Errorf("-v %s: %w", v, err)
			}
			o.useVolume(vols, vol, path.Clean(v), false)
			out = append(out, vol.Mountpoint+":"+v)
		case ok && volume.IsName(src):
			vol, err := vols.Create(src, false)
			if err != nil {
				return fmt.Errorf("-v %s: %w", v, err)
			}
			dst, opts, _ := strings.Cut(rest, ":")
			o.useVolume(vols, vol, path.Clean(dst), slices.Contains(strings.Split(opts, ","), "nocopy"))
			out = append(out, vol.Mountpoint+":"+rest)
		default:
			out = append(out, v) // a host directory, checked by spec.ParseVolume
		}
	}
	o.Spec.Volumes = out
	for _, ref := range o.VolumesFrom {
		if err := o.volumesFrom(paths, vols, ref); err != nil {
			return err
		}
	}
	return nil
}

// useVolume records that the container mounts vol at dst.
func (o *RunOptions) useVolume(vols *volume.Store, vol volume.Volume, dst string, nocopy bool) {
	if !slices.Contains(o.volumes, vol.Name) {
		o.volumes = append(o.volumes, vol.Name)
	}
	if vol.Anonymous() {
		o.anonVolumes = append(o.anonVolumes, vol.Name)
	}
	if vols.TakeCopyUp(vol.Name) && !nocopy {
		if o.copyUp == nil {
			o.copyUp = map[string]bool{}
		}
		o.copyUp[vol.Mountpoint] = true
	}
}

// volumesFrom adds the volumes and bind mounts of container ref (--volumes-from
// CTR[:ro|rw]) at the paths no other option took.
func (o *RunOptions) volumesFrom(paths config.Paths, vols *volume.Store, ref string) error {
	name, mode, _ := strings.Cut(ref, ":")
	if mode != "" && mode != "ro" && mode != "rw" {
		return fmt.Errorf("invalid --volumes-from %q: use CONTAINER[:ro|rw]", ref)
	}
	in, err := OpenRecords(paths.GraphRoot).Lookup(name)
	if err != nil {
		return fmt.Errorf("--volumes-from %s: %w", ref, err)
	}
	if in.Meta.Run == nil {
		return nil
	}
	taken := o.destinations()
	for _, v := range in.Meta.Run.Spec.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || taken[path.Clean(parts[1])] {
			continue
		}
		if mode != "" {
			var opts []string
			if len(parts) == 3 {
				for _, x := range strings.Split(parts[2], ",") {
					if x != "ro" && x != "rw" && x != "" {
						opts = append(opts, x)
					}
				}
			}
			parts = append(parts[:2], strings.Join(append(opts, mode), ","))
		}
		o.Spec.Volumes = append(o.Spec.Volumes, strings.Join(parts, ":"))
		taken[path.Clean(parts[1])] = true
		if n := vols.MountpointOf(parts[0]); n != "" && !slices.Contains(o.volumes, n) {
			o.volumes = append(o.volumes, n) // in use by this container too
		}
	}
	return nil
}

// destinations are the container paths the run's volumes and tmpfs mounts take.
func (o *RunOptions) destinations() map[string]bool {
	taken := map[string]bool{}
	for _, v := range o.Spec.Volumes {
		if parts := strings.Split(v, ":"); len(parts) >= 2 {
			taken[path.Clean(parts[1])] = true
		}
	}
	for _, t := range o.Spec.Tmpfs {
		dst, _, _ := strings.Cut(t, ":")
		taken[path.Clean(dst)] = true
	}
	return taken
}

// imageVolumes gives each VOLUME of the image that no option covers an anonymous volume.
func (o *RunOptions) imageVolumes(paths config.Paths, image map[string]struct{}) error {
	if len(image) == 0 {
		return nil
	}
	dsts := make([]string, 0, len(image))
	for d := range image {
		dsts = append(dsts, path.Clean("/"+d))
	}
	slices.Sort(dsts)
	taken := o.destinations()
	vols := volume.Open(paths.GraphRoot)
	for _, d := range dsts {
		if taken[d] {
			continue
		}
		vol, err := vols.CreateAnonymous()
		if err != nil {
			return fmt.Errorf("the image's volume %s: %w", d, err)
		}
		o.useVolume(vols, vol, d, false)
		o.Spec.Volumes = append(o.Spec.Volumes, vol.Mountpoint+":"+d)
		taken[d] = true
	}
	return nil
}

// removeAnonVolumes removes the anonymous volumes of a removed container that no other
// container mounts.
func (r *Records) removeAnonVolumes(m Meta) {
	if len(m.AnonVolumes) == 0 {
		return
	}
	used, _ := r.VolumeUsers()
	vols := volume.Open(r.graphRoot())
	for _, v := range m.AnonVolumes {
		if len(used[v]) == 0 {
			_ = vols.Remove(v, true, nil)
		}
	}
}

// VolumeUsers maps each volume to the IDs of the containers that mount it.
func (r *Records) VolumeUsers() (map[string][]string, error) {
	list, err := r.List()
	if err != nil {
		return nil, err
	}
	users := map[string][]string{}
	for _, in := range list {
		for _, v := range in.Meta.Volumes {
			users[v] = append(users[v], in.ID)
		}
	}
	return users, nil
}
