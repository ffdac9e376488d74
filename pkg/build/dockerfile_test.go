package build

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDockerfile(t *testing.T) {
	for _, c := range []struct {
		name, src string
		stages    int
		line      int    // of the error; 0: no error
		msg       string // in the error
	}{
		{"simple", "FROM busybox\nRUN echo hi\nCMD [\"sh\"]\n", 1, 0, ""},
		{"continuation and comment", "FROM busybox\n# a comment\nRUN echo a \\\n  b\n", 1, 0, ""},
		{"heredoc", "FROM busybox\nRUN <<EOF\necho one\necho two\nEOF\n", 1, 0, ""},
		{"escape directive", "# escape=`\nFROM busybox\nRUN echo a `\n  b\n", 1, 0, ""},
		{"multi-stage", "ARG V=1\nFROM busybox AS build\nRUN true\nFROM scratch\nCOPY --from=build /bin/sh /sh\n", 2, 0, ""},
		{"unknown instruction", "FROM busybox\nFOO bar\n", 0, 2, "unknown instruction"},
		{"unknown flag", "FROM busybox\nCOPY --nope=1 a b\n", 0, 2, "unknown flag"},
		{"no from", "RUN echo hi\n", 0, 1, "FROM"},
		{"empty", "", 0, 0, "empty Dockerfile"},
		{"same stage name", "FROM busybox AS a\nFROM busybox AS a\n", 0, 2, "two stages"},
		{"bad json form", "FROM busybox\nCMD [\"sh\"\n", 1, 0, ""}, // docker takes it as shell form
		{"copy missing dest", "FROM busybox\nCOPY a\n", 0, 2, "COPY"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := ParseDockerfile("Dockerfile", []byte(c.src))
			if c.msg == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if len(d.Stages) != c.stages {
					t.Errorf("%d stages, want %d", len(d.Stages), c.stages)
				}
				return
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("want a SyntaxError, got %v", err)
			}
			if se.Line != c.line || !strings.Contains(err.Error(), c.msg) || !strings.HasPrefix(err.Error(), "Dockerfile") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q (line %d): want line %d, one line naming the file and %q", err, se.Line, c.line, c.msg)
			}
		})
	}
}

func TestStageLookup(t *testing.T) {
	d, err := ParseDockerfile("Dockerfile", []byte("FROM busybox AS Build\nFROM busybox\nFROM busybox AS last\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"build": 0, "BUILD": 0, "last": 2, "1": 1, "0": 0, "3": -1, "nope": -1, "01": -1} {
		if got := d.Stage(name); got != want {
			t.Errorf("Stage(%q) = %d, want %d", name, got, want)
		}
	}
	if len(d.Stages[0].Commands) != 0 || d.Stages[0].BaseName != "busybox" {
		t.Errorf("stage 0: %+v", d.Stages[0])
	}
}
