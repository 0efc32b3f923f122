package test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A person at a terminal, played by tmux: keys go in with send-keys, the
// screen comes out with capture-pane. tmux runs as the test user, so
// isolate gets a real terminal on its standard input.

var tmuxCount atomic.Int32

type tmuxSession struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T, command string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux not found: install the tmux package")
	}
	s := &tmuxSession{t: t, socket: fmt.Sprintf("isolate-test-%d-%d", os.Getpid(), tmuxCount.Add(1))}
	// The pane stays after the command ends, so its last screen and exit
	// status can be read.
	s.run("new-session", "-d", "-x", "80", "-y", "24", command+`; echo "EXIT=$?"; words=$(stty -a | tr ' ;' '\n\n'); if echo "$words" | grep -qx icanon && echo "$words" | grep -qx echo; then echo TERMINAL=cooked; else echo TERMINAL=raw; fi; sleep 60`)
	t.Cleanup(func() { s.run("kill-server") })
	return s
}

func (s *tmuxSession) run(args ...string) string {
	cmd := command(opts{})
	p, _ := exec.LookPath("tmux")
	cmd.Path, cmd.Args = p, append([]string{"tmux", "-L", s.socket}, args...)
	out, _ := cmd.CombinedOutput()
	return string(out)
}

func (s *tmuxSession) keys(keys ...string) { s.run(append([]string{"send-keys"}, keys...)...) }

func (s *tmuxSession) screen() string { return s.run("capture-pane", "-p") }

// waitFor polls the screen until it shows text (a bound against hangs,
// not a timing assertion).
func (s *tmuxSession) waitFor(text string) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		scr := s.screen()
		if strings.Contains(scr, text) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen never showed %q:\n%s", text, scr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTTYShellWithJobControlSizeAndExitStatus(t *testing.T) {
	t.Parallel()
	s := newTmux(t, isolateBin+" -q -t sh")
	s.waitFor("#") // capture-pane drops the prompt's trailing space
	s.keys("tty; stty size", "Enter")
	s.waitFor("24 80")
	if !strings.Contains(s.screen(), "/dev/pts/0") {
		t.Errorf("the program's terminal must be the sandbox's own /dev/pts/0:\n%s", s.screen())
	}
	// A resize reaches the program.
	s.run("resize-window", "-x", "100", "-y", "30")
	s.keys("stty size", "Enter")
	s.waitFor("30 100")
	// Ctrl-C interrupts the foreground job inside, not isolate.
	m := marker()
	s.keys("sleep "+m, "Enter")
	eventually(t, "sleep running", func() bool { return len(hostProcesses("^sleep "+m+"$")) == 1 })
	s.keys("C-c")
	s.keys("echo after-int", "Enter")
	s.waitFor("\nafter-int")
	if left := hostProcesses("^sleep " + m + "$"); len(left) != 0 {
		t.Errorf("Ctrl-C did not end the foreground job: %v", left)
	}
	// Ctrl-Z stops it: the shell has job control.
	m2 := marker()
	s.keys("sleep "+m2, "Enter")
	eventually(t, "sleep running", func() bool { return len(hostProcesses("^sleep "+m2+"$")) == 1 })
	s.keys("C-z")
	s.waitFor("Stopped")
	// ... and fg brings it back to the foreground, where Ctrl-C ends it.
	s.keys("fg", "Enter")
	s.waitFor("# fg\nsleep " + m2)
	s.keys("C-c")
	eventually(t, "the resumed job ends on Ctrl-C", func() bool { return len(hostProcesses("^sleep "+m2+"$")) == 0 })
	s.keys("exit 7", "Enter")
	s.waitFor("EXIT=7")
	s.waitFor("TERMINAL=cooked") // raw mode undone: icanon and echo are back
}

func TestTTYRestoredWhenTheProgramIsKilled(t *testing.T) {
	t.Parallel()
	s := newTmux(t, isolateBin+" -q -t sh -c 'stty size; kill -KILL $$'")
	s.waitFor("EXIT=137")
	s.waitFor("TERMINAL=cooked")
}

func TestTTYWithoutInitIsPID1WithTheTerminal(t *testing.T) {
	t.Parallel()
	s := newTmux(t, isolateBin+" -q --no-init -t sh -c 'echo pid=$$; tty; exit 3'")
	s.waitFor("EXIT=3")
	if scr := s.screen(); !strings.Contains(scr, "pid=1") || !strings.Contains(scr, "/dev/pts/0") {
		t.Errorf("screen:\n%s", scr)
	}
}

func TestTTYWithoutATerminalIsAClearError(t *testing.T) {
	t.Parallel()
	m := marker()
	r := run(t, opts{stdin: "x"}, "-t", "sleep", m)
	lines := withoutNotices(r.Stderr)
	if r.Code != 125 || lines[0] != "isolate: --tty: standard input is not a terminal" || len(lines) != 2 {
		t.Fatalf("want a one-line error with a hint and exit 125: %s", r)
	}
	if left := hostProcesses(m); len(left) != 0 {
		t.Errorf("processes left behind: %v", left)
	}
}
