package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
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
			&cli.StringSliceFlag{Name: "filter", Aliases: []string{"f"}, Usage: "dangling=true|false, reference=PATTERN, label=KEY[=VALUE], label!=KEY[=VALUE], before=IMAGE, since=IMAGE, until=TIME"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "all images (skiff keeps no hidden intermediate images)"},
		},
		Action: func(c *cli.Context) error {
			cat, err := openCatalog(c)
			if err != nil {
				return err
			}
			f, err := catalog.ParseImageFilters(c.StringSlice("filter"), cat.Lookup)
			if err != nil {
				return err
			}
			// configurations are read only to filter by label
			imgs := cat.Summaries()
			if f.UsesLabels() {
				imgs = cat.Images()
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
	// one write at the end: tabwriter writes every cell on its own
	bw := bufio.NewWriter(w)
	if err := formatRows(bw, rows, format, heading, def, header); err != nil {
		bw.Flush()
		return err
	}
	return bw.Flush()
}

func formatRows[T any](w io.Writer, rows []T, format string, heading bool, def string, header []string) error {
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
	if fields, ok := plainFields(format); ok {
		return printFields(w, rows, fields, table, heading && format == strings.TrimPrefix(def, "table "), header)
	}
	tmpl, err := template.New("format").Funcs(formatFuncs).Parse(format + "\n")
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

// plainFields recognizes the formats made of fields alone, "{{.A}}\t{{.B}}" (the default
// tables): those are printed without text/template, whose set-up costs more than the rest of
// `skiff images`.
func plainFields(format string) ([]string, bool) {
	var fields []string
	for _, part := range strings.Split(format, "\t") {
		name, ok := strings.CutPrefix(part, "{{.")
		if !ok {
			return nil, false
		}
		if name, ok = strings.CutSuffix(name, "}}"); !ok || name == "" {
			return nil, false
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
				return nil, false
			}
		}
		fields = append(fields, name)
	}
	return fields, true
}

func printFields[T any](w io.Writer, rows []T, fields []string, table, heading bool, header []string) error {
	out := w
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
		out = tw
		if heading {
			fmt.Fprintln(tw, strings.Join(header, "\t"))
		}
	}
	var buf []byte
	for _, r := range rows {
		v := reflect.ValueOf(r)
		buf = buf[:0]
		for i, name := range fields {
			f := v.FieldByName(name)
			if !f.IsValid() {
				return fmt.Errorf("invalid --format: can't evaluate field %s", name)
			}
			if i > 0 {
				buf = append(buf, '\t')
			}
			buf = fmt.Append(buf, f.Interface())
		}
		buf = append(buf, '\n')
		if _, err := out.Write(buf); err != nil {
			return err
		}
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// formatFuncs are docker's --format template functions.
var formatFuncs = template.FuncMap{
	"json": func(v any) string { b, _ := json.Marshal(v); return string(b) },
	"join": strings.Join, "upper": strings.ToUpper, "lower": strings.ToLower,
}
