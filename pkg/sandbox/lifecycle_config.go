package sandbox

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// OCIConfig is what an OCI bundle (config.json) adds to a Config for the
// create/start lifecycle. It is nil on the plain `isolate PROGRAM` path, so
// everything below changes nothing there.
type OCIConfig struct {
	ID     string `json:"id"`
	Bundle string `json:"bundle"`
	// Namespaces lists the namespaces to create (Path "") or to join (Path
	// set), as config.json's linux.namespaces does; the user namespace is
	// in it whenever one is created (also the automatic rootless one).
	Namespaces []specs.LinuxNamespace `json:"namespaces"`
	// Terminal: stdin, stdout and stderr are a pty slave that becomes the
	// controlling terminal.
	Terminal    bool       `json:"terminal,omitempty"`
	ConsoleSize *specs.Box `json:"consoleSize,omitempty"`
	// MaskedPaths and ReadonlyPaths are config.json's beyond the ones the
	// filesystem plan always masks (package mounts); KernelMounts are
	// config.json's mqueue, /dev/shm and /sys mounts, made (again) as it
	// describes them and in its order; RootfsPropagation is applied to the
	// new root. All after the filesystem plan, inside the new root.
	MaskedPaths       []string      `json:"maskedPaths,omitempty"`
	ReadonlyPaths     []string      `json:"readonlyPaths,omitempty"`
	KernelMounts      []specs.Mount `json:"kernelMounts,omitempty"`
	RootfsPropagation string        `json:"rootfsPropagation,omitempty"`
	// Devices are created with mknod(2) in the container's /dev (real root
	// without a user namespace only).
	Devices []specs.LinuxDevice `json:"devices,omitempty"`
	// Sysctl is written to /proc/sys inside, after the mounts.
	Sysctl map[string]string `json:"sysctl,omitempty"`
	// OOMScoreAdj is written to /proc/self/oom_score_adj.
	OOMScoreAdj *int `json:"oomScoreAdj,omitempty"`
	// CreateContainer and StartContainer hooks run inside the container's
	// namespaces; the others run on the host (package oci).
	CreateContainer []specs.Hook `json:"createContainer,omitempty"`
	StartContainer  []specs.Hook `json:"startContainer,omitempty"`
	// State is the runtime-spec state the child hooks read on stdin; the
	// parent fills it in once the container's pid is known.
	State []byte `json:"state,omitempty"`
}

// newNamespace reports whether the sandbox gets a new namespace of type t.
// The plain path creates every one.
func (c *Config) newNamespace(t specs.LinuxNamespaceType) bool {
	return c.OCI == nil || c.OCI.HasNew(t)
}

// HasNew reports whether the container gets a new namespace of type t.
func (o *OCIConfig) HasNew(t specs.LinuxNamespaceType) bool {
	for _, ns := range o.Namespaces {
		if ns.Type == t {
			return ns.Path == ""
		}
	}
	return false
}

// KnownNamespace reports whether t is a namespace type isolate can create.
func KnownNamespace(t specs.LinuxNamespaceType) bool {
	_, ok := nsFlags[t]
	return ok
}
