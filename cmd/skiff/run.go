package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/skiff-project/skiff/pkg/container"
	"github.com/skiff-project/skiff/pkg/spec"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:                   "run",
		Usage:                  "run a command in a new container",
		ArgsUsage:              "IMAGE [COMMAND [ARG...]]",
		UseShortOptionHandling: true,
		Flags:                  runFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return &usageError{"skiff run needs an image: skiff run [OPTIONS] IMAGE [COMMAND [ARG...]]"}
			}
			o, err := runOptions(c)
			if err != nil {
				return err
			}
			paths, err := storePaths(c)
			if err != nil {
				return err
			}
			return exitWith(container.Run(paths, o))
		},
	}
}

// createCommand is docker's create: a container made as run makes it, started later by start.
func createCommand() *cli.Command {
	return &cli.Command{
		Name:                   "create",
		Usage:                  "create a container without starting it (skiff start runs it)",
		ArgsUsage:              "IMAGE [COMMAND [ARG...]]",
		UseShortOptionHandling: true,
		Flags:                  runFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return &usageError{"skiff create needs an image: skiff create [OPTIONS] IMAGE [COMMAND [ARG...]]"}
			}
			if c.Bool("detach") {
				return &usageError{"skiff create takes no -d: skiff start runs the container in the background"}
			}
			o, err := runOptions(c)
			if err != nil {
				return err
			}
			paths, err := storePaths(c)
			if err != nil {
				return err
			}
			id, err := container.Create(paths, o)
			if err != nil {
				return &container.ExitError{Code: 125, Err: err}
			}
			fmt.Println(id)
			return nil
		},
	}
}

