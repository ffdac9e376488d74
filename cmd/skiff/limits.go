package main

import (
	"github.com/urfave/cli/v2"

	"github.com/skiff-project/skiff/pkg/cgroups"
)

// limitFlags are the resource limit flags of run and update (docker's names and units).
func limitFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "memory", Aliases: []string{"m"}, Usage: "memory limit (e.g. 512m, 2g)"},
		&cli.StringFlag{Name: "memory-swap", Usage: "memory and swap together (-1: no limit on swap)"},
		&cli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit"},
		&cli.BoolFlag{Name: "oom-kill-disable", Usage: "the kernel does not kill the container's processes when memory runs out"},
		&cli.StringFlag{Name: "cpus", Usage: "number of CPUs (e.g. 0.5)"},
		&cli.StringFlag{Name: "cpu-shares", Aliases: []string{"c"}, Usage: "CPU weight against other containers (default 1024)"},
		&cli.StringFlag{Name: "cpu-period", Usage: "CFS period in microseconds"},
		&cli.StringFlag{Name: "cpu-quota", Usage: "CFS quota in microseconds per period"},
		&cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs the container may use (e.g. 0-2,4)"},
		&cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes the container may use"},
		&cli.StringFlag{Name: "pids-limit", Usage: "most processes at once (-1: no limit)"},
		&cli.StringFlag{Name: "blkio-weight", Usage: "block I/O weight, 10 to 1000"},
		&cli.StringSliceFlag{Name: "device-read-bps", Usage: "read rate limit of a block device: DEVICE:RATE (e.g. /dev/sda:1mb)"},
		&cli.StringSliceFlag{Name: "device-write-bps", Usage: "write rate limit of a block device: DEVICE:RATE (e.g. /dev/sda:1mb)"},
		&cli.StringSliceFlag{Name: "device-read-iops", Usage: "read operations per second of a block device: DEVICE:RATE"},
		&cli.StringSliceFlag{Name: "device-write-iops", Usage: "write operations per second of a block device: DEVICE:RATE"},
	}
}

// cgroupFlags are run's flags for where the container's cgroup goes.
func cgroupFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "cgroups", Value: "enabled", Usage: "enabled (a cgroup of its own when it has limits), disabled, or split (a cgroup of its own below skiff's)"},
		&cli.StringFlag{Name: "cgroup-parent", Usage: "the cgroup under which the container's goes (default /skiff, rootless /skiff/USER)"},
	}
}

// parseLimits reads limitFlags; a bad value is a usage error.
func parseLimits(c *cli.Context) (cgroups.Limits, error) {
	l, err := cgroups.Parse(cgroups.Flags{Memory: c.String("memory"), MemorySwap: c.String("memory-swap"),
		MemoryReservation: c.String("memory-reservation"), OOMKillDisable: c.Bool("oom-kill-disable"),
		CPUs: c.String("cpus"), CPUShares: c.String("cpu-shares"), CPUPeriod: c.String("cpu-period"), CPUQuota: c.String("cpu-quota"),
		CpusetCpus: c.String("cpuset-cpus"), CpusetMems: c.String("cpuset-mems"), PidsLimit: c.String("pids-limit"),
		BlkioWeight: c.String("blkio-weight"), DeviceReadBps: c.StringSlice("device-read-bps"), DeviceWriteBps: c.StringSlice("device-write-bps"),
		DeviceReadIOps: c.StringSlice("device-read-iops"), DeviceWriteIOps: c.StringSlice("device-write-iops")})
	if err != nil {
		return l, &usageError{err.Error()}
	}
	return l, nil
}

// updateCommand is docker's update: new limits for containers, live while they run.
func updateCommand() *cli.Command {
	return &cli.Command{
		Name:                   "update",
		Usage:                  "change the resource limits of containers (live while they run)",
		ArgsUsage:              "CONTAINER...",
		UseShortOptionHandling: true,
		Flags:                  limitFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return &usageError{"skiff update needs at least one container: skiff update [OPTIONS] CONTAINER..."}
			}
			l, err := parseLimits(c)
			if err != nil {
				return err
			}
			if !l.Any() {
				return &usageError{"skiff update needs a limit to change, such as --memory 64m or --cpus 0.5"}
			}
			recs, err := openRecords(c)
			if err != nil {
				return err
			}
			return removeEach(c.Args().Slice(), false, func(ref string) ([]string, error) {
				_, err := recs.Update(ref, l)
				return []string{ref}, err
			})
		},
	}
}
