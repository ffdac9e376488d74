package main

import "github.com/urfave/cli/v2"

// urfave/cli's flags compute their names with a regular expression on every Names() call, and
// the library asks for them once per flag for every flag it looks up (IsSet, the flag actions
// it runs for each command): on run's two dozen flags that is hundreds of regular-expression
// replacements, about a millisecond. These wrappers answer from a slice made once; everything
// else is the wrapped flag's.
type (
	boolFlag struct {
		*cli.BoolFlag
		names []string
	}
	stringFlag struct {
		*cli.StringFlag
		names []string
	}
	stringSliceFlag struct {
		*cli.StringSliceFlag
		names []string
	}
)

func (f *boolFlag) Names() []string        { return f.names }
func (f *stringFlag) Names() []string      { return f.names }
func (f *stringSliceFlag) Names() []string { return f.names }

// cachedNames wraps flags so that their names are computed once.
func cachedNames(flags []cli.Flag) []cli.Flag {
	for i, f := range flags {
		switch t := f.(type) {
		case *cli.BoolFlag:
			flags[i] = &boolFlag{t, t.Names()}
		case *cli.StringFlag:
			flags[i] = &stringFlag{t, t.Names()}
		case *cli.StringSliceFlag:
			flags[i] = &stringSliceFlag{t, t.Names()}
		}
	}
	return flags
}

// wrapFlags applies cachedNames to a command tree.
func wrapFlags(cmds []*cli.Command) {
	for _, c := range cmds {
		c.Flags = cachedNames(c.Flags)
		wrapFlags(c.Subcommands)
	}
}
