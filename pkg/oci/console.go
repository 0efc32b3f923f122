package oci

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// openPty returns a new pty's master and slave. The slave comes from
// TIOCGPTPEER on the master (Linux 4.13), not from a path in /dev/pts
// that someone could swap.
func openPty(size *specs.Box) (master, slave *os.File, err error) {
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, &hints.Error{What: "open /dev/ptmx", Why: err}
	}
	master = os.NewFile(uintptr(m), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, &hints.Error{What: "unlock pty (TIOCSPTLCK)", Why: err}
	}
	s, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(m), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		master.Close()
		return nil, nil, &hints.Error{What: "open pty slave (TIOCGPTPEER)", Why: errno}
	}
	slave = os.NewFile(s, "pty-slave")
	if size != nil {
		unix.IoctlSetWinsize(m, unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(size.Height), Col: uint16(size.Width)})
	}
	return master, slave, nil
}

// sendConsole hands the pty master to the engine over the unix socket it
// gave with --console-socket (SCM_RIGHTS), as runc does. Plain syscalls,
// not package net: that would link the C resolver, and isolate must stay
// a static binary that runs inside any root filesystem (the --ulimit
// trampoline re-executes it there).
func sendConsole(path string, master *os.File) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return &hints.Error{What: "--console-socket " + path + ": socket", Why: err}
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return &hints.Error{What: "--console-socket " + path, Why: err}
	}
	if err := unix.Sendmsg(fd, []byte(master.Name()), unix.UnixRights(int(master.Fd())), nil, 0); err != nil {
		return &hints.Error{What: "send the pty to --console-socket " + path, Why: err}
	}
	return nil
}
