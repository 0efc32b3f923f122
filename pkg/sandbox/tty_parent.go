package sandbox

import (
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// checkTerminal refuses -t when there is no terminal to connect.
func checkTerminal(cfg *Config) error {
	if !cfg.TTY {
		return nil
	}
	if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err != nil {
		return &hints.Error{What: "--tty", Why: errNoTerminal, Hint: hints.NoTerminal}
	}
	return nil
}

var errNoTerminal = errorString("standard input is not a terminal")

type errorString string

func (e errorString) Error() string { return string(e) }

// terminal joins the user's terminal to the sandbox's pty: the user's side
// in raw mode, so every key (Ctrl-C, Ctrl-Z included) reaches the pty, whose
// own line discipline turns them into signals for the foreground job inside.
type terminal struct {
	master  *os.File
	saved   *unix.Termios
	outDone chan struct{}
	once    sync.Once
}

func startTerminal(masterFd int) (*terminal, error) {
	t := &terminal{master: os.NewFile(uintptr(masterFd), "pty-master"), outDone: make(chan struct{})}
	saved, err := unix.IoctlGetTermios(0, unix.TCGETS)
	if err != nil {
		t.master.Close()
		return nil, &hints.Error{What: "--tty", Why: errNoTerminal, Hint: hints.NoTerminal}
	}
	raw := *saved
	// cfmakeraw(3)
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(0, unix.TCSETS, &raw); err != nil {
		t.master.Close()
		return nil, &hints.Error{What: "--tty: raw mode", Why: err}
	}
	t.saved = saved
	t.resize()
	go func() {
		// Ends with EIO once every slave descriptor is closed, i.e. when
		// the sandbox's processes are gone.
		io.Copy(os.Stdout, t.master)
		close(t.outDone)
	}()
	// Stays blocked on the user's terminal until isolate exits.
	go io.Copy(t.master, os.Stdin)
	return t, nil
}

// resize copies the user's window size to the pty; the kernel then sends
// SIGWINCH to the pty's foreground process group (tty_ioctl(4)).
func (t *terminal) resize() {
	if ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ); err == nil {
		unix.IoctlSetWinsize(int(t.master.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// close waits for the last output, then gives the user's terminal back
// as it was. It runs on every way out of Run.
func (t *terminal) close() {
	if t == nil {
		return
	}
	t.once.Do(func() {
		select {
		case <-t.outDone:
		case <-time.After(2 * time.Second):
			// Only a process outside the sandbox could still hold the
			// slave; the user must get the terminal back regardless.
		}
		unix.IoctlSetTermios(0, unix.TCSETS, t.saved)
	})
}
