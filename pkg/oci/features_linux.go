package oci

import (
	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/isolate-sandbox/isolate/pkg/security"
)

// mountOptions are the options a config.json mount may carry that isolate
// acts on (sandbox.kernelMount and the filesystem plan).
func mountOptions() []string {
	return []string{"bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "relatime", "strictatime", "noatime", "sync", "dirsync"}
}

// capabilities are the names package security accepts.
func capabilities() []string { return security.CapNames() }

// seccompFeatures: isolate's own BPF compiler (package security).
func seccompFeatures() *features.Seccomp {
	yes := true
	return &features.Seccomp{
		Enabled:   &yes,
		Actions:   []string{"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"},
		Operators: []string{"SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ"},
		Archs:     []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"},
	}
}
