// Package mounts builds what the sandboxed program sees of the filesystem.
// It runs inside the sandbox's new user and mount namespaces.
//
// It has two halves:
//
//   - The plan (plan.go) is pure: Build turns a Spec (the user's options)
//     into an ordered list of Steps: capture, mount, bind, set attributes,
//     pivot_root. It makes no system call, so it is table-tested without
//     root, and the order of operations is reviewed in one place.
//   - The applier (apply.go) runs the Steps through a Mounter. The real one
//     (sys_linux.go) uses the new mount API (open_tree, fsopen/fsmount,
//     move_mount, mount_setattr) and resolves every target with openat2
//     RESOLVE_IN_ROOT, so a symlink planted in a root filesystem can never
//     send a mount outside of it; tests use a recording fake.
//
// Hook for other concerns: Spec.ExtraFiles (content written into a private
// tmpfs and bound read-only onto a path) and Spec.ExtraBinds (host files or
// directories) are applied after the root filesystem, /proc, /dev, /sys,
// /tmp and the user's volumes are in place, and before the masked paths and
// pivot_root. The network code fills them for /etc/resolv.conf, /etc/hosts
// and /etc/hostname.
//
// Not for: anything on the host side. The host's mount table is never
// touched: every mount here happens in the sandbox's private mount
// namespace, after propagation has been made private.
package mounts
