package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

const (
	// initArg0 is the child's whole argv: the kernel shows it in ps.
	initArg0 = "isolate-init"
	// childFd is the child's end of the control socket (spawnAttr.files[3]).
	childFd = 3
)

// The child is dispatched from this package's init, not from main: Go
// initializes packages in import-path order as soon as their imports are
// (the spec's "Package initialization"), so this runs before the packages
// only the command line needs (urfave/cli and its man-page renderer, whose
// regexps and tables cost about 0.5 ms of CPU).
// main's own IsInit check stays for programs that import this package late.
func init() {
	if IsInit() {
		InitMain()
	}
}

// IsInit reports whether this process is a sandbox child; main must call
// InitMain before anything else when it is (runc's init.go does the same).
func IsInit() bool {
	return isLimitsExec() || len(os.Args) == 1 && os.Args[0] == initArg0
}

// InitMain is the child's entry point. It never returns.
func InitMain() {
	// Namespaces, credentials and the parent-death signal are per thread
	// for the kernel; the Go scheduler must not move this goroutine.
	runtime.LockOSThread()
	if isLimitsExec() {
		execWithLimits() // the --ulimit trampoline (child_limits.go)
	}
	// A control socket that is not one: someone ran "isolate-init" by hand.
	if _, err := unix.GetsockoptInt(childFd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil {
		fmt.Fprintln(os.Stderr, "isolate: isolate-init is isolate's internal sandbox entry and is not run by hand")
		os.Exit(hints.ExitSetup)
	}
	// The fd was inherited without close-on-exec; from here no exec may
	// carry it further (CVE-2024-21626 is a leaked fd reaching the program).
	unix.CloseOnExec(childFd)
	ch := &channel{os.NewFile(childFd, "isolate-child")}
	err := runChild(ch)
	// Only failures return. After an OCI create the parent is gone: the
	// container's stderr is then the only place left to say it.
	if ch.send(message{Type: msgError, Error: toWire(err)}) != nil {
		hints.Print(err)
	}
	os.Exit(hints.ExitCode(err))
}

// runChild builds the sandbox and starts the program, as root of the new
// namespaces: mapped before its execve (spawn.go), or privileged through
// ambient capabilities and mapped while it reads its configuration
// (Config.MapPending).
func runChild(ch *channel) error {
	// The exec cleared the parent-death signal: arm it again, then read
	// from the parent, which fails with EOF if it died before this line.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return &hints.Error{What: "prctl(PR_SET_PDEATHSIG)", Why: err}
	}
	// Exec'd as /proc/self/exe, the kernel names it "exe"; ps should say
	// what it is.
	unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&[]byte(initArg0 + "\x00")[0])), 0, 0, 0)
	// The init's signals (os/signal: a thread of its own and a round trip
	// per signal, about 1 ms here) are subscribed while the child waits
	// for its configuration and its map. With --no-init they are
	// subscribed for nothing: the program's execve resets them.
	waitSigs := subscribeAsync(32, append([]os.Signal{unix.SIGCHLD}, ForwardedSignals...)...)
	cfg, err := ch.recvConfig()
	if err == nil && cfg.MapPending {
		if _, err = ch.expect(msgIDMapDone); err == nil {
			err = clearAmbient()
		}
	}
	if err != nil {
		if isEOF(err) {
			os.Exit(hints.ExitSetup)
		}
		return &hints.Error{What: "sandbox init", Why: err}
	}
	if err := enterOCI(cfg); err != nil {
		return err
	}
	if err := setup(cfg); err != nil {
		return err
	}
	if _, err := ch.expect(msgStart); err != nil {
		if isEOF(err) {
			os.Exit(hints.ExitSetup)
		}
		return &hints.Error{What: "sandbox init", Why: err}
	}
	if cfg.NoInit {
		if err := applyLimits(cfg); err != nil {
			return err
		}
		return execProgram(ch, cfg)
	}
	// The init applies the limits on the thread that forks PROGRAM (a
	// cgroup namespace is per thread), not on this one.
	return runInit(ch, cfg, waitSigs)
}

// setup builds the sandbox's view, in the order the assignment's steps
// have: uts (2), network (4), mount and pid (5,6).
func setup(cfg *Config) error {
	// A joined or shared namespace is not the sandbox's to change.
	if cfg.Hostname != "" && cfg.newNamespace(specs.UTSNamespace) {
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			return &hints.Error{What: "sethostname " + cfg.Hostname, Why: err}
		}
	}
	if cfg.newNamespace(specs.NetworkNamespace) {
		if err := setupNetwork(cfg); err != nil {
			return err
		}
	}
	if err := beforeFilesystemOCI(cfg); err != nil {
		return err
	}
	if err := setupFilesystem(cfg); err != nil {
		return err
	}
	if err := afterFilesystemOCI(cfg); err != nil {
		return err
	}
	if cfg.Cwd != "" {
		if err := unix.Chdir(cfg.Cwd); err != nil {
			return &hints.Error{What: "--workdir " + cfg.Cwd, Why: err}
		}
	}
	return nil
}

// clearAmbient empties the ambient capabilities the child exec'd with
// (spawnAttr.ambient) on every thread: they were for that one execve.
// Whatever the init execs later gets its capabilities from dropPrivileges,
// which sets the ambient set itself; this keeps a path that forgot it from
// passing every capability on.
func clearAmbient() error {
	_, _, e := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0)
	if e == syscall.ENOTSUP {
		// A cgo build cannot reach every thread: this one, then (it is
		// locked, and the threads it starts inherit its sets).
		e = 0
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
			e = err.(syscall.Errno)
		}
	}
	if e != 0 {
		return &hints.Error{What: "prctl(PR_CAP_AMBIENT_CLEAR_ALL)", Why: e}
	}
	return nil
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
