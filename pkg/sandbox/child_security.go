package sandbox

import (
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/mounts"
	"github.com/isolate-sandbox/isolate/pkg/security"
)

// dropPrivileges runs last before PROGRAM starts, on the locked thread that
// forks it (init) or execs it (--no-init): the capability sets, the ids,
// no_new_privs, Landlock and seccomp it sets are per thread for the kernel
// and are what PROGRAM inherits. With the init it runs on a throwaway
// thread (onThrowawayThread), so the init itself keeps what it needs to
// forward signals to a PROGRAM of another uid (CAP_KILL) and to reap; it
// does nothing else after the start, and PROGRAM cannot reach it: the init
// is not dumpable, so without CAP_SYS_PTRACE PROGRAM can neither ptrace it
// nor open anything under /proc/1 that would give its memory, fds or
// executable (ptrace_may_access, proc(5)), and seccomp refuses ptrace too.
func dropPrivileges(cfg *Config) error {
	// CVE-2024-21626: a working directory reached through a leaked fd
	// (-w /proc/self/fd/N) lies outside the sandbox's root; getcwd(2) then
	// answers "(unreachable)/...", which unix.Getwd reports as ENOENT.
	if _, err := unix.Getwd(); err != nil {
		return &hints.Error{What: "working directory " + cfg.Cwd, Why: fmt.Errorf("outside the sandbox (%w)", err)}
	}
	// Not dumpable: /proc/1/{mem,fd,exe,environ,...} and ptrace need
	// CAP_SYS_PTRACE over the init from now on (CVE-2019-5736, adapted).
	// It is per process; execve resets it for PROGRAM.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return &hints.Error{What: "prctl(PR_SET_DUMPABLE, 0)", Why: err}
	}
	plan, err := securityPlan(cfg)
	if err != nil {
		return err
	}
	if err := security.Apply(plan); err != nil {
		return &hints.Error{What: "drop privileges", Why: err}
	}
	return nil
}

// onThrowawayThread runs f on a new OS thread that is locked and never
// unlocked, so Go ends the thread when f returns instead of running other
// goroutines with the program's reduced credentials and filters
// (runtime.LockOSThread). The init's other threads keep theirs.
func onThrowawayThread(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- f()
	}()
	return <-errc
}

// securityPlan turns the Config into what package security applies.
func securityPlan(cfg *Config) (*security.Plan, error) {
	sc := &cfg.Security
	p := &security.Plan{}
	if sc.Caps != nil {
		// An OCI config.json gives every set itself.
		var err error
		for _, s := range []struct {
			dst   *security.CapSet
			names []string
		}{{&p.Bounding, sc.Caps.Bounding}, {&p.Permitted, sc.Caps.Permitted}, {&p.Effective, sc.Caps.Effective},
			{&p.Inheritable, sc.Caps.Inheritable}, {&p.Ambient, sc.Caps.Ambient}} {
			if *s.dst, err = security.CapsFromNames(s.names); err != nil {
				return nil, &hints.Error{What: "capabilities", Why: err}
			}
		}
	} else {
		set, err := sc.bounding()
		if err != nil {
			return nil, err
		}
		p.Bounding = set
		// Another user than root gets no capabilities at all, as with
		// docker: its ids lose them at setresuid and exec, and the
		// inheritable set is cleared so that no file capability can
		// bring them back (CVE-2022-24769).
		if cfg.User.UID == 0 {
			p.Permitted, p.Effective, p.Inheritable = set, set, set
		}
	}
	if cfg.User.UID != 0 || cfg.User.GID != 0 || len(cfg.User.AdditionalGids) > 0 {
		p.User = &security.Identity{UID: cfg.User.UID, GID: cfg.User.GID, Groups: cfg.User.AdditionalGids, NoSetGroups: cfg.SetgroupsDeny}
	}
	p.AllowNewPrivs = sc.AllowNewPrivs
	// A Landlock domain may not change mounts at all (landlock(7)): with
	// CAP_SYS_ADMIN the program was given its mounts to manage, so "auto"
	// leaves Landlock out; "on" keeps it and mounting fails.
	adminMounts := p.Bounding.Has(unix.CAP_SYS_ADMIN)
	if !sc.AllowNewPrivs && (sc.Landlock == "on" || sc.Landlock == "auto" && !adminMounts) {
		writable, all := landlockWritable(cfg)
		abi := security.LandlockABI()
		switch {
		case abi == 0 && sc.Landlock == "on":
			return nil, &hints.Error{What: "--landlock on", Why: errors.New("the kernel has no Landlock"), Hint: hints.LandlockMissing}
		case abi == 0:
			if sc.Verbose && !cfg.Quiet {
				hints.Notice("this kernel has no Landlock: writes are limited by the mounts alone")
			}
		case !all:
			p.LandlockABI, p.Writable = abi, writable
		}
	}
	// The parent compiled the filter (compileFilter); a confined sandbox
	// without one is a broken protocol, never a reason to run unconfined.
	if sc.SeccompFilter == nil && sc.Seccomp != SeccompUnconfined {
		return nil, &hints.Error{What: "protocol: the configuration has no seccomp filter"}
	}
	p.Seccomp = sc.SeccompFilter
	return p, nil
}

// landlockWritable lists what PROGRAM may write below: what the mount
// set-up leaves writable (mounts.WritablePaths), so that Landlock is a
// second, independent layer. all means no write restriction (--rw, or a
// --rootfs that is not --read-only: nothing for Landlock to add).
func landlockWritable(cfg *Config) (paths []string, all bool) {
	fs := cfg.FS
	if fs.Rootfs == "" && fs.RW || fs.Overlay {
		return nil, true
	}
	paths = []string{
		"/tmp", "/dev/shm",
		// Character devices a program writes to: discard, terminals
		// (its own pty from /dev/pts or /dev/ptmx), the entropy pool.
		"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
		"/dev/tty", "/dev/ptmx", "/dev/pts",
	}
	for _, p := range mounts.WritablePaths(cfg.FS.Spec) {
		switch p {
		case "/":
			return nil, true
		case "/dev", "/tmp":
			// /dev is the sandbox's tmpfs: only the entries above.
		default:
			paths = append(paths, p)
		}
	}
	for _, v := range fs.Volumes {
		if !v.ReadOnly {
			paths = append(paths, v.Dest)
		}
	}
	for _, t := range fs.Tmpfs {
		if !t.ReadOnly {
			paths = append(paths, t.Dest)
		}
	}
	return paths, false
}
