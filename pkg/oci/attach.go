package oci

import (
	"io"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/term"
)

// attachTerminal copies between isolate's own terminal and the
// container's pty for `isolate run` without --console-socket: the host
// terminal goes raw so that keys reach the container unchanged, and its
// size follows SIGWINCH. stop restores the terminal.
func attachTerminal(master, in, out *os.File) (stop func()) {
	saved, _ := term.MakeRaw(int(in.Fd())) // nil when in is not a terminal
	resize := func() { term.CopySize(int(in.Fd()), int(master.Fd())) }
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
		term.Restore(int(in.Fd()), saved)
		master.Close()
	}
}
