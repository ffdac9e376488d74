package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestFormatStats: docker's table and heads, json one object a line with the raw numbers, and
// templates.
func TestFormatStats(t *testing.T) {
	rows := []statsRow{
		{Container: "web", ID: "0123456789ab", Name: "web", CPUPerc: "12.50%", MemUsage: "64MiB / 256MiB", MemPerc: "25.00%",
			NetIO: "1.3kB / 796B", BlockIO: "0B / 0B", PIDs: "3", CPU: 12.5, MemUsageBytes: 64 << 20, MemLimit: 256 << 20, PIDsCurrent: 3},
		invalidStatsRow("gone", "ba9876543210"),
	}
	tests := []struct{ format, want string }{
		{"", "CONTAINER ID   NAME   CPU %    MEM USAGE / LIMIT   MEM %    NET I/O        BLOCK I/O   PIDS\n" +
			"0123456789ab   web    12.50%   64MiB / 256MiB      25.00%   1.3kB / 796B   0B / 0B     3\n" +
			"ba9876543210   --     --       -- / --             --       --             --          --\n"},
		{"table", "CONTAINER ID   NAME   CPU %    MEM USAGE / LIMIT   MEM %    NET I/O        BLOCK I/O   PIDS\n" +
			"0123456789ab   web    12.50%   64MiB / 256MiB      25.00%   1.3kB / 796B   0B / 0B     3\n" +
			"ba9876543210   --     --       -- / --             --       --             --          --\n"},
		{`table {{.Container}}\t{{.PIDs}}\t{{.MemUsageBytes}}`, "CONTAINER   PIDS   MEMUSAGEBYTES\nweb         3      67108864\ngone        --     0\n"},
		{"{{.Name}} {{.PIDs}}", "web 3\n-- --\n"},
		{"{{.Name}}", "web\n--\n"},
		{"table {{.Name}}: {{.CPU}}", "web: 12.5\n--: 0\n"}, // not fields alone: no heads
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := formatStats(&b, rows, tt.format); err != nil {
			t.Errorf("%q: %v", tt.format, err)
			continue
		}
		if b.String() != tt.want {
			t.Errorf("%q printed\n%s\nwant\n%s", tt.format, b.String(), tt.want)
		}
	}

	var b bytes.Buffer
	if err := formatStats(&b, rows, "json"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("json: want one line per container, got %q", b.String())
	}
	if !strings.HasPrefix(lines[0], `{"BlockIO":"0B / 0B","CPUPerc":"12.50%","Container":"web","ID":"0123456789ab","MemPerc":"25.00%","MemUsage":"64MiB / 256MiB","Name":"web","NetIO":"1.3kB / 796B","PIDs":"3",`) {
		t.Errorf("json: docker's fields first, as docker prints them: %s", lines[0])
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	if m["MemUsageBytes"] != float64(64<<20) || m["MemLimit"] != float64(256<<20) || m["CPU"] != 12.5 || m["PIDsCurrent"] != float64(3) {
		t.Errorf("json: raw numbers: %v", m)
	}

	for _, bad := range []string{"{{.Nope}}", "{{.ID", "table {{.Nope}}"} {
		if err := checkStatsFormat(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
