//go:build !skiff_image

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
)

// The lean skiff: the commands that only read images (run, images, ps, rm, version, a pull
// with nothing to do) are its own; the ones that change the store's images or talk to
// registries need containers/storage and containers/image, whose size and package init would
// tax every invocation. They live in the skiff-image helper beside this binary, which is this
// same command built with -tags skiff_image. These stubs hand the whole command line over.
var helperStubs = []struct {
	name, usage string
	aliases     []string
}{
	{"import", "make an image from a root file system tarball", nil},
	{"rmi", "remove images", nil},
	{"tag", "give an image another name", nil},
	{"inspect", "show containers and images as JSON", nil},
	{"image-inspect", "show images as JSON", nil},
	{"history", "show the layers of an image", nil},
	{"info", "show the host, the store and skiff's set-up", nil},
	{"image", "manage images", nil},
	{"prune", "remove dangling images (with -a: every image no container uses)", nil},
	{"pull", "pull an image from a registry", nil},
	{"push", "push an image to a registry", nil},
	{"save", "save images to an archive", nil},
	{"load", "load images from an archive (docker-archive, oci-archive or oci-dir)", nil},
	{"login", "log in to a registry", nil},
	{"logout", "remove the credentials of a registry", nil},
	{"system", "disk usage (df), pruning (prune) and information (info)", nil},
	{"cp", "copy files between a container and the host", nil},
	{"build", "build an image from a Dockerfile", []string{"image-build"}},
	{"builder", "manage the build cache (prune)", nil},
	{"commit", "make an image of a container's changes", []string{"container-commit"}},
	{"diff", "list a container's changed files", []string{"container-diff"}},
	{"export", "write a container's file system as a tar archive", []string{"container-export"}},
	{"completion", "print a shell completion script: bash, zsh or fish", nil},
}

func reexecInit() bool { return false }

func setLogLevel(string) {}

func imageCommands() []command {
	var cmds []command
	for _, s := range helperStubs {
		mk := func() *cli.Command {
			return &cli.Command{
				Name:            s.name,
				Aliases:         s.aliases,
				Usage:           s.usage,
				SkipFlagParsing: true,
				Action: func(c *cli.Context) error {
					if s.name == "pull" {
						return pullAction(c)
					}
					return execHelper()
				},
			}
		}
		cmds = append(cmds, command{append([]string{s.name}, s.aliases...), mk})
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

// compileSeccomp asks skiff-image to compile a seccomp profile (the lean skiff does not link
// libseccomp); the program is cached, so this happens once per profile.
func compileSeccomp(p *rspec.LinuxSeccomp) ([]byte, error) {
	helper, err := HelperPath()
	if err != nil {
		return nil, err
	}
	in, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var out, errb bytes.Buffer
	cmd := &exec.Cmd{Path: helper, Args: []string{"skiff", "seccomp-compile"}, Stdin: bytes.NewReader(in), Stdout: &out, Stderr: &errb}
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w", strings.TrimSpace(strings.TrimPrefix(errb.String(), "Error: ")), err)
	}
	return out.Bytes(), nil
}
