package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/skiff-project/skiff/pkg/catalog"
	"github.com/skiff-project/skiff/pkg/container"
	"github.com/skiff-project/skiff/pkg/network"
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
	Labels     string `json:"Labels"`   // k=v,k2=v2
	Size       string `json:"Size"`     // with -s: "12B (virtual 2.13MB)"
	Ports      string `json:"Ports"`    // docker's "0.0.0.0:8080->80/tcp, ...": a running container's published ports
	Networks   string `json:"Networks"` // the network it was run on (pasta when none was given)
	Mounts     string `json:"Mounts"`   // its volumes' names and bind mounts' host paths

	labels map[string]string
}

// Label is docker's {{.Label "KEY"}}: the value of one label.
func (r containerRow) Label(key string) string { return r.labels[key] }

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
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "name=, id=, status=, ancestor=, exited=, label=KEY[=VALUE], before=, since=, network=, volume=, health= (same key: any, but every label, before and since; keys: all)"},
			&cli.BoolFlag{Name: "size", Aliases: []string{"s"}, Usage: "show what each container wrote, and with its image's size (virtual)"},
			&cli.IntFlag{Name: "last", Aliases: []string{"n"}, Value: -1, Usage: "show the N containers created last (all states)"},
			&cli.BoolFlag{Name: "latest", Aliases: []string{"l"}, Usage: "show the container created last (all states)"},
		},
		Action: func(c *cli.Context) error {
			match, err := containerFilter(c.StringSlice("filter"))
			if err != nil {
				return &usageError{err.Error()}
			}
			recs, err := openRecords(c)
			if err != nil {
				return err
			}
			list, err := recs.List()
			if err != nil {
				return err
			}
			if err := match.resolve(list); err != nil {
				return &usageError{err.Error()}
			}
			last := c.Int("last")
			if c.Bool("latest") {
				last = 1
			}
			all := c.Bool("all") || last >= 0 // docker's -n and -l show every state
			if last >= 0 {
				// the newest first, as ps lists them
				slices.SortStableFunc(list, func(a, b container.Info) int { return b.Meta.Created.Compare(a.Meta.Created) })
			}
			// sizes are counted only when asked for (-s, or a format that shows them, as docker)
			var sizes func(container.Info) (string, error)
			if c.Bool("size") || strings.Contains(c.String("format"), ".Size") {
				sizes = sizeColumn(c, recs)
			}
			var rows []containerRow
			shown := 0
			for _, in := range list {
				if !in.Running && !all && !match.wantsStopped {
					continue
				}
				if !match.ok(in) {
					continue
				}
				if last >= 0 && shown >= last {
					break
				}
				shown++
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
				status := containerStatus(in)
				row := containerRow{ID: id, Names: strings.Join(in.Names, ","), Image: in.Meta.Image, Command: cmd,
					CreatedAt: in.Meta.Created.Format("2006-01-02 15:04:05 -0700 MST"), RunningFor: units.HumanDuration(time.Since(in.Meta.Created)) + " ago",
					Status: status, State: in.State.Status, ExitCode: in.State.ExitCode,
					Labels: container.JoinLabels(in.Meta.Labels), labels: in.Meta.Labels}
				if sizes != nil {
					if row.Size, err = sizes(in); err != nil {
						return err
					}
				}
				if f := c.String("format"); strings.Contains(f, ".Ports") || strings.Contains(f, "json") {
					row.Ports = psPorts(in, recs)
				}
				row.Networks, row.Mounts = psNetworks(in), psMounts(in)
				rows = append(rows, row)
			}
			if c.Bool("quiet") {
				return nil
			}
			def := "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}"
			header := []string{"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"}
			if c.Bool("size") {
				def, header = def+"\t{{.Size}}", append(header, "SIZE")
			}
			return printRows(os.Stdout, rows, c.String("format"), true, def, header)
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
			&cli.BoolFlag{Name: "volumes", Aliases: []string{"v"}, Usage: "remove the container's anonymous volumes too"},
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
				in, err := recs.Remove(ref, c.Bool("force"))
				if err == nil && c.Bool("volumes") {
					recs.RemoveVolumes(in)
				}
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

// psFilter is ps --filter: the values given for one key are alternatives, keys all apply.
type psFilter struct {
	keys         map[string][]string
	wantsStopped bool                 // a status or exited filter lists stopped containers without -a
	created      map[string]time.Time // before= and since=: their containers' creation times
}

var psFilterKeys = []string{"name", "id", "status", "ancestor", "exited", "label", "before", "since", "network", "volume", "health"}

// resolve finds the containers before= and since= name, in list.
func (f *psFilter) resolve(list []container.Info) error {
	f.created = map[string]time.Time{}
	for _, k := range []string{"before", "since"} {
		for _, v := range f.keys[k] {
			i := slices.IndexFunc(list, func(in container.Info) bool {
				return slices.Contains(in.Names, v) || (len(v) >= 3 && strings.HasPrefix(in.ID, v))
			})
			if i < 0 {
				return fmt.Errorf("--filter %s=%s: no such container: see skiff ps -a", k, v)
			}
			f.created[v] = list[i].Meta.Created
		}
	}
	return nil
}

func containerFilter(args []string) (*psFilter, error) {
	f := &psFilter{keys: map[string][]string{}}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || v == "" || !slices.Contains(psFilterKeys, k) {
			return nil, fmt.Errorf("invalid --filter %q: use KEY=VALUE with KEY one of %s", a, strings.Join(psFilterKeys, ", "))
		}
		switch k {
		case "status":
			if !slices.Contains([]string{"created", "running", "paused", "exited"}, v) {
				return nil, fmt.Errorf("invalid --filter %q: status is created, running, paused or exited", a)
			}
			f.wantsStopped = f.wantsStopped || v != "running"
		case "exited":
			if _, err := strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("invalid --filter %q: exited takes an exit code", a)
			}
			f.wantsStopped = true
		case "label":
			if strings.HasPrefix(v, "=") {
				return nil, fmt.Errorf("invalid --filter %q: name the label: label=KEY or label=KEY=VALUE", a)
			}
		case "health":
			if !slices.Contains([]string{"starting", "healthy", "unhealthy", "none"}, v) {
				return nil, fmt.Errorf("invalid --filter %q: health is starting, healthy, unhealthy or none", a)
			}
		}
		f.keys[k] = append(f.keys[k], v)
	}
	return f, nil
}

