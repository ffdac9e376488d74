package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/skiff-project/skiff/pkg/volume"
)

// volumeRow is what volume ls --format templates see (docker's field names).
type volumeRow struct {
	Driver     string `json:"Driver"`
	Name       string `json:"Name"`
	Mountpoint string `json:"Mountpoint"`
}

func volumeCommand() *cli.Command {
	open := func(c *cli.Context) (*volume.Store, error) {
		p, err := storePaths(c)
		if err != nil {
			return nil, err
		}
		vs := volume.Open(p.GraphRoot)
		vs.Sweep()
		return vs, nil
	}
	// users maps each volume to the containers that mount it
	users := func(c *cli.Context) (map[string][]string, error) {
		recs, err := openRecords(c)
		if err != nil {
			return nil, err
		}
		return recs.VolumeUsers()
	}
	return &cli.Command{
		Name:  "volume",
		Usage: "manage named volumes",
		Subcommands: []*cli.Command{
			{
				Name: "create", Usage: "create a volume", ArgsUsage: "[NAME]",
				Action: func(c *cli.Context) error {
					if c.NArg() > 1 {
						return &usageError{"skiff volume create takes at most one name"}
					}
					vs, err := open(c)
					if err != nil {
						return err
					}
					v, err := vs.Create(c.Args().First(), true)
					if err != nil {
						return err
					}
					fmt.Println(v.Name)
					return nil
				},
			},
			{
				Name: "ls", Aliases: []string{"list"}, Usage: "list volumes",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only names"},
					&cli.StringFlag{Name: "format", Usage: "Go template, 'table TEMPLATE' or json"},
				},
				Action: func(c *cli.Context) error {
					vs, err := open(c)
					if err != nil {
						return err
					}
					list, err := vs.List()
					if err != nil {
						return err
					}
					var rows []volumeRow
					for _, v := range list {
						if c.Bool("quiet") {
							fmt.Println(v.Name)
							continue
						}
						rows = append(rows, volumeRow{Driver: v.Driver, Name: v.Name, Mountpoint: v.Mountpoint})
					}
					if c.Bool("quiet") {
						return nil
					}
					return printRows(os.Stdout, rows, c.String("format"), true, "table {{.Driver}}\t{{.Name}}",
						[]string{"DRIVER", "VOLUME NAME"})
				},
			},
			{
				Name: "inspect", Usage: "show volumes as JSON", ArgsUsage: "NAME...",
				Flags: []cli.Flag{&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "Go template applied to each volume (docker's field names), or json"}},
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return &usageError{"skiff volume inspect needs at least one volume"}
					}
					vs, err := open(c)
					if err != nil {
						return err
					}
					out := []volume.Volume{}
					for _, n := range c.Args().Slice() {
						v, err := vs.Inspect(n)
						if err != nil {
							return err
						}
						out = append(out, v)
					}
					if f := c.String("format"); f != "" && f != "json" {
						return printRows(os.Stdout, out, f, false, "", nil)
					}
					b, _ := json.MarshalIndent(out, "", "    ")
					fmt.Println(string(b))
					return nil
				},
			},
			{
				Name: "rm", Aliases: []string{"remove"}, Usage: "remove volumes", ArgsUsage: "NAME...",
				Flags: []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "remove volumes in use, ignore missing ones"}},
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return &usageError{"skiff volume rm needs at least one volume"}
					}
					vs, err := open(c)
					if err != nil {
						return err
					}
					used, err := users(c)
					if err != nil {
						return err
					}
					return removeEach(c.Args().Slice(), c.Bool("force"), func(n string) ([]string, error) {
						return []string{n}, vs.Remove(n, c.Bool("force"), used[n])
					})
				},
			},
			{
				Name: "prune", Usage: "remove the volumes no container uses",
				Flags: []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask (skiff never asks)"}},
				Action: func(c *cli.Context) error {
					vs, err := open(c)
					if err != nil {
						return err
					}
					used, err := users(c)
					if err != nil {
						return err
					}
					list, err := vs.List()
					if err != nil {
						return err
					}
					var names []string
					for _, v := range list {
						if len(used[v.Name]) == 0 {
							names = append(names, v.Name)
						}
					}
					return removeEach(names, false, func(n string) ([]string, error) {
						return []string{n}, vs.Remove(n, false, nil)
					})
				},
			},
		},
	}
}
