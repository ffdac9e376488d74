package container

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// LogOptions are skiff logs' flags.
type LogOptions struct {
	Follow     bool      // keep printing until the container stops
	Tail       int       // the last Tail lines only; < 0 for all
	Since      time.Time // lines logged at or after Since only
	Until      time.Time // lines logged before Until only (zero: no end)
	Timestamps bool      // each line starts with its time (RFC 3339)
}

// LogEntry is one line (or piece of a line) of a container's output.
type LogEntry struct {
	Time   time.Time
	Stream string // stdout or stderr
	Text   []byte // with its newline when the line is complete
}

// Logs copies a detached container's log to stdout and stderr, each line to the stream it was
// written on.
func (r *Records) Logs(ref string, o LogOptions, stdout, stderr io.Writer) error {
	in, err := r.Lookup(ref)
	if err != nil {
		return err
	}
	switch in.Meta.LogDriver {
	case "":
		return fmt.Errorf("container %s ran in the foreground: its output went to the terminal, not to a log (run -d keeps one)", ref)
	case "none":
		return fmt.Errorf("container %s has no log: it ran with --log-driver none", ref)
	}
	dir := r.Path(in.ID)
	lr, err := openLog(filepath.Join(dir, LogFile))
	if err != nil {
		return fmt.Errorf("read the log of container %s: %w", ref, err)
	}
	defer func() { lr.f.Close() }()
	emit := func(e LogEntry) error {
		if !o.Since.IsZero() && e.Time.Before(o.Since) {
			return nil
		}
		if !o.Until.IsZero() && !e.Time.Before(o.Until) {
			return nil
		}
		w := stdout
		if e.Stream == "stderr" {
			w = stderr
		}
		if o.Timestamps {
			if _, err := fmt.Fprintf(w, "%s ", e.Time.Format(time.RFC3339Nano)); err != nil {
				return err
			}
		}
		_, err := w.Write(e.Text)
		return err
	}
	// the rotated files first (--log-opt max-file), the oldest first, then the log; a file the
	// keeper rotated since the log was opened is the log itself, read once
	var entries []LogEntry
	add := func(e LogEntry) error { entries = append(entries, e); return nil }
	cur, _ := lr.f.Stat()
	for _, p := range rotatedLogs(dir) {
		if st, err := os.Stat(p); err == nil && cur != nil && os.SameFile(st, cur) {
			break
		}
		if old, err := openLog(p); err == nil {
			_ = old.each(in.Meta.LogDriver, add)
			old.f.Close()
		}
	}
	_ = lr.each(in.Meta.LogDriver, add)
	if o.Tail >= 0 && len(entries) > o.Tail {
		entries = entries[len(entries)-o.Tail:]
	}
	for _, e := range entries {
		if err := emit(e); err != nil {
			return err
		}
	}
	for o.Follow {
		running, _ := alive(dir)
		if err := lr.each(in.Meta.LogDriver, emit); err != nil {
			return err
		}
		// the keeper rotated the log (max-file): what the old file got before it was rotated
		// is read to its end, then the new one from its start. A log that started over
		// (max-size alone) is read from its start too.
		if next := lr.replaced(); next != nil {
			if err := lr.each(in.Meta.LogDriver, emit); err != nil {
				next.f.Close()
				return err
			}
			lr.f.Close()
			lr = next
			continue
		}
		if !running {
			break // everything it wrote was read after it stopped
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// logReader reads a log file's complete lines as they come.
type logReader struct {
	path    string
	f       *os.File
	rd      *bufio.Reader
	pending []byte // a line the keeper has not finished writing
	read    int64  // bytes taken from the file
}

func openLog(path string) (*logReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &logReader{path: path, f: f, rd: bufio.NewReaderSize(f, 64*1024)}, nil
}

// each calls f with every complete line logged since the last call.
func (l *logReader) each(driver string, f func(LogEntry) error) error {
	for {
		chunk, err := l.rd.ReadSlice('\n')
		l.read += int64(len(chunk))
		l.pending = append(l.pending, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil { // io.EOF: the rest of the line comes later
			return nil
		}
		e, perr := parseLogLine(driver, l.pending)
		l.pending = nil
		if perr != nil {
			continue // a damaged line: skip it, as docker does
		}
		if err := f(e); err != nil {
			return err
		}
	}
}

// replaced returns a reader of the log from its start when the file at its path is no longer
// the one being read (rotated) or was cut shorter than what was read (started over); nil when
// it is the same.
func (l *logReader) replaced() *logReader {
	now, err := os.Stat(l.path)
	if err != nil {
		return nil
	}
	cur, err := l.f.Stat()
	if err != nil || os.SameFile(now, cur) && cur.Size() >= l.read {
		return nil
	}
	next, err := openLog(l.path)
	if err != nil {
		return nil
	}
	return next
}

// rotatedLogs are the container's rotated logs (LogFile.N), the oldest (highest N) first.
func rotatedLogs(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var ns []int
	for _, e := range ents {
		if rest, ok := strings.CutPrefix(e.Name(), LogFile+"."); ok {
			if n, err := strconv.Atoi(rest); err == nil && n > 0 {
				ns = append(ns, n)
			}
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(ns)))
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = filepath.Join(dir, LogFile+"."+strconv.Itoa(n))
	}
	return out
}

// parseLogLine reads one line of a log in the given driver's format.
func parseLogLine(driver string, line []byte) (LogEntry, error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	if driver == "json-file" {
		var j struct{ Log, Stream, Time string }
		if err := json.Unmarshal(line, &j); err != nil {
			return LogEntry{}, err
		}
		t, err := time.Parse(time.RFC3339Nano, j.Time)
		if err != nil {
			return LogEntry{}, err
		}
		return LogEntry{Time: t, Stream: j.Stream, Text: []byte(j.Log)}, nil
	}
	// k8s-file: TIME STREAM F|P TEXT
	fields := bytes.SplitN(line, []byte(" "), 4)
	if len(fields) < 3 {
		return LogEntry{}, errors.New("short log line")
	}
	t, err := time.Parse(time.RFC3339Nano, string(fields[0]))
	if err != nil {
		return LogEntry{}, err
	}
	e := LogEntry{Time: t, Stream: string(fields[1])}
	if len(fields) == 4 {
		e.Text = append(e.Text, fields[3]...)
	}
	if string(fields[2]) == "F" {
		e.Text = append(e.Text, '\n')
	}
	return e, nil
}
