package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-project/skiff/pkg/catalog"
	"github.com/skiff-project/skiff/pkg/container"
	"github.com/skiff-project/skiff/pkg/network"
	"github.com/skiff-project/skiff/pkg/userns"
)

// networkRow is what network ls --format templates see (docker's field names).
type networkRow struct {
	ID     string `json:"ID"`
	Name   string `json:"Name"`
	Driver string `json:"Driver"`
	Subnet string `json:"Subnet"`
}

// networkInfo is network inspect's JSON (docker's shape, the fields skiff has).
type networkInfo struct {
	Name       string                     `json:"Name"`
	ID         string                     `json:"Id"`
	Created    time.Time                  `json:"Created"`
	Driver     string                     `json:"Driver"`
	IPAM       networkIPAM                `json:"IPAM"`
	Containers map[string]networkEndpoint `json:"Containers"`
	Labels     map[string]string          `json:"Labels"`
}

type networkIPAM struct {
	Driver string              `json:"Driver"`
	Config []map[string]string `json:"Config"`
}

type networkEndpoint struct {
	Name        string   `json:"Name"`
	IPv4Address string   `json:"IPv4Address"`
	Aliases     []string `json:"Aliases,omitempty"`
}

func networkCommand() *cli.Command {
	open := func(c *cli.Context) (*network.Store, error) {
		p, err := storePaths(c)
		if err != nil {
			return nil, err
		}
		return network.Open(p.GraphRoot, userns.Current().RunDir), nil
	}
	return &cli.Command{
		Name:  "network",
		Usage: "manage networks on which containers reach each other by name",
		Subcommands: []*cli.Command{
			{
				Name: "create", Usage: "create a network", ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "subnet", Usage: "its IPv4 subnet (default: the first free 10.89.N.0/24)"},
					&cli.StringFlag{Name: "driver", Aliases: []string{"d"}, Value: "bridge", Usage: "bridge (the only one)"},
					&cli.StringSliceFlag{Name: "label", Usage: "set a label: KEY=VALUE"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return &usageError{"skiff network create needs one name: skiff network create [OPTIONS] NAME"}
					}
					if d := c.String("driver"); d != "bridge" {
						return &usageError{fmt.Sprintf("unsupported --driver %q: skiff's networks are bridge networks", d)}
					}
					labels, err := container.ParseLabels(nil, c.StringSlice("label"))
					if err != nil {
						return &usageError{err.Error()}
					}
					ns, err := open(c)
					if err != nil {
						return err
					}
					n, err := ns.Create(c.Args().First(), c.String("subnet"), labels)
					if err != nil {
						return err
					}
					fmt.Println(n.Name)
					return nil
				},
			},
			{
				Name: "ls", Aliases: []string{"list"}, Usage: "list networks",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only names"},
					&cli.StringFlag{Name: "format", Usage: "Go template, 'table TEMPLATE' or json"},
				},
				Action: func(c *cli.Context) error {
					ns, err := open(c)
					if err != nil {
						return err
					}
					list, err := ns.List()
					if err != nil {
						return err
					}
					if c.Bool("quiet") {
						for _, n := range list {
							fmt.Println(n.Name)
						}
						return nil
					}
					var rows []networkRow
					for _, n := range list {
						rows = append(rows, networkRow{ID: n.ID[:12], Name: n.Name, Driver: n.Driver, Subnet: n.Subnet})
					}
					return printRows(os.Stdout, rows, c.String("format"), true, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Subnet}}",
						[]string{"NETWORK ID", "NAME", "DRIVER", "SUBNET"})
				},
			},
			{
				Name: "inspect", Usage: "show networks as JSON", ArgsUsage: "NAME...",
				Flags: []cli.Flag{&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "Go template applied to each network (docker's field names), or json"}},
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return &usageError{"skiff network inspect needs at least one network"}
					}
					ns, err := open(c)
					if err != nil {
						return err
					}
					out := []networkInfo{}
					for _, ref := range c.Args().Slice() {
						n, err := ns.Get(ref)
						if err != nil {
							return err
						}
						info := networkInfo{Name: n.Name, ID: n.ID, Created: n.Created, Driver: n.Driver, Labels: n.Labels,
							IPAM:       networkIPAM{Driver: "default", Config: []map[string]string{{"Subnet": n.Subnet, "Gateway": n.Gateway}}},
							Containers: map[string]networkEndpoint{}}
						if info.Labels == nil {
							info.Labels = map[string]string{}
						}
						for _, l := range ns.Members(n) {
							_, bits, _ := strings.Cut(n.Subnet, "/")
							info.Containers[l.ID] = networkEndpoint{Name: l.Name, IPv4Address: l.Addr + "/" + bits, Aliases: l.Aliases}
						}
						out = append(out, info)
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
				Name: "prune", Usage: "remove the networks no container names (running or stopped), as docker",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask (skiff never asks)"},
					&cli.StringSliceFlag{Name: "filter", Usage: pruneFilterUsage},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return &usageError{"skiff network prune takes no arguments: give --filter to choose"}
					}
					f, err := catalog.ParsePruneFilters(c.StringSlice("filter"), time.Now())
					if err != nil {
						return &usageError{err.Error()}
					}
					ns, err := open(c)
					if err != nil {
						return err
					}
					recs, err := openRecords(c)
					if err != nil {
						return err
					}
					list, err := ns.List()
					if err != nil {
						return err
					}
					ctrs, err := recs.List()
					if err != nil {
						return err
					}
					gone := pruneNetworks(ns, list, ctrs, f)
					if len(gone) > 0 {
						fmt.Println("Deleted Networks:")
						for _, n := range gone {
							fmt.Println(n)
						}
					}
					return nil
				},
			},
			{
				Name: "rm", Aliases: []string{"remove"}, Usage: "remove networks", ArgsUsage: "NAME...",
				Flags: []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "remove the containers on them too, ignore missing ones"}},
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return &usageError{"skiff network rm needs at least one network"}
					}
					ns, err := open(c)
					if err != nil {
						return err
					}
					force := c.Bool("force")
					return removeEach(c.Args().Slice(), force, func(ref string) ([]string, error) {
						if force {
							if n, err := ns.Get(ref); err == nil {
								recs, err := openRecords(c)
								if err != nil {
									return nil, err
								}
								for _, l := range ns.Members(n) {
									if _, err := recs.Remove(l.ID, true); err != nil {
										return nil, fmt.Errorf("remove container %s from network %s: %w", l.Name, n.Name, err)
									}
								}
							}
						}
						n, err := ns.Remove(ref)
						if force && errors.Is(err, network.ErrNotFound) {
							return nil, nil
						}
						return []string{n.Name}, err
					})
				},
			},
		},
	}
}

// pruneNetworks removes the networks of list that no container of ctrs names (by name or ID,
// running or not) and f matches, and returns their names. One that a container joined
// meanwhile stays.
func pruneNetworks(ns *network.Store, list []network.Network, ctrs []container.Info, f *catalog.PruneFilter) []string {
	var gone []string
	for _, n := range list {
		used := slices.ContainsFunc(ctrs, func(in container.Info) bool {
			if in.Meta.Run == nil {
				return false
			}
			ref := in.Meta.Run.Spec.Network
			return ref == n.Name || (len(ref) >= 3 && strings.HasPrefix(n.ID, ref))
		})
		if used || (f != nil && !f.Match(n.Created, n.Labels)) {
			continue
		}
		if _, err := ns.Remove(n.Name); err != nil {
			fmt.Fprintf(os.Stderr, "network %s stays: %v\n", n.Name, err)
			continue
		}
		gone = append(gone, n.Name)
	}
	return gone
}
