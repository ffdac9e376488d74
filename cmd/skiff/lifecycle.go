package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-project/skiff/pkg/catalog"
	"github.com/skiff-project/skiff/pkg/container"
)

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "print a detached container's output",
		ArgsUsage: "CONTAINER",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing until the container stops"},
			&cli.StringFlag{Name: "tail", Value: "all", Usage: "the last N lines only"},
			&cli.StringFlag{Name: "since", Usage: "lines since a time (RFC 3339) or a duration ago (10m)"},
			&cli.StringFlag{Name: "until", Usage: "lines before a time (RFC 3339) or a duration ago (10m)"},
			&cli.BoolFlag{Name: "timestamps", Aliases: []string{"t"}, Usage: "print each line's time"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return &usageError{"skiff logs needs one container: skiff logs [OPTIONS] CONTAINER"}
			}
			o := container.LogOptions{Follow: c.Bool("follow"), Timestamps: c.Bool("timestamps"), Tail: -1}
			if t := c.String("tail"); t != "all" && t != "" {
				n, err := strconv.Atoi(t)
				if err != nil || n < 0 {
					return &usageError{fmt.Sprintf("invalid --tail %q: give a number of lines or all", t)}
				}
				o.Tail = n
			}
			if s := c.String("since"); s != "" {
				since, err := parseSince(s, time.Now())
				if err != nil {
					return &usageError{err.Error()}
				}
				o.Since = since
			}
			if s := c.String("until"); s != "" {
				until, err := parseSince(s, time.Now())
				if err != nil {
					return &usageError{strings.Replace(err.Error(), "--since", "--until", 1)}
				}
				o.Until = until
			}
			recs, err := openRecords(c)
			if err != nil {
				return err
			}
			return recs.Logs(c.Args().First(), o, os.Stdout, os.Stderr)
		},
	}
}

// parseSince reads --since as docker does: an RFC 3339 time, a Unix time, or a duration ago.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	var sec int64
	if _, err := fmt.Sscanf(s, "%d", &sec); err == nil && fmt.Sprint(sec) == s {
		return time.Unix(sec, 0), nil
	}
	return time.Time{}, fmt.Errorf("invalid --since %q: give a time (2006-01-02T15:04:05Z), a Unix time or a duration (10m)", s)
}

func stopCommand() *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "stop running containers: their stop signal, then SIGKILL after a grace time",
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "time", Aliases: []string{"t"}, Value: 10, Usage: "seconds to wait before SIGKILL (default: the container's --stop-timeout, 10)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return &usageError{"skiff stop needs at least one container"}
			}
			timeout := time.Duration(c.Int("time")) * time.Second
			if !c.IsSet("time") {
				timeout = container.UseStopTimeout
			}
			if c.Int("time") < 0 {
				return &usageError{"invalid --time: give 0 or more seconds"}
			}
			recs, err := openRecords(c)
			if err != nil {
				return err
			}
			return removeEach(c.Args().Slice(), false, func(ref string) ([]string, error) {
				_, err := recs.Stop(ref, timeout)
				return []string{ref}, err
			})
		},
	}
}

func killCommand() *cli.Command {
	return &cli.Command{
		Name:      "kill",
		Usage:     "send a signal to running containers",
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Value: "KILL", Usage: "signal: a name (TERM, HUP) or a number"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return &usageError{"skiff kill needs at least one container"}
			}
			sig, err := container.ParseSignal(c.String("signal"))
			if err != nil {
				return &usageError{err.Error()}
			}
			recs, err := openRecords(c)
			if err != nil {
				return err
			}
			return removeEach(c.Args().Slice(), false, func(ref string) ([]string, error) {
				_, err := recs.Signal(ref, sig)
				return []string{ref}, err
			})
		},
	}
}

func waitCommand() *cli.Command {
	return &cli.Command{
		Name:      "wait",
		Usage:     "wait for containers to stop and print their exit codes (or for a --condition)",
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "condition", Usage: "stopped (the default; also exited, not-running), running, healthy or unhealthy (runs the health check at its interval meanwhile); -1 is printed for these"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return &usageError{"skiff wait needs at least one container"}
			}
			cond, err := waitCondition(c)
			if err != nil {
				return err
			}
			if cond != "" {
				return waitFor(c, cond)
			}
			recs, err := openRecords(c)
			if err != nil {
				return err
			}
			return removeEach(c.Args().Slice(), false, func(ref string) ([]string, error) {
				code, err := recs.Wait(ref)
				return []string{fmt.Sprint(code)}, err
			})
		},
	}
}

