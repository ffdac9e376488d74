//go:build skiff_image && skiff_docs

package main

// The man pages, built by make man with -tags 'skiff_image skiff_docs' (neither skiff nor
// skiff-image carries this file): skiff(1) and one page per command and subcommand
// (skiff-run(1), skiff-volume-create(1)), written as roff from the command tree.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"github.com/urfave/cli/v2"
)

func init() {
	docsCommands = append(docsCommands, &cli.Command{
		Name:      "man-pages",
		Usage:     "write skiff's man pages into DIR",
		ArgsUsage: "DIR",
		Hidden:    true,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return &usageError{"man-pages needs the directory to write the pages to"}
			}
			pages, err := writeManPages(c.App, c.Args().First())
			if err != nil {
				return err
			}
			fmt.Printf("%d man pages in %s\n", len(pages), c.Args().First())
			return nil
		},
	})
}

// writeManPages writes every page into dir and returns their paths.
func writeManPages(app *cli.App, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	pages, also := manNodes(commandTree(app))
	for _, n := range pages {
		p := filepath.Join(dir, n.pageName()+".1")
		if err := os.WriteFile(p, []byte(manPage(n, also[n], app.Version)), 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// manNodes are the commands that get a page. A top-level command whose page name is a
// subcommand's (image-inspect, image inspect: skiff-image-inspect) gets none: the subcommand's
// page names it (also).
func manNodes(t *cmdNode) (pages []*cmdNode, also map[*cmdNode][]string) {
	byPage := map[string]*cmdNode{}
	t.walk(func(n *cmdNode) {
		if o := byPage[n.pageName()]; o == nil || len(n.path) > len(o.path) {
			byPage[n.pageName()] = n
		}
	})
	also = map[*cmdNode][]string{}
	t.walk(func(n *cmdNode) {
		if p := byPage[n.pageName()]; p != n {
			also[p] = append(also[p], n.fullName())
			return
		}
		pages = append(pages, n)
	})
	return pages, also
}

// pageName is skiff, skiff-run, skiff-volume-create.
func (n *cmdNode) pageName() string {
	return strings.Join(append([]string{"skiff"}, n.path...), "-")
}

func (n *cmdNode) fullName() string {
	return strings.Join(append([]string{"skiff"}, n.path...), " ")
}

// roff escapes text for a roff text line or a macro's argument; after a comma or a bar inside
// a word (type=bind|volume|tmpfs,source=...) the line may break.
func roff(s string) string {
	s = strings.NewReplacer(`\`, `\e`, "-", `\-`, "|", `|\:`).Replace(s)
	s = breakAfterComma.ReplaceAllString(s, `,\:$1`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

var breakAfterComma = regexp.MustCompile(`,(\S)`)

// sentence makes a usage fragment a sentence: "run a command" -> "Run a command."
func sentence(s string) string {
	s = oneLine(s)
	if s == "" {
		return s
	}
	if first, _, _ := strings.Cut(s, " "); strings.IndexFunc(first, func(r rune) bool { return !unicode.IsLower(r) }) < 0 {
		r := []rune(s) // a word: capitalized; not "type=bind|volume", "-d"
		r[0] = unicode.ToUpper(r[0])
		s = string(r)
	}
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func bold(s string) string   { return `\fB` + roff(s) + `\fR` }
func italic(s string) string { return `\fI` + roff(s) + `\fR` }
func pageRef(n *cmdNode) string {
	return bold(n.pageName()) + "(1)"
}

func manPage(n *cmdNode, also []string, version string) string {
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	line(`.TH "%s" "1" "" "skiff %s" "skiff Manual"`, roff(strings.ToUpper(n.pageName())), roff(version))
	line(".nh")   // no hyphenation: flags stay whole
	line(".ad l") // ragged right
	line(".SH NAME")
	line(`%s \- %s`, roff(n.pageName()), roff(oneLine(n.usage)))

	line(".SH SYNOPSIS")
	syn := bold(n.fullName())
	switch {
	case n.cmd == nil:
		syn += ` [\fIGLOBAL OPTIONS\fR] \fICOMMAND\fR [\fIOPTIONS\fR] [\fIARGUMENTS\fR...]`
	case len(n.subs) > 0:
		syn += ` \fICOMMAND\fR [\fIOPTIONS\fR] [\fIARGUMENTS\fR...]`
	default:
		if len(n.flags) > 0 {
			syn += ` [\fIOPTIONS\fR]`
		}
		if n.cmd.ArgsUsage != "" {
			syn += " " + italic(n.cmd.ArgsUsage)
		}
	}
	line("%s", syn)

	line(".SH DESCRIPTION")
	if n.cmd == nil {
		line("%s", roff("skiff runs containers from OCI and Docker images without a daemon and without root: "+
			"each user has an image store of their own, and each container is a process tree of the user's. "+
			"Its commands and flags follow docker's and podman's."))
	} else {
		line("%s", roff(sentence(n.usage)))
		for _, a := range n.aliases {
			also = append(also, strings.Join(append([]string{"skiff"}, append(n.path[:len(n.path)-1:len(n.path)-1], a)...), " "))
		}
		if len(also) > 0 {
			var as []string
			for _, a := range also {
				as = append(as, bold(a))
			}
			line(".PP")
			line("Also: %s.", strings.Join(as, ", "))
		}
		if d := strings.TrimSpace(n.cmd.Description); d != "" {
			description(&b, d)
		}
	}

	if len(n.flags) > 0 {
		if n.cmd == nil {
			line(".SH GLOBAL OPTIONS")
		} else {
			line(".SH OPTIONS")
		}
		for _, f := range n.flags {
			var names []string
			for _, s := range f.spelled() {
				names = append(names, bold(s))
			}
			head := strings.Join(names, ", ")
			if f.value {
				head += " " + italic(strings.ToUpper(valueName(f)))
			}
			line(".TP")
			line("%s", head)
			text := sentence(f.usage)
			if f.repeat {
				text += " May be given more than once."
			}
			if f.def != "" {
				text += " Default: " + strings.Trim(f.def, `"`) + "."
			}
			if len(f.env) > 0 {
				text += " Environment: " + strings.Join(f.env, ", ") + "."
			}
			line("%s", roff(text))
		}
	}

	if len(n.subs) > 0 {
		line(".SH COMMANDS")
		for _, s := range n.subs {
			line(".TP")
			line("%s", pageRef(s))
			line("%s", roff(sentence(s.usage)))
		}
	}

	line(".SH SEE ALSO")
	var refs []string
	if n.cmd != nil {
		refs = append(refs, bold("skiff")+"(1)")
		if len(n.path) > 1 {
			refs = append(refs, bold("skiff-"+strings.Join(n.path[:len(n.path)-1], "-"))+"(1)")
		}
	} else {
		refs = append(refs, bold("podman")+"(1)", bold("docker")+"(1)")
	}
	line("%s", strings.Join(refs, ", "))
	return b.String()
}

// valueName is the word a flag's value is shown as: its long name's last part.
func valueName(f flagDoc) string {
	if i := strings.LastIndex(f.long, "-"); i >= 0 && i+1 < len(f.long) {
		return f.long[i+1:]
	}
	return f.long
}

// description writes a command's Description: paragraphs, with indented lines kept as they are
// (examples).
func description(b *strings.Builder, d string) {
	inExample := false
	b.WriteString(".PP\n")
	for _, l := range strings.Split(d, "\n") {
		example := strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")
		switch {
		case strings.TrimSpace(l) == "":
			if inExample {
				b.WriteString(".fi\n.RE\n")
				inExample = false
			}
			b.WriteString(".PP\n")
			continue
		case example && !inExample:
			b.WriteString(".RS 4\n.nf\n")
			inExample = true
		case !example && inExample:
			b.WriteString(".fi\n.RE\n")
			inExample = false
		}
		b.WriteString(roff(strings.TrimSpace(l)) + "\n")
	}
	if inExample {
		b.WriteString(".fi\n.RE\n")
	}
}
