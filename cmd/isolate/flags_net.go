package main

import (
	"github.com/urfave/cli/v2"

	"github.com/isolate-sandbox/isolate/pkg/sandbox"
)

func netFlags() []cli.Flag { return nil }

func applyNetFlags(c *cli.Context, cfg *sandbox.Config) error { return nil }
