package slirpnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rootless-containers/rootlesskit/v2/pkg/port"
	"github.com/rootless-containers/rootlesskit/v2/pkg/port/builtin"
	"github.com/rootless-containers/rootlesskit/v2/pkg/port/builtin/opaque"
	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// The builtin port driver's two sides meet in a directory that both can
// reach by path: rootlesskit puts a FIFO (the child's "ready") and a unix
// socket (one request per published connection) there. isolate keeps that
// directory off the host: it is the root of a tmpfs that the sandbox's init
// makes with fsmount and never attaches, held open at fd BuiltinStateFd.
// The init reaches it as /proc/self/fd/N, isolate on the host as
// /proc/PID/fd/N (allowed: the init runs as the user, in a user namespace
// the user owns, proc(5) "ptrace access mode"). When the sandbox ends the
// tmpfs goes with it, even after a SIGKILL.
//
// Once the socket exists the tmpfs is made read-only, so a program inside
// that reaches it through /proc/1/fd cannot plant a symlink for isolate to
// follow on the host: the mount is in no namespace, so it cannot be
// remounted writable either (mount_setattr(2) wants an attached mount).

// BuiltinStateFd is the init's fd of the driver's directory. High enough
// that nothing in a freshly exec'd Go program uses it.
const BuiltinStateFd = 101

