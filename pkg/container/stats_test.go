package container

import (
	"math"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name, stat     string
		ticks, threads uint64
		wantErr        bool
	}{
		{"cat", "24219 (cat) R 24215 24215 17310 0 -1 4194304 96 0 1 0 7 3 2 1 20 0 1 0 4262213 3133440 359 18446744073709551615 0 0 0 0 0\n", 13, 1, false},
		{"name with spaces and parens", "77 (a) b (c) S 1 77 77 0 -1 4194560 120 0 0 0 150 50 0 0 20 0 4 0 100 0 0\n", 200, 4, false},
		{"negative cutime", "5 (x) S 1 5 5 0 -1 0 0 0 0 0 1 1 -3 0 20 0 1 0 1 0 0\n", 2, 1, false},
		{"zombie", "9 (sh) Z 1 9 9 0 -1 4227332 0 0 0 0 4 5 0 0 20 0 1 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n", 9, 1, false},
		{"no name", "1 init S 0", 0, 0, true},
		{"short", "1 (init) S 0 1 1", 0, 0, true},
		{"not a number", "1 (init) S 0 1 1 0 -1 0 0 0 0 0 x 1 0 0 20 0 1 0 1 0 0\n", 0, 0, true},
	}
	for _, tt := range tests {
		ticks, threads, err := parseProcStat(tt.stat)
		if (err != nil) != tt.wantErr || ticks != tt.ticks || threads != tt.threads {
			t.Errorf("%s: got %d ticks, %d threads, %v; want %d, %d, error %v", tt.name, ticks, threads, err, tt.ticks, tt.threads, tt.wantErr)
		}
	}
}

func TestParseKB(t *testing.T) {
	rollup := "5566f1c0a000-7ffd8de0e000 ---p 00000000 00:00 0                          [rollup]\nRss:                1636 kB\nPss:                 375 kB\nPss_Dirty:           108 kB\nPss_Anon:            108 kB\n"
	status := "Name:\tsh\nVmPeak:\t    1200 kB\nVmRSS:\t     184 kB\nThreads:\t1\n"
	meminfo := "MemTotal:       24683620 kB\nMemFree:        23464012 kB\n"
	tests := []struct {
		s, key string
		want   uint64
	}{
		{rollup, "Pss", 375 * 1024},
		{rollup, "Pss_Anon", 108 * 1024},
		{rollup, "Swap", 0},
		{status, "VmRSS", 184 * 1024},
		{status, "Threads", 1}, // no unit: as it is
		{meminfo, "MemTotal", 24683620 * 1024},
		{"", "Pss", 0},
		{"Pss: lots kB\n", "Pss", 0},
	}
	for _, tt := range tests {
		if got := parseKB(tt.s, tt.key); got != tt.want {
			t.Errorf("parseKB(%q, %s) = %d, want %d", tt.s, tt.key, got, tt.want)
		}
	}
}

func TestParseProcIO(t *testing.T) {
	tests := []struct {
		s           string
		read, write uint64
	}{
		{"rchar: 12707\nwchar: 186\nsyscr: 6\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 16384\ncancelled_write_bytes: 0\n", 4096, 16384},
		{"rchar: 1\n", 0, 0},
		{"", 0, 0},
		{"read_bytes: x\nwrite_bytes: 7", 0, 7},
	}
	for _, tt := range tests {
		if r, w := parseProcIO(tt.s); r != tt.read || w != tt.write {
			t.Errorf("parseProcIO(%q) = %d, %d; want %d, %d", tt.s, r, w, tt.read, tt.write)
		}
	}
}

func TestParseNetDev(t *testing.T) {
	head := "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
	tests := []struct {
		name   string
		s      string
		rx, tx uint64
	}{
		{"lo only", head + "    lo:    5000      50    0    0    0     0          0         0     5000      50    0    0    0     0       0          0\n", 0, 0},
		{"eth0 and lo", head +
			"    lo:    5000      50    0    0    0     0          0         0     5000      50    0    0    0     0       0          0\n" +
			"  eth0:    1296      12    0    0    0     0          0         0      796       9    0    0    0     0       0          0\n", 1296, 796},
		{"two interfaces, no space after the colon", head +
			"  eth0:1000 1 0 0 0 0 0 0 10 1 0 0 0 0 0 0\n" +
			"  tap0: 24 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n", 1024, 11},
		{"empty", "", 0, 0},
	}
	for _, tt := range tests {
		if rx, tx := parseNetDev(tt.s); rx != tt.rx || tx != tt.tx {
			t.Errorf("%s: got %d / %d, want %d / %d", tt.name, rx, tx, tt.rx, tt.tx)
		}
	}
}

func TestStatsNumbers(t *testing.T) {
	cpu := []struct {
		prev, cur uint64
		wall      time.Duration
		want      float64
	}{
		{0, 500_000_000, time.Second, 50},
		{1e9, 3e9, time.Second, 200}, // two busy cores
		{0, 0, time.Second, 0},
		{5e9, 4e9, time.Second, 0}, // a counter that fell
		{0, 1e9, 0, 0},
	}
	for _, tt := range cpu {
		if got := CPUPercent(tt.prev, tt.cur, tt.wall); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("CPUPercent(%d, %d, %v) = %v, want %v", tt.prev, tt.cur, tt.wall, got, tt.want)
		}
	}
	if got := MemPercent(64<<20, 256<<20); got != 25 {
		t.Errorf("MemPercent = %v, want 25", got)
	}
	if got := MemPercent(1, 0); got != 0 {
		t.Errorf("MemPercent without a limit = %v, want 0", got)
	}
	const host = 8 << 30
	limits := []struct{ cgroup, want uint64 }{
		{256 << 20, 256 << 20},
		{9223372036854771712, host}, // no limit
		{0, host},
		{host + 1, host},
	}
	for _, tt := range limits {
		if got := MemLimit(tt.cgroup, host); got != tt.want {
			t.Errorf("MemLimit(%d) = %d, want %d", tt.cgroup, got, tt.want)
		}
	}
}

func TestStatsFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{FormatPercent(0), "0.00%"},
		{FormatPercent(12.345), "12.35%"},
		{FormatPercent(199.999), "200.00%"},
		{FormatMemUsage(0, 0), "0B / 0B"},
		{FormatMemUsage(1572864, 8191<<20), "1.5MiB / 7.999GiB"},
		{FormatMemUsage(67108864+4096, 24683620*1024), "64MiB / 23.54GiB"},
		{FormatIO(0, 0), "0B / 0B"},
		{FormatIO(1296, 796), "1.3kB / 796B"},
		{FormatIO(1030, 12_345_678), "1.03kB / 12.3MB"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
