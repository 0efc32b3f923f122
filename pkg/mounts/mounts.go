// Package mounts is the child side of the filesystem: it runs inside the
// sandbox's new mount namespace and builds what the program sees.
package mounts

import (
	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// Setup makes the mount namespace private and mounts a /proc for the new pid
// namespace (the assignment's step 5,6: `mount -t proc proc /proc`).
func Setup() error {
	// A mount namespace created by an unprivileged user starts with its
	// mounts as slaves of the host's (mount_namespaces(7)); private also
	// stops the host's later mounts from appearing inside.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return &hints.Error{What: "make / private (MS_REC|MS_PRIVATE)", Why: err}
	}
	// Without a new /proc the program would see the host's processes.
	// procfs may be mounted in a user namespace only when the namespace
	// owns the pid namespace and a full /proc is already visible
	// (mount_too_revealing in fs/namespace.c).
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return &hints.Error{What: "mount proc on /proc (MS_NOSUID|MS_NODEV|MS_NOEXEC)", Why: err, Hint: hints.ProcMount(err)}
	}
	return nil
}
