package hints

import (
	"errors"
	"syscall"
)

// Filesystem hints (package mounts, --rootfs, --volume, --overlay).
const (
	Rootfs       = "--rootfs takes a directory holding an extracted root filesystem (e.g. from: docker export, debootstrap, an Alpine minirootfs tarball)"
	HostViewDest = "in the host view isolate creates nothing on the host: create the directory first, or mount under /tmp, which is private to the sandbox"
	symlinkHint  = "the root filesystem must have a real directory there: a symlink could send the mount outside the root, so isolate refuses it"
	overlayHint  = "kernel overlayfs in a user namespace needs Linux 5.11 or later; elsewhere install fuse-overlayfs (apt-get install fuse-overlayfs) and make /dev/fuse usable"
)

// Mount explains a failed mount step by its error.
func Mount(proc bool, err error) string {
	var sym symlinkError
	var ovl overlayError
	switch {
	case errors.As(err, &sym):
		return symlinkHint
	case errors.As(err, &ovl):
		return overlayHint
	case proc:
		return ProcMount(err)
	case errors.Is(err, syscall.ENOENT):
		return "check that the path exists inside the sandbox"
	case errors.Is(err, syscall.EACCES):
		return "the host's permissions apply: the calling user must be able to read the source"
	}
	return ""
}

// The mount errors are recognised by their methods, so that this package
// stays a leaf that imports nothing of isolate's.
type symlinkError interface{ SymlinkTarget() string }
type overlayError interface{ OverlayRefused() }
