// Package caps names Linux capabilities and resolves docker-style --cap-add, --cap-drop and
// --privileged options into the capability set a container gets.
//
// Capability names are always returned in their canonical form, "CAP_" followed by the upper
// case name from capabilities(7), e.g. CAP_NET_ADMIN.
package caps

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/syndtr/gocapability/capability"
)

// AllName is the pseudo capability that stands for every capability in --cap-add/--cap-drop.
const AllName = "ALL"

// Default returns the capability set docker (moby) documents as the default for containers
// ("Runtime privilege and Linux capabilities" in the docker run reference). A fresh slice is
// returned each time; the order is docker's, not sorted.
func Default() []string {
	return []string{
		"CAP_CHOWN",
		"CAP_DAC_OVERRIDE",
		"CAP_FSETID",
		"CAP_FOWNER",
		"CAP_MKNOD",
		"CAP_NET_RAW",
		"CAP_SETGID",
		"CAP_SETUID",
		"CAP_SETFCAP",
		"CAP_SETPCAP",
		"CAP_NET_BIND_SERVICE",
		"CAP_SYS_CHROOT",
		"CAP_KILL",
		"CAP_AUDIT_WRITE",
	}
}

// names maps canonical names of every capability gocapability knows to their numbers.
var names = sync.OnceValue(func() map[string]capability.Cap {
	m := make(map[string]capability.Cap)
	for _, c := range capability.List() {
		m[canonical(c)] = c
	}
	return m
})

func canonical(c capability.Cap) string {
	return "CAP_" + strings.ToUpper(c.String())
}

// lastCap is the highest capability number the running kernel knows: cap_last_cap from
// procfs, else gocapability's own notion of it.
func lastCap() capability.Cap {
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n >= 0 {
			return capability.Cap(n)
		}
	}
	return capability.CAP_LAST_CAP
}

// All returns, sorted, every capability that both gocapability and the running kernel know.
func All() []string {
	last := lastCap()
	bnd := Bounding()
	var out []string
	for _, c := range capability.List() {
		if c <= last && bnd&(1<<uint(c)) != 0 {
			out = append(out, canonical(c))
		}
	}
	slices.Sort(out)
	return out
}

// Bounding is this process's capability bounding set (CapBnd of /proc/self/status): no
// container can get a capability outside it. Root may lack some, e.g. CAP_SYS_RESOURCE on
// hosts that withhold it; all bits are set when it cannot be read.
func Bounding() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ^uint64(0)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			if n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64); err == nil {
				return n
			}
		}
	}
	return ^uint64(0)
}

// Normalize returns the canonical name of a capability given as chown, CHOWN, cap_chown or
// CAP_CHOWN (any case, surrounding blanks ignored). "all" in any case gives AllName.
func Normalize(name string) (string, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if n == AllName {
		return AllName, nil
	}
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	if _, ok := names()[n]; !ok {
		return "", fmt.Errorf("unknown capability %q: see capabilities(7) for valid names, e.g. NET_ADMIN", name)
	}
	return n, nil
}

// Resolve computes a container's capabilities the way docker does:
//
//   - start from Default(), or from All() when privileged (unlike docker, which ignores
//     --cap-drop with --privileged, named drops still apply then, as in podman);
//   - --cap-add ALL gives every capability, minus the named drops;
//   - --cap-drop ALL (without --cap-add ALL) leaves exactly the named additions;
//   - otherwise the named drops are removed from the start set and the named additions
//     are added, so a capability both added and dropped by name stays (as in docker).
//
// Names may be spelled in any form Normalize accepts. The result is sorted and has no
// duplicates; it is never nil.
func Resolve(add, drop []string, privileged bool) ([]string, error) {
	adds, addAll, err := normalizeAll(add, "--cap-add")
	if err != nil {
		return nil, err
	}
	drops, dropAll, err := normalizeAll(drop, "--cap-drop")
	if err != nil {
		return nil, err
	}

	base := Default()
	if addAll || privileged {
		base = All()
	}
	set := make(map[string]bool, len(base)+len(adds))
	if !dropAll || addAll {
		for _, c := range base {
			set[c] = true
		}
	}
	for _, d := range drops {
		delete(set, d)
	}
	if !addAll {
		bnd := Bounding()
		for _, a := range adds {
			if bnd&(1<<uint(names()[a])) == 0 {
				return nil, fmt.Errorf("--cap-add %s: skiff itself lacks this capability here (it is not in its bounding set), so no container can have it", a)
			}
			set[a] = true
		}
	}

	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	slices.Sort(out)
	return out, nil
}

// normalizeAll normalizes list, reporting separately whether it contained ALL.
func normalizeAll(list []string, flag string) (named []string, all bool, err error) {
	for _, s := range list {
		n, err := Normalize(s)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", flag, err)
		}
		if n == AllName {
			all = true
			continue
		}
		named = append(named, n)
	}
	return named, all, nil
}

// Mask returns the bitmask of the named capabilities, bit N set for capability number N, as
// the C shim passes it to capset(2) and prctl(2). Names may be in any form Normalize accepts;
// ALL is refused (resolve it first).
func Mask(list []string) (uint64, error) {
	var mask uint64
	for _, s := range list {
		n, err := Normalize(s)
		if err != nil {
			return 0, err
		}
		if n == AllName {
			return 0, fmt.Errorf("capability mask: %q must be resolved to capability names first", s)
		}
		c := names()[n]
		if c >= 64 {
			return 0, fmt.Errorf("capability mask: %s (%d) does not fit in 64 bits", n, c)
		}
		mask |= 1 << uint(c)
	}
	return mask, nil
}
