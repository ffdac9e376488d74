package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/skiff-project/skiff/pkg/container"
)

// healthFlags are run's and create's health check flags (docker's).
func healthFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "health-cmd", Usage: "the health check: a shell command, or a JSON array (run with skiff healthcheck run)"},
		&cli.DurationFlag{Name: "health-interval", Usage: "time between checks (default 30s)"},
		&cli.DurationFlag{Name: "health-timeout", Usage: "how long a check may take (default 30s)"},
		&cli.DurationFlag{Name: "health-start-period", Usage: "time after the start in which failures do not count"},
		&cli.IntFlag{Name: "health-retries", Usage: "failures in a row that make the container unhealthy (default 3)"},
		&cli.BoolFlag{Name: "no-healthcheck", Usage: "no health check, not even the image's"},
	}
}

// healthOptions reads healthFlags.
func healthOptions(c *cli.Context) container.HealthFlags {
	return container.HealthFlags{Cmd: c.String("health-cmd"), Interval: c.Duration("health-interval"), Timeout: c.Duration("health-timeout"),
		StartPeriod: c.Duration("health-start-period"), Retries: c.Int("health-retries"), None: c.Bool("no-healthcheck")}
}

func healthcheckCommand() *cli.Command {
	return &cli.Command{
		Name:  "healthcheck",
		Usage: "run a container's health check",
		Subcommands: []*cli.Command{{
			Name:      "run",
			Usage:     "run the health check once and record its result: exit 0 healthy, 1 not (yet) healthy",
			ArgsUsage: "CONTAINER",
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return &usageError{"skiff healthcheck run takes one container"}
				}
				paths, err := storePaths(c)
				if err != nil {
					return err
				}
				h, err := container.RunHealthcheck(paths, c.Args().First(), container.ExecOptions{Compile: compileSeccomp})
				if err != nil {
					return err
				}
				if h.Status != container.HealthHealthy {
					if h.Status == container.HealthUnhealthy {
						fmt.Println(h.Status)
					}
					return &silentExit{1}
				}
				return nil
			},
		}},
	}
}

// waitCondition is wait --condition: "" or a stopped condition waits for the exit code.
func waitCondition(c *cli.Context) (string, error) {
	cond := c.String("condition")
	switch cond {
	case "", "stopped", "exited", "not-running", "next-exit":
		return "", nil
	}
	if !slices.Contains(container.WaitConditions, cond) {
		return "", &usageError{fmt.Sprintf("invalid --condition %q: use %s", cond, strings.Join(container.WaitConditions, ", "))}
	}
	return cond, nil
}

// waitFor waits for a running or health condition of each container; podman prints -1.
func waitFor(c *cli.Context, cond string) error {
	paths, err := storePaths(c)
	if err != nil {
		return err
	}
	recs := container.OpenRecords(paths.GraphRoot)
	for _, ref := range c.Args().Slice() {
		if cond == "running" {
			err = recs.WaitRunning(ref)
		} else {
			err = container.WaitHealth(paths, ref, cond, container.ExecOptions{Compile: compileSeccomp})
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(os.Stdout, -1)
	}
	return nil
}
