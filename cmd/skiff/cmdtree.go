//go:build skiff_image

package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// The shell completions (completion.go) and the man pages (man.go, -tags skiff_docs) are made
// from skiff's command definitions: the tree newApp builds with -tags skiff_image, where every
// command has its real flags (the lean skiff's stubs have none). cmdNode is that tree as they
// read it.

// argKind is what a command's positional argument names, for completion: "container",
// "image", both ("container image") or nothing.
type argKind string

const (
	argNone      argKind = ""
	argContainer argKind = "container"
	argImage     argKind = "image"
)

type cmdNode struct {
	path    []string // the words after skiff: ["volume", "create"]; empty for skiff itself
	cmd     *cli.Command
	usage   string
	flags   []flagDoc
	subs    []*cmdNode
	args    []argKind // the kinds of the positional arguments, by position
	repeat  bool      // the last kind repeats (CONTAINER...)
	aliases []string
}

type flagDoc struct {
	long   string   // the first name
	names  []string // every name, the first one first
	value  bool     // takes a value
	repeat bool     // may be given more than once
	usage  string
	def    string // the default, as help shows it; "" for none
	env    []string
}

// spelled returns the flag's names as typed: --name, -n.
func (f flagDoc) spelled() []string {
	out := make([]string, len(f.names))
	for i, n := range f.names {
		out[i] = dashed(n)
	}
	return out
}

func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// commandTree reads app's visible commands and flags.
func commandTree(app *cli.App) *cmdNode {
	root := &cmdNode{usage: app.Usage, flags: flagDocs(app.Flags)}
	root.flags = append(root.flags,
		flagDoc{long: "help", names: []string{"help"}, usage: "show help"},
		flagDoc{long: "version", names: []string{"version", "v"}, usage: "print the version"})
	root.subs = commandNodes(nil, app.Commands)
	return root
}

func commandNodes(parent []string, cmds []*cli.Command) []*cmdNode {
	var out []*cmdNode
	for _, c := range cmds {
		if c.Hidden || c.Name == "help" {
			continue
		}
		path := append(append([]string{}, parent...), c.Name)
		n := &cmdNode{path: path, cmd: c, usage: c.Usage, aliases: c.Aliases, flags: flagDocs(c.Flags)}
		n.flags = append(n.flags, flagDoc{long: "help", names: []string{"help"}, usage: "show help"})
		n.args, n.repeat = argKinds(c.ArgsUsage)
		n.subs = commandNodes(path, c.Subcommands)
		out = append(out, n)
	}
	return out
}

func flagDocs(flags []cli.Flag) []flagDoc {
	var out []flagDoc
	for _, f := range flags {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		names := f.Names()
		if names[0] == "help" || names[0] == "version" {
			continue // urfave/cli's own, added when it runs: the callers add them in a fixed place
		}
		d := flagDoc{long: names[0], names: names}
		if g, ok := f.(cli.DocGenerationFlag); ok {
			d.value = g.TakesValue()
			d.usage = g.GetUsage()
			d.env = g.GetEnvVars()
			d.def = g.GetDefaultText()
			if d.def == "" && d.value {
				d.def = g.GetValue()
			}
		}
		if s, ok := f.(cli.DocGenerationSliceFlag); ok && s.IsSliceFlag() {
			d.repeat = true
		}
		switch d.def {
		case `""`, "[]", "0", "false":
			d.def = ""
		}
		if !d.value && d.def != "true" {
			d.def = ""
		}
		out = append(out, d)
	}
	return out
}

// argKinds reads a command's ArgsUsage ("CONTAINER...", "IMAGE [COMMAND [ARG...]]",
// "CONTAINER|IMAGE") into the kinds of its positional arguments.
func argKinds(usage string) ([]argKind, bool) {
	var kinds []argKind
	repeat := false
	for _, tok := range strings.Fields(usage) {
		tok = strings.Trim(tok, "[]")
		repeat = strings.HasSuffix(tok, "...")
		tok = strings.TrimSuffix(strings.Trim(strings.TrimSuffix(tok, "..."), "[]"), "]")
		var alts []string
		for _, alt := range strings.Split(tok, "|") {
			if k := argKind(strings.ToLower(alt)); k == argContainer || k == argImage {
				alts = append(alts, string(k))
			}
		}
		kinds = append(kinds, argKind(strings.Join(alts, " ")))
	}
	if repeat && len(kinds) > 0 && kinds[len(kinds)-1] == argNone {
		repeat = false
	}
	return kinds, repeat
}

// argAt is the kind of the positional argument at position i (0 is the first).
func (n *cmdNode) argAt(i int) argKind {
	switch {
	case i < len(n.args):
		return n.args[i]
	case n.repeat && len(n.args) > 0:
		return n.args[len(n.args)-1]
	}
	return argNone
}

// walk calls fn for n and every command below it, parents first.
func (n *cmdNode) walk(fn func(*cmdNode)) {
	fn(n)
	for _, s := range n.subs {
		s.walk(fn)
	}
}

func (n *cmdNode) name() string { return strings.Join(n.path, " ") }

// valueFlags are the spellings of n's flags that take a value.
func (n *cmdNode) valueFlags() []string {
	var out []string
	for _, f := range n.flags {
		if f.value {
			out = append(out, f.spelled()...)
		}
	}
	return out
}
