package container

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"

	"github.com/skiff-project/skiff/pkg/cgroups"
)

// What skiff stats shows of a container, and where each number comes from.
//
// A container run with limit flags has a cgroup of its own (cgroup.json): each controller it
// was made for gives its numbers as docker's do — memory (memory.usage_in_bytes less
// total_inactive_file, limit memory.limit_in_bytes), cpuacct (cpuacct.usage; only where cpu
// and cpuacct are mounted together, or the cgroup has one), blkio (io_service_bytes) and pids
// (pids.current). The usual container has no cgroup (no limit flags; rootless without a
// delegated subtree), and a cgroup lacks the controllers its limits did not need: those numbers
// are summed over the processes of the container's pid namespace instead —
//
//	memory     Pss of /proc/PID/smaps_rollup (VmRSS of /proc/PID/status where that cannot be
//	           read): pages shared by the container's processes count once, not once each
//	CPU        utime+stime+cutime+cstime of /proc/PID/stat: the children a process reaped
//	           count too, so the total does not fall when a process ends
//	block I/O  read_bytes and write_bytes of /proc/PID/io (they include reaped children's)
//	PIDs       the tasks, threads included (num_threads), as pids.current counts them
//
// and the memory limit is the host's memory (MemTotal of /proc/meminfo), as it is when the
// cgroup's limit is higher. NET I/O is the bytes received and sent on the container's network
// namespace's interfaces but lo (/proc/PID/net/dev of its skiff-init), none when it shares the
// host's. CPU % is the CPU time the container used between two readings over the wall time
// between them, ×100: per core, so two busy cores show 200%.

// Usage is one reading of a running container's counters.
type Usage struct {
	Time       time.Time // when it was read
	Pid        int       // the container's skiff-init (a restarted container has a new one)
	CPUNano    uint64    // CPU time its processes used, dead ones included, in ns
	MemUsage   uint64    // bytes
	MemLimit   uint64    // bytes: its cgroup's memory limit, else the host's memory
	NetRx      uint64    // bytes received on its interfaces but lo
	NetTx      uint64    // bytes sent
	BlockRead  uint64    // bytes read from block devices
	BlockWrite uint64    // bytes written to block devices
	PIDs       uint64    // tasks (threads included)
	// Cgroup lists the controllers whose numbers came from the container's own cgroup
	// ("memory", "cpuacct", "blkio", "pids"); the rest are sums over its processes.
	Cgroup []string
}

// Stats is a container's usage and the rates from its previous reading.
type Stats struct {
	ID      string
	Name    string
	Running bool // a stopped container counts nothing (zeros, as docker)
	Usage
	CPUPercent float64 // CPU time over wall time since the previous reading, ×100 (per core)
	MemPercent float64 // MemUsage over MemLimit, ×100
}

// StatsReader reads containers' usage again and again: each reading's CPU percent is computed
// against the previous reading of the same container, so the first reading of each has none.
// Read them all, wait a little (a second, or half of one), and read them again.
type StatsReader struct {
	recs    *Records
	prev    map[string]Usage
	hostMem uint64
}

// StatsReader returns a reader of the records' containers.
func (r *Records) StatsReader() *StatsReader {
	return &StatsReader{recs: r, prev: map[string]Usage{}}
}

// Read returns container in's stats: zeros when it is not running.
func (s *StatsReader) Read(in Info) (Stats, error) {
	st := Stats{ID: in.ID, Name: in.Meta.Name, Running: in.Running}
	if !in.Running {
		delete(s.prev, in.ID)
		return st, nil
	}
	if s.hostMem == 0 {
		s.hostMem = hostMemory()
	}
	u, err := s.recs.readUsage(in, s.hostMem)
	if err != nil {
		delete(s.prev, in.ID)
		return st, err
	}
	st.Usage = u
	if p, ok := s.prev[in.ID]; ok && p.Pid == u.Pid {
		st.CPUPercent = CPUPercent(p.CPUNano, u.CPUNano, u.Time.Sub(p.Time))
	}
	st.MemPercent = MemPercent(u.MemUsage, u.MemLimit)
	s.prev[in.ID] = u
	return st, nil
}