func (f *psFilter) ok(in container.Info) bool {
	for k, vals := range f.keys {
		if k == "label" {
			// docker's label filters all apply, even for the same key
			if slices.ContainsFunc(vals, func(v string) bool { return !container.MatchLabel(in.Meta.Labels, v) }) {
				return false
			}
			continue
		}
		if k == "before" || k == "since" {
			// docker's: created before (or after) each container named
			if slices.ContainsFunc(vals, func(v string) bool {
				t := f.created[v]
				return (k == "before" && !in.Meta.Created.Before(t)) || (k == "since" && !in.Meta.Created.After(t))
			}) {
				return false
			}
			continue
		}
		if !slices.ContainsFunc(vals, func(v string) bool { return psMatch(k, v, in) }) {
			return false
		}
	}
	return true
}

func psMatch(key, v string, in container.Info) bool {
	switch key {
	case "name":
		return slices.ContainsFunc(in.Names, func(n string) bool { return strings.Contains(n, v) })
	case "id":
		return strings.HasPrefix(in.ID, v)
	case "status":
		return in.State.Status == v
	case "exited":
		return !in.Running && strconv.Itoa(in.State.ExitCode) == v
	case "ancestor":
		// the image as the container was run with it, or an image ID (prefix)
		id := strings.TrimPrefix(v, "sha256:")
		return in.Meta.Image == v || len(id) >= 3 && strings.HasPrefix(strings.TrimPrefix(in.Meta.ImageID, "sha256:"), id)
	case "health":
		if in.Health == nil {
			return v == "none"
		}
		return in.Health.Status == v
	case "network":
		n := ""
		if in.Meta.Run != nil {
			n = in.Meta.Run.Spec.Network
		}
		return n == v || (n == "" && (v == "pasta" || v == "default"))
	case "volume":
		// a volume's name, or a mount's source or destination
		if in.Meta.Run == nil {
			return false
		}
		return slices.ContainsFunc(in.Meta.Run.Spec.Volumes, func(m string) bool {
			parts := strings.Split(m, ":")
			return len(parts) >= 2 && (parts[0] == v || parts[1] == v || strings.HasSuffix(parts[0], "/"+v+"/_data"))
		})
	}
	return false
}

