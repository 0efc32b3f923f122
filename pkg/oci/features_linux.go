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
func capabilities() []string {
	var names []string
	for _, n := range []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
		"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
		"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
		"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
		"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
		"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
		"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
		"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
		"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
		"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
		"CAP_CHECKPOINT_RESTORE",
	} {
		if _, err := security.CapsFromNames([]string{n}); err == nil {
			names = append(names, n)
		}
	}
	return names
}

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
