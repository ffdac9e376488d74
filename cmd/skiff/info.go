//go:build skiff_image

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"text/template"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skiff-project/skiff/pkg/cgroups"
	"github.com/skiff-project/skiff/pkg/container"
	"github.com/skiff-project/skiff/pkg/seccomp/bpf"
	"github.com/skiff-project/skiff/pkg/store"
	"github.com/skiff-project/skiff/pkg/userns"
)

type idMapInfo struct {
	ContainerID uint64 `json:"container_id"`
	HostID      uint64 `json:"host_id"`
	Size        uint64 `json:"size"`
}

type info struct {
	Host struct {
		Arch          string      `json:"arch"`
		Kernel        string      `json:"kernel"`
		Rootless      bool        `json:"rootless"`
		SingleIDMap   bool        `json:"singleIdMap"`
		UIDMap        []idMapInfo `json:"uidmap"`
		GIDMap        []idMapInfo `json:"gidmap"`
		CgroupVersion string      `json:"cgroupVersion"`
		// per controller: whether limits (and pause) work for this caller, and why not
		CgroupControllers []cgroups.Status `json:"cgroupControllers"`
		RunDir            string           `json:"runDir"`
		Init              string           `json:"init"`
		Seccomp           string           `json:"seccomp"`
	} `json:"host"`
	Store struct {
		GraphRoot   string `json:"graphRoot"`
		RunRoot     string `json:"runRoot"`
		GraphDriver string `json:"graphDriverName"`
		GraphFS     string `json:"graphRootFsType"`
		Images      int    `json:"imageCount"`
		Containers  int    `json:"containerCount"`
	} `json:"store"`
	Version struct {
		Version   string `json:"Version"`
		GoVersion string `json:"GoVersion"`
		OsArch    string `json:"OsArch"`
	} `json:"version"`
}

func cgroupVersion() string {
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "v2"
	}
	return "v1"
}

func infoCommand() *cli.Command {
	return &cli.Command{
		Name:  "info",
		Usage: "show how skiff runs here: store, user namespace, cgroups, versions",
		Flags: []cli.Flag{&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "json or a Go template"}},
		Action: func(c *cli.Context) error {
			st, err := openStore(c)
			if err != nil {
				return err
			}
			defer st.Close()
			var in info
			ns := userns.Current()
			var uts unix.Utsname
			_ = unix.Uname(&uts)
			in.Host.Arch = runtime.GOARCH
			in.Host.Kernel = unix.ByteSliceToString(uts.Release[:])
			in.Host.Rootless = ns.Rootless
			in.Host.SingleIDMap = ns.SingleID
			if u, g, err := userns.ReadIDMaps(); err == nil {
				for _, m := range u {
					in.Host.UIDMap = append(in.Host.UIDMap, idMapInfo{m.Inside, m.Outside, m.Size})
				}
				for _, m := range g {
					in.Host.GIDMap = append(in.Host.GIDMap, idMapInfo{m.Inside, m.Outside, m.Size})
				}
			}
			in.Host.CgroupVersion = cgroupVersion()
			if p, err := container.CgroupPlace(); err == nil {
				in.Host.CgroupControllers = p.Report()
			}
			in.Host.RunDir = st.Paths.RunDir
			in.Host.Init, _ = container.InitPath()
			in.Host.Seccomp = "libseccomp " + bpf.Version()
			in.Store.GraphRoot = st.Paths.GraphRoot
			in.Store.RunRoot = st.Paths.RunRoot
			in.Store.GraphDriver = st.Driver
			in.Store.GraphFS = store.FSType(st.Paths.GraphRoot)
			if imgs, err := st.S.Images(); err == nil {
				in.Store.Images = len(imgs)
			}
			if cs, err := containerRecords(st).List(); err == nil {
				in.Store.Containers = len(cs)
			}
			in.Version.Version = version
			in.Version.GoVersion = runtime.Version()
			in.Version.OsArch = runtime.GOOS + "/" + runtime.GOARCH
			switch f := c.String("format"); f {
			case "json":
				b, _ := json.MarshalIndent(in, "", "  ")
				fmt.Println(string(b))
			case "":
				printInfo(in)
			default:
				t, err := template.New("f").Funcs(formatFuncs).Parse(f + "\n")
				if err != nil {
					return fmt.Errorf("invalid --format: %w", err)
				}
				return t.Execute(os.Stdout, in)
			}
			return nil
		},
	}
}

func printInfo(in info) {
	maps := func(ms []idMapInfo) string {
		var s []string
		for _, m := range ms {
			s = append(s, fmt.Sprintf("%d->%d (%d)", m.ContainerID, m.HostID, m.Size))
		}
		return strings.Join(s, ", ")
	}
	fmt.Printf("host:\n  arch: %s\n  kernel: %s\n  rootless: %v\n  singleIdMap: %v\n  uidmap: %s\n  gidmap: %s\n  cgroupVersion: %s\n  runDir: %s\n  init: %s\n  seccomp: %s\n",
		in.Host.Arch, in.Host.Kernel, in.Host.Rootless, in.Host.SingleIDMap, maps(in.Host.UIDMap), maps(in.Host.GIDMap),
		in.Host.CgroupVersion, in.Host.RunDir, in.Host.Init, in.Host.Seccomp)
	fmt.Printf("  cgroupControllers:\n")
	for _, c := range in.Host.CgroupControllers {
		state := "limits work"
		if !c.Usable {
			state = "no limits"
		}
		fmt.Printf("    %s: %s", c.Controller, state)
		if c.Where != "" {
			fmt.Printf(" (%s)", c.Where)
		}
		if c.Why != "" {
			fmt.Printf(": %s", c.Why)
		}
		fmt.Println()
	}
	fmt.Printf("store:\n  graphRoot: %s\n  graphRootFsType: %s\n  runRoot: %s\n  graphDriverName: %s\n  imageCount: %d\n  containerCount: %d\n",
		in.Store.GraphRoot, in.Store.GraphFS, in.Store.RunRoot, in.Store.GraphDriver, in.Store.Images, in.Store.Containers)
	fmt.Printf("version:\n  Version: %s\n  GoVersion: %s\n  OsArch: %s\n", in.Version.Version, in.Version.GoVersion, in.Version.OsArch)
}
