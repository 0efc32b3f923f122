package sandbox

import (
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/security"
)

// SecurityConfig is the privileges: capabilities, seccomp, Landlock.
// The command line fills CapAdd, CapDrop, Seccomp and Landlock; validate
// resolves them into Caps and SeccompProfile, which an OCI config.json
// may also set directly (then they are taken as they are).
type SecurityConfig struct {
	CapAdd  []string `json:"capAdd,omitempty"`
	CapDrop []string `json:"capDrop,omitempty"`
	// Caps, when set, are the program's capability sets as given (OCI).
	Caps *specs.LinuxCapabilities `json:"caps,omitempty"`

	// Seccomp is "" (the default profile), "unconfined", or a profile file.
	Seccomp string `json:"seccomp,omitempty"`
	// SeccompProfile is the resolved profile; nil with Seccomp
	// "unconfined". It stays in the parent: the child gets SeccompFilter.
	SeccompProfile *specs.LinuxSeccomp `json:"-"`
	// SeccompFilter is SeccompProfile compiled (compileFilter), which is
	// all the child loads. It travels in a datagram of its own
	// (encodeConfig), announced by SeccompInsns and SeccompFlags.
	SeccompFilter *security.Program `json:"-"`
	SeccompInsns  int               `json:"seccompInsns,omitempty"`
	SeccompFlags  uint              `json:"seccompFlags,omitempty"`

	// Landlock is "auto" (the default: used when the kernel has it),
	// "on" (required) or "off".
	Landlock string `json:"landlock,omitempty"`

	// AllowNewPrivs: no no_new_privs (OCI "noNewPrivileges": false).
	AllowNewPrivs bool `json:"allowNewPrivs,omitempty"`

	// Verbose prints notices about protections the kernel cannot give.
	Verbose bool `json:"verbose,omitempty"`
}

// SeccompUnconfined is the --seccomp value that loads no filter.
const SeccompUnconfined = "unconfined"

func (c *SecurityConfig) validate() error {
	switch c.Landlock {
	case "":
		c.Landlock = "auto"
	case "auto", "on", "off":
	default:
		return &hints.Error{What: "--landlock " + c.Landlock, Why: fmt.Errorf("want auto, on or off")}
	}
	bounding, err := c.bounding()
	if err != nil {
		return err
	}
	if c.Seccomp == SeccompUnconfined {
		c.SeccompProfile, c.SeccompFilter = nil, nil
		return nil
	}
	if c.SeccompProfile == nil && c.Seccomp == "" {
		if prog, ok := security.DefaultFilter(bounding); ok {
			c.SeccompFilter = prog // compiled at build time
			return nil
		}
	}
	ownDefault := false
	if c.SeccompProfile == nil {
		ownDefault = c.Seccomp == ""
		p := security.DefaultProfile()
		if c.Seccomp != "" {
			data, err := os.ReadFile(c.Seccomp)
			if err != nil {
				return &hints.Error{What: "--seccomp " + c.Seccomp, Why: unwrapPath(err), Hint: hints.SeccompProfile}
			}
			if p, err = security.ParseProfile(data); err != nil {
				return &hints.Error{What: "--seccomp " + c.Seccomp, Why: err, Hint: hints.SeccompProfile}
			}
		}
		var uts unix.Utsname
		unix.Uname(&uts)
		kernel, _ := security.ParseKernelRelease(unix.ByteSliceToString(uts.Release[:]))
		c.SeccompProfile = p.Resolve(bounding, kernel)
	}
	if ownDefault {
		// isolate's own profile (its unit tests compile it): compiled
		// by compileFilter while the child waits for its ids.
		return nil
	}
	// Compiled here, so that a profile the filter compiler refuses is a
	// set-up error before anything starts.
	return c.compileFilter()
}

// compileFilter compiles SeccompProfile into SeccompFilter, once.
func (c *SecurityConfig) compileFilter() error {
	if c.SeccompProfile == nil || c.SeccompFilter != nil {
		return nil
	}
	prog, err := security.Compile(c.SeccompProfile)
	if err != nil {
		what := "seccomp profile"
		if c.Seccomp != "" {
			what = "--seccomp " + c.Seccomp
		}
		return &hints.Error{What: what, Why: err}
	}
	c.SeccompFilter = prog
	return nil
}

// bounding is the capability set of the sandbox (for root: every set but
// ambient; for another user: the bounding set only).
func (c *SecurityConfig) bounding() (security.CapSet, error) {
	if c.Caps != nil {
		s, err := security.CapsFromNames(c.Caps.Bounding)
		if err != nil {
			return 0, &hints.Error{What: "capabilities.bounding", Why: err, Hint: hints.CapabilityNames}
		}
		return s, nil
	}
	s, err := security.ResolveCaps(security.DefaultCaps, c.CapAdd, c.CapDrop)
	var ce *security.CapError
	if errors.As(err, &ce) {
		return 0, &hints.Error{What: ce.Flag + " " + ce.Name, Why: ce.Err, Hint: hints.CapabilityNames}
	}
	if err != nil {
		return 0, err
	}
	return s, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
