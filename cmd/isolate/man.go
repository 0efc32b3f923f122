package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

//go:generate sh -c "go run . man > ../../docs/isolate.1"

// manCommand prints isolate(1), made from the same definitions as --help,
// so the page cannot drift from the flags (docs/isolate.1 is its output).
func manCommand() *cli.Command {
	return &cli.Command{
		Name:  "man",
		Usage: "print the manual page (roff): isolate man | man -l -",
		Action: func(c *cli.Context) error {
			page, err := manPage(c.App)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(c.App.Writer, page)
			return err
		},
	}
}

func manPage(app *cli.App) (string, error) {
	return app.ToManWithSection(1)
}
