//go:build skiff_pull

package main

// skiff-pull is the lean skiff with a registry client: it answers a pull with nothing to do
// (the image is present and its tag still names the same manifest) with one HEAD request, and
// hands any other pull to skiff-image. The lean skiff execs it for pull (see enter.c's
// dispatch), so that neither the lean skiff's run path pays for net/http and crypto/tls nor a
// no-op pull for containers/image.

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/skiff-project/skiff/pkg/image"
	"github.com/skiff-project/skiff/pkg/registry"
)

func pullAction(c *cli.Context) error {
	if done, err := fastPull(c); done {
		return err
	}
	return execHelper()
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
	cat, err := openCatalog(c)
	if err != nil {
		return false, nil
	}
	trace("store")
	img, err := cat.Lookup(tagged.String())
	if err != nil || img.Digest == "" {
		return false, nil
	}
	trace("image")
	d, err := registry.ManifestDigest(context.Background(), tagged.Domain, tagged.Path, tagged.Tag, insecure)
	trace("probe")
	if err != nil || (d.String() != img.Digest && !slices.Contains(img.Digests, d.String())) {
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
