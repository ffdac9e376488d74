//go:build !skiff_image

package main

import (
	"os"
	"syscall"

	"github.com/urfave/cli/v2"
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

// fastPull answers a pull whose image is already present without starting the helper; it
// reports done=false when the helper must do the work.
func fastPull(c *cli.Context) (done bool, err error) { return false, nil }