func execCommand() *cli.Command {
	return &cli.Command{
		Name:                   "exec",
		Usage:                  "run a command in a running container",
		ArgsUsage:              "CONTAINER COMMAND [ARG...]",
		UseShortOptionHandling: true,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep stdin open"},
			&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a terminal"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set an environment variable (KEY=VALUE, or KEY to pass yours)"},
			&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "user: NAME|UID[:GROUP|GID] (default: the container's)"},
			&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory (default: the container's)"},
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the command runs; its output is discarded"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 2 {
				return &usageError{"skiff exec needs a container and a command: skiff exec [OPTIONS] CONTAINER COMMAND [ARG...]"}
			}
			paths, err := storePaths(c)
			if err != nil {
				return err
			}
			o := container.ExecOptions{
				Cmd: c.Args().Tail(), Env: c.StringSlice("env"), User: c.String("user"), Workdir: c.String("workdir"),
				Interactive: c.Bool("interactive"), TTY: c.Bool("tty"), Detach: c.Bool("detach"),
				Stdout: os.Stdout, Stderr: os.Stderr, Compile: compileSeccomp, Trace: tracer(),
			}
			if o.Interactive || o.TTY {
				o.Stdin = os.Stdin
			}
			return exitWith(container.Exec(paths, c.Args().First(), o))
		},
	}
}

func renameCommand() *cli.Command {
	return &cli.Command{
		Name:      "rename",
		Usage:     "rename a container",
		ArgsUsage: "CONTAINER NEW-NAME",
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return &usageError{"skiff rename needs a container and its new name"}
			}
			recs, err := openRecords(c)
			if err != nil {
				return err
			}
			return recs.Rename(c.Args().Get(0), c.Args().Get(1))
		},
	}
}

func topCommand() *cli.Command {
	return &cli.Command{
		Name:      "top",
		Usage:     "show a running container's processes (ps -f, or the ps options given)",
		ArgsUsage: "CONTAINER [PS-OPTIONS]",
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 {
				return &usageError{"skiff top needs a container"}
			}
			recs, err := openRecords(c)
			if err != nil {
				return err
			}
			pids, err := recs.Processes(c.Args().First())
			if err != nil {
				return err
			}
			list := make([]string, len(pids))
			for i, p := range pids {
				list[i] = fmt.Sprint(p)
			}
			opts := c.Args().Tail()
			if len(opts) == 0 {
				opts = []string{"-f"}
			}
			cmd := exec.Command("ps", append(opts, "-p", strings.Join(list, ","))...)
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("ps %s: %w", strings.Join(opts, " "), err)
			}
			return nil
		},
	}
}

func portCommand() *cli.Command {
	return &cli.Command{
		Name:      "port",
		Usage:     "list a container's published ports, or the host address of one",
		ArgsUsage: "CONTAINER [PORT[/PROTO]]",
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return &usageError{"skiff port needs a container, and at most one port: skiff port CONTAINER [PORT[/PROTO]]"}
			}
			recs, err := openRecords(c)
			if err != nil {
				return err
			}
			in, err := recs.Lookup(c.Args().First())
			if err != nil {
				return err
			}
			var lines []string
			if in.Running { // a stopped container publishes nothing
				if lines, err = container.PortLines(container.ReadNetState(recs.Path(in.ID)), c.Args().Get(1)); err != nil {
					return err
				}
			} else if c.NArg() == 2 {
				return fmt.Errorf("no public port %s published: container %s is not running", c.Args().Get(1), c.Args().First())
			}
			for _, l := range lines {
				fmt.Println(l)
			}
			return nil
		},
	}
}

func pauseCommand(name string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     name + " all processes of containers (the cgroup v1 freezer: root only on such hosts)",
		ArgsUsage: "CONTAINER...",
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return &usageError{"skiff " + name + " needs at least one container"}
			}
			recs, err := openRecords(c)
			if err != nil {
				return err
			}
			act := recs.Pause
			if name == "unpause" {
				act = recs.Unpause
			}
			return removeEach(c.Args().Slice(), false, func(ref string) ([]string, error) {
				_, err := act(ref)
				return []string{ref}, err
			})
		},
	}
}

// pruneFilterUsage is --filter's usage in the prunes.
const pruneFilterUsage = "until=TIME (24h, a Unix time, 2006-01-02T15:04:05), label=KEY[=VALUE], label!=KEY[=VALUE]: prune only what matches"

