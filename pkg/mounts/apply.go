package mounts

import (
	"errors"
	"io/fs"
)

// Mounter carries out single Steps. The real one is NewSysMounter; tests
// record the calls.
type Mounter interface {
	Do(Step) error
	// Close releases what the Mounter holds (captured trees are detached
	// mounts that vanish with their last file descriptor).
	Close() error
}

// StepError is a failed Step.
type StepError struct {
	Step Step
	Err  error
}

func (e *StepError) Error() string { return e.Step.String() + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// Apply runs steps in order through m and stops at the first failure. An
// Optional step whose target does not exist is skipped, and so is a failed
// BestEffort step.
func Apply(steps []Step, m Mounter) error {
	defer m.Close()
	for _, s := range steps {
		if err := m.Do(s); err != nil {
			if s.Optional && errors.Is(err, fs.ErrNotExist) || s.BestEffort {
				continue
			}
			return &StepError{Step: s, Err: err}
		}
	}
	return nil
}
