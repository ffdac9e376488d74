package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/skiff-project/skiff/pkg/container"
)

// serviceFlags are run's and create's flags for systemd units and scripts.
func serviceFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "sdnotify", Usage: "tell systemd (NOTIFY_SOCKET) the container is ready: ready (once the command runs; the default under a Type=notify unit), container (the command says READY=1 itself, through $NOTIFY_SOCKET inside) or ignore"},
		&cli.BoolFlag{Name: "replace", Usage: "remove a container of the same --name first"},
		&cli.StringFlag{Name: "cidfile", Usage: "write the container's ID to FILE (which must not exist); removed with the container"},
		&cli.StringFlag{Name: "pidfile", Usage: "write the pid of the container's first process to FILE; removed with the container"},
		&cli.StringFlag{Name: "stop-timeout", Usage: "seconds stop (and a foreground run that gets SIGTERM or SIGINT) waits before SIGKILL (default 10, -1: for ever)"},
		&cli.StringFlag{Name: "stop-signal", Usage: "the signal stop sends first (default: the image's STOPSIGNAL, else SIGTERM)"},
	}
}

// serviceOptions reads serviceFlags; under a systemd unit (INVOCATION_ID) whose cgroup skiff
// may make cgroups in (Delegate=yes), --cgroups defaults to split.
func serviceOptions(c *cli.Context, o *container.RunOptions) error {
	s := container.Service{Notify: c.String("sdnotify"), NotifySocket: os.Getenv("NOTIFY_SOCKET"), Replace: c.Bool("replace"),
		CIDFile: c.String("cidfile"), PIDFile: c.String("pidfile"), StopSignal: c.String("stop-signal")}
	if !c.IsSet("sdnotify") && s.NotifySocket != "" {
		s.Notify = "ready"
	}
	if v := c.String("stop-timeout"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return &usageError{fmt.Sprintf("invalid --stop-timeout %q: give seconds, or -1 to wait for ever", v)}
		}
		s.StopTimeout = &n
	}
	o.Service = s
	o.CreateCommand = os.Args
	if !c.IsSet("cgroups") && os.Getenv("INVOCATION_ID") != "" && container.DelegatedUnit() {
		o.Cgroups = "split"
	}
	return nil
}
