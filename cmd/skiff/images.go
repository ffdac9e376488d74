package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	units "github.com/docker/go-units"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/urfave/cli/v2"

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
			var cfg v1.ImageConfig
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

// imageRow is what --format templates see for each image (docker's field names).
type imageRow struct {
	ID           string `json:"Id"`
	Repository   string `json:"Repository"`
	Tag          string `json:"Tag"`
	Digest       string `json:"Digest"`
	CreatedAt    string `json:"CreatedAt"`
	CreatedSince string `json:"CreatedSince"`
	Size         string `json:"Size"`
	RawSize      int64  `json:"RawSize"`
	Names        []string
}

func imagesCommand() *cli.Command {
	return &cli.Command{
		Name:    "images",
		Aliases: []string{"image-ls"},
		Usage:   "list images",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only image IDs"},
			&cli.StringFlag{Name: "format", Usage: "Go template, 'table TEMPLATE' or json"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "do not truncate image IDs"},
			&cli.BoolFlag{Name: "noheading", Aliases: []string{"n"}, Usage: "no table header"},
			&cli.BoolFlag{Name: "digests", Usage: "show manifest digests"},
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "dangling=true|false, reference=PATTERN, label=KEY[=VALUE], before=IMAGE, since=IMAGE"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "all images (skiff keeps no hidden intermediate images)"},
		},
		Action: func(c *cli.Context) error {
			st, err := openStore(c)
			if err != nil {
				return err
			}
			defer st.Close()
			imgs, err := st.Images()
			if err != nil {
				return err
			}
			f, err := store.ParseImageFilters(c.StringSlice("filter"), st)
			if err != nil {
				return err
			}
			imgs = f.Apply(imgs)
			var rows []imageRow
			seen := map[string]bool{}
			for _, img := range imgs {
				id := img.ID
				if !c.Bool("no-trunc") {
					id = id[:12]
				} else {
					id = "sha256:" + id
				}
				base := imageRow{ID: id, Digest: img.Digest.String(), CreatedAt: img.Created.Format("2006-01-02 15:04:05 -0700 MST"),
					CreatedSince: units.HumanDuration(time.Since(img.Created)) + " ago", Size: units.HumanSizeWithPrecision(float64(img.Size), 3),
					RawSize: img.Size, Names: img.Names}
				if c.Bool("quiet") {
					if !seen[id] {
						fmt.Println(id)
						seen[id] = true
					}
					continue
				}
				if len(img.Names) == 0 {
					r := base
					r.Repository, r.Tag = "<none>", "<none>"
					rows = append(rows, r)
				}
				for _, n := range img.Names {
					r := base
					r.Repository, r.Tag = image.Split(n)
					rows = append(rows, r)
				}
			}
			if c.Bool("quiet") {
				return nil
			}
			if c.Bool("digests") {
				return printRows(os.Stdout, rows, c.String("format"), !c.Bool("noheading"),
					"table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}",
					[]string{"REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"})
			}
			return printRows(os.Stdout, rows, c.String("format"), !c.Bool("noheading"),
				"table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}",
				[]string{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"})
		},
	}
}

// printRows prints rows as a table (default or "table TEMPLATE"), one template per row, or JSON.
func printRows[T any](w io.Writer, rows []T, format string, heading bool, def string, header []string) error {
	if format == "json" {
		if rows == nil {
			rows = []T{}
		}
		b, err := json.MarshalIndent(rows, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	}
	table := format == "" || strings.HasPrefix(format, "table")
	if format == "" {
		format = def
	}
	if table {
		format = strings.TrimSpace(strings.TrimPrefix(format, "table"))
		if format == "" {
			format = strings.TrimPrefix(def, "table ")
		}
	}
	format = strings.ReplaceAll(format, `\t`, "\t")
	tmpl, err := template.New("format").Funcs(template.FuncMap{
		"json": func(v any) string { b, _ := json.Marshal(v); return string(b) },
		"join": strings.Join, "upper": strings.ToUpper, "lower": strings.ToLower,
	}).Parse(format + "\n")
	if err != nil {
		return fmt.Errorf("invalid --format: %w", err)
	}
	out := w
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
		out = tw
		if heading && format == strings.TrimPrefix(def, "table ") {
			fmt.Fprintln(tw, strings.Join(header, "\t"))
		}
	}
	for _, r := range rows {
		if err := tmpl.Execute(out, r); err != nil {
			return fmt.Errorf("invalid --format: %w", err)
		}
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

func pruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "remove dangling images (with -a: every image no container uses)",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove every unused image, not only dangling ones"},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not ask (skiff never asks)"},
			&cli.StringSliceFlag{Name: "filter", Usage: "label=KEY[=VALUE], before=IMAGE, since=IMAGE"},
		},
		Action: func(c *cli.Context) error {
			st, err := openStore(c)
			if err != nil {
				return err
			}
			defer st.Close()
			f, err := store.ParseImageFilters(c.StringSlice("filter"), st)
			if err != nil {
				return err
			}
			removed, err := st.Prune(c.Bool("all"), f)
			for _, id := range removed {
				fmt.Println(id)
			}
			return err
		},
	}
}

// removeEach removes every ref as rm and rmi do: what remove prints goes to stdout, a missing
// object is ignored with force, the first error is returned and later ones are printed.
func removeEach(refs []string, force bool, remove func(ref string) ([]string, error)) error {
	var firstErr error
	for _, ref := range refs {
		lines, err := remove(ref)
		if err != nil {
			var nf *store.NotFoundError
			if force && errors.As(err, &nf) {
				continue
			}
			if firstErr == nil {
				firstErr = err
			} else {
				fmt.Fprintln(os.Stderr, "Error: "+err.Error())
			}
			continue
		}
		for _, l := range lines {
			fmt.Println(l)
		}
	}
	return firstErr
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
			return removeEach(c.Args().Slice(), c.Bool("force"), func(ref string) ([]string, error) {
				return st.RemoveImage(ref, c.Bool("force"))
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
