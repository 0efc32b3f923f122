package sandbox

import (
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

func TestErrorsCrossTheSocketWithHintAndCode(t *testing.T) {
	p, c, err := newSocketPair()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sent := &hints.Error{What: "nosuch", Why: syscall.ENOENT, Hint: "check PATH", Code: hints.ExitNotFound}
	if err := c.send(message{Type: msgError, Error: toWire(sent)}); err != nil {
		t.Fatal(err)
	}
	m, err := p.recv()
	if err != nil || m.Type != msgError {
		t.Fatalf("recv = %+v, %v", m, err)
	}
	got := m.Error.toError()
	if got.Error() != "nosuch: no such file or directory" || hints.ExitCode(got) != 127 || hints.Hint(got) != "check PATH" {
		t.Errorf("received %v (code %d, hint %q)", got, hints.ExitCode(got), hints.Hint(got))
	}
	c.Close()
	if _, err := p.recv(); !errors.Is(err, io.EOF) {
		t.Errorf("after the peer closed: %v, want EOF", err)
	}
}

func TestExpectReportsProtocolDrift(t *testing.T) {
	p, c, _ := newSocketPair()
	defer p.Close()
	defer c.Close()
	p.send(message{Type: msgStart})
	_, err := c.expect(msgConfig)
	if err == nil || !strings.Contains(err.Error(), "expected config, received start") {
		t.Errorf("err = %v", err)
	}
}

func TestQueuedErrorNeverBlocks(t *testing.T) {
	p, c, _ := newSocketPair()
	defer p.Close()
	if err := p.queuedError(); err != nil {
		t.Fatalf("nothing queued, got %v", err)
	}
	c.send(message{Type: msgError, Error: toWire(&hints.Error{What: "mount proc", Why: syscall.EPERM})})
	c.Close()
	if err := p.queuedError(); err == nil || err.Error() != "mount proc: operation not permitted" {
		t.Errorf("queued error = %v", err)
	}
}
