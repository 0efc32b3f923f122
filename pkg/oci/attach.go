package oci

import (
	"io"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// attachTerminal copies between isolate's own terminal and the
// container's pty for `isolate run` without --console-socket: the host
// terminal goes raw so that keys reach the container unchanged, and its
// size follows SIGWINCH. stop restores the terminal.
func attachTerminal(master, in, out *os.File) (stop func()) {
	var saved *unix.Termios
	if t, err := unix.IoctlGetTermios(int(in.Fd()), unix.TCGETS); err == nil {
		saved = t
		raw := *t
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Oflag &^= unix.OPOST
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		unix.IoctlSetTermios(int(in.Fd()), unix.TCSETS, &raw)
	}
	resize := func() {
		if ws, err := unix.IoctlGetWinsize(int(in.Fd()), unix.TIOCGWINSZ); err == nil {
			unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws)
		}
	}
	resize()
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	go func() {
		for range winch {
			resize()
		}
	}()
	go io.Copy(master, in)
	copied := make(chan struct{})
	go func() { io.Copy(out, master); close(copied) }()
	return func() {
		// The slave is closed by the container's exit: drain the rest.
		<-copied
		signal.Stop(winch)
		if saved != nil {
			unix.IoctlSetTermios(int(in.Fd()), unix.TCSETS, saved)
		}
		master.Close()
	}
}
