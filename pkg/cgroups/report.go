package cgroups

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Status says whether limits of one controller work for this caller, and why not.
type Status struct {
	Controller string `json:"controller"`
	Usable     bool   `json:"usable"`
	Where      string `json:"where,omitempty"` // the directory containers' cgroups go in
	Why        string `json:"why,omitempty"`
}

// Reported are the controllers skiff info reports on: those the limit flags and pause use.
var Reported = []string{"memory", "cpu", "cpuset", "pids", "blkio", "freezer"}

// Report says, controller by controller, whether this caller's containers can have limits
// there (and pause, for freezer) and what is missing where they cannot.
func (p Place) Report() []Status {
	if p.Unified {
		return p.reportV2()
	}
	var out []Status
	for _, c := range Reported {
		s := Status{Controller: c}
		mnt, ok := p.Mounts[c]
		switch {
		case !ok:
			s.Why = "not mounted on this host"
		default:
			s.Where = filepath.Join(mnt, p.Base)
			switch {
			case !p.Rootless:
				s.Usable = true
			case unix.Access(s.Where, unix.W_OK|unix.X_OK) == nil:
				s.Usable = true
			default:
				s.Why = fmt.Sprintf("not delegated to %s: run `sudo skiff system cgroups delegate %s` once", p.User, p.User)
			}
			if s.Usable && c == "blkio" && !exists(mnt, "blkio.weight") && !exists(mnt, "blkio.bfq.io_service_bytes") {
				s.Why = "--blkio-weight needs bfq (sudo modprobe bfq); the --device-*-bps/iops throttles work"
			}
		}
		out = append(out, s)
	}
	return out
}
