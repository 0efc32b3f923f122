package oci

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// unappliedPending: fields that another part of isolate (limits) will
// apply once it is converted here.
func unappliedPending(s *specs.Spec, out *Converted) {
	if len(s.Process.Rlimits) > 0 {
		out.warn("process.rlimits ignored")
	}
}
