// Command skiff is a rootless, daemonless container tool: it imports images into a per-user
// store and runs them as isolated containers, with no daemon between the user and the container.
// This package parses flags and prints; the work is done in pkg/.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skiff-project/skiff/pkg/catalog"
	"github.com/skiff-project/skiff/pkg/config"
	"github.com/skiff-project/skiff/pkg/container"
	_ "github.com/skiff-project/skiff/pkg/hugepage" // the heap on huge pages: fewer page faults
	"github.com/skiff-project/skiff/pkg/network"
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
	if reexecInit() {
		return
	}
	if os.Args[0] == network.PortForwarderName { // slirp4netns's port forwarder, run by skiff run
		os.Exit(network.PortForwarderMain(os.Args[1:]))
	}
	if len(os.Args) == 2 && (os.Args[1] == "--version" || os.Args[1] == "-v") {
		printVersion() // as the command tree would, without making one
		return
	}
	os.Args = containerAlias(os.Args)
	if c := commandAt(os.Args); c == "run" || c == "create" || c == "start" {
		go container.Warm() // on the idle CPU while the flags are parsed (see Warm)
	}
	app := appFor(os.Args)
	err := app.Run(normalizeArgs(app, os.Args))
	os.Exit(exitCode(err))
}

// command is a top-level command: the names it answers to (its name, then its aliases) and
// the function that makes it.
type command struct {
	names []string
	make  func() *cli.Command
}

// treeCommands read the whole command tree: the completion scripts and the man pages are made
// from it.
var treeCommands = []string{"completion", "man-pages"}

// commands are skiff's top-level commands, then skiff-image's (stubs that exec it in the lean
// skiff). A command line makes only the command it names: the whole tree is some 600 flags,
// about a millisecond of allocation and page faults that every invocation would pay.
func commands() []command {
	cmds := []command{
		{[]string{"run"}, runCommand},
		{[]string{"create"}, createCommand},
		{[]string{"ps", "container-ls"}, psCommand},
		{[]string{"rm"}, rmCommand},
		{[]string{"exec"}, execCommand},
		{[]string{"volume"}, volumeCommand},
		{[]string{"network"}, networkCommand},
		{[]string{"rename"}, renameCommand},
		{[]string{"start"}, startCommand},
		{[]string{"restart"}, restartCommand},
		{[]string{"top"}, topCommand},
		{[]string{"stats"}, statsCommand},
		{[]string{"attach"}, attachCommand},
		{[]string{"port"}, portCommand},
		{[]string{"pause"}, func() *cli.Command { return pauseCommand("pause") }},
		{[]string{"unpause"}, func() *cli.Command { return pauseCommand("unpause") }},
		{[]string{"container"}, containerCommand},
		{[]string{"logs"}, logsCommand},
		{[]string{"stop"}, stopCommand},
		{[]string{"update"}, updateCommand},
		{[]string{"kill"}, killCommand},
		{[]string{"wait"}, waitCommand},
		{[]string{"images", "image-ls"}, imagesCommand},
		{[]string{"version"}, versionCommand},
		{[]string{"generate"}, generateCommand},
		{[]string{"healthcheck"}, healthcheckCommand},
	}
	return append(cmds, imageCommands()...)
}

// newApp is skiff's whole command tree: in the lean skiff, the commands of skiff-image are
// stubs (lean.go); built with -tags skiff_image it is the tree the completion scripts and the
// man pages are made from.
func newApp() *cli.App { return appWith(commands()) }

// appFor is the command tree args needs: the command it names alone, or every command for
// skiff's own help, completion and a name that is no command (its error suggests others).
func appFor(args []string) *cli.App {
	all := commands()
	name := commandAt(args)
	if name == "" && slices.ContainsFunc(args[1:], func(a string) bool { return a == "--version" || a == "-v" }) {
		return appWith(nil) // skiff --version
	}
	if name != "" {
		for _, c := range all {
			if slices.Contains(c.names, name) && !slices.Contains(treeCommands, c.names[0]) {
				return appWith([]command{c})
			}
		}
	}
	return appWith(all)
}

// containerCommands are docker's `container X` that are skiff's `X` (the `container`
// command's own subcommands are ls, prune and the like).
var containerCommands = []string{"attach", "commit", "cp", "create", "diff", "export", "inspect", "pause",
	"run", "unpause", "update"}

// containerAlias rewrites `skiff container X ...` to `skiff X ...` for containerCommands;
// `container inspect` inspects containers only, as docker's.
func containerAlias(args []string) []string {
	var skipped []string
	i := rewriteFlags(globalFlags(), args, 1, &skipped)
	if i+1 >= len(args) || args[i] != "container" || !slices.Contains(containerCommands, args[i+1]) {
		return args
	}
	out := append(slices.Clone(args[:i]), args[i+1])
	if args[i+1] == "inspect" {
		out = append(out, "--type", "container")
	}
	return append(out, args[i+2:]...)
}

