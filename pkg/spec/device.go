package spec

import (
	"os"
	"path/filepath"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Device is one --device HOST[:CTR][:PERMISSIONS].
type Device struct {
	Host, Container string
	Permissions     string // letters of rwm (docker's cgroup permissions)
}

// ParseDevice reads --device HOST[:CTR][:PERMISSIONS] as docker does: CTR defaults to HOST,
// PERMISSIONS (r, w and m) to rwm.
func ParseDevice(s string) (Device, error) {
	parts := strings.Split(s, ":")
	d := Device{Host: parts[0], Permissions: "rwm"}
	switch len(parts) {
	case 1:
	case 2:
		if isPermissions(parts[1]) {
			d.Permissions = parts[1]
		} else {
			d.Container = parts[1]
		}
	case 3:
		d.Container, d.Permissions = parts[1], parts[2]
		if !isPermissions(d.Permissions) {
			return d, errorf("invalid --device %q: the permissions %q are letters of rwm", s, d.Permissions)
		}
	default:
		return d, errorf("invalid --device %q: use HOST-DEVICE[:CONTAINER-PATH][:PERMISSIONS], such as /dev/fuse or /dev/sdb:/dev/xvdc:r", s)
	}
	if d.Container == "" {
		d.Container = d.Host
	}
	if !filepath.IsAbs(d.Host) || !filepath.IsAbs(d.Container) {
		return d, errorf("invalid --device %q: give absolute paths, such as /dev/fuse", s)
	}
	d.Host, d.Container = filepath.Clean(d.Host), filepath.Clean(d.Container)
	if d.Container == "/" || d.Container == "/dev" {
		return d, errorf("invalid --device %q: give the device's own path in the container, such as /dev/fuse", s)
	}
	return d, nil
}

func isPermissions(s string) bool {
	if s == "" || len(s) > 3 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("rwm", c) {
			return false
		}
	}
	return true
}

// devices adds the --device nodes to s: each is bound from the host (a rootless container
// cannot make device nodes, and a bind works for root alike) and listed in Linux.Devices. A
// directory (such as /dev/dri) brings the device nodes in it.
func devices(s *rspec.Spec, list []string) error {
	seen := map[string]bool{}
	for _, v := range list {
		d, err := ParseDevice(v)
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Stat(d.Host, &st); err != nil {
			return errorf("--device %s: %v (give a device node of this host)", v, err)
		}
		nodes := [][2]string{{d.Host, d.Container}}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			nodes = nil
			err := filepath.WalkDir(d.Host, func(p string, e os.DirEntry, err error) error {
				if err == nil && e.Type()&(os.ModeDevice|os.ModeCharDevice) != 0 {
					rel, _ := filepath.Rel(d.Host, p)
					nodes = append(nodes, [2]string{p, filepath.Join(d.Container, rel)})
				}
				return nil
			})
			if err != nil || len(nodes) == 0 {
				return errorf("--device %s: the directory has no device nodes", v)
			}
		}
		for _, n := range nodes {
			var st unix.Stat_t
			if err := unix.Stat(n[0], &st); err != nil {
				return errorf("--device %s: %v", n[0], err)
			}
			typ := ""
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFCHR:
				typ = "c"
			case unix.S_IFBLK:
				typ = "b"
			default:
				return errorf("--device %s: not a device node (a character or block device such as /dev/fuse)", n[0])
			}
			if seen[n[1]] {
				return errorf("--device %s: two devices at %s: give each path once", v, n[1])
			}
			seen[n[1]] = true
			mode := os.FileMode(st.Mode & 0o777)
			uid, gid := st.Uid, st.Gid
			s.Linux.Devices = append(s.Linux.Devices, rspec.LinuxDevice{Path: n[1], Type: typ,
				Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)), FileMode: &mode, UID: &uid, GID: &gid})
			s.Mounts = append(s.Mounts, rspec.Mount{Destination: n[1], Type: "bind", Source: n[0], Options: []string{"bind"}})
		}
	}
	return nil
}
