//go:build !skiff_image && !skiff_pull

package main

// int skiff_lean_dispatch = 1; // see pkg/userns/enter/enter.c: dispatch
import "C"

import (
	"os"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/skiff-project/skiff/pkg/config"
)

// pullAction hands a pull to skiff-pull (enter.c's dispatch normally did so before Go started).
func pullAction(*cli.Context) error {
	p, err := config.Libexec("skiff-pull", "SKIFF_PULL_HELPER")
	if err != nil {
		return err
	}
	return syscall.Exec(p, os.Args, os.Environ())
}
