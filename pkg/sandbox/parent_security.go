package sandbox

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/security"
)

// initExecutable is the file the sandbox's init is started from. When the
// caller (and so the sandbox's root, which is the caller) could write
// isolate's binary, as with ~/.local/bin/isolate or ~/go/bin/isolate, it is
// a sealed memfd copy, so that no process of the sandbox maps the installed
// file and none can write what it runs (CVE-2019-5736, adapted to
// rootless). The copy costs about 3 ms per start (docs/security.md); a
// binary owned by root and not writable by a non-root caller cannot be
// reached from a rootless sandbox (host root is never mapped into it), so
// it is run as it is. done closes the memfd once the child has exec'd.
func initExecutable(cfg *Config) (path string, done func()) {
	if !callerCanWriteSelf() {
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
// file that a non-root caller cannot write.
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
