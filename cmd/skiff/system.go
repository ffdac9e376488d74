//go:build skiff_image

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/skiff-project/skiff/pkg/build"
	"github.com/skiff-project/skiff/pkg/catalog"
	"github.com/skiff-project/skiff/pkg/cgroups"
	"github.com/skiff-project/skiff/pkg/container"
	"github.com/skiff-project/skiff/pkg/image"
	"github.com/skiff-project/skiff/pkg/network"
	"github.com/skiff-project/skiff/pkg/store"
	"github.com/skiff-project/skiff/pkg/userns"
	"github.com/skiff-project/skiff/pkg/volume"
)

// systemCommand is docker's system group: df, prune and info.
func systemCommand() *cli.Command {
	subs := []*cli.Command{systemDfCommand(), systemPruneCommand(), infoCommand(), systemCgroupsCommand()}
	for _, s := range subs {
		s.OnUsageError = onUsageError
	}
	return &cli.Command{
		Name:        "system",
		Usage:       "disk usage (df), pruning (prune), information (info) and cgroup delegation (cgroups)",
		Subcommands: subs,
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.ShowSubcommandHelp(c)
			}
			return &usageError{fmt.Sprintf("unknown command %q for skiff system: use df, prune, info or cgroups", c.Args().First())}
		},
	}
}

// systemCgroupsCommand is `skiff system cgroups delegate USER`: root hands a user a cgroup v1
// subtree for their containers' limits.
func systemCgroupsCommand() *cli.Command {
	delegate := &cli.Command{
		Name:         "delegate",
		Usage:        "give USER a cgroup v1 subtree (skiff/USER under each controller) for rootless limits; as root",
		ArgsUsage:    "USER",
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return &usageError{"skiff system cgroups delegate needs one user: skiff system cgroups delegate USER"}
			}
			if os.Geteuid() != 0 || userns.Current().Rootless {
				return errors.New("skiff system cgroups delegate changes the host's cgroups: run it as root (sudo)")
			}
			u, err := user.Lookup(c.Args().First())
			if err != nil {
				return fmt.Errorf("no user %q on this host: give a user name that /etc/passwd has", c.Args().First())
			}
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			dirs, err := cgroups.Delegate(u.Username, uid, gid)
			if err != nil {
				return err
			}
			for _, d := range dirs {
				fmt.Println(d)
			}
			return nil
		},
	}
	return &cli.Command{
		Name:        "cgroups",
		Usage:       "cgroup delegation for rootless resource limits (delegate)",
		Subcommands: []*cli.Command{delegate},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.ShowSubcommandHelp(c)
			}
			return &usageError{fmt.Sprintf("unknown command %q for skiff system cgroups: use delegate", c.Args().First())}
		},
	}
}

// noArgs refuses arguments to skiff system's commands, which take none.
func noArgs(c *cli.Context) error {
	if c.NArg() > 0 {
		return &usageError{fmt.Sprintf("skiff system %s takes no arguments, got %q: see skiff system %s --help", c.Command.Name, c.Args().First(), c.Command.Name)}
	}
	return nil
}

// diskUsage is what system df counts.
type diskUsage struct {
	images     []duImage
	imagesSize int64 // the images' layers, each once, and their configs and manifests
	containers []duContainer
	volumes    []duVolume
}

type duImage struct {
	img        *catalog.Image
	shared     int64 // the size of its layers other images have too
	containers int
}

type duContainer struct {
	in   container.Info
	size int64 // what it wrote (SizeRw)
}

type duVolume struct {
	v     volume.Volume
	links int // the containers that mount it
	size  int64
}

