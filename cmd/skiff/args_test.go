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
			Name:  "logs",
			Flags: []cli.Flag{&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}}, &cli.StringFlag{Name: "tail", Aliases: []string{"n"}}},
		}, {
			Name: "volume",
			Subcommands: []*cli.Command{{
				Name:  "inspect",
				Flags: []cli.Flag{&cli.StringFlag{Name: "format", Aliases: []string{"f"}}},
			}},
		}, {
			Name:  "top",
			Flags: []cli.Flag{&cli.BoolFlag{Name: "latest", Aliases: []string{"l"}}},
		}, {
			Name:            "save",
			SkipFlagParsing: true,
		}, {
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
		// flags after the arguments, as docker takes them
		{[]string{"skiff", "logs", "c1", "-f"}, []string{"skiff", "logs", "--follow", "c1"}},
		{[]string{"skiff", "logs", "c1", "--tail", "5", "-f"}, []string{"skiff", "logs", "--tail", "5", "--follow", "c1"}},
		{[]string{"skiff", "logs", "c1", "-n", "-1"}, []string{"skiff", "logs", "--tail", "-1", "c1"}},
		{[]string{"skiff", "logs", "-f", "c1", "--", "-x"}, []string{"skiff", "logs", "--follow", "c1", "--", "-x"}},
		{[]string{"skiff", "logs", "c1", "-", "-f"}, []string{"skiff", "logs", "--follow", "c1", "-"}},
		{[]string{"skiff", "volume", "inspect", "v1", "--format", "{{.Name}}"}, []string{"skiff", "volume", "inspect", "--format", "{{.Name}}", "v1"}},
		{[]string{"skiff", "volume", "inspect", "v1", "-f", "{{.Name}}"}, []string{"skiff", "volume", "inspect", "--format", "{{.Name}}", "v1"}},
		{[]string{"skiff", "top", "c1", "-ef"}, []string{"skiff", "top", "c1", "-ef"}},
		{[]string{"skiff", "save", "img", "-o", "f.tar"}, []string{"skiff", "save", "img", "-o", "f.tar"}},
		{[]string{"skiff", "run", "img", "sh", "--rm"}, []string{"skiff", "run", "img", "sh", "--rm"}},
	}
	for _, tt := range tests {
		if got := normalizeArgs(app, tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("normalizeArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestContainerAlias(t *testing.T) {
	for _, tt := range []struct{ in, want []string }{
		{[]string{"skiff", "container", "inspect", "c1"}, []string{"skiff", "inspect", "--type", "container", "c1"}},
		{[]string{"skiff", "--root", "/r", "container", "run", "--rm", "img"}, []string{"skiff", "--root", "/r", "run", "--rm", "img"}},
		{[]string{"skiff", "container", "diff", "c1"}, []string{"skiff", "diff", "c1"}},
		{[]string{"skiff", "container", "ls", "-a"}, []string{"skiff", "container", "ls", "-a"}},
		{[]string{"skiff", "container"}, []string{"skiff", "container"}},
		{[]string{"skiff", "run", "container", "inspect"}, []string{"skiff", "run", "container", "inspect"}},
	} {
		if got := containerAlias(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("containerAlias(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