// readUsage reads a running container's counters: from its cgroup where it has one for them,
// else from its processes.
func (r *Records) readUsage(in Info, hostMem uint64) (Usage, error) {
	u := Usage{Time: time.Now(), Pid: in.State.Pid}
	pids, err := namespacePids(in.State.Pid)
	if err != nil {
		return u, fmt.Errorf("container %s: %w", in.Meta.Name, err)
	}
	var cu cgroups.Usage
	if cg := readCgroup(r.Path(in.ID)); cg != nil {
		if cu, err = cg.Usage(); err != nil {
			return u, fmt.Errorf("container %s: read its cgroup: %w", in.Meta.Name, err)
		}
	}
	u.Cgroup = cu.Has
	has := func(ctl string) bool { return slices.Contains(cu.Has, ctl) }
	var p procTotals
	if !has("memory") || !has("cpuacct") || !has("blkio") || !has("pids") {
		p = sumProcesses(pids, !has("memory"))
	}
	u.MemUsage, u.MemLimit = p.mem, hostMem
	if has("memory") {
		u.MemUsage, u.MemLimit = cu.Memory, MemLimit(cu.MemoryLimit, hostMem)
	}
	u.CPUNano = p.cpuNano
	if has("cpuacct") {
		u.CPUNano = cu.CPUNano
	}
	u.BlockRead, u.BlockWrite = p.read, p.write
	if has("blkio") {
		u.BlockRead, u.BlockWrite = cu.BlockRead, cu.BlockWrite
	}
	u.PIDs = p.tasks
	if has("pids") {
		u.PIDs = cu.PIDs
	}
	u.NetRx, u.NetTx = netBytes(in.State.Pid)
	return u, nil
}

// procTotals are the sums over a container's processes.
type procTotals struct {
	cpuNano, mem, read, write, tasks uint64
}

// userHZ is the unit of /proc/PID/stat's times: USER_HZ, 100 on every Linux.
const userHZ = 100

// sumProcesses adds up what /proc says of each process (their memory only with mem: reading
// smaps_rollup costs most); one that ended meanwhile counts nothing.
func sumProcesses(pids []int, mem bool) procTotals {
	var t procTotals
	for _, pid := range pids {
		dir := "/proc/" + strconv.Itoa(pid) + "/"
		b, err := os.ReadFile(dir + "stat")
		if err != nil {
			continue
		}
		ticks, threads, err := parseProcStat(string(b))
		if err != nil {
			continue
		}
		t.cpuNano += ticks * (1e9 / userHZ)
		t.tasks += threads
		if mem {
			t.mem += procMemory(dir)
		}
		if b, err := os.ReadFile(dir + "io"); err == nil {
			r, w := parseProcIO(string(b))
			t.read += r
			t.write += w
		}
	}
	return t
}

// procMemory is the Pss of the process in /proc directory dir (its share of the pages it
// maps: a page shared by n processes counts 1/n in each), or its VmRSS where smaps_rollup
// cannot be read.
func procMemory(dir string) uint64 {
	if b, err := os.ReadFile(dir + "smaps_rollup"); err == nil && len(b) > 0 {
		return parseKB(string(b), "Pss")
	}
	if b, err := os.ReadFile(dir + "status"); err == nil {
		return parseKB(string(b), "VmRSS")
	}
	return 0
}

// parseProcStat reads /proc/PID/stat: the CPU time of the process and of the children it
// reaped (utime+stime+cutime+cstime, in clock ticks) and its number of threads.
func parseProcStat(s string) (ticks, threads uint64, err error) {
	// the command name, in parentheses, may hold spaces and parentheses itself
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, errors.New("no command name in /proc/PID/stat")
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 18 {
		return 0, 0, fmt.Errorf("/proc/PID/stat has %d fields after the name, want 18 or more", len(f))
	}
	for _, n := range []int{14, 15, 16, 17} { // utime, stime, cutime, cstime
		v, err := strconv.ParseInt(f[n-3], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/PID/stat field %d: %w", n, err)
		}
		ticks += uint64(max(v, 0))
	}
	if threads, err = strconv.ParseUint(f[20-3], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("/proc/PID/stat field 20: %w", err)
	}
	return ticks, threads, nil
}

