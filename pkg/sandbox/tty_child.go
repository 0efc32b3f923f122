package sandbox

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// pty is a pseudo-terminal made inside the sandbox.
type pty struct {
	master, slave int
	name          string // /dev/pts/N inside the sandbox
}

// openPTY makes a pty in the sandbox's own devpts instance (mounted with
// newinstance by package mounts), so the program's terminal belongs to the
// sandbox and not to the host's /dev/pts. The slave is owned by the
// program's user, as login(1) arranges.
func openPTY(uid, gid uint32, size *unix.Winsize) (*pty, error) {
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	fail := func(what string, err error) (*pty, error) {
		unix.Close(master)
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fail("unlock the pty (TIOCSPTLCK)", err)
	}
	n, err := unix.IoctlGetUint32(master, unix.TIOCGPTN)
	if err != nil {
		return fail("pty number (TIOCGPTN)", err)
	}
	// TIOCGPTPEER (Linux 4.13) opens the slave of this very master, not
	// whatever a path in /dev/pts names by now.
	s, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		return fail("open the pty slave (TIOCGPTPEER)", errno)
	}
	p := &pty{master: master, slave: int(s), name: fmt.Sprintf("/dev/pts/%d", n)}
	if size != nil {
		unix.IoctlSetWinsize(master, unix.TIOCSWINSZ, size)
	}
	if err := unix.Fchown(p.slave, int(uid), int(gid)); err != nil {
		unix.Close(p.slave)
		return fail("chown the pty slave", err)
	}
	return p, nil
}

// giveTerminal makes a pty for PROGRAM (-t) and sends its master to the
// parent, which connects it to the user's terminal.
func giveTerminal(ch *channel, cfg *Config) (*pty, error) {
	p, err := openPTY(cfg.User.UID, cfg.User.GID, nil)
	if err != nil {
		return nil, &hints.Error{What: "--tty", Why: err}
	}
	err = ch.sendFd(message{Type: msgTerminal}, p.master)
	unix.Close(p.master)
	if err != nil {
		unix.Close(p.slave)
		return nil, &hints.Error{What: "--tty: send the terminal to isolate", Why: err}
	}
	return p, nil
}

// takeTerminal puts the pty slave on this process's stdio and makes it the
// controlling terminal (--no-init: this process leads its own session).
func takeTerminal(p *pty, setting string) error {
	for _, fd := range []int{0, 1, 2} {
		if err := unix.Dup3(p.slave, fd, 0); err != nil {
			return &hints.Error{What: fmt.Sprintf("%s: dup the pty slave to fd %d", setting, fd), Why: err}
		}
	}
	unix.Close(p.slave)
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return &hints.Error{What: setting + ": make the pty the controlling terminal (TIOCSCTTY)", Why: err}
	}
	return nil
}
