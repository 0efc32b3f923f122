package main

import (
	"os"
	"testing"
	"time"
)

// An orphan the subreaper inherits (here a `sleep` whose shell exited) is
// reaped and forgotten: its status must not wait in l.early for the next
// launch that happens to get its pid (every such launch then "failed" with
// the orphan's status).
func TestLauncherForgetsOrphans(t *testing.T) {
	l, err := NewLauncher()
	if err != nil {
		t.Fatal(err)
	}
	env := os.Environ()
	sh, err := l.Start([]string{"sh", "-c", "sleep 0.2 & exit 0"}, env, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := sh.Wait(5 * time.Second); !ok || e.Status.ExitStatus() != 0 {
		t.Fatalf("sh: %v", e.Status)
	}
	// Something outstanding keeps the reaper reaping while the orphan ends.
	keep, err := l.Start([]string{"sleep", "0.6"}, env, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := keep.Wait(5 * time.Second); !ok {
		t.Fatal("sleep 0.6 did not end")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.early) != 0 {
		t.Errorf("statuses kept for pids nobody waits for: %v", l.early)
	}
}
