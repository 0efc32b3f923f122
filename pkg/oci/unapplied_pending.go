package oci

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// unappliedPending: fields that other parts of isolate (filesystem,
// security, limits) will apply once they are converted here.
func unappliedPending(s *specs.Spec, out *Converted) {
	w := out.warn
	w("root.path %s NOT applied: the program sees the host's filesystem (isolate's rootfs support is not merged yet)", out.Rootfs)
	if s.Root.Readonly {
		w("root.readonly ignored")
	}
	if len(s.Mounts) > 0 {
		w("mounts ignored (%d entries)", len(s.Mounts))
	}
	p := s.Process
	if p.Capabilities != nil {
		w("process.capabilities ignored: the program keeps every capability of the container's user namespace")
	}
	if p.NoNewPrivileges {
		w("process.noNewPrivileges ignored")
	}
	if len(p.Rlimits) > 0 {
		w("process.rlimits ignored")
	}
	l := s.Linux
	if l.Seccomp != nil {
		w("linux.seccomp ignored")
	}
	if len(l.MaskedPaths) > 0 {
		w("linux.maskedPaths ignored")
	}
	if len(l.ReadonlyPaths) > 0 {
		w("linux.readonlyPaths ignored")
	}
	if l.RootfsPropagation != "" {
		w("linux.rootfsPropagation ignored")
	}
}
