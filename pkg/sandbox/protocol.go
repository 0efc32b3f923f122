package sandbox

// The parent/child protocol. One SOCK_SEQPACKET socketpair joins the isolate
// process on the host (the parent) and the sandbox's first process (the
// child, argv[0] "isolate-init"), which the child holds as fd 3. Every
// message is one JSON datagram, so no framing is needed and a short read is
// impossible.
//
//	parent                                     child (in all new namespaces)
//	  | clone(CLONE_NEWUSER|NEWNS|NEWPID|...)      not exec'd yet: blocks in a
//	  |------------------------------------------>  raw read(2) (spawn.go)
//	  | newuidmap/newgidmap PID ... (or direct)
//	  |-- idmap-done ----------------------------> execs isolate-init, which
//	  |                                              runs as root inside, with
//	  |                                              full capabilities
//	  |-- config --------------------------------> hostname, mounts, /proc, lo
//	  | network helpers (slirp4netns/pasta)
//	  |-- start ---------------------------------> drops privileges
//	  |<------------------------------ running --  PROGRAM started (init), or
//	  |<------------------------------ exec -----  about to execve (--no-init)
//	  |<------------------------------ error ----  any failure, with its hint
//	  |<------------------------------ created --  OCI create: waits on the exec fifo for `start`
//	  | forwards signals, waits                    PID 1: reaps, forwards
//
// The child never trusts more than this order: each step reads exactly the
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
	msgIDMapDone msgType = "idmap-done" // parent → child: ids are mapped; exec the init (read raw, before execve)
	msgConfig    msgType = "config"     // parent → child: the sandbox to build
	msgStart     msgType = "start"      // parent → child: the network is ready; start PROGRAM
	msgRunning   msgType = "running"    // child → parent: PROGRAM runs under isolate's init
	msgExec      msgType = "exec"       // child → parent: about to execve PROGRAM as PID 1 (--no-init)
	msgError     msgType = "error"      // child → parent: setup failed; the child exits next
	msgTerminal  msgType = "terminal"   // child → parent (-t): the pty master, as SCM_RIGHTS, before running/exec
	msgCreated   msgType = "created"    // child → parent (OCI create): ready; waits on the exec fifo (lifecycle.go)
)

// message is the one datagram shape.
type message struct {
	Type   msgType    `json:"type"`
	Config *Config    `json:"config,omitempty"`
	Error  *wireError `json:"error,omitempty"`
	// fd is a descriptor that came with the message (SCM_RIGHTS), or -1.
	fd int
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

// sendFd sends m with a descriptor attached (SCM_RIGHTS, unix(7)).
func (c *channel) sendFd(m message, fd int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return unix.Sendmsg(int(c.f.Fd()), b, unix.UnixRights(fd), nil, 0)
}

// recv reads one message; io.EOF means the other side is gone.
func (c *channel) recv() (message, error) { return c.recvFlags(0) }

// queuedError returns the error the child sent before it exited, if one is
// waiting in the socket; it never blocks. A failure seen on the parent's
// side (a broken pipe, a network helper that lost its namespace) is then
// reported with the child's own reason.
func (c *channel) queuedError() error {
	m, err := c.recvFlags(unix.MSG_DONTWAIT)
	if err != nil || m.Type != msgError || m.Error == nil {
		return nil
	}
	return m.Error.toError()
}

func (c *channel) recvFlags(flags int) (message, error) {
	buf := make([]byte, maxMessage)
	oob := make([]byte, unix.CmsgSpace(4))
	fd := int(c.f.Fd())
	flags |= unix.MSG_CMSG_CLOEXEC
	n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, flags)
	if errors.Is(err, unix.ECONNRESET) {
		// The peer closed with messages of ours unread (a child that failed
		// before reading "start"): the kernel reports that once, and what
		// the peer sent before, its error, is still queued behind it.
		n, oobn, _, _, err = unix.Recvmsg(fd, buf, oob, flags)
	}
	if err != nil {
		return message{}, err
	}
	if n == 0 {
		return message{}, io.EOF
	}
	m := message{fd: -1}
	if oobn > 0 {
		if fds, err := parseRights(oob[:oobn]); err == nil && len(fds) > 0 {
			m.fd = fds[0]
			for _, extra := range fds[1:] {
				unix.Close(extra)
			}
		}
	}
	if err := json.Unmarshal(buf[:n], &m); err != nil {
		if m.fd >= 0 {
			unix.Close(m.fd)
		}
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

func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		if f, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, f...)
		}
	}
	return fds, nil
}
