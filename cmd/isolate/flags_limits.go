package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/sandbox"
)

func limitsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "ulimit", Usage: "resource limit `NAME=SOFT[:HARD]` inside, e.g. nofile=1024 (repeatable; NAME is " + strings.Join(sandbox.UlimitNames(), ", ") + "; \"unlimited\" for none)"},
		&cli.StringFlag{Name: "timeout", Usage: "kill the sandbox after `DURATION` (30s, 5m, or seconds) and exit with status 124, like timeout(1)"},
		&cli.StringFlag{Name: "memory", Aliases: []string{"m"}, Usage: "memory limit `SIZE` with unit b, k, m or g (cgroup v2 memory.max; needs a delegated cgroup)"},
		&cli.StringFlag{Name: "pids-limit", Usage: "at most `N` processes and threads (cgroup v2 pids.max; needs a delegated cgroup)"},
		&cli.StringFlag{Name: "cpus", Usage: "CPU time as a number of `CPUS`, e.g. 1.5 (cgroup v2 cpu.max; needs a delegated cgroup)"},
	}
}

func applyLimitsFlags(c *cli.Context, cfg *sandbox.Config) error {
	l := &cfg.Limits
	for _, s := range c.StringSlice("ulimit") {
		r, err := sandbox.ParseUlimit(s)
		if err != nil {
			return err
		}
		l.Rlimits = append(l.Rlimits, r)
	}
	var err error
	if s := c.String("timeout"); c.IsSet("timeout") {
		if l.Timeout, err = sandbox.ParseTimeout(s); err != nil {
			return err
		}
	}
	if s := c.String("memory"); c.IsSet("memory") {
		if l.Memory, err = sandbox.ParseMemory(s); err != nil {
			return err
		}
	}
	if s := c.String("pids-limit"); c.IsSet("pids-limit") {
		n, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil || n <= 0 {
			return &hints.Error{What: "--pids-limit " + s, Why: errors.New("want a number of processes above zero")}
		}
		l.PidsLimit = n
	}
	if s := c.String("cpus"); c.IsSet("cpus") {
		if l.CPUs, err = sandbox.ParseCPUs(s); err != nil {
			return err
		}
	}
	return nil
}