// sizeColumn returns what ps -s shows of a container, docker's "12B (virtual 2.13MB)": what it
// wrote, and that with its image's size.
func sizeColumn(c *cli.Context, recs *container.Records) func(container.Info) (string, error) {
	var cat *catalog.Catalog
	var imageSize map[string]int64
	return func(in container.Info) (string, error) {
		if cat == nil {
			var err error
			if cat, err = openCatalog(c); err != nil {
				return "", err
			}
			imageSize = map[string]int64{}
			for _, img := range cat.Summaries() {
				imageSize[img.ID] = img.Size
			}
		}
		rw := recs.SizeRw(in, cat)
		return formatSize(rw, rw+imageSize[in.Meta.ImageID]), nil
	}
}

// formatSize is docker's container size: "12B", or "12B (virtual 2.13MB)".
func formatSize(rw, virtual int64) string {
	s := units.HumanSizeWithPrecision(float64(rw), 3)
	if virtual > 0 {
		s += " (virtual " + units.HumanSizeWithPrecision(float64(virtual), 3) + ")"
	}
	return s
}

// containerStatus is ps's STATUS: "Up 2 minutes", "Exited (0) 3 seconds ago".
func containerStatus(in container.Info) string {
	if in.Running {
		started := in.State.StartedAt
		if started.IsZero() {
			started = in.Meta.Created
		}
		if in.State.Status == "paused" {
			return "Up " + units.HumanDuration(time.Since(started)) + " (Paused)"
		}
		if h := in.Health; h != nil {
			if h.Status == container.HealthStarting {
				return "Up " + units.HumanDuration(time.Since(started)) + " (health: starting)"
			}
			return "Up " + units.HumanDuration(time.Since(started)) + " (" + h.Status + ")"
		}
		return "Up " + units.HumanDuration(time.Since(started))
	}
	if in.State.Status == "created" {
		return "Created"
	}
	s := fmt.Sprintf("Exited (%d)", in.State.ExitCode)
	if !in.State.FinishedAt.IsZero() {
		s += " " + units.HumanDuration(time.Since(in.State.FinishedAt)) + " ago"
	}
	return s
}

// psPorts is docker's PORTS column: a running container's published ports.
func psPorts(in container.Info, recs *container.Records) string {
	if !in.Running {
		return ""
	}
	var out []string
	for _, p := range container.ReadNetState(recs.Path(in.ID)).Ports {
		p.Each(func(q network.Port) {
			out = append(out, fmt.Sprintf("%s->%d/%s", q.HostAddr(), q.ContainerPort, q.Protocol))
		})
	}
	return strings.Join(out, ", ")
}

// psNetworks is the network a container was run on (docker's NETWORKS).
func psNetworks(in container.Info) string {
	if in.Meta.Run == nil {
		return ""
	}
	if n := in.Meta.Run.Spec.Network; n != "" {
		return n
	}
	return "pasta"
}

// psMounts are a container's volumes by name and bind mounts by host path (docker's MOUNTS).
func psMounts(in container.Info) string {
	if in.Meta.Run == nil {
		return ""
	}
	var out []string
	for _, v := range in.Meta.Run.Spec.Volumes {
		src, _, _ := strings.Cut(v, ":")
		if dir, data := filepath.Split(src); data == "_data" {
			src = filepath.Base(dir) // a volume: <store>/skiff-volumes/NAME/_data
		}
		out = append(out, src)
	}
	return strings.Join(out, ",")
}