// parseKB reads a "Key:   123 kB" line (/proc/PID/status, smaps_rollup, /proc/meminfo) as bytes;
// 0 when there is none.
func parseKB(s, key string) uint64 {
	for line := range strings.Lines(s) {
		rest, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0
		}
		if len(f) > 1 && f[1] == "kB" {
			v *= 1024
		}
		return v
	}
	return 0
}

// parseProcIO reads read_bytes and write_bytes of /proc/PID/io: what the process (and the
// children it reaped) made the block layer fetch and send.
func parseProcIO(s string) (read, write uint64) {
	for line := range strings.Lines(s) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "read_bytes":
			read = n
		case "write_bytes":
			write = n
		}
	}
	return read, write
}

// parseNetDev sums the bytes received and sent of /proc/PID/net/dev's interfaces but lo.
func parseNetDev(s string) (rx, tx uint64) {
	for line := range strings.Lines(s) {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			continue // the header lines
		}
		r, err1 := strconv.ParseUint(f[0], 10, 64)
		t, err2 := strconv.ParseUint(f[8], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		rx += r
		tx += t
	}
	return rx, tx
}

// netBytes reads the traffic of process pid's network namespace; none when that is this
// process's own (the host's: --network host).
func netBytes(pid int) (rx, tx uint64) {
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	if ns, err := os.Readlink(dir + "ns/net"); err == nil {
		if self, err := os.Readlink("/proc/self/ns/net"); err == nil && self == ns {
			return 0, 0
		}
	}
	b, err := os.ReadFile(dir + "net/dev")
	if err != nil {
		return 0, 0
	}
	return parseNetDev(string(b))
}

// hostMemory is the host's memory in bytes (MemTotal).
func hostMemory() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	return parseKB(string(b), "MemTotal")
}

// MemLimit is the memory limit stats shows: the cgroup's, or the host's memory when that is
// less (no limit reads as a huge number).
func MemLimit(cgroupLimit, hostMem uint64) uint64 {
	if cgroupLimit == 0 || hostMem != 0 && cgroupLimit > hostMem {
		return hostMem
	}
	return cgroupLimit
}

// CPUPercent is docker's CPU %: the CPU time used between two readings over the wall time
// between them, ×100 — per core, so two busy cores give 200. A counter that fell (a process
// whose time its reaper outside the container took) gives 0.
func CPUPercent(prevNano, curNano uint64, wall time.Duration) float64 {
	if wall <= 0 || curNano <= prevNano {
		return 0
	}
	return float64(curNano-prevNano) / float64(wall.Nanoseconds()) * 100
}

// MemPercent is usage over limit, ×100 (0 without a limit).
func MemPercent(usage, limit uint64) float64 {
	if limit == 0 {
		return 0
	}
	return float64(usage) / float64(limit) * 100
}

// FormatPercent prints a percentage as docker does: "12.34%".
func FormatPercent(p float64) string { return strconv.FormatFloat(p, 'f', 2, 64) + "%" }

// FormatMemUsage prints usage and limit as docker's MEM USAGE / LIMIT: binary units,
// "1.5MiB / 7.629GiB".
func FormatMemUsage(usage, limit uint64) string {
	return units.BytesSize(float64(usage)) + " / " + units.BytesSize(float64(limit))
}

// FormatIO prints a pair of byte counts as docker's NET I/O and BLOCK I/O: decimal units,
// three digits, "1.23kB / 0B".
func FormatIO(in, out uint64) string {
	return units.HumanSizeWithPrecision(float64(in), 3) + " / " + units.HumanSizeWithPrecision(float64(out), 3)
}
