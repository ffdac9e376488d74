package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/skiff-project/skiff/pkg/unit"
)

func generateCommand() *cli.Command {
	return &cli.Command{
		Name:  "generate",
		Usage: "generate files for other tools: systemd units",
		Subcommands: []*cli.Command{{
			Name:      "systemd",
			Usage:     "print a systemd unit that runs a container (Type=notify, skiff as its main process)",
			ArgsUsage: "CONTAINER",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "new", Usage: "make the container anew at each start (skiff run --replace --rm with the options it was made with)"},
				&cli.BoolFlag{Name: "name", Aliases: []string{"n"}, Usage: "name the container by its name, not its ID"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return &usageError{"skiff generate systemd takes one container"}
				}
				recs, err := openRecords(c)
				if err != nil {
					return err
				}
				in, err := recs.Lookup(c.Args().First())
				if err != nil {
					return err
				}
				self, err := os.Executable()
				if err != nil {
					return err
				}
				u := unit.Container{Skiff: self, Ref: in.ID, Image: in.Meta.Image, StopTimeout: int(in.StopTimeout().Seconds())}
				if c.Bool("name") {
					u.Ref = in.Meta.Name
				}
				if c.Bool("new") {
					if len(in.Meta.CreateCommand) == 0 {
						return fmt.Errorf("container %s was made by an older skiff, which kept no command line: run it again, or generate without --new", c.Args().First())
					}
					if u.Globals, u.RunArgs, err = runArgsFor(in.Meta.CreateCommand); err != nil {
						return fmt.Errorf("container %s: %w", c.Args().First(), err)
					}
				}
				fmt.Printf("# %s\n# made by skiff generate systemd%s for container %s\n", u.ServiceName(), map[bool]string{true: " --new", false: ""}[c.Bool("new")], in.Meta.Name)
				fmt.Print(unit.ForContainer(u, c.Bool("new")).String())
				return nil
			},
		}},
	}
}

// runArgsFor takes apart the command line that made a container (skiff [GLOBALS] run|create
// [FLAGS] IMAGE [CMD...]): the global flags, and run's flags and IMAGE [CMD...] without those a
// unit sets itself (-d, --rm, --replace, --name, --cidfile, --pidfile, --sdnotify).
func runArgsFor(argv []string) (globals, rest []string, err error) {
	i := 1
	for i < len(argv) && strings.HasPrefix(argv[i], "-") {
		globals = append(globals, argv[i])
		if !strings.Contains(argv[i], "=") && i+1 < len(argv) {
			globals = append(globals, argv[i+1]) // every global flag takes a value
			i++
		}
		i++
	}
	if i < len(argv) && argv[i] == "container" {
		i++
	}
	if i >= len(argv) || argv[i] != "run" && argv[i] != "create" {
		return nil, nil, fmt.Errorf("its command line %q is not a skiff run or create", strings.Join(argv, " "))
	}
	i++
	takesValue, drop := map[string]bool{}, map[string]bool{}
	for _, f := range runFlags() {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	for _, n := range []string{"d", "detach", "rm", "replace", "name", "cidfile", "pidfile", "sdnotify"} {
		drop[n] = true
	}
	for ; i < len(argv); i++ {
		a := argv[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		if strings.HasPrefix(a, "--") {
			name, _, hasValue := strings.Cut(a[2:], "=")
			value := !hasValue && takesValue[name]
			if !drop[name] {
				rest = append(rest, a)
				if value && i+1 < len(argv) {
					rest = append(rest, argv[i+1])
				}
			}
			if value {
				i++
			}
			continue
		}
		// short flags, maybe several: -dit, -e K=V, -eK=V
		kept := "-"
		for j := 1; j < len(a); j++ {
			n := string(a[j])
			if takesValue[n] {
				val := a[j+1:]
				if val == "" && i+1 < len(argv) {
					i++
					val = argv[i]
				}
				if !drop[n] {
					if kept != "-" {
						rest = append(rest, kept)
					}
					rest = append(rest, "-"+n, val)
				}
				kept = ""
				break
			}
			if !drop[n] {
				kept += n
			}
		}
		if kept != "-" && kept != "" {
			rest = append(rest, kept)
		}
	}
	return globals, append(rest, argv[i:]...), nil
}
