// Package sandbox runs a program in new namespaces: the parent side (Run),
// the child side (InitMain, the exec'd "isolate-init"), and the
// protocol between them (protocol.go).
package sandbox

import (
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// Config is one sandbox, built from the command line (or, later, from an OCI
// config.json) and validated before anything starts. It crosses to the child
// as JSON, so it holds only data.
type Config struct {
	// Process: what runs inside, as the OCI runtime spec names it.
	Args []string `json:"args"`
	Env  []string `json:"env"`
	Cwd  string   `json:"cwd"`
	// User is the uid/gid PROGRAM runs as inside the sandbox.
	User specs.User `json:"user"`

	Hostname string `json:"hostname"`

	// UIDMappings/GIDMappings are explicit maps (--uidmap/--gidmap); nil
	// means the default plan of package userns.
	UIDMappings []specs.LinuxIDMapping `json:"uidMappings,omitempty"`
	GIDMappings []specs.LinuxIDMapping `json:"gidMappings,omitempty"`

	// NoInit execs PROGRAM as PID 1 instead of under isolate's init.
	NoInit bool `json:"noInit,omitempty"`
	// TTY gives PROGRAM a pseudo-terminal joined to the user's (-t).
	TTY bool `json:"tty,omitempty"`
	// Quiet suppresses notices.
	Quiet bool `json:"quiet,omitempty"`

	// Each concern keeps its settings in its own file (config_*.go).
	Net      NetConfig      `json:"net"`
	FS       FSConfig       `json:"fs"`
	Security SecurityConfig `json:"security"`
	Limits   LimitsConfig   `json:"limits"`

	// OCI is set for containers of the OCI lifecycle (lifecycle_config.go).
	OCI *OCIConfig `json:"oci,omitempty"`

	// SetgroupsDeny is set by the parent when the id map was written with
	// setgroups denied: the child then must not call setgroups(2).
	SetgroupsDeny bool `json:"setgroupsDeny,omitempty"`

	// MapPending: the child exec'd before its ids were mapped, with
	// ambient capabilities (idPlan.prepare), and must wait for
	// "idmap-done" before it builds anything: until then its files would
	// belong to an unmapped id.
	MapPending bool `json:"mapPending,omitempty"`
}

// DefaultHostname is the assignment's: `hostname isolated`.
const DefaultHostname = "isolated"

// Validate checks what can be checked before any process starts.
func (c *Config) Validate() error {
	if len(c.Args) == 0 || c.Args[0] == "" {
		return &hints.Error{What: "no program given", Hint: "usage: isolate [OPTIONS] PROGRAM [ARGS...]; see isolate --help"}
	}
	// An OCI config may leave the host name alone (no "hostname" field).
	if c.OCI != nil && c.Hostname == "" {
	} else if err := validHostname(c.Hostname); err != nil {
		return &hints.Error{What: "--hostname " + c.Hostname, Why: err}
	}
	if c.Cwd != "" && !filepath.IsAbs(c.Cwd) {
		return &hints.Error{What: "--workdir " + c.Cwd, Why: fmt.Errorf("must be an absolute path")}
	}
	for _, e := range c.Env {
		if k, _, _ := strings.Cut(e, "="); k == "" || strings.ContainsRune(e, 0) {
			return &hints.Error{What: fmt.Sprintf("--env %q", e), Why: fmt.Errorf("want KEY=VALUE with a non-empty KEY and no NUL byte")}
		}
	}
	for _, a := range c.Args {
		if strings.ContainsRune(a, 0) {
			return &hints.Error{What: "argument contains a NUL byte"}
		}
	}
	for _, v := range []func() error{c.Net.validate, c.FS.validate, c.Security.validate, c.Limits.validate} {
		if err := v(); err != nil {
			return err
		}
	}
	return nil
}

// validHostname follows sethostname(2) (at most 64 bytes) and RFC 1123
// labels, which is what resolvers and shells expect.
func validHostname(h string) error {
	if h == "" {
		return fmt.Errorf("must not be empty")
	}
	if len(h) > 64 {
		return fmt.Errorf("%d bytes: the kernel allows at most 64", len(h))
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("not a valid host name (RFC 1123)")
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("not a valid host name: %q is not a letter, digit or '-'", r)
			}
		}
	}
	return nil
}

type specsMapping = specs.LinuxIDMapping
