//go:build skiff_image

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	units "github.com/docker/go-units"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/skiff-project/skiff/pkg/archive"
	"github.com/skiff-project/skiff/pkg/container"
)

// skiff cp runs in two processes: this one on the host side, and a helper (this binary,
// `skiff cp-helper`) whose root is the container's; a tar stream goes between them. Both are
// in the skiff-image helper: archive/tar and the rest would otherwise tax every lean command.

func cpCommand() *cli.Command {
	return &cli.Command{
		Name:      "cp",
		Usage:     "copy files between a container and the host",
		ArgsUsage: "CONTAINER:SRC_PATH DEST_PATH|-  or  SRC_PATH|- CONTAINER:DEST_PATH",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "archive", Aliases: []string{"a"}, Usage: "keep the files' uid and gid (else: the copier's, root in a container)"},
			&cli.BoolFlag{Name: "follow-link", Aliases: []string{"L"}, Usage: "copy what a symbolic link SRC_PATH points to"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no summary on a terminal"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return &usageError{"skiff cp needs two arguments: CONTAINER:SRC_PATH DEST_PATH, or SRC_PATH CONTAINER:DEST_PATH"}
			}
			src, dst := c.Args().Get(0), c.Args().Get(1)
			sc, sp := splitCopyArg(src)
			dc, dp := splitCopyArg(dst)
			switch {
			case sc != "" && dc != "":
				return &usageError{"skiff cp copies between a container and the host: one of the paths must be local (prefix a local path holding ':' with ./)"}
			case sc == "" && dc == "":
				return &usageError{"skiff cp needs a container: give CONTAINER:PATH as the source or the destination"}
			case sp == "" || dp == "":
				return &usageError{"skiff cp: a path is empty: give CONTAINER:/path and a local path"}
			}
			p, err := storePaths(c)
			if err != nil {
				return err
			}
			recs, err := openRecords(c)
			if err != nil {
				return err
			}
			ref := sc + dc
			env, done, err := recs.CopyRoot(p, ref)
			if err != nil {
				return err
			}
			defer done()
			h := copyHelper{ref: ref, env: env}
			var n int64
			if sc != "" {
				n, err = h.fromContainer(containerPath(sp), dp, c.Bool("follow-link"), c.Bool("archive"))
			} else {
				n, err = h.toContainer(sp, containerPath(dp), c.Bool("follow-link"), c.Bool("archive"))
			}
			if err == nil && !c.Bool("quiet") && dp != "-" && term.IsTerminal(int(os.Stderr.Fd())) {
				fmt.Fprintf(os.Stderr, "Successfully copied %s to %s\n", units.HumanSizeWithPrecision(float64(n), 3), dst)
			}
			return err
		},
	}
}

// splitCopyArg splits CONTAINER:PATH as docker does: a path that starts with / or . is
// local, whatever colons it holds.
func splitCopyArg(arg string) (ctr, path string) {
	if strings.HasPrefix(arg, "/") || strings.HasPrefix(arg, ".") {
		return "", arg
	}
	if c, p, ok := strings.Cut(arg, ":"); ok {
		return c, p
	}
	return "", arg
}

// containerPath makes a container path absolute (docker's are relative to /), keeping a
// trailing "/" or "/." that says what to copy.
func containerPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return "/" + p
	}
	return p
}

type copyHelper struct {
	ref string
	env []string
}

// command is the helper for one side of a copy.
func (h copyHelper) command(args ...string) (*exec.Cmd, *bytes.Buffer, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(self, append([]string{"cp-helper"}, args...)...)
	cmd.Env = append(os.Environ(), h.env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	return cmd, &stderr, nil
}

// failed is the error of a helper that ended badly: the one line it printed, about the
// container.
func (h copyHelper) failed(err error, stderr *bytes.Buffer) error {
	msg := strings.TrimSpace(stderr.String())
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	msg = strings.TrimPrefix(msg, "Error: ")
	if msg == "" {
		msg = err.Error()
	}
	return fmt.Errorf("container %s: %s", h.ref, msg)
}

// fromContainer copies the container's src to the host's dst ("-": a tar on stdout).
func (h copyHelper) fromContainer(src, dst string, follow, keepIDs bool) (int64, error) {
	cmd, stderr, err := h.command("pack", src, fmt.Sprint(follow))
	if err != nil {
		return 0, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	r := &countReader{r: bufio.NewReaderSize(out, 64<<10)}
	var source archive.Source
	line, err := r.r.(*bufio.Reader).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &source)
	}
	if err != nil {
		io.Copy(io.Discard, r)
		return 0, h.failed(cmd.Wait(), stderr)
	}
	if dst == "-" {
		_, err = io.Copy(os.Stdout, r)
	} else {
		var dir, name string
		if dir, name, err = archive.Resolve(dst, source); err == nil {
			o := archive.UnpackOptions{From: source.Base, To: name}
			if !keepIDs {
				o.Chown = &archive.IDs{} // the copier's: uid 0 of skiff's namespace is the user
			}
			err = archive.Unpack(r, dir, o)
		}
	}
	io.Copy(io.Discard, r)
	if werr := cmd.Wait(); werr != nil {
		return r.n, h.failed(werr, stderr)
	}
	return r.n, err
}

