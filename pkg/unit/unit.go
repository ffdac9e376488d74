// Package unit reads and writes systemd unit files, turns podman-quadlet-style `.container`
// files into service units that run `skiff run`, and writes the unit of an existing container
// (`skiff generate systemd`). It knows no container internals: callers give it the command
// lines.
package unit

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Entry is one KEY=VALUE line of a section, with the line it came from (0 when made here).
type Entry struct {
	Key, Value string
	Line       int
}

// Section is a [NAME] of a unit file.
type Section struct {
	Name    string
	Entries []Entry
}

// File is a unit file: its sections in order.
type File struct {
	Sections []*Section
}

// Parse reads a unit file: sections, KEY=VALUE lines, comments (# and ;) and lines continued
// with a trailing backslash. name is for the errors.
func Parse(r io.Reader, name string) (*File, error) {
	f := &File{}
	var cur *Section
	sc := bufio.NewScanner(r)
	n := 0
	var pending string
	pendingLine := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if pending != "" {
			line = pending + " " + strings.TrimSpace(line)
			pending = ""
		} else {
			pendingLine = n
			line = strings.TrimSpace(line)
		}
		if strings.HasSuffix(line, "\\") {
			pending = strings.TrimSuffix(line, "\\")
			continue
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				return nil, fmt.Errorf("%s:%d: a bad section header %q: write [NAME]", name, n, line)
			}
			cur = f.Section(line[1 : len(line)-1])
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%s:%d: %q is not KEY=VALUE", name, pendingLine, line)
		}
		if cur == nil {
			return nil, fmt.Errorf("%s:%d: %q comes before any [SECTION]", name, pendingLine, line)
		}
		cur.Entries = append(cur.Entries, Entry{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v), Line: pendingLine})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

// Section returns the section name, added at the end when missing.
func (f *File) Section(name string) *Section {
	if s := f.Lookup(name); s != nil {
		return s
	}
	s := &Section{Name: name}
	f.Sections = append(f.Sections, s)
	return s
}

// Lookup returns the section name, or nil.
func (f *File) Lookup(name string) *Section {
	for _, s := range f.Sections {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Add appends KEY=VALUE.
func (s *Section) Add(key, value string) {
	s.Entries = append(s.Entries, Entry{Key: key, Value: value})
}

// Has says whether the section sets key.
func (s *Section) Has(key string) bool {
	for _, e := range s.Entries {
		if e.Key == key {
			return true
		}
	}
	return false
}

// Default appends KEY=VALUE unless the section sets key already.
func (s *Section) Default(key, value string) {
	if !s.Has(key) {
		s.Add(key, value)
	}
}

// Write writes the file as systemd reads it.
func (f *File) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for i, s := range f.Sections {
		if i > 0 {
			bw.WriteString("\n")
		}
		fmt.Fprintf(bw, "[%s]\n", s.Name)
		for _, e := range s.Entries {
			fmt.Fprintf(bw, "%s=%s\n", e.Key, e.Value)
		}
	}
	return bw.Flush()
}

// String is the file's text.
func (f *File) String() string {
	var b strings.Builder
	_ = f.Write(&b)
	return b.String()
}

// SplitWords splits a value as systemd splits ExecStart= and Environment=: on white space,
// with "double" and 'single' quotes and backslash escapes.
func SplitWords(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && quote != '\'':
			i++
			cur.WriteByte(s[i])
			in = true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("an unclosed %c quote in %q", quote, s)
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

// Quote writes args as one ExecStart= value: words with white space, quotes, backslashes or
// systemd's specifier and variable characters are quoted and escaped.
func Quote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = quoteWord(a)
	}
	return strings.Join(q, " ")
}

func quoteWord(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\"'\\$;") {
		return a
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`)
	return `"` + r.Replace(a) + `"`
}
