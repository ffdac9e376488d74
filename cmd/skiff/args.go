package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// normalizeArgs rewrites a command's short flags to their long names before urfave/cli parses
// them (-e A -> --env A, -it -> --interactive --tty, -eA=1 -> --env=A=1), because urfave/cli
// refuses a flag given by two of its names ("-e X --env Y"), which docker accepts. Only the
// flags before the first positional argument are touched: what follows the image is the
// container's command line.
func normalizeArgs(app *cli.App, args []string) []string {
	out := append([]string{}, args[:1]...)
	i := 1
	// global flags, then the command name
	i = rewriteFlags(app.Flags, args, i, &out)
	if i >= len(args) {
		return out
	}
	var cmd *cli.Command
	for _, c := range app.Commands {
		if c.HasName(args[i]) {
			cmd = c
		}
	}
	out = append(out, args[i])
	i++
	if cmd == nil {
		return append(out, args[i:]...)
	}
	i = rewriteFlags(cmd.Flags, args, i, &out)
	return append(out, args[i:]...)
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