// containerCommand is docker's container group over the same commands.
func containerCommand() *cli.Command {
	prune := &cli.Command{
		Name:  "prune",
		Usage: "remove all stopped containers",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask (skiff never asks)"},
			&cli.StringSliceFlag{Name: "filter", Usage: pruneFilterUsage}},
		Action: func(c *cli.Context) error {
			f, err := catalog.ParsePruneFilters(c.StringSlice("filter"), time.Now())
			if err != nil {
				return &usageError{err.Error()}
			}
			recs, err := openRecords(c)
			if err != nil {
				return err
			}
			gone, err := recs.Prune(f)
			for _, id := range gone {
				fmt.Println(id)
			}
			return err
		},
	}
	ls := psCommand()
	ls.Name, ls.Aliases = "ls", []string{"list", "ps"}
	return &cli.Command{
		Name:  "container",
		Usage: "manage containers",
		Subcommands: []*cli.Command{ls, prune, rmCommand(), logsCommand(), stopCommand(), killCommand(), waitCommand(),
			execCommand(), renameCommand(), topCommand(), statsCommand(), portCommand(), startCommand(), restartCommand()},
	}
}

func startCommand() *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "start stopped containers again, as they were run",
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "attach", Aliases: []string{"a"}, Usage: "in the foreground: its output here, its exit code skiff's"},
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "with -a: pass stdin"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return &usageError{"skiff start needs at least one container"}
			}
			if c.Bool("attach") && c.NArg() > 1 {
				return &usageError{"skiff start -a takes one container"}
			}
			paths, err := storePaths(c)
			if err != nil {
				return err
			}
			o := container.StartOptions{Attach: c.Bool("attach"), Interactive: c.Bool("interactive"),
				Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Trace: tracer(), Compile: compileSeccomp}
			if o.NotifySocket = os.Getenv("NOTIFY_SOCKET"); o.NotifySocket != "" {
				o.Notify = "ready" // under a Type=notify unit, as run
			}
			if o.Attach {
				return exitWith(container.Start(paths, c.Args().First(), o))
			}
			return removeEach(c.Args().Slice(), false, func(ref string) ([]string, error) {
				_, err := container.Start(paths, ref, o)
				return []string{ref}, err
			})
		},
	}
}

func restartCommand() *cli.Command {
	return &cli.Command{
		Name:      "restart",
		Usage:     "stop containers (as stop does), then start them in the background",
		ArgsUsage: "CONTAINER...",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "time", Aliases: []string{"t"}, Value: 10, Usage: "seconds to wait before SIGKILL"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return &usageError{"skiff restart needs at least one container"}
			}
			paths, err := storePaths(c)
			if err != nil {
				return err
			}
			recs, err := openRecords(c)
			if err != nil {
				return err
			}
			o := container.StartOptions{Stdout: os.Stdout, Stderr: os.Stderr, Trace: tracer(), Compile: compileSeccomp}
			return removeEach(c.Args().Slice(), false, func(ref string) ([]string, error) {
				in, err := recs.Lookup(ref)
				if err != nil {
					return nil, err
				}
				if in.Meta.AutoRemove {
					return nil, fmt.Errorf("container %s was run with --rm: it is removed when it stops, so it cannot be restarted", ref)
				}
				if _, err := recs.Stop(ref, time.Duration(c.Int("time"))*time.Second); err != nil {
					return nil, err
				}
				_, err = container.Start(paths, ref, o)
				return []string{ref}, err
			})
		},
	}
}

func attachCommand() *cli.Command {
	return &cli.Command{
		Name:      "attach",
		Usage:     "connect to a detached container: its output, its stdin when run with -i or -t, its exit code",
		ArgsUsage: "CONTAINER",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "sig-proxy", Value: true, Usage: "pass the signals skiff receives on to the container"},
			&cli.BoolFlag{Name: "no-stdin", Usage: "do not pass standard input on"},
			&cli.StringFlag{Name: "detach-keys", Value: container.DefaultDetachKeys, Usage: "keys that leave the container running (\"\" for none)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return &usageError{"skiff attach needs one container: skiff attach [OPTIONS] CONTAINER"}
			}
			keys, err := container.ParseDetachKeys(c.String("detach-keys"))
			if err != nil {
				return &usageError{err.Error()}
			}
			recs, err := openRecords(c)
			if err != nil {
				return err
			}
			o := container.AttachOptions{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
				SigProxy: c.Bool("sig-proxy"), DetachKeys: keys}
			if c.Bool("no-stdin") {
				o.Stdin = nil
			}
			return exitWith(recs.Attach(c.Args().First(), o))
		},
	}
}
