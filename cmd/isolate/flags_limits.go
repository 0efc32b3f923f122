package main

import (
	"github.com/urfave/cli/v2"

	"github.com/isolate-sandbox/isolate/pkg/sandbox"
)

func limitsFlags() []cli.Flag { return nil }

func applyLimitsFlags(c *cli.Context, cfg *sandbox.Config) error { return nil }
