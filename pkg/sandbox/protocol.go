package sandbox

// The parent/child protocol. One SOCK_SEQPACKET socketpair joins the isolate
// process on the host (the parent) and the sandbox's first process (the
// child, argv[0] "isolate-init"), which the child holds as fd 3. Every
// message is one JSON datagram, so no framing is needed and a short read is
// impossible.
//
//	parent                                     child (in all new namespaces)
//	  | clone(CLONE_NEWUSER|NEWNS|NEWPID|...)      stage 1: no id map yet, so
//	  |------------------------------------------>  no capabilities; waits
//	  | newuidmap/newgidmap PID ... (or direct)
//	  |-- idmap-done ----------------------------> re-execs itself (stage 2):
//	  |-- config --------------------------------> the exec after the map
//	  |                                              grants full capabilities
//	  | network helpers (slirp4netns/pasta)        hostname, mounts, /proc, lo
//	  |-- start ---------------------------------> drops privileges
//	  |<------------------------------ running --  PROGRAM started (init), or
//	  |<------------------------------ exec -----  about to execve (--no-init)
//	  |<------------------------------ error ----  any failure, with its hint
//	  | forwards signals, waits                    PID 1: reaps, forwards
//
// The child never trusts more than this order: each stage reads exactly the
// message it expects and reports anything else as a protocol error. If the
// parent dies the child reads EOF and exits; if the child dies the parent
// reads EOF and reports "child exited with status N before <step>".

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

type msgType string

const (
	msgIDMapDone msgType = "idmap-done" // parent → child: ids are mapped; re-exec to gain capabilities
	msgConfig    msgType = "config"     // parent → child: the sandbox to build
	msgStart     msgType = "start"      // parent → child: the network is ready; start PROGRAM
	msgRunning   msgType = "running"    // child → parent: PROGRAM runs under isolate's init
	msgExec      msgType = "exec"       // child → parent: about to execve PROGRAM as PID 1 (--no-init)
	msgError     msgType = "error"      // child → parent: setup failed; the child exits next
)

// message is the one datagram shape.
type message struct {
	Type   msgType    `json:"type"`
	Config *Config    `json:"config,omitempty"`
	Error  *wireError `json:"error,omitempty"`
}

// wireError carries a hints.Error across the process boundary.
type wireError struct {
	What string `json:"what"`
	Why  string `json:"why,omitempty"`
	Hint string `json:"hint,omitempty"`
	Code int    `json:"code,omitempty"`
}

func toWire(err error) *wireError {
	var he *hints.Error
	if errors.As(err, &he) {
		w := &wireError{What: he.What, Hint: he.Hint, Code: he.Code}
		if he.Why != nil {
			w.Why = he.Why.Error()
		}
		return w
	}
	return &wireError{What: err.Error()}
}

func (w *wireError) toError() error {
	e := &hints.Error{What: w.What, Hint: w.Hint, Code: w.Code}
	if w.Why != "" {
		e.Why = errors.New(w.Why)
	}
	return e
}

// maxMessage bounds one datagram; a Config with a long environment fits.
const maxMessage = 1 << 20

// channel is one end of the socketpair.
type channel struct{ f *os.File }

func newSocketPair() (parent, child *channel, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return &channel{os.NewFile(uintptr(fds[0]), "isolate-parent")},
		&channel{os.NewFile(uintptr(fds[1]), "isolate-child")}, nil
}

func (c *channel) send(m message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if len(b) > maxMessage {
		return fmt.Errorf("%s message is %d bytes, more than %d", m.Type, len(b), maxMessage)
	}
	_, err = c.f.Write(b)
	return err
}

// recv reads one message; io.EOF means the other side is gone.
func (c *channel) recv() (message, error) {
	buf := make([]byte, maxMessage)
	n, err := c.f.Read(buf)
	if errors.Is(err, unix.ECONNRESET) {
		// The peer closed with messages of ours unread (a child that failed
		// before reading "start"): the kernel reports that once, and what
		// the peer sent before, its error, is still queued behind it.
		n, err = c.f.Read(buf)
	}
	if err != nil {
		return message{}, err
	}
	if n == 0 {
		return message{}, io.EOF
	}
	var m message
	if err := json.Unmarshal(buf[:n], &m); err != nil {
		return message{}, fmt.Errorf("bad message: %w", err)
	}
	return m, nil
}

// expect reads the next message and checks its type ("expected X, received Y").
func (c *channel) expect(t msgType) (message, error) {
	m, err := c.recv()
	if err != nil {
		return m, fmt.Errorf("waiting for %s: %w", t, err)
	}
	if m.Type != t {
		return m, fmt.Errorf("protocol: expected %s, received %s", t, m.Type)
	}
	return m, nil
}

func (c *channel) Close() error { return c.f.Close() }
