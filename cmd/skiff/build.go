//go:build skiff_image

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/skiff-project/skiff/pkg/build"
	"github.com/skiff-project/skiff/pkg/container"
	"github.com/skiff-project/skiff/pkg/image"
)

func buildCommand() *cli.Command {
	cmd := &cli.Command{
		Name:      "build",
		Aliases:   []string{"image-build"},
		Usage:     "build an image from a Dockerfile",
		ArgsUsage: "CONTEXT (a directory, or - for a tar archive or a Dockerfile on stdin)",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "tag", Aliases: []string{"t"}, Usage: "name the image NAME[:TAG] (repeatable)"},
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "the Dockerfile (default CONTEXT/Dockerfile, or Containerfile)"},
			&cli.StringSliceFlag{Name: "build-arg", Usage: "KEY=VALUE for an ARG (KEY alone takes it from the environment)"},
			&cli.StringFlag{Name: "target", Usage: "build up to this stage"},
			&cli.BoolFlag{Name: "no-cache", Usage: "run every step again"},
			&cli.BoolFlag{Name: "pull", Usage: "pull FROM images even when present"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the image ID"},
			&cli.StringSliceFlag{Name: "label", Usage: "KEY=VALUE label of the image (repeatable)"},
			&cli.StringFlag{Name: "network", Value: "default", Usage: "RUN's network: default (pasta, as run's), host or none"},
			&cli.StringFlag{Name: "platform", Usage: "only linux/amd64 (this machine's)"},
			&cli.StringFlag{Name: "iidfile", Usage: "write the image ID to this file"},
			&cli.StringFlag{Name: "timestamp", Usage: "seconds since the epoch: the image's creation time and its files' latest (default SOURCE_DATE_EPOCH)"},
			&cli.BoolFlag{Name: "layers", Value: true, Usage: "cache each step (podman's flag; always on)"},
			&cli.BoolFlag{Name: "rm", Value: true, Usage: "remove the step containers (always)"},
			&cli.BoolFlag{Name: "force-rm", Usage: "remove the step containers after a failure too (always)"},
		},
		Action: buildAction,
	}
	// a FROM image that is missing (or every one, with --pull) is pulled as run pulls it
	for _, f := range registryFlags() {
		if n := f.Names()[0]; n == "tls-verify" || n == "creds" || n == "authfile" {
			cmd.Flags = append(cmd.Flags, f)
		}
	}
	return cmd
}

func buildAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return &usageError{"skiff build needs one context: skiff build [-t NAME] DIR (or - for stdin)"}
	}
	if p := c.String("platform"); p != "" && p != "linux/amd64" && p != "linux/"+runtime.GOARCH {
		return &usageError{fmt.Sprintf("--platform %s: skiff builds for this machine only (linux/%s)", p, runtime.GOARCH)}
	}
	network := c.String("network")
	switch network {
	case "host", "none", "pasta":
	case "default", "", "bridge", "private":
		network = "pasta" // RUN reaches out as run's containers do
	default:
		return &usageError{fmt.Sprintf("invalid --network %q: use default (pasta), host or none", c.String("network"))}
	}
	var tags []string
	for _, t := range c.StringSlice("tag") {
		ref, err := image.Parse(t, true)
		if err != nil {
			return &usageError{fmt.Sprintf("-t %s: %v", t, err)}
		}
		tags = append(tags, ref.Named.String())
	}
	args := map[string]string{}
	for _, kv := range c.StringSlice("build-arg") {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" {
			return &usageError{fmt.Sprintf("invalid --build-arg %q: use KEY=VALUE", kv)}
		}
		if !ok {
			if v, ok = os.LookupEnv(k); !ok {
				continue // docker: a KEY the environment lacks is left unset
			}
		}
		args[k] = v
	}
	labels, err := container.ParseLabels(nil, c.StringSlice("label"))
	if err != nil {
		return &usageError{err.Error()}
	}
	var epoch *time.Time
	ts := c.String("timestamp")
	if ts == "" {
		ts = os.Getenv("SOURCE_DATE_EPOCH")
	}
	if ts != "" {
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || n < 0 {
			return &usageError{fmt.Sprintf("invalid timestamp %q: give seconds since 1970-01-01 (--timestamp or SOURCE_DATE_EPOCH)", ts)}
		}
		t := time.Unix(n, 0).UTC()
		epoch = &t
	}

	st, err := openStore(c)
	if err != nil {
		return err
	}
	defer st.Close()

	// the context, and the Dockerfile in it or named by -f
	ctxArg := c.Args().First()
	var bctx *build.Context
	dfPath := c.String("file")
	var dfData []byte
	dfName := "Dockerfile"
	if ctxArg == "-" {
		dir, err := st.Scratch()
		if err != nil {
			return err
		}
		ctxDir, err := os.MkdirTemp(dir, "context-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(ctxDir)
		var bare bool
		if bctx, bare, err = build.ContextFromTar(os.Stdin, ctxDir); err != nil {
			return err
		}
		if bare || dfPath == "" {
			dfPath = filepath.Join(ctxDir, "Dockerfile")
		} else if !filepath.IsAbs(dfPath) {
			dfPath = filepath.Join(ctxDir, dfPath)
		}
	} else {
		fi, err := os.Stat(ctxArg)
		if err != nil || !fi.IsDir() {
			return &usageError{fmt.Sprintf("build context %s: not a directory: give the directory with the files COPY takes (or - for a tar archive on stdin)", ctxArg)}
		}
		if dfPath == "" {
			dfPath = filepath.Join(ctxArg, "Dockerfile")
			if _, err := os.Stat(dfPath); err != nil {
				alt := filepath.Join(ctxArg, "Containerfile")
				if _, err := os.Stat(alt); err == nil {
					dfPath = alt
				}
			}
		}
		rel := ""
		if abs, err := filepath.Abs(dfPath); err == nil {
			if actx, err := filepath.Abs(ctxArg); err == nil {
				if r, err := filepath.Rel(actx, abs); err == nil && !strings.HasPrefix(r, "..") {
					rel = r
				}
			}
		}
		if bctx, err = build.OpenContext(ctxArg, rel); err != nil {
			return err
		}
	}
	if c.String("file") == "-" && ctxArg != "-" {
		if dfData, err = io.ReadAll(os.Stdin); err != nil {
			return err
		}
		dfName = "Dockerfile (stdin)"
	} else {
		dfData, err = os.ReadFile(dfPath)
		if err != nil {
			return fmt.Errorf("read the Dockerfile: %w (give it with -f, or put a Dockerfile in the context)", err)
		}
		if c.String("file") != "" {
			dfName = c.String("file")
		}
	}
	defer bctx.Close()
	df, err := build.ParseDockerfile(dfName, dfData)
	if err != nil {
		return err
	}

	o := build.Options{
		Paths: st.Paths, Store: st, Context: bctx, Dockerfile: df, Tags: tags, BuildArgs: args,
		Target: c.String("target"), NoCache: c.Bool("no-cache"), PullAlways: c.Bool("pull"),
		Labels: labels, Network: network, Epoch: epoch, Compile: compileSeccomp,
	}
	o.Pull = func(ref string) error { return pullForRun(c, ref) }
	if !c.Bool("quiet") {
		o.Out = os.Stderr
		if !term.IsTerminal(int(os.Stderr.Fd())) && term.IsTerminal(int(os.Stdout.Fd())) {
			o.Out = os.Stdout
		}
	}
	id, err := build.Build(o)
	if err != nil {
		var se *build.StepError
		if errors.As(err, &se) {
			return &container.ExitError{Code: 1, Err: err} // docker's code for a failed build
		}
		return err
	}
	if f := c.String("iidfile"); f != "" {
		if err := os.WriteFile(f, []byte("sha256:"+id), 0o644); err != nil {
			return fmt.Errorf("--iidfile: %w", err)
		}
	}
	fmt.Println(id)
	return nil
}

// builderCommand is docker's builder group: prune.
func builderCommand() *cli.Command {
	return &cli.Command{
		Name:  "builder",
		Usage: "manage the build cache (prune)",
		Subcommands: []*cli.Command{{
			Name:  "prune",
			Usage: "empty the build cache and remove the layers only it kept",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "all of it (skiff always prunes all)"},
				&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask for confirmation"},
			},
			Action: func(c *cli.Context) error {
				if err := noArgs(c); err != nil {
					return err
				}
				if !c.Bool("force") && !confirm(os.Stdin, "WARNING! This will remove all build cache.\nAre you sure you want to continue? [y/N] ") {
					return nil
				}
				st, err := openStore(c)
				if err != nil {
					return err
				}
				defer st.Close()
				_, _, n, err := build.PruneCache(st)
				if err != nil {
					return err
				}
				fmt.Println("Total reclaimed space:", units.HumanSize(float64(n)))
				return nil
			},
		}},
	}
}
