// Command securebits runs a program as another user with securebits set,
// as a service manager can (systemd's SecureBits=): a test helper for
// isolate's integration tests, run as root.
//
//	securebits BITS UID GID PROGRAM [ARGS...]
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 5 {
		fail(fmt.Errorf("usage: securebits BITS UID GID PROGRAM [ARGS...]"))
	}
	var n [3]int
	for i := range n {
		v, err := strconv.Atoi(os.Args[1+i])
		if err != nil {
			fail(err)
		}
		n[i] = v
	}
	// Securebits survive the change of ids and execve (capabilities(7)),
	// and only a process with CAP_SETPCAP can clear them again.
	if err := unix.Prctl(unix.PR_SET_SECUREBITS, uintptr(n[0]), 0, 0, 0); err != nil {
		fail(fmt.Errorf("PR_SET_SECUREBITS: %w", err))
	}
	if err := syscall.Setgroups(nil); err != nil {
		fail(err)
	}
	if err := syscall.Setgid(n[2]); err != nil {
		fail(err)
	}
	if err := syscall.Setuid(n[1]); err != nil {
		fail(err)
	}
	fail(syscall.Exec(os.Args[4], os.Args[4:], os.Environ()))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "securebits:", err)
	os.Exit(2)
}
