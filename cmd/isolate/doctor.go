package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/isolate-sandbox/isolate/pkg/doctor"
	"github.com/isolate-sandbox/isolate/pkg/hints"
)

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check whether isolate can run here, and say how to fix what is missing",
		Description: `Each line is one check: ✓ works, ! works with a fallback or without a
feature, ✗ blocks isolate; a "fix:" line under it is the command that fixes it.
Exit status: 0 every feature works, 1 isolate runs with fallbacks, 2 it cannot run.
To run a program named doctor: isolate -- doctor.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the checks as JSON"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return &hints.Error{What: "doctor takes no arguments", Hint: "to run a program named doctor: isolate -- doctor " + c.Args().First()}
			}
			r := doctor.Run(doctor.RealHost())
			if c.Bool("json") {
				if err := r.WriteJSON(os.Stdout); err != nil {
					return err
				}
			} else {
				r.WriteText(os.Stdout)
			}
			return exitStatus(r.Exit)
		},
	}
}

// exitStatus makes a subcommand exit with code without printing anything.
type exitStatus int

func (e exitStatus) Error() string { return "" }