// gatherUsage counts the store's images, containers and volumes, and their sizes.
func gatherUsage(c *cli.Context) (*diskUsage, error) {
	p, err := storePaths(c)
	if err != nil {
		return nil, err
	}
	cat, err := catalog.Open(p.GraphRoot, p.Driver)
	if err != nil {
		return nil, err
	}
	recs := container.SweptRecords(p.GraphRoot)
	list, err := recs.List()
	if err != nil {
		return nil, err
	}
	vs := volume.Open(p.GraphRoot)
	vols, err := vs.List()
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	du := &diskUsage{}
	users, links := map[string]int{}, map[string]int{}
	for _, in := range list {
		users[in.Meta.ImageID]++
		for _, v := range in.Meta.Volumes {
			links[v]++
		}
		du.containers = append(du.containers, duContainer{in: in, size: recs.SizeRw(in, cat)})
	}
	imgs := cat.Summaries()
	layersOf := map[string][]*catalog.Layer{}
	use := map[string]int{}
	for _, img := range imgs {
		ls, _ := cat.Layers(img)
		layersOf[img.ID] = ls
		for _, l := range ls {
			use[l.ID]++
		}
	}
	counted := map[string]bool{}
	for _, img := range imgs {
		d := duImage{img: img, containers: users[img.ID]}
		data := img.Size // less its layers: its config and manifests
		for _, l := range layersOf[img.ID] {
			data -= l.DiffSize
			if use[l.ID] > 1 {
				d.shared += l.DiffSize
			}
			if !counted[l.ID] {
				counted[l.ID] = true
				du.imagesSize += l.DiffSize
			}
		}
		du.imagesSize += max(data, 0)
		du.images = append(du.images, d)
	}
	for _, v := range vols {
		du.volumes = append(du.volumes, duVolume{v: v, links: links[v.Name], size: container.DirSize(v.Mountpoint)})
	}
	return du, nil
}

// dfRow is one line of system df (docker's field names; JSON keys in docker's order).
type dfRow struct {
	Active      string `json:"Active"`
	Reclaimable string `json:"Reclaimable"`
	Size        string `json:"Size"`
	TotalCount  string `json:"TotalCount"`
	Type        string `json:"Type"`
}

// reclaimable is docker's RECLAIMABLE: a size, with its share of total when total is not 0.
func reclaimable(n, total int64) string {
	if total > 0 {
		return fmt.Sprintf("%s (%d%%)", units.HumanSize(float64(n)), n*100/total)
	}
	return units.HumanSize(float64(n))
}

// summary is system df's four lines, counted as docker counts them.
func (du *diskUsage) summary() []dfRow {
	var activeImages int
	var used int64
	for _, d := range du.images {
		if d.containers > 0 {
			activeImages++
			used += d.img.Size - d.shared
		}
	}
	var activeCtrs int
	var ctrSize, ctrFree int64
	for _, d := range du.containers {
		ctrSize += d.size
		if d.in.Running {
			activeCtrs++
		} else {
			ctrFree += d.size
		}
	}
	var activeVols int
	var volSize, volFree int64
	for _, d := range du.volumes {
		volSize += d.size
		if d.links > 0 {
			activeVols++
		} else {
			volFree += d.size
		}
	}
	hs := func(n int64) string { return units.HumanSize(float64(n)) }
	return []dfRow{
		{Type: "Images", TotalCount: strconv.Itoa(len(du.images)), Active: strconv.Itoa(activeImages), Size: hs(du.imagesSize),
			Reclaimable: reclaimable(max(du.imagesSize-used, 0), du.imagesSize)},
		{Type: "Containers", TotalCount: strconv.Itoa(len(du.containers)), Active: strconv.Itoa(activeCtrs), Size: hs(ctrSize),
			Reclaimable: reclaimable(ctrFree, ctrSize)},
		{Type: "Local Volumes", TotalCount: strconv.Itoa(len(du.volumes)), Active: strconv.Itoa(activeVols), Size: hs(volSize),
			Reclaimable: reclaimable(volFree, volSize)},
		{Type: "Build Cache", TotalCount: "0", Active: "0", Size: "0B", Reclaimable: "0B"},
	}
}

// dfImageRow, dfContainerRow and dfVolumeRow are the lines of system df -v.
type dfImageRow struct {
	Containers   string `json:"Containers"`
	CreatedAt    string `json:"CreatedAt"`
	CreatedSince string `json:"CreatedSince"`
	Digest       string `json:"Digest"`
	ID           string `json:"ID"`
	Repository   string `json:"Repository"`
	SharedSize   string `json:"SharedSize"`
	Size         string `json:"Size"`
	Tag          string `json:"Tag"`
	UniqueSize   string `json:"UniqueSize"`
	VirtualSize  string `json:"VirtualSize"`
}

