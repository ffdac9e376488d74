package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/skiff-project/skiff/pkg/catalog"
)

// containerRow is what ps --format templates see (docker's field names).
type containerRow struct {
	ID         string `json:"Id"`
	Names      string `json:"Names"`
	Image      string `json:"Image"`
	Command    string `json:"Command"`
	CreatedAt  string `json:"CreatedAt"`
	RunningFor string `json:"RunningFor"`
	Status     string `json:"Status"`
	State      string `json:"State"`
	ExitCode   int    `json:"ExitCode"`
}

func psCommand() *cli.Command {
	return &cli.Command{
		Name:    "ps",
		Aliases: []string{"container-ls"},
		Usage:   "list containers",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show stopped containers too"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only IDs"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "do not truncate IDs and commands"},
			&cli.StringFlag{Name: "format", Usage: "Go template, 'table TEMPLATE' or json"},
		},
		Action: func(c *cli.Context) error {
			recs, err := openRecords(c)
			if err != nil {
				return err
			}
			list, err := recs.List()
			if err != nil {
				return err
			}
			var rows []containerRow
			for _, in := range list {
				if !in.Running && !c.Bool("all") {
					continue
				}
				id, cmd := in.ID, strings.Join(in.Meta.Command, " ")
				if !c.Bool("no-trunc") {
					id = id[:12]
					if len(cmd) > 20 {
						cmd = cmd[:17] + "..."
					}
				}
				if c.Bool("quiet") {
					fmt.Println(id)
					continue
				}
				started := in.State.StartedAt
				if started.IsZero() {
					started = in.Meta.Created
				}
				status := "Up " + units.HumanDuration(time.Since(started))
				if !in.Running {
					status = fmt.Sprintf("Exited (%d)", in.State.ExitCode)
					if !in.State.FinishedAt.IsZero() {
						status += " " + units.HumanDuration(time.Since(in.State.FinishedAt)) + " ago"
					}
				}
				rows = append(rows, containerRow{ID: id, Names: strings.Join(in.Names, ","), Image: in.Meta.Image, Command: cmd,
					CreatedAt: in.Meta.Created.Format("2006-01-02 15:04:05 -0700 MST"), RunningFor: units.HumanDuration(time.Since(in.Meta.Created)) + " ago",
					Status: status, State: in.State.Status, ExitCode: in.State.ExitCode})
			}
			if c.Bool("quiet") {
				return nil
			}
			return printRows(os.Stdout, rows, c.String("format"), true,
				"table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
				[]string{"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"})
		},
	}
}

func rmCommand() *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "remove containers",
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill and remove running containers; ignore missing ones"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove all containers"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 && !c.Bool("all") {
				return &usageError{"skiff rm needs at least one container (or --all)"}
			}
			recs, err := openRecords(c)
			if err != nil {
				return err
			}
			refs := c.Args().Slice()
			if c.Bool("all") {
				list, err := recs.List()
				if err != nil {
					return err
				}
				for _, in := range list {
					refs = append(refs, in.ID)
				}
			}
			return removeEach(refs, c.Bool("force"), func(ref string) ([]string, error) {
				_, err := recs.Remove(ref, c.Bool("force"))
				return []string{ref}, err
			})
		},
	}
}

// removeEach removes every ref as rm and rmi do: what remove prints goes to stdout, a missing
// object is ignored with force, the first error is returned and later ones are printed.
func removeEach(refs []string, force bool, remove func(ref string) ([]string, error)) error {
	var firstErr error
	for _, ref := range refs {
		lines, err := remove(ref)
		if err != nil {
			var nf *catalog.NotFoundError
			if force && errors.As(err, &nf) {
				continue
			}
			if firstErr == nil {
				firstErr = err
			} else {
				fmt.Fprintln(os.Stderr, "Error: "+err.Error())
			}
			continue
		}
		for _, l := range lines {
			fmt.Println(l)
		}
	}
	return firstErr
}
