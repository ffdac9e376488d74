// Package build turns a Dockerfile and a build context into an image. The buildkit parser
// reads the Dockerfile (so its syntax, escapes, heredocs and directives are docker's); each
// step then either runs (RUN, in a skiff container), writes a layer (COPY, ADD) or changes
// the image's configuration, and each step's result is cached by what it depends on.
package build

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Dockerfile is a parsed Dockerfile: its stages and the ARGs before the first FROM.
type Dockerfile struct {
	Name     string // as the user named it, for errors
	Stages   []instructions.Stage
	MetaArgs []instructions.ArgCommand
	Escape   rune
}

// SyntaxError is a Dockerfile that does not parse: the file, the line and what is wrong.
type SyntaxError struct {
	File string
	Line int // 0 when the parser gave none
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ParseDockerfile parses src, the Dockerfile called name.
func ParseDockerfile(name string, src []byte) (*Dockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, syntaxError(name, err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, syntaxError(name, err)
	}
	if len(stages) == 0 {
		return nil, &SyntaxError{File: name, Msg: "no FROM instruction: a Dockerfile starts with FROM IMAGE (or FROM scratch)"}
	}
	seen := map[string]bool{}
	for _, s := range stages {
		if s.Name == "" {
			continue
		}
		if seen[s.Name] {
			return nil, &SyntaxError{File: name, Line: line(s.Location), Msg: fmt.Sprintf("two stages are named %q: give each its own name", s.Name)}
		}
		seen[s.Name] = true
	}
	return &Dockerfile{Name: name, Stages: stages, MetaArgs: metaArgs, Escape: res.EscapeToken}, nil
}

// Stage returns the index of the stage called name (case-insensitively, as docker), or of
// the stage numbered name; -1 when there is none.
func (d *Dockerfile) Stage(name string) int {
	for i, s := range d.Stages {
		if s.Name != "" && strings.EqualFold(s.Name, name) {
			return i
		}
	}
	var n int
	if _, err := fmt.Sscanf(name, "%d", &n); err == nil && fmt.Sprint(n) == name && n >= 0 && n < len(d.Stages) {
		return n
	}
	return -1
}

func line(r []parser.Range) int {
	if len(r) == 0 {
		return 0
	}
	return r[0].Start.Line
}

// syntaxError turns a parser error into a SyntaxError with the first line it names.
func syntaxError(name string, err error) error {
	se := &SyntaxError{File: name, Msg: err.Error()}
	var le *parser.LocationError
	if errors.As(err, &le) {
		for _, l := range le.Locations {
			if n := line(l); n > 0 {
				se.Line = n
				break
			}
		}
		se.Msg = le.Unwrap().Error()
	}
	// instructions' errors repeat "dockerfile parse error on line N:"; the line is ours to say
	if i := strings.Index(se.Msg, ": "); i > 0 && strings.HasPrefix(se.Msg, "dockerfile parse error") {
		se.Msg = se.Msg[i+2:]
	}
	se.Msg = strings.ReplaceAll(se.Msg, "\n", " ")
	switch {
	case strings.Contains(se.Msg, "no build stage in current context"):
		se.Msg = "an instruction before the first FROM: a Dockerfile starts with FROM IMAGE (or FROM scratch; only ARG may come first)"
	case strings.Contains(se.Msg, "file with no instructions"):
		se.Msg = "empty Dockerfile: it needs at least FROM IMAGE"
	}
	return se
}
