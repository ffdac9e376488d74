package cgroups

import (
	"os"
	"path/filepath"
	"strings"

	ocg "github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/fs"
	"github.com/opencontainers/cgroups/fs2"
)

// Usage is what a container's cgroup counts, read with the cgroups library (runc's). Only the
// controllers the cgroup was made for count anything: Has lists those whose numbers are here.
type Usage struct {
	Memory      uint64 // bytes in use, less the inactive file cache, as docker counts it
	MemoryLimit uint64 // memory.limit_in_bytes (huge when there is no limit)
	CPUNano     uint64 // cpuacct.usage: CPU time of all its tasks, dead ones too, in ns
	BlockRead   uint64 // bytes read from and written to block devices
	BlockWrite  uint64
	PIDs        uint64   // pids.current: tasks (threads count)
	Has         []string // of "memory", "cpuacct", "blkio", "pids"
}

// Usage reads the cgroup's counters. A controller it was not made for counts nothing; where cpu
// and cpuacct are mounted together, the cpu directory has cpuacct's files too.
func (c *Cgroup) Usage() (Usage, error) {
	var u Usage
	if p := c.Paths[""]; p != "" {
		return usageV2(p)
	}
	paths := map[string]string{}
	for _, ctl := range []string{"memory", "cpuacct", "blkio", "pids"} {
		if p := c.Paths[ctl]; p != "" {
			paths[ctl] = p
		}
	}
	if p := c.Paths["cpu"]; p != "" && paths["cpuacct"] == "" {
		if _, err := os.Stat(filepath.Join(p, "cpuacct.usage")); err == nil {
			paths["cpuacct"] = p
		}
	}
	if len(paths) == 0 {
		return u, nil
	}
	m, err := fs.NewManager(&ocg.Cgroup{Resources: &ocg.Resources{}}, paths)
	if err != nil {
		return u, err
	}
	s, err := m.Stats(&ocg.StatsOptions{Controllers: ocg.CPU | ocg.Memory | ocg.Pids | ocg.IO})
	if err != nil {
		return u, err
	}
	for _, ctl := range []string{"memory", "cpuacct", "blkio", "pids"} {
		if paths[ctl] != "" {
			u.Has = append(u.Has, ctl)
		}
	}
	u.fill(s)
	return u, nil
}

// fill takes the numbers of the library's stats.
func (u *Usage) fill(s *ocg.Stats) {
	u.Memory = MemoryUsage(s.MemoryStats.Usage.Usage, s.MemoryStats.Stats)
	u.MemoryLimit = s.MemoryStats.Usage.Limit
	u.CPUNano = s.CpuStats.CpuUsage.TotalUsage
	u.BlockRead, u.BlockWrite = BlockBytes(s.BlkioStats.IoServiceBytesRecursive)
	u.PIDs = s.PidsStats.Current
}

// usageV2 reads the counters of the cgroup v2 directory path: those of the controllers its
// parent passes on to it, and its CPU time (cpu.stat is in every v2 cgroup).
func usageV2(path string) (Usage, error) {
	var u Usage
	m, err := fs2.NewManager(&ocg.Cgroup{Resources: &ocg.Resources{}, Rootless: true}, path)
	if err != nil {
		return u, err
	}
	s, err := m.Stats(&ocg.StatsOptions{Controllers: ocg.CPU | ocg.Memory | ocg.Pids | ocg.IO})
	if err != nil {
		return u, err
	}
	enabled, _ := ocg.ReadFile(path, "cgroup.controllers")
	for _, c := range []struct{ v2, name string }{{"memory", "memory"}, {"", "cpuacct"}, {"io", "blkio"}, {"pids", "pids"}} {
		if c.v2 == "" || hasWord(enabled, c.v2) {
			u.Has = append(u.Has, c.name)
		}
	}
	u.fill(s)
	return u, nil
}

// MemoryUsage is docker's memory usage of a cgroup v1: memory.usage_in_bytes less the inactive
// file cache (total_inactive_file of memory.stat), which the kernel reclaims first.
func MemoryUsage(usage uint64, stat map[string]uint64) uint64 {
	inactive, ok := stat["total_inactive_file"]
	if !ok {
		inactive = stat["inactive_file"] // cgroup v2's name
	}
	if inactive < usage {
		return usage - inactive
	}
	return usage
}

// BlockBytes sums the bytes read and written of blkio's io_service_bytes entries over the
// devices, as docker does.
func BlockBytes(entries []ocg.BlkioStatEntry) (read, write uint64) {
	for _, e := range entries {
		switch strings.ToLower(e.Op) {
		case "read":
			read += e.Value
		case "write":
			write += e.Value
		}
	}
	return read, write
}
