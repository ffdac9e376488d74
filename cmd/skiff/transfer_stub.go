//go:build !skiff_image

package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/skiff-project/skiff/pkg/image"
	"github.com/skiff-project/skiff/pkg/registry"
)

// The registry and archive commands need containers/image, whose size and package init would
// tax every skiff invocation; they live in the skiff-image helper beside this binary, which is
// this same command built with containers/image. These stubs hand the whole command line over.
var transferStubs = []struct{ name, usage string }{
	{"pull", "pull an image from a registry"},
	{"push", "push an image to a registry"},
	{"save", "save images to an archive"},
	{"load", "load images from an archive (docker-archive, oci-archive or oci-dir)"},
	{"login", "log in to a registry"},
	{"logout", "remove the credentials of a registry"},
}

func transferCommands() []*cli.Command {
	var cmds []*cli.Command
	for _, s := range transferStubs {
		cmds = append(cmds, &cli.Command{
			Name:            s.name,
			Usage:           s.usage,
			SkipFlagParsing: true,
			Action: func(c *cli.Context) error {
				if s.name == "pull" {
					if done, err := fastPull(c); done {
						return err
					}
				}
				return execHelper()
			},
		})
	}
	return cmds
}

// execHelper replaces this process with the helper, same arguments, same namespaces.
func execHelper() error {
	p, err := HelperPath()
	if err != nil {
		return err
	}
	return syscall.Exec(p, os.Args, os.Environ())
}

// fastPull answers a pull whose image is already present and up to date without starting the
// helper: one HEAD request for the tag's manifest digest. It reports done=false whenever the
// helper must do the work (anything but a qualified name:tag with plain flags, an image not in
// the store, a registry that wants authentication or does not answer plainly, a new digest).
func fastPull(c *cli.Context) (done bool, err error) {
	var ref string
	quiet, insecure := false, false
	for _, a := range c.Args().Slice() {
		switch {
		case a == "-q" || a == "--quiet":
			quiet = true
		case a == "--tls-verify=false":
			insecure = true
		case a == "--tls-verify" || a == "--tls-verify=true":
		case strings.HasPrefix(a, "-"):
			return false, nil // creds, platforms, all tags, help...: the helper's business
		case ref != "":
			return false, nil
		default:
			ref = a
		}
	}
	if ref == "" {
		return false, nil
	}
	r, err := image.Parse(ref, false)
	if err != nil || !r.Qualified {
		return false, nil // short names go through registries.conf in the helper
	}
	tagged := r.Named
	if tagged.Tag == "" || tagged.Digest != "" {
		return false, nil
	}
	trace := tracer()
	if trace == nil {
		trace = func(string) {}
	}
	st, err := openStore(c)
	if err != nil {
		return false, nil
	}
	defer st.Close()
	trace("store")
	img, err := st.S.Image(tagged.String())
	if err != nil || img.Digest == "" {
		return false, nil
	}
	trace("image")
	d, err := registry.ManifestDigest(context.Background(), tagged.Domain, tagged.Path, tagged.Tag, insecure)
	trace("probe")
	if err != nil || (d != img.Digest && !slices.Contains(img.Digests, d)) {
		return false, nil
	}
	if quiet {
		fmt.Println(img.ID)
	} else {
		fmt.Fprintf(os.Stderr, "%s is up to date\n", tagged.String())
		fmt.Println(img.ID)
	}
	return true, nil
}
