//go:build skiff_image

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	units "github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/skiff-project/skiff/pkg/cgroups"
	"github.com/skiff-project/skiff/pkg/container"
	"github.com/skiff-project/skiff/pkg/image"
	"github.com/skiff-project/skiff/pkg/network"
	"github.com/skiff-project/skiff/pkg/spec"
	"github.com/skiff-project/skiff/pkg/store"
)

// imageInspect is docker's image inspect document (with podman's History and Digest).
type imageInspect struct {
	ID           string            `json:"Id"`
	Digest       string            `json:"Digest"`
	RepoTags     []string          `json:"RepoTags"`
	RepoDigests  []string          `json:"RepoDigests"`
	Parent       string            `json:"Parent"`
	Comment      string            `json:"Comment"`
	Created      time.Time         `json:"Created"`
	Author       string            `json:"Author"`
	Config       image.ImageConfig `json:"Config"`
	Architecture string            `json:"Architecture"`
	Os           string            `json:"Os"`
	Variant      string            `json:"Variant,omitempty"`
	Size         int64             `json:"Size"`
	VirtualSize  int64             `json:"VirtualSize"`
	GraphDriver  graphDriver       `json:"GraphDriver"`
	RootFS       rootFS            `json:"RootFS"`
	History      []image.History   `json:"History"`
	Labels       map[string]string `json:"Labels"`
}

type graphDriver struct {
	Name string            `json:"Name"`
	Data map[string]string `json:"Data"`
}

type rootFS struct {
	Type   string   `json:"Type"`
	Layers []string `json:"Layers"`
}

func inspectImage(st *store.Store, img *store.Image) (imageInspect, error) {
	in := imageInspect{ID: "sha256:" + img.ID, Digest: img.Digest, RepoTags: []string{}, RepoDigests: []string{},
		Created: img.Created, Author: img.Config.Author, Config: img.Config.Config, Architecture: img.Config.Architecture,
		Os: img.Config.OS, Variant: img.Config.Variant, Size: img.Size, VirtualSize: img.Size,
		GraphDriver: graphDriver{Name: st.Driver, Data: map[string]string{}}, RootFS: rootFS{Type: "layers", Layers: []string{}},
		History: img.Config.History, Labels: img.Config.Config.Labels}
	if in.Size == 0 {
		if size, err := st.S.ImageSize(img.ID); err == nil {
			in.Size, in.VirtualSize = size, size
		}
	}
	for _, n := range img.Names {
		in.RepoTags = append(in.RepoTags, n)
		if img.Digest != "" {
			repo, _ := image.Split(n)
			d := repo + "@" + img.Digest
			if !contains(in.RepoDigests, d) {
				in.RepoDigests = append(in.RepoDigests, d)
			}
		}
	}
	for _, d := range img.Config.RootFS.DiffIDs {
		in.RootFS.Layers = append(in.RootFS.Layers, d)
	}
	if len(img.Config.History) > 0 {
		in.Comment = img.Config.History[len(img.Config.History)-1].Comment
	}
	if in.History == nil {
		in.History = []image.History{}
	}
	return in, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// containerInspect is the part of docker's container inspect document skiff fills (docker's
// field names, so that `inspect -f '{{.State.Running}}'` and friends work unchanged).
type containerInspect struct {
	ID      string `json:"Id"`
	Name    string `json:"Name"` // "/NAME", as docker
	Created time.Time
	Path    string
	Args    []string
	Image   string
	LogPath string
	State   struct {
		Status     string
		Running    bool
		Paused     bool
		Restarting bool
		OOMKilled  bool
		Dead       bool
		Pid        int
		ExitCode   int
		Error      string
		StartedAt  time.Time
		FinishedAt time.Time
		Health     *container.Health `json:",omitempty"`
	}
	Config struct {
		Hostname    string
		User        string
		Env         []string
		Cmd         []string
		Image       string
		WorkingDir  string
		Entrypoint  []string
		Labels      map[string]string
		StopSignal  string              `json:",omitempty"`
		StopTimeout *int                `json:",omitempty"`
		Healthcheck *image.HealthConfig `json:",omitempty"`
	}
	HostConfig struct {
		AutoRemove     bool
		Privileged     bool
		ReadonlyRootfs bool
		NetworkMode    string
		LogConfig      struct {
			Type   string
			Config map[string]string // --log-opt
		}
		RestartPolicy struct {
			Name              string
			MaximumRetryCount int
		}
		// the resource limits, docker's names and units (0: none)
		Memory            int64
		MemorySwap        int64
		MemoryReservation int64
		OomKillDisable    bool
		NanoCpus          int64
		CpuShares         uint64
		CpuPeriod         uint64
		CpuQuota          int64
		CpusetCpus        string
		CpusetMems        string
		PidsLimit         int64
		BlkioWeight       uint16
		// docker's lists: null when empty
		BlkioDeviceReadBps, BlkioDeviceWriteBps, BlkioDeviceReadIOps, BlkioDeviceWriteIOps []throttleDevice
		Devices                                                                            []deviceMapping
		OomScoreAdj                                                                        int
		CgroupParent                                                                       string
	}
	Mounts          []containerMount
	NetworkSettings containerNetwork
}

// throttleDevice is docker's HostConfig.BlkioDevice*.
type throttleDevice struct {
	Path string
	Rate uint64
}

// deviceMapping is docker's HostConfig.Devices.
type deviceMapping struct{ PathOnHost, PathInContainer, CgroupPermissions string }

// containerNetwork is docker's NetworkSettings, the fields skiff has (from the container's
// net.json while it runs).
type containerNetwork struct {
	IPAddress   string
	IPPrefixLen int
	Gateway     string
	Ports       map[string][]portBinding
	Networks    map[string]networkEndpointInfo
}

type portBinding struct{ HostIp, HostPort string }

type networkEndpointInfo struct {
	IPAddress   string
	IPPrefixLen int
	Gateway     string
	Aliases     []string
}

// containerMount is one entry of docker's Mounts.
type containerMount struct {
	Type        string
	Name        string `json:",omitempty"`
	Source      string
	Destination string
	RW          bool
}

func inspectCommand(name string) *cli.Command {
	args := "CONTAINER|IMAGE..."
	if name == "image-inspect" {
		args = "IMAGE..."
	}
	return &cli.Command{
		Name:      name,
		Usage:     "show images or containers as JSON",
		ArgsUsage: args,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "Go template, e.g. '{{.Id}}' or '{{json .Config}}'"},
			&cli.StringFlag{Name: "type", Usage: "image or container (default: whichever is found)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return &usageError{"skiff inspect needs at least one image or container"}
			}
			typ := c.String("type")
			if c.Command.Name == "image-inspect" || forcedType != "" {
				typ = "image"
			}
			if typ != "" && typ != "image" && typ != "container" {
				return &usageError{fmt.Sprintf("invalid --type %q: use image or container", typ)}
			}
			st, err := openStore(c)
			if err != nil {
				return err
			}
			defer st.Close()
			var docs []any
			var firstErr error
			for _, ref := range c.Args().Slice() {
				doc, err := inspectOne(st, ref, typ)
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				docs = append(docs, doc)
			}
			if err := printDocs(docs, c.String("format")); err != nil {
				return err
			}
			return firstErr
		},
	}
}