type dfContainerRow struct {
	Command      string `json:"Command"`
	CreatedAt    string `json:"CreatedAt"`
	ID           string `json:"ID"`
	Image        string `json:"Image"`
	Labels       string `json:"Labels"`
	LocalVolumes string `json:"LocalVolumes"`
	Names        string `json:"Names"`
	RunningFor   string `json:"RunningFor"`
	Size         string `json:"Size"`
	State        string `json:"State"`
	Status       string `json:"Status"`
}

type dfVolumeRow struct {
	Driver     string `json:"Driver"`
	Labels     string `json:"Labels"`
	Links      string `json:"Links"`
	Mountpoint string `json:"Mountpoint"`
	Name       string `json:"Name"`
	Scope      string `json:"Scope"`
	Size       string `json:"Size"`
}

func (du *diskUsage) imageRows() []dfImageRow {
	var rows []dfImageRow
	for _, d := range du.images {
		img := d.img
		r := dfImageRow{ID: img.ID[:12], Repository: "<none>", Tag: "<none>", Digest: img.Digest, Containers: strconv.Itoa(d.containers),
			CreatedAt:    img.Created.Format("2006-01-02 15:04:05 -0700 MST"),
			CreatedSince: units.HumanDuration(time.Since(img.Created)) + " ago",
			Size:         units.HumanSizeWithPrecision(float64(img.Size), 3), VirtualSize: units.HumanSizeWithPrecision(float64(img.Size), 3),
			SharedSize: units.HumanSize(float64(d.shared)), UniqueSize: units.HumanSize(float64(img.Size - d.shared))}
		if len(img.Names) > 0 {
			r.Repository, r.Tag = image.Split(img.Names[0]) // docker shows the first name only
		}
		if r.Digest == "" {
			r.Digest = "<none>"
		}
		rows = append(rows, r)
	}
	return rows
}

func (du *diskUsage) containerRows() []dfContainerRow {
	var rows []dfContainerRow
	for _, d := range du.containers {
		in := d.in
		cmd := strings.Join(in.Meta.Command, " ")
		if len(cmd) > 20 {
			cmd = cmd[:19] + "…"
		}
		rows = append(rows, dfContainerRow{ID: in.ID[:12], Image: in.Meta.Image, Command: strconv.Quote(cmd),
			LocalVolumes: strconv.Itoa(len(in.Meta.Volumes)), Size: units.HumanSizeWithPrecision(float64(d.size), 3),
			CreatedAt: in.Meta.Created.Format("2006-01-02 15:04:05 -0700 MST"), RunningFor: units.HumanDuration(time.Since(in.Meta.Created)) + " ago",
			Status: containerStatus(in), State: in.State.Status, Names: strings.Join(in.Names, ","), Labels: container.JoinLabels(in.Meta.Labels)})
	}
	return rows
}

func (du *diskUsage) volumeRows() []dfVolumeRow {
	var rows []dfVolumeRow
	for _, d := range du.volumes {
		rows = append(rows, dfVolumeRow{Name: d.v.Name, Driver: d.v.Driver, Links: strconv.Itoa(d.links), Size: units.HumanSize(float64(d.size)),
			Mountpoint: d.v.Mountpoint, Scope: d.v.Scope, Labels: container.JoinLabels(d.v.Labels)})
	}
	return rows
}

// dockerTable prints a header and rows as docker's tables do (columns at least 10 wide).
func dockerTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// jsonLine prints v as one line of JSON, as docker's --format json does.
func jsonLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func systemDfCommand() *cli.Command {
	return &cli.Command{
		Name:  "df",
		Usage: "show the disk space images, containers and volumes use",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "show each image, container and volume"},
			&cli.StringFlag{Name: "format", Usage: "Go template ({{.Type}} {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}), 'table TEMPLATE' or json"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			format := c.String("format")
			du, err := gatherUsage(c)
			if err != nil {
				return err
			}
			out := bufio.NewWriter(os.Stdout)
			defer out.Flush()
			if c.Bool("verbose") {
				if format == "json" {
					return jsonLine(out, du.verboseJSON())
				}
				return du.verboseTable(out) // docker shows its tables whatever else --format says
			}
			rows := du.summary()
			switch {
			case format == "json":
				for _, r := range rows {
					if err := jsonLine(out, r); err != nil {
						return err
					}
				}
				return nil
			case format == "" || strings.TrimSpace(format) == "table":
				var cells [][]string
				for _, r := range rows {
					cells = append(cells, []string{r.Type, r.TotalCount, r.Active, r.Size, r.Reclaimable})
				}
				return dockerTable(out, []string{"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"}, cells)
			}
			if err := formatRows(out, rows, format, true, "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
				[]string{"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"}); err != nil {
				return &usageError{err.Error() + ": fields are .Type, .TotalCount, .Active, .Size and .Reclaimable"}
			}
			return nil
		},
	}
}

