//go:build skiff_image

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/containers/storage/pkg/reexec"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/skiff-project/skiff/pkg/container"
	"github.com/skiff-project/skiff/pkg/seccomp/bpf"
	"github.com/skiff-project/skiff/pkg/store"
)

// This file is built into skiff-image only (-tags skiff_image): the commands that change the
// store's images, with containers/storage and containers/image linked in.

// reexecInit runs containers/storage's re-executed helpers (chrooted layer extraction).
func reexecInit() bool { return reexec.Init() }

func setLogLevel(l string) {
	level := logrus.FatalLevel // skiff reports errors itself
	if l != "" {
		if lv, err := logrus.ParseLevel(l); err == nil {
			level = lv
		}
	}
	logrus.SetLevel(level)
}

func imageCommands() []command {
	cmds := []command{
		{[]string{"import"}, importCommand},
		{[]string{"rmi"}, rmiCommand},
		{[]string{"tag"}, tagCommand},
		{[]string{"inspect"}, func() *cli.Command { return inspectCommand("inspect") }},
		{[]string{"image-inspect"}, func() *cli.Command { return inspectCommand("image-inspect") }},
		{[]string{"history"}, historyCommand},
		{[]string{"info"}, infoCommand},
		{[]string{"prune"}, pruneCommand},
		{[]string{"image"}, imageCommand},
		{[]string{"seccomp-compile"}, seccompCompileCommand},
		{[]string{"system"}, systemCommand},
		{[]string{"cp"}, cpCommand},
		{[]string{"cp-helper"}, cpHelperCommand},
		{[]string{"build", "image-build"}, buildCommand},
		{[]string{"builder"}, builderCommand},
		{[]string{"commit", "container-commit"}, commitCommand},
		{[]string{"diff", "container-diff"}, diffCommand},
		{[]string{"export", "container-export"}, exportCommand},
		{[]string{"completion"}, completionCommand},
		{[]string{"pull"}, pullCommand},
		{[]string{"push"}, pushCommand},
		{[]string{"save"}, saveCommand},
		{[]string{"load"}, loadCommand},
		{[]string{"login"}, loginCommand},
		{[]string{"logout"}, logoutCommand},
	}
	for _, c := range docsCommands {
		cmds = append(cmds, command{append([]string{c.Name}, c.Aliases...), func() *cli.Command { return c }})
	}
	return cmds
}

// docsCommands are the commands of the docs build (-tags skiff_docs: man.go's man-pages).
var docsCommands []*cli.Command

func compileSeccomp(p *rspec.LinuxSeccomp) ([]byte, error) { return bpf.Compile(p) }

// seccompCompileCommand compiles the profile on stdin (JSON) into BPF on stdout, for the lean
// skiff, which does not link libseccomp.
func seccompCompileCommand() *cli.Command {
	return &cli.Command{
		Name:   "seccomp-compile",
		Hidden: true,
		Action: func(c *cli.Context) error {
			b, err := io.ReadAll(os.Stdin)
			if err != nil {
				return err
			}
			var p rspec.LinuxSeccomp
			if err := json.Unmarshal(b, &p); err != nil {
				return fmt.Errorf("seccomp profile: %w", err)
			}
			prog, err := bpf.Compile(&p)
			if err != nil {
				return err
			}
			_, err = os.Stdout.Write(prog)
			return err
		},
	}
}

// openStore opens the store the global flags name.
func openStore(c *cli.Context) (*store.Store, error) {
	p, err := storePaths(c)
	if err != nil {
		return nil, err
	}
	return store.Open(p)
}

// openImage opens the store and finds the image the command's first argument names; the caller
// closes the store (it is closed here when the image is not found).
func openImage(c *cli.Context) (*store.Store, *store.Image, error) {
	st, err := openStore(c)
	if err != nil {
		return nil, nil, err
	}
	img, err := st.LookupImage(c.Args().First())
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, img, nil
}

// containerRecords are the records beside st, for the commands that must not delete an
// image a container uses.
func containerRecords(st *store.Store) *container.Records {
	return container.SweptRecords(st.Paths.GraphRoot)
}
