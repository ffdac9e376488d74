//go:build skiff_image

package main

import "github.com/urfave/cli/v2"

// imageCommand is docker's `image` group: skiff image ls|inspect|history|rm|tag|prune|import|
// pull|push|save|load, the same commands as the top-level ones.
func imageCommand() *cli.Command {
	ls := imagesCommand()
	ls.Name, ls.Aliases = "ls", []string{"list"}
	rm := rmiCommand()
	rm.Name, rm.Aliases = "rm", []string{"remove"}
	in := inspectCommand("inspect")
	in.Flags = in.Flags[:1] // images only
	in.ArgsUsage = "IMAGE..."
	in.Action = withType(in.Action, "image")
	subs := []*cli.Command{ls, in, historyCommand(), rm, tagCommand(), pruneCommand(), importCommand()}
	subs = append(subs, pullCommand(), pushCommand(), saveCommand(), loadCommand(), loginCommand(), logoutCommand())
	for _, s := range subs {
		s.OnUsageError = onUsageError
	}
	return &cli.Command{Name: "image", Usage: "manage images", Subcommands: subs}
}

// withType runs an inspect action limited to one kind of object.
func withType(action cli.ActionFunc, typ string) cli.ActionFunc {
	return func(c *cli.Context) error {
		forcedType = typ
		return action(c)
	}
}

var forcedType string
