package sandbox

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// --ulimit limits bind PROGRAM, not isolate's init: a Go runtime dies
// under a small RLIMIT_AS, RLIMIT_DATA or RLIMIT_NPROC (it maps memory and
// starts threads as it goes), and a hard limit, once lowered, can never be
// raised again without CAP_SYS_RESOURCE in the initial user namespace. So
// PROGRAM starts through a short trampoline: a fresh exec of isolate as
// "isolate-ulimit" that sets the limits on itself and execs PROGRAM, which
// inherits them (setrlimit(2), execve(2)).
const limitsArg0 = "isolate-ulimit"

// isLimitsExec: this process is the trampoline.
func isLimitsExec() bool { return len(os.Args) >= 4 && os.Args[0] == limitsArg0 }

// applyLimits runs in the sandbox right before PROGRAM starts, on the
// thread that starts it. It checks the --ulimit limits, so that those the
// kernel will refuse are reported through the protocol like any other
// set-up error (raising a hard limit needs CAP_SYS_RESOURCE in the initial
// user namespace, which no sandbox has); they are set by the trampoline.
//
// With cgroup limits the parent has moved this process into the sandbox's
// cgroup by now; a new cgroup namespace makes that cgroup its root, so that
// (on an nsdelegate mount) the program can neither write its own
// memory.max, pids.max or cpu.max nor move itself out (cgroup-v2.rst,
// "Delegation Containment"). unshare(CLONE_NEWCGROUP) changes only this
// thread, which is the one that forks or execs PROGRAM.
func applyLimits(cfg *Config) error {
	if cfg.Limits.wantsCgroup() {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return &hints.Error{What: "enter the sandbox's cgroup namespace (unshare CLONE_NEWCGROUP)", Why: err}
		}
	}
	for _, r := range cfg.Limits.Rlimits {
		res, ok := rlimitResource(r.Type)
		if !ok {
			return &hints.Error{What: "--ulimit " + r.Type, Why: errors.New("unknown resource")}
		}
		var cur unix.Rlimit
		if err := unix.Getrlimit(res, &cur); err != nil {
			return &hints.Error{What: "getrlimit " + r.Type, Why: err}
		}
		if cur.Max != unix.RLIM_INFINITY && (r.Hard == unix.RLIM_INFINITY || r.Hard > cur.Max) {
			return &hints.Error{
				What: fmt.Sprintf("--ulimit %s=%s:%s", ulimitName(r.Type), rlimitString(r.Soft), rlimitString(r.Hard)),
				Why:  fmt.Errorf("the hard limit cannot be raised above isolate's own, %s", rlimitString(cur.Max)),
				Hint: fmt.Sprintf("stay at or below %s, or raise it where isolate starts (ulimit -H in its shell, limits.conf, systemd's Limit*=)", rlimitString(cur.Max)),
			}
		}
	}
	return nil
}

// programArgv is how PROGRAM (found at path) is started: directly, or
// through the trampoline when there are limits to set.
func programArgv(cfg *Config, path string) (string, []string) {
	if len(cfg.Limits.Rlimits) == 0 {
		return path, cfg.Args
	}
	var enc []string
	for _, r := range cfg.Limits.Rlimits {
		enc = append(enc, fmt.Sprintf("%s=%d:%d", r.Type, r.Soft, r.Hard))
	}
	// /proc/self/exe is isolate's binary in every process it forks, even
	// after pivot_root.
	return "/proc/self/exe", append([]string{limitsArg0, strings.Join(enc, ","), path}, cfg.Args...)
}

// execWithLimits is the trampoline: argv is limitsArg0, the limits, the
// program's path and its argv. It never returns.
func execWithLimits() {
	path, argv := os.Args[2], os.Args[3:]
	fail := func(err error, code int) {
		hints.Print(err)
		os.Exit(code)
	}
	type lim struct {
		res  int
		name string
		r    unix.Rlimit
	}
	var lims []lim
	for _, s := range strings.Split(os.Args[1], ",") {
		typ, v, _ := strings.Cut(s, "=")
		softS, hardS, _ := strings.Cut(v, ":")
		res, ok := rlimitResource(typ)
		soft, err1 := strconv.ParseUint(softS, 10, 64)
		hard, err2 := strconv.ParseUint(hardS, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			fail(&hints.Error{What: limitsArg0 + ": " + s, Why: errors.New("bad limit"), Hint: "isolate-ulimit is isolate's internal trampoline and is not run by hand"}, hints.ExitSetup)
		}
		lims = append(lims, lim{res, ulimitName(typ), unix.Rlimit{Cur: soft, Max: hard}})
	}
	// Allocate what exec needs before the limits apply: under a small
	// RLIMIT_AS the Go runtime cannot map new memory.
	env := os.Environ()
	for _, s := range append(append([]string{path}, argv...), env...) {
		syscall.BytePtrFromString(s)
	}
	for _, l := range lims {
		if err := unix.Setrlimit(l.res, &l.r); err != nil {
			fail(&hints.Error{What: fmt.Sprintf("--ulimit %s=%s:%s", l.name, rlimitString(l.r.Cur), rlimitString(l.r.Max)), Why: err}, hints.ExitSetup)
		}
	}
	// syscall.Exec, not a raw execve: it also puts back the soft
	// RLIMIT_NOFILE that Go raised at start, unless --ulimit set it.
	err := syscall.Exec(path, argv, env)
	fail(execError(argv[0], err), hints.ExitCode(execError(argv[0], err)))
}

func ulimitName(typ string) string { return strings.ToLower(strings.TrimPrefix(typ, "RLIMIT_")) }

func rlimitString(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}
