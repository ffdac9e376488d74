package main

import (
	"slices"
	"testing"
)

// Every command answers to the names the table gives it, and to no other.
func TestCommandNames(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range commands() {
		cmd := c.make()
		got := append([]string{cmd.Name}, cmd.Aliases...)
		if !slices.Equal(got, c.names) {
			t.Errorf("command %s answers to %v, the table says %v", cmd.Name, got, c.names)
		}
		for _, n := range c.names {
			if seen[n] {
				t.Errorf("two commands are named %s", n)
			}
			seen[n] = true
		}
	}
}

func TestAppFor(t *testing.T) {
	all := len(commands())
	for _, tc := range []struct {
		args []string
		want []string // the commands made; nil: all of them
		none bool
	}{
		{args: []string{"skiff", "run", "--rm", "bb", "true"}, want: []string{"run"}},
		{args: []string{"skiff", "--root", "/s", "ps", "-a"}, want: []string{"ps"}},
		{args: []string{"skiff", "--root=/s", "--log-level", "debug", "images"}, want: []string{"images"}},
		{args: []string{"skiff", "container-ls"}, want: []string{"ps"}},
		{args: []string{"skiff", "image-build", "."}, want: []string{"build"}},
		{args: []string{"skiff", "run", "--help"}, want: []string{"run"}},
		{args: []string{"skiff", "--version"}, none: true},
		{args: []string{"skiff", "-v"}, none: true},
		{args: []string{"skiff"}},
		{args: []string{"skiff", "--help"}},
		{args: []string{"skiff", "help", "run"}},
		{args: []string{"skiff", "completion", "bash"}},
		{args: []string{"skiff", "man-pages", "/tmp/man"}}, // the docs build's
		{args: []string{"skiff", "nosuch"}},
		{args: []string{"skiff", "--root", "run"}}, // run is --root's value: no command
	} {
		app := appFor(tc.args)
		var got []string
		for _, c := range app.Commands {
			got = append(got, c.Name)
		}
		switch {
		case tc.none && len(got) != 0:
			t.Errorf("%v: made %v, want no command", tc.args, got)
		case !tc.none && tc.want == nil && len(got) != all:
			t.Errorf("%v: made %d commands, want all %d", tc.args, len(got), all)
		case tc.want != nil && !slices.Equal(got, tc.want):
			t.Errorf("%v: made %v, want %v", tc.args, got, tc.want)
		}
	}
}

func TestCommandAt(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"skiff", "run", "--rm", "bb"}, "run"},
		{[]string{"skiff", "--root", "/s", "--log-level=debug", "create", "bb"}, "create"},
		{[]string{"skiff", "--root", "run"}, ""}, // --root's value
		{[]string{"skiff", "--version"}, ""},
		{[]string{"skiff"}, ""},
	} {
		if got := commandAt(tc.args); got != tc.want {
			t.Errorf("commandAt(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}
