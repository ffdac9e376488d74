//go:build skiff_image

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/skiff-project/skiff/pkg/build"
	"github.com/skiff-project/skiff/pkg/catalog"
	"github.com/skiff-project/skiff/pkg/image"
)

func commitCommand() *cli.Command {
	return &cli.Command{
		Name:      "commit",
		Aliases:   []string{"container-commit"},
		Usage:     "make an image of a container's changes",
		ArgsUsage: "CONTAINER [IMAGE[:TAG]]",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "change", Aliases: []string{"c"}, Usage: "a Dockerfile instruction for the image's configuration (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL)"},
			&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "commit message"},
			&cli.StringFlag{Name: "author", Aliases: []string{"a"}, Usage: "author"},
			&cli.BoolFlag{Name: "pause", Aliases: []string{"p"}, Value: true, Usage: "accepted for docker; skiff reads the layer as it is"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the image ID"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return &usageError{"skiff commit needs a container and, optionally, a name: skiff commit CONTAINER [IMAGE[:TAG]]"}
			}
			o := build.CommitOptions{Changes: c.StringSlice("change"), Message: c.String("message"), Author: c.String("author")}
			if n := c.Args().Get(1); n != "" {
				ref, err := image.Parse(n, true)
				if err != nil {
					return &usageError{fmt.Sprintf("image name %s: %v", n, err)}
				}
				o.Names = []string{ref.Named.String()}
			}
			st, err := openStore(c)
			if err != nil {
				return err
			}
			defer st.Close()
			id, err := build.Commit(st, c.Args().First(), o)
			if err != nil {
				return err
			}
			fmt.Println("sha256:" + id)
			return nil
		},
	}
}

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Aliases:   []string{"container-diff"},
		Usage:     "list the files a container (or an image's top layer) added (A), changed (C) or deleted (D)",
		ArgsUsage: "CONTAINER|IMAGE",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "format", Usage: "json"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return &usageError{"skiff diff needs one container or image: skiff diff CONTAINER"}
			}
			st, err := openStore(c)
			if err != nil {
				return err
			}
			defer st.Close()
			ref := c.Args().First()
			changes, err := build.ContainerDiff(st, ref)
			var nf *catalog.NotFoundError
			if errors.As(err, &nf) && nf.Kind == "container" {
				if cat, cerr := st.Catalog(); cerr == nil && cat.Has(ref) {
					changes, err = build.ImageDiff(st, ref)
				}
			}
			if err != nil {
				return err
			}
			switch c.String("format") {
			case "":
				for _, ch := range changes {
					fmt.Println(ch.String())
				}
			case "json":
				out := map[string][]string{}
				key := map[byte]string{'A': "added", 'C': "changed", 'D': "deleted"}
				for _, ch := range changes {
					out[key[ch.Kind]] = append(out[key[ch.Kind]], ch.Path)
				}
				b, err := json.MarshalIndent(out, "", "    ")
				if err != nil {
					return err
				}
				fmt.Println(string(b))
			default:
				return &usageError{fmt.Sprintf("invalid --format %q: use json", c.String("format"))}
			}
			return nil
		},
	}
}

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Aliases:   []string{"container-export"},
		Usage:     "write a container's file system as a tar archive",
		ArgsUsage: "CONTAINER",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "the file to write (default stdout)"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return &usageError{"skiff export needs one container: skiff export CONTAINER -o FILE.tar"}
			}
			out := os.Stdout
			if f := c.String("output"); f != "" {
				var err error
				if out, err = os.Create(f); err != nil {
					return fmt.Errorf("--output: %w", err)
				}
				defer out.Close()
			} else if term.IsTerminal(int(os.Stdout.Fd())) {
				return &usageError{"skiff export writes a tar archive: give -o FILE.tar or redirect stdout"}
			}
			st, err := openStore(c)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := build.Export(st, c.Args().First(), out); err != nil {
				if c.String("output") != "" {
					os.Remove(c.String("output"))
				}
				return err
			}
			if err := out.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
				return err // a pipe or a terminal cannot be synced (EINVAL), and need not be
			}
			return nil
		},
	}
}
