//go:build !386 && !arm

package security

import "golang.org/x/sys/unix"

// The id syscalls that take 32-bit ids.
const (
	sysSetgroups = unix.SYS_SETGROUPS
	sysSetresgid = unix.SYS_SETRESGID
	sysSetresuid = unix.SYS_SETRESUID
)
