package main

import (
	"testing"

	"github.com/isolate-sandbox/isolate/pkg/sandbox"
)

// parse runs the command line through the real app and returns the Config
// the sandbox would get.
func parse(t *testing.T, args ...string) (*sandbox.Config, error) {
	t.Helper()
	var got *sandbox.Config
	app := newApp(func(cfg *sandbox.Config) error { got = cfg; return nil })
	err := app.Run(append([]string{"isolate"}, args...))
	return got, err
}