// verboseJSON is system df -v --format json: docker's one object of lists (a list with no
// entries left out).
func (du *diskUsage) verboseJSON() map[string]any {
	m := map[string]any{}
	if rows := du.imageRows(); len(rows) > 0 {
		m["Images"] = rows
	}
	if rows := du.containerRows(); len(rows) > 0 {
		m["Containers"] = rows
	}
	if rows := du.volumeRows(); len(rows) > 0 {
		m["Volumes"] = rows
	}
	return m
}

// verboseTable is system df -v: docker's four tables.
func (du *diskUsage) verboseTable(w io.Writer) error {
	fmt.Fprint(w, "Images space usage:\n\n")
	var cells [][]string
	for _, r := range du.imageRows() {
		cells = append(cells, []string{r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size, r.SharedSize, r.UniqueSize, r.Containers})
	}
	if err := dockerTable(w, []string{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"}, cells); err != nil {
		return err
	}
	fmt.Fprint(w, "\nContainers space usage:\n\n")
	cells = nil
	for _, r := range du.containerRows() {
		cells = append(cells, []string{r.ID, r.Image, r.Command, r.LocalVolumes, r.Size, r.RunningFor, r.Status, r.Names})
	}
	if err := dockerTable(w, []string{"CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"}, cells); err != nil {
		return err
	}
	fmt.Fprint(w, "\nLocal Volumes space usage:\n\n")
	cells = nil
	for _, r := range du.volumeRows() {
		cells = append(cells, []string{r.Name, r.Links, r.Size})
	}
	if err := dockerTable(w, []string{"VOLUME NAME", "LINKS", "SIZE"}, cells); err != nil {
		return err
	}
	fmt.Fprint(w, "\nBuild cache usage: 0B\n\n")
	return dockerTable(w, []string{"CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"}, nil)
}

// pruneWarning is docker's confirmation text for system prune.
func pruneWarning(all, volumes bool) string {
	warnings := []string{"all stopped containers", "all networks not used by at least one container"}
	if volumes {
		warnings = append(warnings, "all volumes not used by at least one container")
	}
	if all {
		warnings = append(warnings, "all images without at least one container associated to them", "all build cache")
	} else {
		warnings = append(warnings, "all dangling images", "unused build cache")
	}
	return "WARNING! This will remove:\n  - " + strings.Join(warnings, "\n  - ") + "\n\nAre you sure you want to continue? [y/N] "
}

// confirm asks the question on stdout and reads the answer from in: y or Y goes on.
func confirm(in io.Reader, question string) bool {
	fmt.Print(question)
	line, _ := bufio.NewReader(in).ReadString('\n')
	return strings.EqualFold(strings.TrimSpace(line), "y")
}

func systemPruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "remove stopped containers, dangling images (-a: every unused image) and with --volumes unused volumes",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove every image no container uses, not only dangling ones"},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask for confirmation"},
			&cli.BoolFlag{Name: "volumes", Usage: "remove the volumes no container uses too"},
			&cli.StringSliceFlag{Name: "filter", Usage: pruneFilterUsage + "; with a filter the build cache is kept"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			f, err := catalog.ParsePruneFilters(c.StringSlice("filter"), time.Now())
			if err != nil {
				return &usageError{err.Error()}
			}
			if f.UsesUntil() && c.Bool("volumes") {
				return &usageError{"the until filter does not apply to volumes (as docker's): drop --volumes or until"}
			}
			all := c.Bool("all")
			if !c.Bool("force") && !confirm(os.Stdin, pruneWarning(all, c.Bool("volumes"))) {
				return nil
			}
			st, err := openStore(c)
			if err != nil {
				return err
			}
			defer st.Close()
			recs := containerRecords(st)
			cat, err := st.Catalog()
			if err != nil {
				return err
			}
			var reclaimed int64
			// stopped containers, with what they wrote
			list, err := recs.List()
			if err != nil {
				return err
			}
			sizes := map[string]int64{}
			for _, in := range list {
				if !in.Running {
					sizes[in.ID] = recs.SizeRw(in, cat)
				}
			}
			gone, err := recs.Prune(f)
			if len(gone) > 0 {
				fmt.Println("Deleted Containers:")
				for _, id := range gone {
					fmt.Println(id)
					reclaimed += sizes[id]
				}
				fmt.Println()
			}
			if err != nil {
				return err
			}
			// networks no container names any more, as the warning says
			ns := network.Open(st.Paths.GraphRoot, userns.Current().RunDir)
			if nets, err := ns.List(); err == nil && len(nets) > 0 {
				rest, err := recs.List()
				if err != nil {
					return err
				}
				if gone := pruneNetworks(ns, nets, rest, f); len(gone) > 0 {
					fmt.Println("Deleted Networks:")
					for _, name := range gone {
						fmt.Println(name)
					}
					fmt.Println()
				}
			}
			if c.Bool("volumes") {
				n, err := pruneVolumes(st.Paths.GraphRoot, recs, f)
				reclaimed += n
				if err != nil {
					return err
				}
			}
			n, err := pruneImages(st, recs, all, f)
			reclaimed += n
			if err != nil {
				return err
			}
			if f == nil {
				// the cache's entries keep no creation time or labels to filter by
				_, _, n, err = build.PruneCache(st)
				reclaimed += n
				if err != nil {
					return err
				}
			}
			fmt.Println("Total reclaimed space:", units.HumanSize(float64(reclaimed)))
			return nil
		},
	}
}

