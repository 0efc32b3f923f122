package oci

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// unapplied lists the config.json fields that isolate does not apply, each
// as one warning line: a container must never silently get less isolation
// or fewer limits than its config asks for.
func unapplied(s *specs.Spec, out *Converted) {
	w := out.warn
	if s.Process.ConsoleSize != nil && !s.Process.Terminal {
		w("process.consoleSize ignored: process.terminal is false")
	}
	if s.Process.ApparmorProfile != "" {
		w("process.apparmorProfile ignored: isolate does not load AppArmor profiles")
	}
	if s.Process.SelinuxLabel != "" {
		w("process.selinuxLabel ignored: isolate does not set SELinux labels")
	}
	if s.Process.IOPriority != nil {
		w("process.ioPriority ignored")
	}
	if s.Process.Scheduler != nil {
		w("process.scheduler ignored")
	}
	if s.Process.ExecCPUAffinity != nil {
		w("process.execCPUAffinity ignored")
	}
	if s.Domainname != "" {
		w("domainname ignored")
	}
	l := s.Linux
	if l.Resources != nil && !emptyResources(l.Resources) {
		w("linux.resources ignored: cgroup limits need a delegated cgroup v2 tree, which this host does not give")
	}
	if l.CgroupsPath != "" {
		w("linux.cgroupsPath %q ignored: the container stays in the caller's cgroup", l.CgroupsPath)
	}
	if l.MountLabel != "" {
		w("linux.mountLabel ignored: isolate does not set SELinux labels")
	}
	if l.IntelRdt != nil {
		w("linux.intelRdt ignored")
	}
	if l.Personality != nil {
		w("linux.personality ignored")
	}
	if l.TimeOffsets != nil {
		w("linux.timeOffsets ignored")
	}
	if l.MemoryPolicy != nil {
		w("linux.memoryPolicy ignored")
	}
	if len(l.NetDevices) > 0 {
		w("linux.netDevices ignored")
	}
}

// emptyResources: engines send an empty object, or only the device
// cgroup's default deny rules, which without cgroups have nothing to deny
// that a rootless container could use (it cannot create device nodes).
func emptyResources(r *specs.LinuxResources) bool {
	for _, d := range r.Devices {
		if d.Allow {
			return false
		}
	}
	return r.Memory == nil && r.CPU == nil && r.Pids == nil && r.BlockIO == nil &&
		len(r.HugepageLimits) == 0 && r.Network == nil && len(r.Rdma) == 0 && len(r.Unified) == 0
}
