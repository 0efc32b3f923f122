package oci

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/isolate-sandbox/isolate/pkg/mounts"
	"github.com/isolate-sandbox/isolate/pkg/sandbox"
)

// convertFS maps root, mounts, masked and read-only paths and the root's
// propagation onto the filesystem plan of package mounts (the one
// `isolate --rootfs` uses). That plan always gives the container a fresh
// /proc, a tmpfs /dev with the host's null, zero, full, random, urandom and
// tty, a new devpts, /dev/shm, a read-only /sys and a private /tmp, and
// masks runc's paths; config.json's entries for those are taken as
// satisfied by it.
func convertFS(file, bundle string, s *specs.Spec, cfg *sandbox.Config, out *Converted) error {
	cfg.FS.Spec = mounts.Spec{Rootfs: out.Rootfs, ReadOnly: s.Root.Readonly}
	// The plan mounts in its own fixed order. From config.json's first
	// mount that isolate makes itself on top of the plan's (mqueue,
	// /dev/shm, /sys), every later mount is made or attached again, so
	// that the mount table lists them in config.json's order.
	replayFrom := len(s.Mounts)
	for i, m := range s.Mounts {
		if remade(m) {
			replayFrom = i
			break
		}
	}
	for i, m := range s.Mounts {
		field := fmt.Sprintf("mounts[%d]", i)
		dst := m.Destination
		if !filepath.IsAbs(dst) {
			return fieldError(file, field+".destination", "%q must be an absolute path", dst)
		}
		if slices.Contains(strings.Split(dst, "/"), "..") {
			return fieldError(file, field+".destination", "%q must not contain ..", dst)
		}
		dst = path.Clean(dst)
		bind := m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
		ro := slices.Contains(m.Options, "ro")
		if i >= replayFrom && (bind || m.Type == "tmpfs" || remade(m)) {
			m.Destination = dst
			cfg.OCI.KernelMounts = append(cfg.OCI.KernelMounts, m)
		}
		switch {
		case remade(m):
			// Only in the replay above.
		case bind:
			src := m.Source
			if src == "" {
				return fieldError(file, field+".source", "a bind mount needs a source")
			}
			if !filepath.IsAbs(src) {
				src = filepath.Join(bundle, src)
			}
			// Always recursive (rbind): a plain bind of a directory would
			// show what lies under its submounts, which rbind covers.
			cfg.FS.Volumes = append(cfg.FS.Volumes, mounts.Volume{Source: src, Dest: dst, ReadOnly: ro})
		case kernelMount(m.Type, dst):
			// Made by the plan (see above).
		case m.Type == "tmpfs":
			t := mounts.Tmpfs{Dest: dst, ReadOnly: ro, NoExec: slices.Contains(m.Options, "noexec")}
			for _, o := range m.Options {
				if k, _, ok := strings.Cut(o, "="); ok && (k == "size" || k == "mode" || k == "nr_inodes") {
					t.Options = append(t.Options, o)
				}
			}
			cfg.FS.Tmpfs = append(cfg.FS.Tmpfs, t)
		case m.Type == "cgroup" || m.Type == "cgroup2":
			out.warn("%s: cgroup mount on %s ignored: isolate manages no cgroups", field, dst)
		default:
			out.warn("%s: %s mount on %s ignored: isolate mounts binds, tmpfs and mqueue (and makes /proc, /dev, /dev/pts, /dev/shm, /sys itself)", field, m.Type, dst)
		}
	}
	for _, p := range s.Linux.MaskedPaths {
		if !slices.Contains(mounts.MaskedPaths, p) {
			cfg.OCI.MaskedPaths = append(cfg.OCI.MaskedPaths, p)
		}
	}
	for _, p := range s.Linux.ReadonlyPaths {
		if !slices.Contains(mounts.ReadOnlyPaths, p) {
			cfg.OCI.ReadonlyPaths = append(cfg.OCI.ReadonlyPaths, p)
		}
	}
	for i, p := range append(append([]string{}, cfg.OCI.MaskedPaths...), cfg.OCI.ReadonlyPaths...) {
		if !filepath.IsAbs(p) {
			return fieldError(file, "linux.maskedPaths/readonlyPaths", "entry %d, %q, must be an absolute path", i, p)
		}
	}
	switch s.Linux.RootfsPropagation {
	case "", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable":
		cfg.OCI.RootfsPropagation = s.Linux.RootfsPropagation
	default:
		return fieldError(file, "linux.rootfsPropagation", "%q: want private, slave, shared or unbindable (optionally with r)", s.Linux.RootfsPropagation)
	}
	return nil
}

// remade: mounted by isolate on top of the plan's, as config.json gives
// them (sandbox.kernelMount): their source and options are the config's.
func remade(m specs.Mount) bool {
	dst := path.Clean(m.Destination)
	bind := m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
	return m.Type == "mqueue" || dst == "/sys" && (m.Type == "sysfs" || bind) || dst == "/dev/shm" && m.Type == "tmpfs"
}

// kernelMount: the plan always makes these.
func kernelMount(typ, dst string) bool {
	switch dst {
	case "/proc":
		return typ == "proc"
	case "/dev", "/dev/shm", "/tmp":
		return typ == "tmpfs"
	case "/dev/pts":
		return typ == "devpts"
	case "/sys":
		return typ == "sysfs"
	}
	return false
}
