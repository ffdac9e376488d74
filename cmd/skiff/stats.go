package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/skiff-project/skiff/pkg/container"
)

// statsRow is what stats --format templates see: docker's fields, as docker prints them (its
// --format json object has these, all strings), then the raw numbers behind them for scripts,
// with podman's names where podman has one that docker's strings do not already take.
type statsRow struct {
	BlockIO   string `json:"BlockIO"`
	CPUPerc   string `json:"CPUPerc"`
	Container string `json:"Container"` // as named on the command line, else the short ID
	ID        string `json:"ID"`
	MemPerc   string `json:"MemPerc"`
	MemUsage  string `json:"MemUsage"`
	Name      string `json:"Name"`
	NetIO     string `json:"NetIO"`
	PIDs      string `json:"PIDs"`

	CPU           float64 `json:"CPU"`           // CPU %, per core (podman's)
	CPUNano       uint64  `json:"CPUNano"`       // CPU time used, ns (podman's)
	SystemNano    uint64  `json:"SystemNano"`    // when read, ns since 1970 (podman's)
	MemUsageBytes uint64  `json:"MemUsageBytes"` // memory in use, bytes
	MemLimit      uint64  `json:"MemLimit"`      // bytes (podman's)
	MemPercent    float64 `json:"MemPercent"`
	NetInput      uint64  `json:"NetInput"` // bytes received (podman's)
	NetOutput     uint64  `json:"NetOutput"`
	BlockInput    uint64  `json:"BlockInput"` // bytes read from block devices (podman's)
	BlockOutput   uint64  `json:"BlockOutput"`
	PIDsCurrent   uint64  `json:"PIDsCurrent"` // tasks, threads included
}

const statsDefault = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

// statsHeaders are docker's column heads for stats' fields.
var statsHeaders = map[string]string{
	"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT",
	"MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
}

// statsFirstWait is how long stats waits between its first two readings, for the first CPU %.
const statsFirstWait = 500 * time.Millisecond

// statsInterval is how often streaming stats reads again.
const statsInterval = time.Second

func statsCommand() *cli.Command {
	return &cli.Command{
		Name:      "stats",
		Usage:     "show containers' CPU, memory, network and block I/O, and processes (all running ones without CONTAINER)",
		ArgsUsage: "[CONTAINER...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show stopped containers too (with zeros)"},
			&cli.BoolFlag{Name: "no-stream", Usage: "print one reading and exit"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "do not truncate IDs"},
			&cli.StringFlag{Name: "format", Usage: "Go template, 'table TEMPLATE' or json (one object a line, with raw numbers too)"},
		},
		Action: func(c *cli.Context) error {
			recs, err := openRecords(c)
			if err != nil {
				return err
			}
			refs := c.Args().Slice()
			// every container named must exist, before anything is printed
			if err := removeEach(refs, false, func(ref string) ([]string, error) {
				_, err := recs.Lookup(ref)
				return nil, err
			}); err != nil {
				return err
			}
			format := c.String("format")
			if err := checkStatsFormat(format); err != nil {
				return err
			}
			s := &statsPrinter{recs: recs, reader: recs.StatsReader(), refs: refs, all: c.Bool("all"),
				noTrunc: c.Bool("no-trunc"), format: format}
			s.read() // the first reading, for the CPU % of the next
			time.Sleep(statsFirstWait)
			if c.Bool("no-stream") {
				return s.print(os.Stdout, false)
			}
			tty := term.IsTerminal(int(os.Stdout.Fd()))
			for {
				if err := s.print(os.Stdout, tty); err != nil {
					return err
				}
				time.Sleep(statsInterval)
			}
		},
	}
}

// statsPrinter reads the containers stats shows and prints them.
type statsPrinter struct {
	recs    *container.Records
	reader  *container.StatsReader
	refs    []string // the containers named, else every running one (every one with all)
	all     bool
	noTrunc bool
	format  string
}

