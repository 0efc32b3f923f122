package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

const (
	initArg0 = "isolate-init"
	stage1   = "1" // first exec: before the id map, no capabilities
	stage2   = "2" // second exec: after the id map, root of the namespaces
	// childFd is the child's end of the control socket (ExtraFiles[0]).
	childFd = 3
)

// IsInit reports whether this process is a sandbox child; main must call
// InitMain before anything else when it is (runc's init.go does the same).
func IsInit() bool {
	return isLimitsExec() || len(os.Args) == 2 && os.Args[0] == initArg0 && (os.Args[1] == stage1 || os.Args[1] == stage2)
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
	var err error
	if os.Args[1] == stage1 {
		err = runStage1(ch)
	} else {
		err = runStage2(ch)
	}
	// Only failures return.
	ch.send(message{Type: msgError, Error: toWire(err)})
	os.Exit(hints.ExitCode(err))
}

// runStage1 waits until the parent has written the id map, then re-execs:
// capabilities are computed at execve(2), and the first one ran as an
// unmapped uid, so it granted none (user_namespaces(7), "Capabilities").
func runStage1(ch *channel) error {
	if _, err := ch.expect(msgIDMapDone); err != nil {
		if isEOF(err) {
			os.Exit(hints.ExitSetup) // the parent is gone; nobody to tell
		}
		return &hints.Error{What: "stage 1", Why: err}
	}
	// Keep the socket open across this one exec; stage 2 marks it again.
	if _, err := unix.FcntlInt(childFd, unix.F_SETFD, 0); err != nil {
		return &hints.Error{What: "keep the control socket", Why: err}
	}
	// Stage 2 is a fixed argv: the loop is bounded to one re-exec.
	err := unix.Exec("/proc/self/exe", []string{initArg0, stage2}, []string{})
	return &hints.Error{What: "re-exec /proc/self/exe after the id map", Why: err}
}

// runStage2 builds the sandbox and starts the program.
func runStage2(ch *channel) error {
	// The exec cleared the parent-death signal: arm it again, then read
	// from the parent, which fails with EOF if it died before this line.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return &hints.Error{What: "prctl(PR_SET_PDEATHSIG)", Why: err}
	}
	// Exec'd as /proc/self/exe, the kernel names it "exe"; ps should say
	// what it is.
	unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&[]byte(initArg0 + "\x00")[0])), 0, 0, 0)
	m, err := ch.expect(msgConfig)
	if err != nil {
		if isEOF(err) {
			os.Exit(hints.ExitSetup)
		}
		return &hints.Error{What: "stage 2", Why: err}
	}
	cfg := m.Config
	if cfg == nil {
		return &hints.Error{What: "stage 2", Why: fmt.Errorf("protocol: config message without a config")}
	}
	if err := setup(cfg); err != nil {
		return err
	}
	if _, err := ch.expect(msgStart); err != nil {
		if isEOF(err) {
			os.Exit(hints.ExitSetup)
		}
		return &hints.Error{What: "stage 2", Why: err}
	}
	if err := applyLimits(cfg); err != nil {
		return err
	}
	if cfg.NoInit {
		return execProgram(ch, cfg)
	}
	return runInit(ch, cfg)
}

// setup builds the sandbox's view, in the order the assignment's steps
// have: uts (2), network (4), mount and pid (5,6).
func setup(cfg *Config) error {
	if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
		return &hints.Error{What: "sethostname " + cfg.Hostname, Why: err}
	}
	if err := setupNetwork(cfg); err != nil {
		return err
	}
	if err := setupFilesystem(cfg); err != nil {
		return err
	}
	if cfg.Cwd != "" {
		if err := unix.Chdir(cfg.Cwd); err != nil {
			return &hints.Error{What: "--workdir " + cfg.Cwd, Why: err}
		}
	}
	return nil
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
