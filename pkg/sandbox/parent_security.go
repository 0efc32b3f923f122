package sandbox

import (
	"fmt"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/security"
)

// initExecutable is the file the sandbox's init is started from: a sealed
// memfd copy of isolate, so that no process of the sandbox maps the
// installed binary and none can write what it runs (CVE-2019-5736,
// adapted: a user-owned ~/.local/bin/isolate is writable by the user the
// sandbox's root maps to). The copy costs a few milliseconds per start
// (docs/security.md). done closes the memfd once the child has exec'd.
func initExecutable(cfg *Config) (path string, done func()) {
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

// closeInheritedFds marks every fd above 2 close-on-exec, so that fds the
// caller leaked into isolate (a shell's 3>file, a parent that forgot
// O_CLOEXEC) reach neither the sandbox's init nor PROGRAM (CVE-2024-21626).
func closeInheritedFds() error {
	if err := security.MarkFdsCloexec(3); err != nil {
		return &hints.Error{What: "mark inherited file descriptors close-on-exec", Why: err}
	}
	return nil
}
