package oci

import "github.com/opencontainers/runtime-spec/specs-go/features"

// Filled in as the filesystem and security parts are converted.
func mountOptions() []string             { return nil }
func capabilities() []string             { return nil }
func seccompFeatures() *features.Seccomp { no := false; return &features.Seccomp{Enabled: &no} }
