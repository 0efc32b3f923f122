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
	"github.com/isolate-sandbox/isolate/pkg/security"
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
	b, err := encode(m)
	if err != nil {
		return err
	}
	return c.sendEncoded(b)
}

// encode is send's first half, for a message prepared ahead of its time.
func encode(m message) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(b) > maxMessage {
		return nil, fmt.Errorf("%s message is %d bytes, more than %d", m.Type, len(b), maxMessage)
	}
	return b, nil
}

// sendEncoded sends a message from encode.
func (c *channel) sendEncoded(b []byte) error {
	_, err := c.f.Write(b)
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
	oob := make([]byte, unix.CmsgSpace(4))
	buf, n, oobn, err := c.recvDatagram(oob, flags)
	if err != nil {
		return message{}, err
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

// recvDatagram reads one datagram into a buffer of its size, and its
// control message into oob. io.EOF means the other side is gone.
func (c *channel) recvDatagram(oob []byte, flags int) (buf []byte, n, oobn int, err error) {
	fd := int(c.f.Fd())
	flags |= unix.MSG_CMSG_CLOEXEC
	for retried := false; ; retried = true {
		// MSG_PEEK|MSG_TRUNC gives the datagram's length (recv(2), SEQPACKET
		// since Linux 3.4) without taking it or any descriptor it carries:
		// the buffer is as large as the message, not maxMessage for each.
		n, _, err = unix.Recvfrom(fd, nil, flags|unix.MSG_PEEK|unix.MSG_TRUNC)
		if err == nil && n > 0 {
			buf = make([]byte, min(n, maxMessage))
			n, oobn, _, _, err = unix.Recvmsg(fd, buf, oob, flags)
		}
		// ECONNRESET: the peer closed with messages of ours unread (a child
		// that failed before reading "start"): the kernel reports that
		// once, and what the peer sent before, its error, is still queued
		// behind it.
		if !errors.Is(err, unix.ECONNRESET) || retried {
			break
		}
	}
	if err != nil {
		return nil, 0, 0, err
	}
	if n == 0 {
		return nil, 0, 0, io.EOF
	}
	return buf, n, oobn, nil
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

// The configuration is the config message and, when the sandbox has a
// seccomp filter, the compiled filter as raw bytes in the next datagram
// (security.Program.MarshalBinary): a thousand instructions inside the JSON
// cost the child's cold JSON decoder about half a millisecond.

// encodeConfig compiles what the child would otherwise compile itself and
// encodes the configuration's datagrams.
func encodeConfig(cfg *Config) ([][]byte, error) {
	sc := &cfg.Security
	if err := sc.compileFilter(); err != nil {
		return nil, err
	}
	var filter []byte
	sc.SeccompInsns, sc.SeccompFlags = 0, 0
	if sc.SeccompFilter != nil {
		filter, _ = sc.SeccompFilter.MarshalBinary()
		sc.SeccompInsns, sc.SeccompFlags = len(sc.SeccompFilter.Insns), sc.SeccompFilter.Flags
	}
	conf, err := encode(message{Type: msgConfig, Config: cfg})
	if err != nil || filter == nil {
		return [][]byte{conf}, err
	}
	return [][]byte{conf, filter}, nil
}

func (c *channel) sendAll(datagrams [][]byte) error {
	for _, b := range datagrams {
		if err := c.sendEncoded(b); err != nil {
			return err
		}
	}
	return nil
}

// recvConfig reads what encodeConfig made.
func (c *channel) recvConfig() (*Config, error) {
	m, err := c.expect(msgConfig)
	if err != nil {
		return nil, err
	}
	cfg := m.Config
	if cfg == nil {
		return nil, fmt.Errorf("protocol: config message without a config")
	}
	sc := &cfg.Security
	if sc.SeccompInsns == 0 {
		return cfg, nil
	}
	b, n, _, err := c.recvDatagram(nil, 0)
	if err != nil {
		return nil, fmt.Errorf("waiting for the seccomp filter: %w", err)
	}
	p := &security.Program{Flags: sc.SeccompFlags}
	if err := p.UnmarshalBinary(b[:n]); err != nil {
		return nil, err
	}
	if len(p.Insns) != sc.SeccompInsns {
		return nil, fmt.Errorf("protocol: seccomp filter of %d instructions, announced %d", len(p.Insns), sc.SeccompInsns)
	}
	sc.SeccompFilter = p
	return cfg, nil
}