func inspectOne(st *store.Store, ref, typ string) (any, error) {
	var imgErr error
	if typ != "container" {
		img, err := st.LookupImage(ref)
		if err == nil {
			return inspectImage(st, img)
		}
		imgErr = err
		if typ == "image" {
			return nil, err
		}
	}
	in, err := containerRecords(st).Lookup(ref)
	if err != nil {
		var nf *store.NotFoundError
		if typ == "" && errors.As(err, &nf) {
			if errors.As(imgErr, &nf) {
				return nil, fmt.Errorf("no image or container named %q: see skiff images and skiff ps -a", ref)
			}
			return nil, imgErr
		}
		return nil, err
	}
	doc := inspectContainer(containerRecords(st), in)
	if img, err := st.LookupImage(in.Meta.ImageID); err == nil {
		// the environment the command got: the image's, then -e (the later wins)
		env := append([]string{}, img.Config.Config.Env...)
		for _, e := range doc.Config.Env {
			env, _ = spec.AddEnv(env, e, nil) // run checked them
		}
		doc.Config.Env = env
		if doc.Config.WorkingDir == "" {
			doc.Config.WorkingDir = img.Config.Config.WorkingDir
		}
		doc.Config.Entrypoint = img.Config.Config.Entrypoint
		doc.Config.Labels = container.MergeLabels(img.Config.Config.Labels, doc.Config.Labels)
	}
	if doc.Config.Labels == nil {
		doc.Config.Labels = map[string]string{}
	}
	return doc, nil
}