// MakeStateDir makes the driver's directory at BuiltinStateFd, in the
// sandbox's init, before the program starts (a tmpfs mounted nowhere).
func MakeStateDir() error {
	if _, err := unix.FcntlInt(BuiltinStateFd, unix.F_GETFD, 0); err == nil {
		return &hints.Error{What: "port driver", Why: fmt.Errorf("fd %d is already in use", BuiltinStateFd)}
	}
	mfd, err := detachedTmpfs("mode=0700,size=16k,nr_inodes=16", unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(mfd)
	if err := unix.Dup3(mfd, BuiltinStateFd, unix.O_CLOEXEC); err != nil {
		return &hints.Error{What: "port driver: dup3", Why: err}
	}
	return nil
}

// StartBuiltinChild runs the child side of rootlesskit's builtin driver in
// this process (isolate's init, inside the network namespace) and returns
// once the parent can connect. It must be called after MakeStateDir and
// before the program starts, and the process must stay alive as long as
// the sandbox (the init does).
func StartBuiltinChild(timeout time.Duration) error {
	dir := "/proc/self/fd/" + strconv.Itoa(BuiltinStateFd)
	op := map[string]string{
		opaque.SocketPath:         dir + "/.bp.sock",
		opaque.ChildReadyPipePath: dir + "/.bp-ready.pipe",
	}
	// The parent makes the FIFO once it sees the directory; rootlesskit's
	// child opens it without waiting.
	deadline := time.Now().Add(timeout)
	if err := waitFor(BuiltinStateFd, ".bp-ready.pipe", unix.S_IFIFO, deadline); err != nil {
		return err
	}
	failed := make(chan error, 1)
	go func() {
		// Runs for the life of the init; an error before the socket exists
		// is reported below, a later one only ends port forwarding.
		failed <- builtin.NewChildDriver(io.Discard).RunChildDriver(op, nil, "")
	}()
	for {
		if isType(BuiltinStateFd, ".bp.sock", unix.S_IFSOCK) {
			break
		}
		select {
		case err := <-failed:
			return &hints.Error{What: "port driver (inside)", Why: err}
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			return &hints.Error{What: "port driver (inside)", Why: errors.New("isolate did not connect in time")}
		}
	}
	if err := unix.MountSetattr(BuiltinStateFd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
		return &hints.Error{What: "port driver: make its directory read-only (mount_setattr)", Why: err}
	}
	return nil
}

func isType(dirfd int, name string, typ uint32) bool {
	var st unix.Stat_t
	return unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == typ
}

// waitFor polls until name in dirfd has type typ. The other side is
// another process on another clock; the bound only avoids a hang.
func waitFor(dirfd int, name string, typ uint32, deadline time.Time) error {
	for !isType(dirfd, name, typ) {
		if time.Now().After(deadline) {
			return &hints.Error{What: "port driver (inside)", Why: fmt.Errorf("isolate did not create %s in time", name)}
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// waitStateDir waits until the sandbox's init has made its state
// directory and returns the host's path of it.
func waitStateDir(pid int, alive func() bool, timeout time.Duration) (string, error) {
	dir := fmt.Sprintf("/proc/%d/fd/%d", pid, BuiltinStateFd)
	deadline := time.Now().Add(timeout)
	for {
		// The fd is a tmpfs root made by the init, not something else that
		// happens to sit at that number.
		var st unix.Stat_t
		var sfs unix.Statfs_t
		if unix.Stat(dir, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR &&
			unix.Statfs(dir, &sfs) == nil && sfs.Type == unix.TMPFS_MAGIC {
			return dir, nil
		}
		if !alive() {
			return "", errChildGone
		}
		if time.Now().After(deadline) {
			return "", errors.New("the sandbox did not make its port driver directory in time")
		}
		time.Sleep(time.Millisecond)
	}
}

// startBuiltinParent is the host side: it waits for the init's directory,
// then runs rootlesskit's builtin parent driver on it.
func startBuiltinParent(pid int, alive func() bool, timeout time.Duration) (port.ParentDriver, func(), error) {
	dir, err := waitStateDir(pid, alive, timeout)
	if err != nil {
		return nil, nil, err
	}
	d, err := builtin.NewParentDriver(driverLog{}, dir)
	if err != nil {
		return nil, nil, err
	}
	quit := make(chan struct{})
	ready := make(chan struct{})
	failed := make(chan error, 1)
	go func() { failed <- d.RunParentDriver(ready, quit, nil) }()
	select {
	case <-ready:
	case err := <-failed:
		return nil, nil, err
	case <-time.After(timeout):
		close(quit)
		return nil, nil, errors.New("the sandbox's side of the port driver did not answer in time")
	}
	return d, func() { close(quit) }, nil
}

var errChildGone = errors.New("the sandbox exited")

// addPorts publishes ports through d; childIP is where they land inside.
func addPorts(d port.ParentDriver, ports []Port, childIP string) error {
	for _, p := range ports {
		spec := port.Spec{Proto: p.Proto + ipVersion(p.HostIP), ParentIP: p.HostIP, ParentPort: p.HostPort, ChildPort: p.ContainerPort, ChildIP: childIP}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := d.AddPort(ctx, spec)
		cancel()
		if err != nil {
			return PublishError(p, err)
		}
	}
	return nil
}

func ipVersion(ip string) string {
	for i := 0; i < len(ip); i++ {
		if ip[i] == ':' {
			return "6"
		}
	}
	return "4"
}

// PublishError explains a port that cannot be published.
func PublishError(p Port, err error) error {
	h := ""
	if errors.Is(err, unix.EADDRINUSE) || containsText(err, "address already in use") {
		h = fmt.Sprintf("another program listens on %s port %d: stop it or publish another host port (-p OTHER:%d)", p.Proto, p.HostPort, p.ContainerPort)
		err = unix.EADDRINUSE
	} else if errors.Is(err, unix.EACCES) || containsText(err, "permission denied") {
		h = hints.PrivilegedPort(p.HostPort)
		err = unix.EACCES
	} else if errors.Is(err, unix.EADDRNOTAVAIL) || containsText(err, "assign requested address") {
		h = "HOSTIP must be an address of this host (ip -brief address)"
		err = unix.EADDRNOTAVAIL
	}
	return &hints.Error{What: "--publish " + p.String(), Why: err, Hint: h}
}

func containsText(err error, s string) bool {
	return err != nil && strings.Contains(err.Error(), s)
}

// processAlive reports whether pid still runs (and is not a zombie).
func processAlive(pid int) func() bool {
	return func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return false
		}
		// The state follows the ")" that ends the command name.
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] == ')' {
				return i+2 < len(b) && b[i+2] != 'Z'
			}
		}
		return false
	}
}

// driverLog passes the port driver's messages on as isolate's: a
// connection that cannot be forwarded is worth a line on stderr.
type driverLog struct{}

func (driverLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	// A failed listen is returned by AddPort and reported once, as the
	// error of --publish.
	if msg != "" && !strings.HasPrefix(msg, "listen: ") {
		fmt.Fprintf(os.Stderr, "isolate: port driver: %s\n", msg)
	}
	return len(p), nil
}
