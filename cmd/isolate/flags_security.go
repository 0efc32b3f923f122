package main

import (
	"github.com/urfave/cli/v2"

	"github.com/isolate-sandbox/isolate/pkg/sandbox"
)

func securityFlags() []cli.Flag { return nil }

func applySecurityFlags(c *cli.Context, cfg *sandbox.Config) error { return nil }
