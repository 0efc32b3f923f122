package sandbox

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/security"
)

// initExecutable is the file the sandbox's init is started from
// (CVE-2019-5736, adapted to rootless: a user-owned ~/.local/bin/isolate is
// writable by the sandbox's root, who is that user). The init is not
// dumpable, so /proc/1/exe, even its O_PATH open, needs CAP_SYS_PTRACE over
// the sandbox's user namespace, which only a program whose bounding set has
// it can ever hold (a nested user namespace's capabilities do not count).
// When it can and the caller could write isolate's binary, the init runs
// from a sealed memfd copy instead, so that what /proc/1/exe reaches cannot
// be written. The copy costs about 3 ms per start (docs/security.md), which
// is why it is not made when nothing in the sandbox can reach /proc/1/exe.
// done closes the memfd once the child has exec'd.
func initExecutable(cfg *Config) (path string, done func()) {
	bounding, err := cfg.Security.bounding()
	if err == nil && !bounding.Has(unix.CAP_SYS_PTRACE) || !callerCanWriteSelf() {
		return "/proc/self/exe", func() {}
	}
	f, err := security.SealedExecutable()
	if err != nil {
		// vm.memfd_noexec=2 forbids executable memfds: the init is then
		// protected by being non-dumpable alone; say so.
		if !cfg.Quiet {
			hints.Notice("running the sandbox from isolate's own file, not a sealed copy (%v)", err)
		}
		return "/proc/self/exe", func() {}
	}
	return fmt.Sprintf("/proc/self/fd/%d", f.Fd()), func() { f.Close() }
}

// callerCanWriteSelf reports whether the running binary could be changed
// by the caller or by ids mapped into the sandbox: anything but a root-owned
// file that a non-root caller cannot write (host root is never mapped into
// a rootless sandbox).
func callerCanWriteSelf() bool {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return true
	}
	if os.Getuid() == 0 || st.Uid != 0 {
		return true
	}
	return unix.Access("/proc/self/exe", unix.W_OK) == nil
}

// closeInheritedFds marks every fd above 2 close-on-exec, so that fds the
// caller leaked into isolate (a shell's 3>file, a parent that forgot
// O_CLOEXEC) reach neither the sandbox's init nor PROGRAM (CVE-2024-21626).
func closeInheritedFds() error {
	if err := security.MarkFdsCloexec(3); err != nil {
		return &hints.Error{What: "mark inherited file descriptors close-on-exec", Why: err}
	}
	return nil
}
