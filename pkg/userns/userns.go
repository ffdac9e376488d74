// Package userns describes the user namespace skiff runs in: whether it is rootless, which host
// ids are mapped, and where the per-user run directory is. The namespace itself is entered by
// package userns/enter before the Go runtime starts.
package userns

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// State is what entering the namespace did.
type State struct {
	Entered  bool   // a user namespace was entered for a rootless user
	Rootless bool   // the caller is not root on the host
	SingleID bool   // only the caller's own id is mapped (no /etc/subuid range)
	UID, GID int    // the caller's ids on the host
	RunDir   string // the per-user run directory chosen
}

var state = State{UID: os.Getuid(), GID: os.Getgid(), Rootless: os.Geteuid() != 0}

// Set records the namespace state (called by package enter).
func Set(s State) { state = s }

var enterStart, enterEnd int64

// SetTimes records when entering the namespaces began and ended (CLOCK_MONOTONIC ns).
func SetTimes(start, end int64) { enterStart, enterEnd = start, end }

// Times returns what SetTimes recorded: zero when nothing was entered.
func Times() (start, end int64) { return enterStart, enterEnd }

// Current returns the namespace state of this process.
func Current() State { return state }

// IDMap is one line of /proc/PID/uid_map: Size ids from Inside are Outside on the host.
type IDMap struct {
	Inside, Outside, Size uint64
}

// ParseIDMap reads the uid_map/gid_map format.
func ParseIDMap(r io.Reader) ([]IDMap, error) {
	var out []IDMap
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("bad id map line %q", sc.Text())
		}
		var m IDMap
		var err error
		for i, p := range []*uint64{&m.Inside, &m.Outside, &m.Size} {
			if *p, err = strconv.ParseUint(f[i], 10, 32); err != nil {
				return nil, fmt.Errorf("bad id map line %q", sc.Text())
			}
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// ReadIDMaps returns this process's uid and gid maps.
func ReadIDMaps() (uids, gids []IDMap, err error) {
	for _, x := range []struct {
		file string
		dst  *[]IDMap
	}{{"/proc/self/uid_map", &uids}, {"/proc/self/gid_map", &gids}} {
		f, err := os.Open(x.file)
		if err != nil {
			return nil, nil, err
		}
		*x.dst, err = ParseIDMap(f)
		f.Close()
		if err != nil {
			return nil, nil, err
		}
	}
	return uids, gids, nil
}

// Mapped reports whether id (as seen inside) is covered by maps.
func Mapped(maps []IDMap, id uint64) bool {
	for _, m := range maps {
		if id >= m.Inside && id < m.Inside+m.Size {
			return true
		}
	}
	return false
}

// SubIDRange is one range of /etc/subuid or /etc/subgid.
type SubIDRange struct {
	Start, Count uint64
}

// ParseSubIDs returns the ranges of the user given by name or numeric id in the subuid format.
func ParseSubIDs(r io.Reader, name string, id int) ([]SubIDRange, error) {
	var out []SubIDRange
	ids := strconv.Itoa(id)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 3 || (f[0] != name && f[0] != ids) {
			continue
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		count, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil || count == 0 {
			continue
		}
		out = append(out, SubIDRange{start, count})
	}
	return out, sc.Err()
}
