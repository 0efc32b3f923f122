package oci

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// The container's pty is made inside it, in its own devpts (package
// sandbox, setupConsole), and its master travels over a unix socket: the
// engine's --console-socket, or for `isolate run` in the foreground a
// socketpair whose other end isolate reads. Plain syscalls, not package
// net: that would link the C resolver, and isolate must stay a static
// binary that runs inside any root filesystem (the --ulimit trampoline
// re-executes it there).

// connectConsole connects to the engine's console socket.
func connectConsole(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, &hints.Error{What: "--console-socket " + path + ": socket", Why: err}
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, &hints.Error{What: "--console-socket " + path, Why: err}
	}
	return os.NewFile(uintptr(fd), "console-socket"), nil
}

// consolePair is a socketpair: the child's end, and ours to receive on.
func consolePair() (child, ours *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, &hints.Error{What: "console socketpair", Why: err}
	}
	return os.NewFile(uintptr(fds[0]), "console-child"), os.NewFile(uintptr(fds[1]), "console"), nil
}

// receiveMaster reads the pty master the container sent.
func receiveMaster(f *os.File) (*os.File, error) {
	buf, oob := make([]byte, 64), make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(f.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, &hints.Error{What: "receive the container's pty", Why: err}
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err == nil && len(msgs) == 1 {
		var fds []int
		if fds, err = unix.ParseUnixRights(&msgs[0]); err == nil && len(fds) == 1 {
			return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
		}
	}
	return nil, &hints.Error{What: "receive the container's pty", Why: errors.New("no file descriptor in the message")}
}
