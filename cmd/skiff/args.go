package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// normalizeArgs rewrites a command's short flags to their long names before urfave/cli parses
// them (-e A -> --env A, -it -> --interactive --tty, -eA=1 -> --env=A=1), because urfave/cli
// refuses a flag given by two of its names ("-e X --env Y"), which docker accepts. It goes
// down to the subcommand named (volume inspect, container logs). And, as docker, a flag may
// follow the arguments (logs NAME -f, save IMAGE -o FILE, inspect X --format T): urfave/cli
// stops at the first argument, so such flags are moved before them, except where what
// follows the first argument is a command line of its own (run, create, exec, top).
func normalizeArgs(app *cli.App, args []string) []string {
	out := append([]string{}, args[:1]...)
	i := 1
	// global flags, then the command name
	i = rewriteFlags(app.Flags, args, i, &out)
	if i >= len(args) {
		return out
	}
	commands := app.Commands
	var path []string
	for {
		var cmd *cli.Command
		for _, c := range commands {
			if c.HasName(args[i]) {
				cmd = c
			}
		}
		out = append(out, args[i])
		i++
		if cmd == nil {
			return append(out, args[i:]...)
		}
		path = append(path, cmd.Name)
		i = rewriteFlags(cmd.Flags, args, i, &out)
		if i < len(args) && len(cmd.Subcommands) > 0 && args[i] != "--" {
			if slices.ContainsFunc(cmd.Subcommands, func(c *cli.Command) bool { return c.HasName(args[i]) }) {
				commands = cmd.Subcommands
				continue
			}
		}
		if cmd.SkipFlagParsing || slices.Contains(ownCommandLine, path[len(path)-1]) {
			return append(out, args[i:]...)
		}
		rest := intersperse(cmd.Flags, args[i:])
		j := rewriteFlags(cmd.Flags, rest, 0, &out)
		return append(out, rest[j:]...)
	}
}

// ownCommandLine are the commands whose arguments after the first are a command line.
var ownCommandLine = []string{"run", "create", "exec", "top"}

// intersperse moves the flags among args (a command's arguments after its leading flags) in
// front of the others, each with its value; "--" ends the flags, and "-" is an argument.
func intersperse(flags []cli.Flag, args []string) []string {
	takes := map[string]bool{}
	for _, f := range flags {
		tv, ok := f.(interface{ TakesValue() bool })
		for _, n := range f.Names() {
			takes[n] = ok && tv.TakesValue()
		}
	}
	var moved, others []string
	for k := 0; k < len(args); k++ {
		a := args[k]
		if a == "--" {
			others = append(others, args[k:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			others = append(others, a)
			continue
		}
		moved = append(moved, a)
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "--") && len(name) > 1 {
			// -xVALUE, or a cluster of booleans whose last may take the next word
			last := name[len(name)-1:]
			if takes[name[:1]] || !takes[last] {
				continue
			}
			name = last
		}
		if takes[name] && !hasValue && k+1 < len(args) {
			k++
			moved = append(moved, args[k])
		}
	}
	if len(moved) == 0 {
		return args
	}
	return append(moved, others...)
}

type flagInfo struct {
	long    string
	isBool  bool
	takesIt bool
}

// rewriteFlags copies args from i on, rewritten, until the first positional argument (which it
// does not copy) or "--"; it returns the index it stopped at.
func rewriteFlags(flags []cli.Flag, args []string, i int, out *[]string) int {
	byName := map[string]flagInfo{}
	for _, f := range flags {
		names := f.Names()
		tv, ok := f.(interface{ TakesValue() bool })
		isBool := ok && !tv.TakesValue()
		fi := flagInfo{long: names[0], isBool: isBool, takesIt: !isBool}
		for _, n := range names {
			byName[n] = fi
		}
	}
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			*out = append(*out, a)
			return i + 1
		}
		if len(a) < 2 || a[0] != '-' {
			return i
		}
		if strings.HasPrefix(a, "--") {
			*out = append(*out, a)
			name, _, hasValue := strings.Cut(a[2:], "=")
			if fi, ok := byName[name]; ok && fi.takesIt && !hasValue && i+1 < len(args) {
				i++
				*out = append(*out, args[i])
			}
			continue
		}
		// -x, -xVALUE, -x=VALUE, -abc (bools)
		short := a[1:2]
		fi, ok := byName[short]
		if !ok {
			*out = append(*out, a) // unknown: let the parser report it
			continue
		}
		rest := a[2:]
		switch {
		case fi.isBool && rest == "":
			*out = append(*out, "--"+fi.long)
		case fi.isBool:
			// a cluster of booleans, possibly ending with one value flag (-it, -ti, -ie VAR)
			expanded := []string{"--" + fi.long}
			okAll := true
			for j := 0; j < len(rest); j++ {
				g, ok := byName[rest[j:j+1]]
				if !ok {
					okAll = false
					break
				}
				if g.isBool {
					expanded = append(expanded, "--"+g.long)
					continue
				}
				if j+1 < len(rest) {
					expanded = append(expanded, "--"+g.long+"="+strings.TrimPrefix(rest[j+1:], "="))
				} else {
					expanded = append(expanded, "--"+g.long)
					if i+1 < len(args) {
						i++
						expanded = append(expanded, args[i])
					}
				}
				break
			}
			if !okAll {
				*out = append(*out, a)
				continue
			}
			*out = append(*out, expanded...)
		case rest == "":
			*out = append(*out, "--"+fi.long)
			if i+1 < len(args) {
				i++
				*out = append(*out, args[i])
			}
		default:
			*out = append(*out, "--"+fi.long+"="+strings.TrimPrefix(rest, "="))
		}
	}
	return i
}
