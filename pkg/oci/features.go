package oci

import (
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// Features is the runtime-spec features document (features.md): what
// isolate recognises in config.json.
func Features() features.Features {
	no := false
	return features.Features{
		OCIVersionMin: MinVersion,
		OCIVersionMax: MaxVersion,
		Hooks:         []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
		MountOptions:  mountOptions(),
		Linux: &features.Linux{
			Namespaces:   []string{"cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time"},
			Capabilities: capabilities(),
			Cgroup:       &features.Cgroup{V1: &no, V2: &no, Systemd: &no, SystemdUser: &no},
			Seccomp:      seccompFeatures(),
			Apparmor:     &features.Apparmor{Enabled: &no},
			Selinux:      &features.Selinux{Enabled: &no},
		},
		Annotations: map[string]string{"io.github.isolate-sandbox.isolate.version": Version},
	}
}

// Version is isolate's version, set by the command.
var Version = "dev"