// runFlags are the flags of run and create.
func runFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.BoolFlag{Name: "rm", Usage: "remove the container when it exits"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run in the background and print the container's ID"},
		&cli.StringFlag{Name: "log-driver", Value: "k8s-file", Usage: "with -d: where the output goes: k8s-file, json-file or none"},
		&cli.StringSliceFlag{Name: "log-opt", Usage: "with -d: max-size=SIZE (the log starts over beyond it), max-file=N (it is rotated instead, N files kept)"},
		&cli.StringFlag{Name: "restart", Value: "no", Usage: "with -d: no, always, unless-stopped or on-failure[:MAX-RETRIES]"},
		&cli.StringFlag{Name: "name", Usage: "name the container"},
		&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "set a label: KEY=VALUE"},
		&cli.StringSliceFlag{Name: "label-file", Usage: "read labels from a file of KEY=VALUE lines"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set an environment variable (KEY=VALUE, or KEY to pass yours)"},
		&cli.StringSliceFlag{Name: "env-file", Usage: "read environment variables from a file"},
		&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory inside the container"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "user: NAME|UID[:GROUP|GID]"},
		&cli.StringFlag{Name: "entrypoint", Usage: "override the image's ENTRYPOINT (\"\" for none)"},
		&cli.StringFlag{Name: "hostname", Aliases: []string{"h"}, Usage: "container host name"},
		&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep stdin open"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a terminal"},
		&cli.StringSliceFlag{Name: "volume", Aliases: []string{"v"}, Usage: "HOST-DIR:CONTAINER-DIR[:ro], VOLUME:CONTAINER-DIR[:ro,nocopy] or CONTAINER-DIR (an anonymous volume)"},
		&cli.StringSliceFlag{Name: "mount", Usage: "type=bind|volume|tmpfs,source=...,target=...[,readonly][,volume-nocopy][,tmpfs-size=...]"},
		&cli.StringSliceFlag{Name: "volumes-from", Usage: "CONTAINER[:ro|rw]: mount the volumes of another container"},
		&cli.StringSliceFlag{Name: "tmpfs", Usage: "mount a tmpfs: CONTAINER-DIR[:OPTIONS]"},
		&cli.BoolFlag{Name: "read-only", Usage: "mount the container's root file system read-only"},
		&cli.StringFlag{Name: "network", Aliases: []string{"net"}, Usage: "network: pasta (the default), none, host, container:NAME, or a network's name"},
		&cli.StringSliceFlag{Name: "publish", Aliases: []string{"p"}, Usage: "publish a port: [IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp] (ranges: 8000-8010:80-90)"},
		&cli.BoolFlag{Name: "publish-all", Aliases: []string{"P"}, Usage: "publish the image's exposed ports on free host ports"},
		&cli.StringSliceFlag{Name: "dns", Usage: "a DNS server for the container's resolv.conf"},
		&cli.StringSliceFlag{Name: "dns-search", Usage: "a DNS search domain (\".\" for none)"},
		&cli.StringSliceFlag{Name: "dns-option", Usage: "a resolv.conf option"},
		&cli.StringSliceFlag{Name: "network-alias", Usage: "another name the container has on its network"},
		&cli.StringSliceFlag{Name: "link", Usage: "NAME[:ALIAS]: docker's link environment variables of a running container"},
		&cli.StringSliceFlag{Name: "add-host", Usage: "HOST:IP: a line of /etc/hosts"},
		&cli.StringSliceFlag{Name: "cap-add", Usage: "add a capability (or ALL)"},
		&cli.StringSliceFlag{Name: "cap-drop", Usage: "drop a capability (or ALL)"},
		&cli.BoolFlag{Name: "privileged", Usage: "all capabilities, no seccomp, no masked paths"},
		&cli.StringSliceFlag{Name: "security-opt", Usage: "seccomp=unconfined|PROFILE.json, no-new-privileges"},
		&cli.StringSliceFlag{Name: "ulimit", Usage: "set a resource limit: NAME=SOFT[:HARD]"},
		&cli.StringSliceFlag{Name: "device", Usage: "add a host device: HOST-DEVICE[:CONTAINER-PATH][:PERMISSIONS]"},
		&cli.StringFlag{Name: "uts", Usage: "UTS namespace: host (the host's name), or the container's own"},
		&cli.StringFlag{Name: "ipc", Usage: "IPC namespace: private or shareable (its own), or host (the host's, and its /dev/shm)"},
		&cli.StringFlag{Name: "pid", Usage: "PID namespace: only the container's own (host and container:NAME are not supported)"},
		&cli.StringFlag{Name: "shm-size", Usage: "size of /dev/shm, such as 256m (64m without)"},
		&cli.StringSliceFlag{Name: "group-add", Usage: "add the user to a group: a name in the image's /etc/group, or a gid"},
		&cli.StringSliceFlag{Name: "sysctl", Usage: "set a namespaced kernel setting: KEY=VALUE (net.*, fs.mqueue.*, kernel.shm*, kernel.msg*, kernel.sem)"},
		&cli.StringSliceFlag{Name: "expose", Usage: "expose a port or range (PORT[/PROTO], FIRST-LAST[/PROTO]) for -P"},
		&cli.StringFlag{Name: "platform", Usage: "only linux/" + runtime.GOARCH + " (this machine's)"},
		&cli.StringFlag{Name: "oom-score-adj", Usage: "the OOM killer's score adjustment, -1000 to 1000"},
		&cli.BoolFlag{Name: "init", Usage: "accepted for compatibility: skiff-init is always PID 1", Hidden: true},
		&cli.StringFlag{Name: "pull", Value: "missing", Usage: "pull the image: missing, always or never"},
		&cli.BoolFlag{Name: "tls-verify", Value: true, Usage: "for a pull: require HTTPS and verify certificates"},
		&cli.StringFlag{Name: "creds", Usage: "for a pull: USER[:PASSWORD]"},
		&cli.StringFlag{Name: "authfile", Usage: "for a pull: auth file"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no pull progress"},
	}, append(append(append(limitFlags(), cgroupFlags()...), serviceFlags()...), healthFlags()...)...)
}