// inspectContainer fills docker's document from the container's record.
func inspectContainer(recs *container.Records, in container.Info) containerInspect {
	var doc containerInspect
	doc.ID, doc.Created, doc.Image = in.ID, in.Meta.Created, "sha256:"+strings.TrimPrefix(in.Meta.ImageID, "sha256:")
	if len(in.Names) > 0 {
		doc.Name = "/" + in.Names[0]
	}
	if len(in.Meta.Command) > 0 {
		doc.Path, doc.Args = in.Meta.Command[0], in.Meta.Command[1:]
	}
	doc.State.Status, doc.State.Running, doc.State.Pid = in.State.Status, in.Running, in.State.Pid
	doc.State.Paused = in.State.Status == "paused"
	doc.State.ExitCode, doc.State.StartedAt, doc.State.FinishedAt = in.State.ExitCode, in.State.StartedAt, in.State.FinishedAt
	doc.State.OOMKilled = in.State.OOMKilled
	doc.Config.Image, doc.Config.Cmd, doc.Config.StopSignal = in.Meta.Image, in.Meta.Command, in.Meta.StopSignal
	doc.Config.StopTimeout, doc.Config.Healthcheck = in.Meta.StopTimeout, in.Meta.Healthcheck
	if in.Running {
		doc.State.Health = in.Health
	}
	doc.Config.Hostname, doc.Config.Labels = in.ID[:12], in.Meta.Labels
	doc.HostConfig.AutoRemove = in.Meta.AutoRemove
	doc.HostConfig.LogConfig.Type = in.Meta.LogDriver
	doc.HostConfig.LogConfig.Config = map[string]string{}
	if in.Meta.Run != nil {
		for _, o := range in.Meta.Run.LogOpts {
			k, v, _ := strings.Cut(o, "=")
			doc.HostConfig.LogConfig.Config[k] = v
		}
	}
	doc.HostConfig.RestartPolicy.Name = "no"
	doc.NetworkSettings.Networks = map[string]networkEndpointInfo{}
	doc.NetworkSettings.Ports = map[string][]portBinding{}
	var ns container.NetState
	if in.Running {
		ns = container.ReadNetState(recs.Path(in.ID))
		if p, err := netip.ParsePrefix(ns.Address); err == nil {
			doc.NetworkSettings.IPAddress, doc.NetworkSettings.IPPrefixLen = p.Addr().String(), p.Bits()
			doc.NetworkSettings.Gateway = ns.Gateway
		}
		for _, pm := range ns.Ports {
			pm.Each(func(q network.Port) {
				k := fmt.Sprintf("%d/%s", q.ContainerPort, q.Protocol)
				doc.NetworkSettings.Ports[k] = append(doc.NetworkSettings.Ports[k], portBinding{HostIp: q.BindIP(), HostPort: strconv.Itoa(int(q.HostPort))})
			})
		}
		if p, err := netip.ParsePrefix(ns.NetworkAddress); err == nil && ns.Network != "" {
			doc.NetworkSettings.Networks[ns.Network] = networkEndpointInfo{IPAddress: p.Addr().String(), IPPrefixLen: p.Bits(), Aliases: ns.Aliases}
		}
	}
	if in.Meta.LogDriver != "" && in.Meta.LogDriver != "none" {
		doc.LogPath = filepath.Join(recs.Path(in.ID), container.LogFile)
	}
	doc.Mounts = []containerMount{}
	if r := in.Meta.Run; r != nil {
		o := r.Spec
		if o.Hostname != "" {
			doc.Config.Hostname = o.Hostname
		}
		doc.Config.User, doc.Config.Env, doc.Config.WorkingDir = o.User, o.Env, o.Workdir
		doc.HostConfig.Privileged, doc.HostConfig.ReadonlyRootfs = o.Privileged, o.ReadOnly
		doc.HostConfig.NetworkMode = o.Network
		l := r.Limits
		hc := &doc.HostConfig
		hc.Memory, hc.MemorySwap, hc.MemoryReservation, hc.OomKillDisable = l.Memory, l.MemorySwap, l.MemoryReservation, l.OOMKillDisable
		hc.NanoCpus, hc.CpuShares, hc.CpuPeriod, hc.CpuQuota = l.NanoCPUs, l.CPUShares, l.CPUPeriod, l.CPUQuota
		hc.CpusetCpus, hc.CpusetMems, hc.PidsLimit, hc.BlkioWeight = l.CpusetCpus, l.CpusetMems, l.PidsLimit, l.BlkioWeight
		for _, t := range []struct {
			dst *[]throttleDevice
			src []cgroups.Throttle
		}{{&hc.BlkioDeviceReadBps, l.ReadBps}, {&hc.BlkioDeviceWriteBps, l.WriteBps}, {&hc.BlkioDeviceReadIOps, l.ReadIOps}, {&hc.BlkioDeviceWriteIOps, l.WriteIOps}} {
			for _, th := range t.src {
				*t.dst = append(*t.dst, throttleDevice{th.Path, th.Rate})
			}
		}
		for _, d := range o.Devices {
			if dm, err := spec.ParseDevice(d); err == nil {
				hc.Devices = append(hc.Devices, deviceMapping{dm.Host, dm.Container, dm.Permissions})
			}
		}
		if o.OOMScoreAdj != nil {
			hc.OomScoreAdj = *o.OOMScoreAdj
		}
		hc.CgroupParent = r.CgroupParent
		if policy, retries, err := container.ParseRestart(r.Restart); err == nil {
			doc.HostConfig.RestartPolicy.Name, doc.HostConfig.RestartPolicy.MaximumRetryCount = policy, retries
		}
		for _, v := range o.Volumes {
			parts := strings.Split(v, ":")
			if len(parts) < 2 {
				continue
			}
			m := containerMount{Type: "bind", Source: parts[0], Destination: parts[1], RW: !(len(parts) > 2 && strings.Contains(parts[2], "ro"))}
			for _, name := range in.Meta.Volumes {
				if strings.HasSuffix(parts[0], "/"+name+"/_data") {
					m.Type, m.Name = "volume", name
				}
			}
			doc.Mounts = append(doc.Mounts, m)
		}
	}
	if doc.HostConfig.NetworkMode == "" {
		// the default (docker says bridge): pasta, or slirp4netns on a host without passt
		doc.HostConfig.NetworkMode = "pasta"
		if ns.Mode != "" {
			doc.HostConfig.NetworkMode = ns.Mode
		}
	}
	if doc.Config.Env == nil {
		doc.Config.Env = []string{}
	}
	return doc
}

