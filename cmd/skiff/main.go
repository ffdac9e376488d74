// Command skiff is a rootless, daemonless container tool: it imports images into a per-user
// store and runs them as isolated containers, with no daemon between the user and the container.
// This package parses flags and prints; the work is done in pkg/.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/containers/storage/pkg/reexec"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skiff-project/skiff/pkg/config"
	"github.com/skiff-project/skiff/pkg/container"
	"github.com/skiff-project/skiff/pkg/store"
	"github.com/skiff-project/skiff/pkg/userns"
	_ "github.com/skiff-project/skiff/pkg/userns/enter" // enter the user namespace before main
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "0.1.0-dev"

var started = time.Now()

// usageError is a bad command line; it exits 125 like docker's.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func main() {
	// containers/storage re-executes this binary for chrooted layer extraction.
	if reexec.Init() {
		return
	}
	app := &cli.App{
		Name:                      "skiff",
		Usage:                     "rootless, daemonless containers",
		Version:                   version,
		EnableBashCompletion:      true,
		DisableSliceFlagSeparator: true,
		UseShortOptionHandling:    true,
		HideHelpCommand:           false,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Usage: "image store directory", EnvVars: []string{"SKIFF_ROOT"}},
			&cli.StringFlag{Name: "runroot", Usage: "storage run-state directory"},
			&cli.StringFlag{Name: "storage-driver", Usage: "storage driver: overlay or vfs"},
			&cli.StringFlag{Name: "log-level", Usage: "log level of the storage library: debug, info, warn, error"},
		},
		OnUsageError: onUsageError,
		Before: func(c *cli.Context) error {
			level := logrus.FatalLevel // skiff reports errors itself
			if l := c.String("log-level"); l != "" {
				var err error
				if level, err = logrus.ParseLevel(l); err != nil {
					return &usageError{fmt.Sprintf("invalid --log-level %q: use debug, info, warn or error", l)}
				}
			}
			logrus.SetLevel(level)
			return nil
		},
		Commands: []*cli.Command{
			runCommand(),
			psCommand(),
			rmCommand(),
			importCommand(),
			imagesCommand(),
			rmiCommand(),
			tagCommand(),
			inspectCommand("inspect"),
			inspectCommand("image-inspect"),
			historyCommand(),
			infoCommand(),
			versionCommand(),
		},
		ExitErrHandler: func(*cli.Context, error) {},
	}
	app.Commands = append(app.Commands, transferCommands()...)
	app.Commands = append(app.Commands, imageCommand())
	for _, cmd := range app.Commands {
		cmd.OnUsageError = onUsageError
	}
	// -h is --hostname in docker's run; help is --help only.
	cli.HelpFlag = &cli.BoolFlag{Name: "help", Usage: "show help"}
	cli.VersionPrinter = func(c *cli.Context) { fmt.Printf("skiff version %s\n", c.App.Version) }
	err := app.Run(normalizeArgs(app, os.Args))
	os.Exit(exitCode(err))
}

// exitCode prints err as one line and picks docker's exit code for it.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ce cli.ExitCoder
	if errors.As(err, &ce) && ce.ExitCode() != 125 && err.Error() == "" {
		return ce.ExitCode()
	}
	var silent *silentExit
	if errors.As(err, &silent) {
		return silent.code
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "flag provided but not defined: ") {
		flag := strings.TrimPrefix(msg, "flag provided but not defined: ")
		if i := strings.Index(flag, " (see "); i >= 0 {
			flag = flag[:i]
		}
		if len(flag) > 2 && !strings.HasPrefix(flag, "--") {
			flag = "-" + flag
		}
		msg = "unknown flag " + flag + ": see skiff --help"
	}
	msg = strings.ReplaceAll(msg, "\n", " ")
	fmt.Fprintln(os.Stderr, "Error: "+msg)
	var ee *container.ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 125
}

// silentExit ends skiff with a code and no message (the container's own exit code).
type silentExit struct{ code int }

func (e *silentExit) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func onUsageError(c *cli.Context, err error, _ bool) error {
	return &usageError{err.Error() + " (see skiff " + strings.TrimSpace(c.Command.FullName()+" --help") + ")"}
}

// openStore opens the store the global flags name, cleaning up after killed skiff processes.
func openStore(c *cli.Context) (*store.Store, error) {
	p, err := config.Default(config.Options{Root: c.String("root"), RunRoot: c.String("runroot"), Driver: c.String("storage-driver")})
	if err != nil {
		return nil, err
	}
	st, err := store.Open(p)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// openImage opens the store and finds the image the command's first argument names; the caller
// closes the store (it is closed here when the image is not found).
func openImage(c *cli.Context) (*store.Store, *store.Image, error) {
	st, err := openStore(c)
	if err != nil {
		return nil, nil, err
	}
	img, err := st.LookupImage(c.Args().First())
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, img, nil
}

// tracer prints per-step milliseconds on stderr when SKIFF_TRACE is set.
func tracer() func(string) {
	if os.Getenv("SKIFF_TRACE") == "" {
		return nil
	}
	last := started
	if t0, t1 := userns.Times(); t0 > 0 {
		var ts unix.Timespec
		_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
		// the C constructor runs after the dynamic loader and before the Go runtime
		fmt.Fprintf(os.Stderr, "skiff-trace: %-10s %6.2f ms\n", "userns", float64(t1-t0)/1e6)
		fmt.Fprintf(os.Stderr, "skiff-trace: %-10s %6.2f ms (Go runtime and package init; GODEBUG=inittrace=1)\n", "go-init", float64(ts.Nano()-t1-time.Since(started).Nanoseconds())/1e6)
	}
	return func(step string) {
		now := time.Now()
		fmt.Fprintf(os.Stderr, "skiff-trace: %-10s %6.2f ms\n", step, float64(now.Sub(last).Microseconds())/1000)
		last = now
	}
}
