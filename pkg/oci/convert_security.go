package oci

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/isolate-sandbox/isolate/pkg/sandbox"
	"github.com/isolate-sandbox/isolate/pkg/security"
)

// convertSecurity takes process.capabilities and linux.seccomp as they
// are (package security applies them, as for `isolate PROGRAM`).
func convertSecurity(file string, s *specs.Spec, cfg *sandbox.Config, out *Converted) error {
	caps := s.Process.Capabilities
	if caps == nil {
		// No field: no capabilities (runtime-spec config.md).
		caps = &specs.LinuxCapabilities{}
	}
	for _, set := range []struct {
		name  string
		names []string
	}{{"bounding", caps.Bounding}, {"effective", caps.Effective}, {"inheritable", caps.Inheritable},
		{"permitted", caps.Permitted}, {"ambient", caps.Ambient}} {
		if _, err := security.CapsFromNames(set.names); err != nil {
			return fieldError(file, "process.capabilities."+set.name, "%v", err)
		}
	}
	// The kernel raises an ambient capability only when it is both
	// permitted and inheritable (capabilities(7), PR_CAP_AMBIENT_RAISE);
	// `crun spec --rootless` lists ambient ones with an empty inheritable
	// set, and crun and runc then leave them out. So does isolate, saying so.
	if len(caps.Ambient) > 0 {
		in := map[string]bool{}
		for _, n := range caps.Inheritable {
			in[n] = true
		}
		perm := map[string]bool{}
		for _, n := range caps.Permitted {
			perm[n] = true
		}
		var keep, dropped []string
		for _, n := range caps.Ambient {
			if in[n] && perm[n] {
				keep = append(keep, n)
			} else {
				dropped = append(dropped, n)
			}
		}
		if len(dropped) > 0 {
			out.warn("process.capabilities.ambient: %v left out: an ambient capability must also be permitted and inheritable", dropped)
			c := *caps
			c.Ambient = keep
			caps = &c
		}
	}
	cfg.Security.Caps = caps
	if s.Linux.Seccomp == nil {
		cfg.Security.Seccomp = sandbox.SeccompUnconfined
	} else {
		prog, err := security.Compile(s.Linux.Seccomp)
		if err != nil {
			return fieldError(file, "linux.seccomp", "%v", err)
		}
		// Compiled once, here, where an error can name the field; the
		// sandbox sends this filter as it is (SecurityConfig.compileFilter).
		cfg.Security.SeccompProfile, cfg.Security.SeccompFilter = s.Linux.Seccomp, prog
	}
	// Landlock is isolate's own second layer for `isolate PROGRAM`; a
	// config.json cannot express it, and an image writes where it likes.
	cfg.Security.Landlock = "off"
	cfg.Security.AllowNewPrivs = !s.Process.NoNewPrivileges
	if s.Process.User.Username != "" {
		out.warn("process.user.username %q ignored: isolate runs process.user.uid/gid", s.Process.User.Username)
	}
	return nil
}
