package sandbox

import (
	"errors"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/mounts"
)

// setupFilesystem builds the program's view of the filesystem, inside the
// new mount namespace: the plan of package mounts, applied step by step.
func setupFilesystem(cfg *Config) error {
	notice := func(format string, args ...any) {
		if !cfg.Quiet {
			hints.Notice(format, args...)
		}
	}
	m, err := mounts.NewSysMounter(notice)
	if err != nil {
		return &hints.Error{What: "filesystem set-up", Why: err}
	}
	spec := cfg.FS.Spec
	spec.ExtraFiles = append(append([]mounts.File{}, spec.ExtraFiles...), networkFiles(cfg)...)
	if err := mounts.Apply(mounts.Build(spec), m); err != nil {
		var se *mounts.StepError
		if errors.As(err, &se) {
			return &hints.Error{What: se.Step.String(), Why: se.Err, Hint: hints.Mount(se.Step.Op == mounts.OpMount && se.Step.FSType == "proc", se.Err)}
		}
		return &hints.Error{What: "filesystem set-up", Why: err}
	}
	return nil
}