// runOptions reads run's and create's flags.
func runOptions(c *cli.Context) (container.RunOptions, error) {
	o := container.RunOptions{
		Image:     c.Args().First(),
		Remove:    c.Bool("rm"),
		Detach:    c.Bool("detach"),
		LogDriver: c.String("log-driver"),
		Detached:  func(id string) { fmt.Println(id) },
		Links:     c.StringSlice("link"),
		AddHosts:  c.StringSlice("add-host"),
		Net: container.NetOptions{Publish: c.StringSlice("publish"), PublishAll: c.Bool("publish-all"),
			DNS: c.StringSlice("dns"), DNSSearch: c.StringSlice("dns-search"), DNSOptions: c.StringSlice("dns-option"),
			Aliases: c.StringSlice("network-alias")},
		Restart: c.String("restart"),
		LogOpts: c.StringSlice("log-opt"),
		Stdin:   os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Trace: tracer(),
		Spec: spec.Options{
			Name:        c.String("name"),
			Hostname:    c.String("hostname"),
			Workdir:     c.String("workdir"),
			User:        c.String("user"),
			Cmd:         c.Args().Tail(),
			Env:         c.StringSlice("env"),
			EnvFiles:    c.StringSlice("env-file"),
			Interactive: c.Bool("interactive"),
			TTY:         c.Bool("tty"),
			ReadOnly:    c.Bool("read-only"),
			Privileged:  c.Bool("privileged"),
			Volumes:     c.StringSlice("volume"),
			Tmpfs:       c.StringSlice("tmpfs"),
			Network:     c.String("network"),
			CapAdd:      c.StringSlice("cap-add"),
			CapDrop:     c.StringSlice("cap-drop"),
			SecurityOpt: c.StringSlice("security-opt"),
			Ulimits:     c.StringSlice("ulimit"),
			Devices:     c.StringSlice("device"),
			UTS:         c.String("uts"),
			IPC:         c.String("ipc"),
			GroupAdd:    c.StringSlice("group-add"),
			Sysctl:      c.StringSlice("sysctl"),
		},
	}
	if v := c.String("shm-size"); v != "" {
		n, err := units.RAMInBytes(v)
		if err != nil || n <= 0 {
			return o, &usageError{fmt.Sprintf("invalid --shm-size %q: give a size such as 64m or 1g", v)}
		}
		o.Spec.ShmSize = n
	}
	if p := c.String("pid"); p != "" && p != "private" {
		return o, &usageError{fmt.Sprintf("--pid %s is not supported: a skiff container always has its own PID namespace (leave --pid out)", p)}
	}
	if p := c.String("platform"); p != "" && p != "linux" && p != "linux/"+runtime.GOARCH && !strings.HasPrefix(p, "linux/"+runtime.GOARCH+"/") {
		return o, &usageError{fmt.Sprintf("--platform %s: skiff runs this machine's images only (linux/%s)", p, runtime.GOARCH)}
	}
	o.Net.Expose = c.StringSlice("expose")
	for _, m := range c.StringSlice("mount") {
		v, t, err := spec.ParseMount(m)
		if err != nil {
			return o, err
		}
		if v != "" {
			o.Spec.Volumes = append(o.Spec.Volumes, v)
		} else {
			o.Spec.Tmpfs = append(o.Spec.Tmpfs, t)
		}
	}
	o.VolumesFrom = c.StringSlice("volumes-from")
	if v := c.String("oom-score-adj"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < -1000 || n > 1000 {
			return o, &usageError{fmt.Sprintf("invalid --oom-score-adj %q: use a number from -1000 to 1000", v)}
		}
		o.Spec.OOMScoreAdj = &n
	}
	labels, err := container.ParseLabels(c.StringSlice("label-file"), c.StringSlice("label"))
	if err != nil {
		return o, &usageError{err.Error()}
	}
	o.Labels = labels
	if c.IsSet("entrypoint") {
		ep := c.String("entrypoint")
		o.Spec.Entrypoint = &ep
	}
	switch c.String("pull") {
	case "missing", "":
		o.Pull = func(ref string) error { return pullForRun(c, ref) }
	case "always":
		if err := pullForRun(c, o.Image); err != nil {
			return o, err
		}
	case "never":
	default:
		return o, &usageError{fmt.Sprintf("invalid --pull %q: use missing, always or never", c.String("pull"))}
	}
	if o.Limits, err = parseLimits(c); err != nil {
		return o, err
	}
	o.Cgroups, o.CgroupParent = c.String("cgroups"), c.String("cgroup-parent")
	if err := serviceOptions(c, &o); err != nil {
		return o, err
	}
	o.Health = healthOptions(c)
	o.Compile = compileSeccomp
	return o, nil
}

// pullForRun pulls the image through the skiff-image helper (for --pull=missing when it is
// not in the store, and --pull=always).
func pullForRun(c *cli.Context, ref string) error {
	helper, err := HelperPath()
	if err != nil {
		return err
	}
	args := []string{"skiff"}
	for _, g := range []string{"root", "runroot", "storage-driver"} {
		if v := c.String(g); v != "" {
			args = append(args, "--"+g, v)
		}
	}
	args = append(args, "pull", fmt.Sprintf("--tls-verify=%t", c.Bool("tls-verify")))
	if !c.IsSet("tls-verify") {
		args = args[:len(args)-1]
	}
	for _, f := range []string{"creds", "authfile"} {
		if v := c.String(f); v != "" {
			args = append(args, "--"+f, v)
		}
	}
	if c.Bool("quiet") {
		args = append(args, "-q")
	}
	args = append(args, ref)
	cmd := &exec.Cmd{Path: helper, Args: args, Stderr: os.Stderr}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return &silentExit{125} // the helper said why
		}
		return fmt.Errorf("run %s: %w", helper, err)
	}
	return nil
}

// exitWith turns the outcome of a container's command into skiff's: the command's exit code,
// or the error with docker's code for it (125 when skiff itself failed).
func exitWith(code int, err error) error {
	if err != nil {
		var ee *container.ExitError
		if !errors.As(err, &ee) {
			err = &container.ExitError{Code: code, Err: err}
		}
		return err
	}
	if code != 0 {
		return &silentExit{code}
	}
	return nil
}
