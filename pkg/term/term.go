// Package term puts the user's terminal in raw mode and back, and copies its
// window size to a pseudo-terminal. It is the host side of isolate -t and of
// `isolate run` with a console; the pty itself is made inside the sandbox.
package term

import "golang.org/x/sys/unix"

// MakeRaw switches fd to raw mode as cfmakeraw(3) does, so every key,
// Ctrl-C and Ctrl-Z included, goes through as a byte to the pty, whose own
// line discipline then signals the foreground job inside. It returns the
// settings to restore.
func MakeRaw(fd int) (*unix.Termios, error) {
	saved, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	raw := *saved
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, err
	}
	return saved, nil
}

// Restore gives fd back its saved settings.
func Restore(fd int, saved *unix.Termios) error {
	if saved == nil {
		return nil
	}
	return unix.IoctlSetTermios(fd, unix.TCSETS, saved)
}

// IsTerminal reports whether fd is a terminal.
func IsTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// CopySize gives the pty master the window size of the terminal from; the
// kernel then sends SIGWINCH to the pty's foreground process group
// (tty_ioctl(4), TIOCSWINSZ).
func CopySize(from, master int) {
	if ws, err := unix.IoctlGetWinsize(from, unix.TIOCGWINSZ); err == nil {
		unix.IoctlSetWinsize(master, unix.TIOCSWINSZ, ws)
	}
}
