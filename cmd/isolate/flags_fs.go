package main

import (
	"github.com/urfave/cli/v2"

	"github.com/isolate-sandbox/isolate/pkg/sandbox"
)

func fsFlags() []cli.Flag { return nil }

func applyFsFlags(c *cli.Context, cfg *sandbox.Config) error { return nil }
