//go:build skiff_image

package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/skiff-project/skiff/pkg/catalog"
	"github.com/skiff-project/skiff/pkg/image"
	"github.com/skiff-project/skiff/pkg/store"
)

func importCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "make an image from a root file system tarball",
		ArgsUsage: "TARBALL|- [NAME[:TAG]]",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "change", Aliases: []string{"c"}, Usage: "apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, VOLUME, STOPSIGNAL"},
			&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "commit message for the image history"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the image ID"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return &usageError{"skiff import needs a tarball (or - for stdin) and optionally a NAME[:TAG]"}
			}
			src := c.Args().Get(0)
			var names []string
			if c.NArg() == 2 {
				ref, err := image.Parse(c.Args().Get(1), true)
				if err != nil {
					return err
				}
				names = []string{ref.Named.String()}
			}
			var cfg image.ImageConfig
			for _, ch := range c.StringSlice("change") {
				if err := image.ApplyChange(&cfg, ch); err != nil {
					return err
				}
			}
			if len(cfg.Env) == 0 {
				cfg.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
			}
			var r *os.File
			if src == "-" {
				r = os.Stdin
			} else {
				f, err := os.Open(src)
				if err != nil {
					return fmt.Errorf("open tarball: %w", err)
				}
				defer f.Close()
				if st, err := f.Stat(); err == nil && st.IsDir() {
					return fmt.Errorf("%s is a directory: give a tarball, e.g. tar -C %s -cf rootfs.tar .", src, src)
				}
				r = f
			}
			st, err := openStore(c)
			if err != nil {
				return err
			}
			defer st.Close()
			source := src
			if src != "-" {
				source = filepath.Base(src)
			}
			img, err := st.Import(r, store.ImportOptions{Names: names, Config: cfg, Comment: c.String("message"), Source: source})
			if err != nil {
				return fmt.Errorf("import %s: %w", src, err)
			}
			fmt.Println("sha256:" + img.ID)
			return nil
		},
	}
}

func pruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "remove dangling images (with -a: every image no container uses)",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove every unused image, not only dangling ones"},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask (skiff never asks)"},
			&cli.StringSliceFlag{Name: "filter", Usage: "label=KEY[=VALUE], label!=KEY[=VALUE], before=IMAGE, since=IMAGE, until=TIME (24h, a Unix time, 2006-01-02T15:04:05)"},
		},
		Action: func(c *cli.Context) error {
			st, err := openStore(c)
			if err != nil {
				return err
			}
			defer st.Close()
			f, err := catalog.ParseImageFilters(c.StringSlice("filter"), st.LookupImage)
			if err != nil {
				return err
			}
			recs := containerRecords(st)
			unlock, err := recs.LockImages(true)
			if err != nil {
				return err
			}
			defer unlock()
			removed, err := st.Prune(c.Bool("all"), f, recs.UsedImages())
			for _, id := range removed {
				fmt.Println(id)
			}
			return err
		},
	}
}

func rmiCommand() *cli.Command {
	return &cli.Command{
		Name:      "rmi",
		Usage:     "remove images",
		ArgsUsage: "IMAGE...",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "remove even when containers use it; ignore missing images"}},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return &usageError{"skiff rmi needs at least one image"}
			}
			st, err := openStore(c)
			if err != nil {
				return err
			}
			defer st.Close()
			recs := containerRecords(st)
			// no container may be created from an image while it is checked and deleted
			unlock, err := recs.LockImages(true)
			if err != nil {
				return err
			}
			defer unlock()
			return removeEach(c.Args().Slice(), c.Bool("force"), func(ref string) ([]string, error) {
				return st.RemoveImage(ref, c.Bool("force"), recs.UsingImage, func(id string) error {
					_, err := recs.Remove(id, true)
					return err
				})
			})
		},
	}
}

func tagCommand() *cli.Command {
	return &cli.Command{
		Name:      "tag",
		Usage:     "give an image another name",
		ArgsUsage: "IMAGE TARGET[:TAG]...",
		Action: func(c *cli.Context) error {
			if c.NArg() < 2 {
				return &usageError{"skiff tag needs an image and a new name: skiff tag IMAGE NAME[:TAG]"}
			}
			var names []string
			for _, a := range c.Args().Tail() {
				ref, err := image.Parse(a, true)
				if err != nil {
					return err
				}
				names = append(names, ref.Named.String())
			}
			st, img, err := openImage(c)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, n := range names {
				if err := st.Tag(img, n); err != nil {
					return err
				}
			}
			return nil
		},
	}
}
