// Package cgroups gives a container the resource limits of run's flags (--memory, --cpus,
// --pids-limit, ...): a cgroup of its own, made with github.com/opencontainers/cgroups (the
// library runc uses) in the place this host lets the caller use. As root that is a `skiff`
// parent under each cgroup v1 controller; rootless on cgroup v1, the subtree an administrator
// handed over once with `skiff system cgroups delegate USER`. Without a place, a limit flag is
// an error that names the controller and the command that fixes it; without limit flags no
// cgroup is made at all.
package cgroups

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
	ocg "github.com/opencontainers/cgroups"
)

// Limits are run's resource flags in docker's units (a container's run config keeps them).
type Limits struct {
	Memory            int64  `json:"memory,omitempty"`            // bytes
	MemorySwap        int64  `json:"memorySwap,omitempty"`        // memory+swap bytes; -1: unlimited
	MemoryReservation int64  `json:"memoryReservation,omitempty"` // bytes (soft limit)
	OOMKillDisable    bool   `json:"oomKillDisable,omitempty"`
	NanoCPUs          int64  `json:"nanoCpus,omitempty"` // --cpus × 1e9
	CPUShares         uint64 `json:"cpuShares,omitempty"`
	CPUPeriod         uint64 `json:"cpuPeriod,omitempty"` // µs
	CPUQuota          int64  `json:"cpuQuota,omitempty"`  // µs
	CpusetCpus        string `json:"cpusetCpus,omitempty"`
	CpusetMems        string `json:"cpusetMems,omitempty"`
	PidsLimit         int64  `json:"pidsLimit,omitempty"` // -1: unlimited
	BlkioWeight       uint16 `json:"blkioWeight,omitempty"`
	Throttles                // --device-{read,write}-{bps,iops}
}

// Any says whether any limit is set: only then does a container get a cgroup of its own.
func (l Limits) Any() bool { return len(l.Controllers()) > 0 }

// CheckMode checks --cgroups against the limits: enabled (the default: a cgroup of its own
// when it has limits), disabled (none, so no limits either) or split (a cgroup of its own
// below the caller's, limits or not).
func CheckMode(mode string, l Limits) error {
	switch mode {
	case "", "enabled":
		return nil
	case "disabled":
		if l.Any() {
			return fmt.Errorf("--cgroups disabled gives the container no cgroup, so its %s limits cannot be applied: drop one or the other", l.Controllers()[0])
		}
		return nil
	case "split":
		return nil
	}
	return fmt.Errorf("invalid --cgroups %q: use enabled, disabled or split", mode)
}

// Flags are the limits' flag values as the command line gave them ("" when not given).
type Flags struct {
	Memory, MemorySwap, MemoryReservation string
	OOMKillDisable                        bool
	CPUs, CPUShares, CPUPeriod, CPUQuota  string
	CpusetCpus, CpusetMems                string
	PidsLimit, BlkioWeight                string
	// DEVICE:RATE each
	DeviceReadBps, DeviceWriteBps, DeviceReadIOps, DeviceWriteIOps []string
}

// docker refuses a memory limit under 6 MiB: the command could not even start.
const minMemory = 6 << 20

// Parse checks the flags and turns them into Limits; each error names the flag and the fix.
func Parse(f Flags) (Limits, error) {
	var l Limits
	var err error
	size := func(flag, s string) (int64, error) {
		if s == "" {
			return 0, nil
		}
		n, err := units.RAMInBytes(s)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid %s %q: use a size such as 64m, 512m or 2g", flag, s)
		}
		return n, nil
	}
	if l.Memory, err = size("--memory", f.Memory); err != nil {
		return l, err
	}
	if l.Memory != 0 && l.Memory < minMemory {
		return l, fmt.Errorf("invalid --memory %q: the least is 6m", f.Memory)
	}
	if f.MemorySwap == "-1" {
		l.MemorySwap = -1
	} else if l.MemorySwap, err = size("--memory-swap", f.MemorySwap); err != nil {
		return l, err
	}
	if l.MemoryReservation, err = size("--memory-reservation", f.MemoryReservation); err != nil {
		return l, err
	}
	l.OOMKillDisable = f.OOMKillDisable
	if f.CPUs != "" {
		c, err := strconv.ParseFloat(f.CPUs, 64)
		if err != nil || c <= 0 || math.IsInf(c, 0) || c*1e9 < 1e7 {
			return l, fmt.Errorf("invalid --cpus %q: use a number of CPUs such as 0.5 or 2 (at least 0.01)", f.CPUs)
		}
		if n := runtime.NumCPU(); c > float64(n) {
			return l, fmt.Errorf("invalid --cpus %q: this host has %d CPUs", f.CPUs, n)
		}
		l.NanoCPUs = int64(c * 1e9)
	}
	uint := func(flag, s string, lo, hi uint64) (uint64, error) {
		if s == "" {
			return 0, nil
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("invalid %s %q: use a number from %d to %d", flag, s, lo, hi)
		}
		return n, nil
	}
	if l.CPUShares, err = uint("--cpu-shares", f.CPUShares, 2, 262144); err != nil {
		return l, err
	}
	if l.CPUPeriod, err = uint("--cpu-period", f.CPUPeriod, 1000, 1000000); err != nil {
		return l, err
	}
	q, err := uint("--cpu-quota", f.CPUQuota, 1000, math.MaxInt64)
	if err != nil {
		return l, err
	}
	l.CPUQuota = int64(q)
	for _, c := range []struct{ flag, v string }{{"--cpuset-cpus", f.CpusetCpus}, {"--cpuset-mems", f.CpusetMems}} {
		if c.v != "" && !validList(c.v) {
			return l, fmt.Errorf("invalid %s %q: use a list such as 0-2,4", c.flag, c.v)
		}
	}
	l.CpusetCpus, l.CpusetMems = f.CpusetCpus, f.CpusetMems
	if f.PidsLimit != "" {
		n, err := strconv.ParseInt(f.PidsLimit, 10, 64)
		if err != nil || n == 0 || n < -1 {
			return l, fmt.Errorf("invalid --pids-limit %q: use a number of processes, or -1 for no limit", f.PidsLimit)
		}
		l.PidsLimit = n
	}
	w, err := uint("--blkio-weight", f.BlkioWeight, 10, 1000)
	if err != nil {
		return l, err
	}
	l.BlkioWeight = uint16(w)
	if l.Throttles, err = parseThrottles(f.DeviceReadBps, f.DeviceWriteBps, f.DeviceReadIOps, f.DeviceWriteIOps); err != nil {
		return l, err
	}
	return l, l.check()
}