// toContainer copies the host's src ("-": a tar on stdin, extracted into the directory dst)
// to the container's dst.
func (h copyHelper) toContainer(src, dst string, follow, keepIDs bool) (int64, error) {
	ids := fmt.Sprint(keepIDs)
	if src == "-" {
		if term.IsTerminal(int(os.Stdin.Fd())) {
			return 0, &usageError{"skiff cp - CONTAINER:DIR reads a tar archive on standard input: pipe one in"}
		}
		cmd, stderr, err := h.command("extract", dst, ids)
		if err != nil {
			return 0, err
		}
		cr := &countReader{r: os.Stdin}
		cmd.Stdin = cr
		if err := cmd.Run(); err != nil {
			return cr.n, h.failed(err, stderr)
		}
		return cr.n, nil
	}
	source, err := archive.Stat(src, follow)
	if err != nil {
		return 0, err
	}
	hdr, _ := json.Marshal(source)
	cmd, stderr, err := h.command("unpack", dst, string(hdr), ids)
	if err != nil {
		return 0, err
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	w := &countWriter{w: in}
	perr := archive.Pack(w, src, archive.PackOptions{Name: source.Base, Follow: follow})
	in.Close()
	if err := cmd.Wait(); err != nil {
		return w.n, h.failed(err, stderr) // the helper's reason, not the broken pipe
	}
	return w.n, perr
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// cpHelperCommand is the container's side of skiff cp (see container.CopyRoot):
//
//	cp-helper pack PATH FOLLOW          a line of JSON (archive.Source), then a tar of PATH
//	cp-helper unpack DEST SOURCE KEEP   a tar of SOURCE (JSON) on stdin, put at DEST as docker cp does
//	cp-helper extract DIR KEEP          a tar on stdin, extracted into the directory DIR
func cpHelperCommand() *cli.Command {
	return &cli.Command{
		Name:   "cp-helper",
		Hidden: true,
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) < 3 {
				return errors.New("cp-helper: missing arguments")
			}
			if err := container.EnterCopyRoot(); err != nil {
				return err
			}
			keep := args[len(args)-1] == "true"
			opts := archive.UnpackOptions{}
			if !keep {
				opts.Chown = &archive.IDs{} // root of the container, as docker's cp makes them
			}
			switch args[0] {
			case "pack":
				follow := args[2] == "true"
				src, err := archive.Stat(args[1], follow)
				if err != nil {
					return err
				}
				hdr, _ := json.Marshal(src)
				w := bufio.NewWriterSize(os.Stdout, 64<<10)
				w.Write(append(hdr, '\n'))
				if err := archive.Pack(w, args[1], archive.PackOptions{Name: src.Base, Follow: follow}); err != nil {
					return err
				}
				return w.Flush()
			case "unpack":
				if len(args) != 4 {
					return errors.New("cp-helper unpack: missing arguments")
				}
				var src archive.Source
				if err := json.Unmarshal([]byte(args[2]), &src); err != nil {
					return err
				}
				dir, name, err := archive.Resolve(args[1], src)
				if err != nil {
					return err
				}
				opts.From, opts.To = src.Base, name
				return archive.Unpack(os.Stdin, dir, opts)
			case "extract":
				if st, err := os.Stat(args[1]); err != nil || !st.IsDir() {
					return fmt.Errorf("%s: no such directory (a tar on standard input is extracted into a directory)", args[1])
				}
				return archive.Unpack(os.Stdin, args[1], opts)
			}
			return fmt.Errorf("cp-helper: unknown operation %q", args[0])
		},
	}
}