// printDocs prints JSON documents as docker does: a JSON array, or one template per document.
func printDocs(docs []any, format string) error {
	if format == "" || format == "json" {
		if docs == nil {
			docs = []any{}
		}
		b, err := json.MarshalIndent(docs, "", "    ")
		if err != nil {
			return err
		}
		fmt.Println(string(b))
		return nil
	}
	tmpl, err := template.New("format").Funcs(formatFuncs).Parse(strings.ReplaceAll(format, `\t`, "\t") + "\n")
	if err != nil {
		return fmt.Errorf("invalid --format: %w", err)
	}
	for _, d := range docs {
		// templates see docker's JSON field names (.Id, .Config.Cmd), so run them on the JSON
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber() // sizes print as 2131105, not 2.131105e+06
		if err := dec.Decode(&m); err != nil {
			return err
		}
		if err := tmpl.Execute(os.Stdout, m); err != nil {
			return fmt.Errorf("invalid --format: %w", err)
		}
	}
	return nil
}

type historyRow struct {
	ID           string `json:"id"`
	Created      string `json:"created"`
	CreatedSince string `json:"createdSince"`
	CreatedBy    string `json:"createdBy"`
	Size         string `json:"size"`
	RawSize      int64  `json:"rawSize"`
	Comment      string `json:"comment"`
}

func historyCommand() *cli.Command {
	return &cli.Command{
		Name:      "history",
		Usage:     "show the history of an image: the step and size of each layer",
		ArgsUsage: "IMAGE",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-trunc", Usage: "do not truncate"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only IDs"},
			&cli.BoolFlag{Name: "human", Aliases: []string{"H"}, Value: true, Usage: "human-readable sizes and dates"},
			&cli.StringFlag{Name: "format", Usage: "Go template or json"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return &usageError{"skiff history needs one image"}
			}
			st, img, err := openImage(c)
			if err != nil {
				return err
			}
			defer st.Close()
			layers, err := st.Layers(img)
			if err != nil {
				return err
			}
			hist := img.Config.History
			if len(hist) == 0 {
				hist = make([]image.History, len(layers))
			}
			// walk from the newest step down; each non-empty step owns the next layer from the top
			li := len(layers) - 1
			var rows []historyRow
			for i := len(hist) - 1; i >= 0; i-- {
				h := hist[i]
				var size int64
				if !h.EmptyLayer && li >= 0 {
					size = layers[li].Size
					li--
				}
				id := "<missing>"
				if i == len(hist)-1 {
					id = img.ID
					if !c.Bool("no-trunc") {
						id = id[:12]
					}
				}
				r := historyRow{ID: id, CreatedBy: h.CreatedBy, RawSize: size, Comment: h.Comment,
					Size: units.HumanSizeWithPrecision(float64(size), 3)}
				if h.Created != nil {
					r.Created = h.Created.Format(time.RFC3339)
					r.CreatedSince = units.HumanDuration(time.Since(*h.Created)) + " ago"
				}
				if !c.Bool("human") {
					r.Size = fmt.Sprint(size)
					r.CreatedSince = r.Created
				}
				if !c.Bool("no-trunc") && len(r.CreatedBy) > 45 {
					r.CreatedBy = r.CreatedBy[:42] + "..."
				}
				rows = append(rows, r)
			}
			if c.Bool("quiet") {
				for _, r := range rows {
					fmt.Println(r.ID)
				}
				return nil
			}
			if f := c.String("format"); f != "" {
				return printRows(os.Stdout, rows, f, true, "", nil)
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(tw, "IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.CreatedSince, r.CreatedBy, r.Size, r.Comment)
			}
			return tw.Flush()
		},
	}
}
