package sandbox

import (
	"debug/elf"
	"errors"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// checkStaticInRoot refuses, before anything starts, a run that would
// execute isolate's own binary after pivot_root (the --ulimit/rlimits
// trampoline re-executes /proc/self/exe there) when the binary needs a
// dynamic loader: the root filesystem need not have one, and execve would
// fail with a bare ENOENT (execve(2): "the interpreter ... does not exist").
func checkStaticInRoot(cfg *Config) error {
	if cfg.FS.Spec.Rootfs == "" || len(cfg.Limits.Rlimits) == 0 {
		return nil
	}
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		return nil // not ours to judge; execve will say what it says
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return &hints.Error{
				What: "resource limits inside a root filesystem",
				Why:  errors.New("isolate is dynamically linked, and its limits step runs inside the root, where the dynamic loader may not exist"),
				Hint: hints.StaticBuild,
			}
		}
	}
	return nil
}
