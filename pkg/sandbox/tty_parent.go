package sandbox

import (
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/term"
)

// checkTerminal refuses -t when there is no terminal to connect.
func checkTerminal(cfg *Config) error {
	if !cfg.TTY {
		return nil
	}
	if !term.IsTerminal(0) {
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
	saved, err := term.MakeRaw(0)
	if err != nil {
		t.master.Close()
		return nil, &hints.Error{What: "--tty: raw mode", Why: err, Hint: hints.NoTerminal}
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

// resize copies the user's window size to the pty.
func (t *terminal) resize() { term.CopySize(0, int(t.master.Fd())) }

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
		term.Restore(0, t.saved)
	})
}
