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
	// SeccompProfile is the resolved filter; nil with Seccomp "unconfined".
	SeccompProfile *specs.LinuxSeccomp `json:"seccompProfile,omitempty"`

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
		c.SeccompProfile = nil
		return nil
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
		return nil // isolate's own profile: its unit tests compile it
	}
	// Compile once here, so that a profile the filter compiler refuses is
	// a set-up error before anything starts.
	if _, err := security.Compile(c.SeccompProfile); err != nil {
		what := "seccomp profile"
		if c.Seccomp != "" {
			what = "--seccomp " + c.Seccomp
		}
		return &hints.Error{What: what, Why: err}
	}
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
