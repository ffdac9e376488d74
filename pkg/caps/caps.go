// Package caps names Linux capabilities and resolves docker's --cap-add/--cap-drop/--privileged
// against docker's default set.
package caps

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/syndtr/gocapability/capability"
)

// Default is docker's (moby's) documented default capability set for containers.
func Default() []string {
	return []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
		"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
	}
}

// lastCap is the highest capability the running kernel knows.
func lastCap() capability.Cap {
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return capability.Cap(n)
		}
	}
	return capability.CAP_LAST_CAP
}

// All is every capability the running kernel knows.
func All() []string {
	last := lastCap()
	var out []string
	for _, c := range capability.List() {
		if c <= last {
			out = append(out, "CAP_"+strings.ToUpper(c.String()))
		}
	}
	slices.Sort(out)
	return out
}

func byName() map[string]capability.Cap {
	m := map[string]capability.Cap{}
	for _, c := range capability.List() {
		m["CAP_"+strings.ToUpper(c.String())] = c
	}
	return m
}

// Normalize turns chown, CHOWN, cap_chown or CAP_CHOWN into CAP_CHOWN; "all" into "ALL".
func Normalize(name string) (string, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if n == "ALL" {
		return "ALL", nil
	}
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	if _, ok := byName()[n]; !ok {
		return "", fmt.Errorf("unknown capability %q: see capabilities(7) for valid names, e.g. NET_ADMIN", name)
	}
	return n, nil
}

// Resolve applies docker's rules: start from the default set (all with privileged); dropping
// ALL empties it, adding ALL fills it; named additions win over a drop of ALL; named drops
// apply after additions. The result is sorted.
func Resolve(add, drop []string, privileged bool) ([]string, error) {
	set := map[string]bool{}
	base := Default()
	if privileged {
		base = All()
	}
	for _, c := range base {
		set[c] = true
	}
	var adds, drops []string
	addAll, dropAll := false, false
	for _, a := range add {
		n, err := Normalize(a)
		if err != nil {
			return nil, fmt.Errorf("--cap-add: %w", err)
		}
		if n == "ALL" {
			addAll = true
		} else {
			adds = append(adds, n)
		}
	}
	for _, d := range drop {
		n, err := Normalize(d)
		if err != nil {
			return nil, fmt.Errorf("--cap-drop: %w", err)
		}
		if n == "ALL" {
			dropAll = true
		} else {
			drops = append(drops, n)
		}
	}
	if dropAll {
		set = map[string]bool{}
	}
	if addAll {
		for _, c := range All() {
			set[c] = true
		}
	}
	for _, a := range adds {
		set[a] = true
	}
	for _, d := range drops {
		if !slices.Contains(adds, d) {
			delete(set, d)
		}
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	slices.Sort(out)
	return out, nil
}

// Mask is the bitmask of names (bit N = capability N), as capset(2) wants it.
func Mask(names []string) (uint64, error) {
	m := byName()
	var mask uint64
	for _, n := range names {
		c, ok := m[n]
		if !ok {
			return 0, fmt.Errorf("unknown capability %q", n)
		}
		if c < 64 {
			mask |= 1 << uint(c)
		}
	}
	return mask, nil
}
