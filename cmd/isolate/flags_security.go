package main

import (
	"github.com/urfave/cli/v2"

	"github.com/isolate-sandbox/isolate/pkg/sandbox"
)

func securityFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "cap-add", Usage: "give PROGRAM this capability too (NET_ADMIN or CAP_NET_ADMIN, ALL; repeatable)"},
		&cli.StringSliceFlag{Name: "cap-drop", Usage: "take this capability from PROGRAM (ALL for every one; repeatable)"},
		&cli.StringFlag{Name: "seccomp", Usage: "seccomp profile: a docker/OCI JSON file, or \"unconfined\" (default: isolate's, like docker's)"},
		&cli.StringFlag{Name: "landlock", Value: "auto", Usage: "limit writes with Landlock to the writable paths: auto (when the kernel has it), on (required), off"},
		&cli.BoolFlag{Name: "verbose", Usage: "also print notices about protections this kernel cannot give"},
	}
}

func applySecurityFlags(c *cli.Context, cfg *sandbox.Config) error {
	cfg.Security = sandbox.SecurityConfig{
		CapAdd:   c.StringSlice("cap-add"),
		CapDrop:  c.StringSlice("cap-drop"),
		Seccomp:  c.String("seccomp"),
		Landlock: c.String("landlock"),
		Verbose:  c.Bool("verbose"),
	}
	return nil
}