// check is what the limits must say together.
func (l Limits) check() error {
	if l.MemorySwap > 0 {
		if l.Memory == 0 {
			return fmt.Errorf("--memory-swap needs --memory: it is the limit of memory and swap together")
		}
		if l.MemorySwap < l.Memory {
			return fmt.Errorf("invalid --memory-swap %s: it is memory and swap together, so at least --memory (%s), or -1 for no limit", units.BytesSize(float64(l.MemorySwap)), units.BytesSize(float64(l.Memory)))
		}
	}
	if l.Memory != 0 && l.MemoryReservation > l.Memory {
		return fmt.Errorf("invalid --memory-reservation %s: it must not exceed --memory (%s)", units.BytesSize(float64(l.MemoryReservation)), units.BytesSize(float64(l.Memory)))
	}
	if l.NanoCPUs != 0 && (l.CPUQuota != 0 || l.CPUPeriod != 0) {
		return fmt.Errorf("--cpus and --cpu-period/--cpu-quota set the same limit: use one or the other")
	}
	return nil
}

// Update is l with the limits n sets replacing theirs (skiff update): --cpus replaces a
// period and quota, and they replace --cpus.
func (l Limits) Update(n Limits) (Limits, error) {
	set := func(dst *int64, v int64) {
		if v != 0 {
			*dst = v
		}
	}
	set(&l.Memory, n.Memory)
	set(&l.MemorySwap, n.MemorySwap)
	set(&l.MemoryReservation, n.MemoryReservation)
	set(&l.PidsLimit, n.PidsLimit)
	l.OOMKillDisable = l.OOMKillDisable || n.OOMKillDisable
	if n.NanoCPUs != 0 {
		l.NanoCPUs, l.CPUPeriod, l.CPUQuota = n.NanoCPUs, 0, 0
	}
	if n.CPUPeriod != 0 || n.CPUQuota != 0 {
		l.NanoCPUs = 0
		if n.CPUPeriod != 0 {
			l.CPUPeriod = n.CPUPeriod
		}
		set(&l.CPUQuota, n.CPUQuota)
	}
	if n.CPUShares != 0 {
		l.CPUShares = n.CPUShares
	}
	if n.CpusetCpus != "" {
		l.CpusetCpus = n.CpusetCpus
	}
	if n.CpusetMems != "" {
		l.CpusetMems = n.CpusetMems
	}
	if n.BlkioWeight != 0 {
		l.BlkioWeight = n.BlkioWeight
	}
	l.Throttles = l.Throttles.update(n.Throttles)
	return l, l.check()
}

// validList checks a cpuset list: numbers and ranges separated by commas.
func validList(s string) bool {
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := strconv.ParseUint(hi, 10, 16)
		if err1 != nil || isRange && (err2 != nil || b < a) {
			return false
		}
	}
	return true
}

// Controllers are the cgroup v1 controllers the limits are written to.
func (l Limits) Controllers() []string {
	var cs []string
	if l.Memory != 0 || l.MemorySwap != 0 || l.MemoryReservation != 0 || l.OOMKillDisable {
		cs = append(cs, "memory")
	}
	if l.NanoCPUs != 0 || l.CPUShares != 0 || l.CPUPeriod != 0 || l.CPUQuota != 0 {
		cs = append(cs, "cpu")
	}
	if l.CpusetCpus != "" || l.CpusetMems != "" {
		cs = append(cs, "cpuset")
	}
	if l.PidsLimit != 0 {
		cs = append(cs, "pids")
	}
	if l.BlkioWeight != 0 || l.Throttles.any() {
		cs = append(cs, "blkio")
	}
	return cs
}

// period is the CFS period --cpus uses (docker's).
const period = 100000

// Resources are the limits as the cgroups library takes them.
func (l Limits) Resources() *ocg.Resources {
	r := &ocg.Resources{
		Memory: l.Memory, MemorySwap: l.MemorySwap, MemoryReservation: l.MemoryReservation,
		OomKillDisable: l.OOMKillDisable, CpuShares: l.CPUShares, CpuPeriod: l.CPUPeriod, CpuQuota: l.CPUQuota,
		CpusetCpus: l.CpusetCpus, CpusetMems: l.CpusetMems, BlkioWeight: l.BlkioWeight,
	}
	if l.Memory != 0 && l.MemorySwap == 0 {
		r.MemorySwap = 2 * l.Memory // docker: as much swap as memory
	}
	if l.NanoCPUs != 0 {
		r.CpuPeriod, r.CpuQuota = period, l.NanoCPUs*period/1e9
	}
	if l.PidsLimit != 0 {
		n := l.PidsLimit
		r.PidsLimit = &n
	}
	l.Throttles.resources(r)
	return r
}