// pruneVolumes removes the volumes no container mounts, prints them as docker does, and
// returns the space they took.
func pruneVolumes(graphRoot string, recs *container.Records, f *catalog.PruneFilter) (int64, error) {
	used, err := recs.VolumeUsers()
	if err != nil {
		return 0, err
	}
	vs := volume.Open(graphRoot)
	vs.Sweep()
	vols, err := vs.List()
	if err != nil {
		return 0, fmt.Errorf("list volumes: %w", err)
	}
	var reclaimed int64
	var removed []string
	var firstErr error
	for _, v := range vols {
		if len(used[v.Name]) > 0 || !f.Match(v.CreatedAt, v.Labels) {
			continue
		}
		size := container.DirSize(v.Mountpoint)
		if err := vs.Remove(v.Name, false, nil); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		removed = append(removed, v.Name)
		reclaimed += size
	}
	if len(removed) > 0 {
		fmt.Println("Deleted Volumes:")
		for _, n := range removed {
			fmt.Println(n)
		}
		fmt.Println()
	}
	return reclaimed, firstErr
}

// pruneImages removes the dangling images (all: every image no container uses), prints them
// as docker does, and returns the space their layers and data took.
func pruneImages(st *store.Store, recs *container.Records, all bool, f *catalog.PruneFilter) (int64, error) {
	unlock, err := recs.LockImages(true)
	if err != nil {
		return 0, err
	}
	defer unlock()
	cat, err := st.Catalog()
	if err != nil {
		return 0, err
	}
	imgs := cat.Summaries()
	removed, err := st.Prune(all, f.Images(), recs.UsedImages())
	if len(removed) == 0 {
		return 0, err
	}
	// the space: the removed images' data, and their layers no image left uses
	kept := map[string]bool{}
	for _, img := range imgs {
		if !slices.Contains(removed, img.ID) {
			ls, _ := cat.Layers(img)
			for _, l := range ls {
				kept[l.ID] = true
			}
		}
	}
	var reclaimed int64
	freed := map[string]bool{}
	fmt.Println("Deleted Images:")
	for _, img := range imgs {
		if !slices.Contains(removed, img.ID) {
			continue
		}
		for _, n := range img.Names {
			fmt.Println("untagged: " + n)
		}
		fmt.Println("deleted: sha256:" + img.ID)
		ls, _ := cat.Layers(img)
		data := img.Size
		for _, l := range ls {
			data -= l.DiffSize
			if !kept[l.ID] && !freed[l.ID] {
				freed[l.ID] = true
				reclaimed += l.DiffSize
			}
		}
		reclaimed += max(data, 0)
	}
	fmt.Println()
	return reclaimed, err
}
