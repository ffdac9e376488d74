package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	units "github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/skiff-project/skiff/pkg/catalog"
	"github.com/skiff-project/skiff/pkg/image"
)

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
			cat, err := openCatalog(c)
			if err != nil {
				return err
			}
			imgs := cat.Images()
			f, err := catalog.ParseImageFilters(c.StringSlice("filter"), cat.Lookup)
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
				base := imageRow{ID: id, Digest: img.Digest, CreatedAt: img.Created.Format("2006-01-02 15:04:05 -0700 MST"),
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
