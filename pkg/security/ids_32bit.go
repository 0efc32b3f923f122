//go:build 386 || arm

package security

import "golang.org/x/sys/unix"

// On 32-bit x86 and ARM the plain id syscalls take 16-bit ids; the *32
// ones take full ids.
const (
	sysSetgroups = unix.SYS_SETGROUPS32
	sysSetresgid = unix.SYS_SETRESGID32
	sysSetresuid = unix.SYS_SETRESUID32
)
