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
	"time"
)

// LogOptions are skiff logs' flags.
type LogOptions struct {
	Follow     bool      // keep printing until the container stops
	Tail       int       // the last Tail lines only; < 0 for all
	Since      time.Time // lines logged at or after Since only
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
	f, err := os.Open(filepath.Join(r.Path(in.ID), LogFile))
	if err != nil {
		return fmt.Errorf("read the log of container %s: %w", ref, err)
	}
	defer f.Close()
	emit := func(e LogEntry) error {
		if !o.Since.IsZero() && e.Time.Before(o.Since) {
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
	rd := bufio.NewReaderSize(f, 64*1024)
	var pending []byte // a line the keeper has not finished writing
	// each calls f with every complete line logged since the last call
	each := func(f func(LogEntry) error) error {
		for {
			chunk, err := rd.ReadSlice('\n')
			pending = append(pending, chunk...)
			if err == bufio.ErrBufferFull {
				continue
			}
			if err != nil { // io.EOF: the rest of the line comes later
				return nil
			}
			e, perr := parseLogLine(in.Meta.LogDriver, pending)
			pending = nil
			if perr != nil {
				continue // a damaged line: skip it, as docker does
			}
			if err := f(e); err != nil {
				return err
			}
		}
	}
	var entries []LogEntry
	_ = each(func(e LogEntry) error { entries = append(entries, e); return nil })
	if o.Tail >= 0 && len(entries) > o.Tail {
		entries = entries[len(entries)-o.Tail:]
	}
	for _, e := range entries {
		if err := emit(e); err != nil {
			return err
		}
	}
	for o.Follow {
		running, _ := alive(r.Path(in.ID))
		if err := each(emit); err != nil {
			return err
		}
		if !running {
			break // everything it wrote was read after it stopped
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
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