// commandAt is the word of args that names the command, after the global flags ("" for none).
func commandAt(args []string) string {
	var skipped []string
	if i := rewriteFlags(globalFlags(), args, 1, &skipped); i < len(args) {
		return args[i]
	}
	return ""
}

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "root", Usage: "image store directory", EnvVars: []string{"SKIFF_ROOT"}},
		&cli.StringFlag{Name: "runroot", Usage: "storage run-state directory"},
		&cli.StringFlag{Name: "storage-driver", Usage: "storage driver: overlay or vfs"},
		&cli.StringFlag{Name: "log-level", Usage: "log level of the storage library: debug, info, warn, error"},
	}
}

func appWith(cmds []command) *cli.App {
	app := &cli.App{
		Name:                      "skiff",
		Usage:                     "rootless, daemonless containers",
		Version:                   version,
		EnableBashCompletion:      true,
		DisableSliceFlagSeparator: true,
		UseShortOptionHandling:    true,
		HideHelpCommand:           false,
		Flags:                     globalFlags(),
		OnUsageError:              onUsageError,
		Before: func(c *cli.Context) error {
			switch l := c.String("log-level"); l {
			case "", "debug", "info", "warn", "warning", "error", "fatal", "panic", "trace":
				setLogLevel(l)
				return nil
			default:
				return &usageError{fmt.Sprintf("invalid --log-level %q: use debug, info, warn or error", l)}
			}
		},
		// skiff alone prints its help; a word that is no command is a usage error (podman: 125)
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return &usageError{fmt.Sprintf("unknown command %q: see skiff --help", c.Args().First())}
			}
			return cli.ShowAppHelp(c)
		},
		ExitErrHandler: func(*cli.Context, error) {},
	}
	for _, c := range cmds {
		cmd := c.make()
		cmd.OnUsageError = onUsageError
		app.Commands = append(app.Commands, cmd)
	}
	app.Flags = cachedNames(app.Flags)
	wrapFlags(app.Commands)
	// -h is --hostname in docker's run; help is --help only.
	cli.HelpFlag = &cli.BoolFlag{Name: "help", Usage: "show help"}
	cli.VersionPrinter = func(*cli.Context) { printVersion() }
	return app
}

// printVersion prints skiff --version's line.
func printVersion() { fmt.Printf("skiff version %s\n", version) }

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

// storePaths are the directories the global flags name.
func storePaths(c *cli.Context) (config.Paths, error) {
	return config.Default(config.Options{Root: c.String("root"), RunRoot: c.String("runroot"), Driver: c.String("storage-driver")})
}

// openCatalog reads the images of the store the global flags name.
func openCatalog(c *cli.Context) (*catalog.Catalog, error) {
	p, err := storePaths(c)
	if err != nil {
		return nil, err
	}
	return catalog.Open(p.GraphRoot, p.Driver)
}

// openRecords returns the container records of the store the global flags name, after
// cleaning up what killed skiff processes left.
func openRecords(c *cli.Context) (*container.Records, error) {
	p, err := storePaths(c)
	if err != nil {
		return nil, err
	}
	return container.SweptRecords(p.GraphRoot), nil
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "show the version",
		Flags: []cli.Flag{&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "json, or a Go template such as '{{.Client.Version}}'"}},
		Action: func(c *cli.Context) error {
			type client struct{ Version, GoVersion, OsArch, Os, Arch string }
			cl := client{version, runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH, runtime.GOOS, runtime.GOARCH}
			// docker's and podman's {{.Client.Version}}, and the flat fields of skiff's first --format json
			doc := struct {
				Client                     client
				Version, GoVersion, OsArch string
			}{cl, cl.Version, cl.GoVersion, cl.OsArch}
			switch f := c.String("format"); f {
			case "":
			case "json":
				b, _ := json.Marshal(doc)
				fmt.Println(string(b))
				return nil
			default:
				tmpl, err := template.New("format").Funcs(formatFuncs).Parse(strings.ReplaceAll(f, `\t`, "\t") + "\n")
				if err != nil {
					return &usageError{fmt.Sprintf("invalid --format: %v", err)}
				}
				return tmpl.Execute(os.Stdout, doc)
			}
			fmt.Printf("Version:      %s\nGo Version:   %s\nOS/Arch:      %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
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
	step := func(step string) {
		now := time.Now()
		fmt.Fprintf(os.Stderr, "skiff-trace: %-10s %6.2f ms\n", step, float64(now.Sub(last).Microseconds())/1000)
		last = now
	}
	step("cli") // from main to the command's action: its flags and their checks
	return step
}