// read reads the containers' stats: those named (a stopped one with zeros, one gone with "--"
// as docker), else the running ones (and the stopped ones with all), newest first.
func (s *statsPrinter) read() []statsRow {
	var rows []statsRow
	if len(s.refs) > 0 {
		for _, ref := range s.refs {
			in, err := s.recs.Lookup(ref)
			if err != nil {
				rows = append(rows, invalidStatsRow(ref, ref))
				continue
			}
			rows = append(rows, s.row(ref, in))
		}
		return rows
	}
	list, err := s.recs.List()
	if err != nil {
		return nil
	}
	for _, in := range list {
		if in.Running || s.all {
			rows = append(rows, s.row(in.ID[:12], in))
		}
	}
	return rows
}

func (s *statsPrinter) row(ref string, in container.Info) statsRow {
	id := in.ID
	if !s.noTrunc {
		id = id[:12]
	}
	st, err := s.reader.Read(in)
	if err != nil {
		if in, err = s.recs.Lookup(in.ID); err != nil || in.Running {
			return invalidStatsRow(ref, id)
		}
		st, _ = s.reader.Read(in) // it stopped meanwhile
	}
	name := st.Name
	if name == "" {
		name = "--"
	}
	r := statsRow{Container: ref, ID: id, Name: name,
		CPUPerc: container.FormatPercent(st.CPUPercent), MemUsage: container.FormatMemUsage(st.MemUsage, st.MemLimit),
		MemPerc: container.FormatPercent(st.MemPercent), NetIO: container.FormatIO(st.NetRx, st.NetTx),
		BlockIO: container.FormatIO(st.BlockRead, st.BlockWrite), PIDs: fmt.Sprint(st.PIDs),
		CPU: st.CPUPercent, CPUNano: st.CPUNano, MemUsageBytes: st.MemUsage, MemLimit: st.MemLimit, MemPercent: st.MemPercent,
		NetInput: st.NetRx, NetOutput: st.NetTx, BlockInput: st.BlockRead, BlockOutput: st.BlockWrite, PIDsCurrent: st.PIDs}
	if !st.Time.IsZero() {
		r.SystemNano = uint64(st.Time.UnixNano())
	}
	return r
}

// invalidStatsRow is docker's row of a container whose numbers could not be read.
func invalidStatsRow(ref, id string) statsRow {
	return statsRow{Container: ref, ID: id, Name: "--", CPUPerc: "--", MemUsage: "-- / --", MemPerc: "--", NetIO: "--", BlockIO: "--", PIDs: "--"}
}

// print reads the containers' stats and prints them: on a terminal over the previous table,
// as docker does.
func (s *statsPrinter) print(w io.Writer, tty bool) error {
	var b bytes.Buffer
	if tty {
		b.WriteString("\033[2J\033[H") // clear the screen, cursor home
	}
	if err := formatStats(&b, s.read(), s.format); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// formatStats prints rows as stats --format says: docker's table by default, json one object a
// line, a template per row, or a table with docker's column heads.
func formatStats(w io.Writer, rows []statsRow, format string) error {
	if format == "json" {
		for _, r := range rows {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%s\n", b)
		}
		return nil
	}
	def, header := statsTable(format)
	return printRows(w, rows, format, header != nil, def, header)
}

// statsTable returns the table whose heads print: the default, or a table format of fields
// alone, with docker's heads (a field of the raw numbers is its own head).
func statsTable(format string) (string, []string) {
	def := statsDefault
	body, ok := strings.CutPrefix(format, "table")
	if !ok || strings.TrimSpace(body) == "" {
		body = strings.TrimPrefix(def, "table ")
	} else {
		body = strings.ReplaceAll(strings.TrimSpace(body), `\t`, "\t")
		def = "table " + body
	}
	fields, ok := plainFields(body)
	if !ok {
		return def, nil
	}
	header := make([]string, len(fields))
	for i, f := range fields {
		if header[i] = statsHeaders[f]; header[i] == "" {
			header[i] = strings.ToUpper(f)
		}
	}
	return def, header
}

// checkStatsFormat reports a --format that cannot print a row before stats waits for numbers.
func checkStatsFormat(format string) error {
	if err := formatStats(io.Discard, []statsRow{invalidStatsRow("x", "x")}, format); err != nil {
		return &usageError{err.Error()}
	}
	return nil
}
