package main

import (
	"slices"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestNormalizeArgs(t *testing.T) {
	app := &cli.App{
		Flags: []cli.Flag{&cli.StringFlag{Name: "root"}},
		Commands: []*cli.Command{{
			Name: "run",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}},
				&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}},
				&cli.BoolFlag{Name: "rm"},
				&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}},
				&cli.StringFlag{Name: "name"},
			},
		}},
	}
	tests := []struct{ in, want []string }{
		{[]string{"skiff", "run", "-e", "A=1", "--env", "B=2", "img", "sh"}, []string{"skiff", "run", "--env", "A=1", "--env", "B=2", "img", "sh"}},
		{[]string{"skiff", "run", "-it", "img"}, []string{"skiff", "run", "--interactive", "--tty", "img"}},
		{[]string{"skiff", "run", "-ie", "A=1", "img"}, []string{"skiff", "run", "--interactive", "--env", "A=1", "img"}},
		{[]string{"skiff", "run", "-eA=1", "img"}, []string{"skiff", "run", "--env=A=1", "img"}},
		{[]string{"skiff", "--root", "/r", "run", "--name", "-e", "img", "-e", "x"}, []string{"skiff", "--root", "/r", "run", "--name", "-e", "img", "-e", "x"}},
		{[]string{"skiff", "run", "--rm", "img", "ls", "-i", "-t"}, []string{"skiff", "run", "--rm", "img", "ls", "-i", "-t"}},
		{[]string{"skiff", "run", "-x", "img"}, []string{"skiff", "run", "-x", "img"}},
		{[]string{"skiff", "run", "--", "img", "-e"}, []string{"skiff", "run", "--", "img", "-e"}},
		{[]string{"skiff", "other", "-e", "x"}, []string{"skiff", "other", "-e", "x"}},
		{[]string{"skiff"}, []string{"skiff"}},
	}
	for _, tt := range tests {
		if got := normalizeArgs(app, tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("normalizeArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
