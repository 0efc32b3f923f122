package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Launcher starts processes and reaps every child of the benchmark in one
// place. The benchmark is a child subreaper (PR_SET_CHILD_SUBREAPER), so
// processes that daemonize (podman's conmon and pause process) stay in its
// tree and their memory can be counted; they must then be reaped here too,
// which is why no os/exec Wait is used for measured runs.
type Launcher struct {
	mu          sync.Mutex
	cond        *sync.Cond
	outstanding int // launched and not yet reaped
	waiters     map[int]chan Exit
	early       map[int]Exit // reaped while a launch had not registered its waiter
	launching   int          // Starts between fork and registration
	devnull     *os.File
}

// Exit is how and when a process ended.
type Exit struct {
	Status unix.WaitStatus
	Rusage unix.Rusage
	At     time.Time
}

// Run is one started process.
type Run struct {
	Pid   int
	Start time.Time
	Done  chan Exit
}

func NewLauncher() (*Launcher, error) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	dn, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	l := &Launcher{waiters: map[int]chan Exit{}, early: map[int]Exit{}, devnull: dn}
	l.cond = sync.NewCond(&l.mu)
	go l.reap()
	return l, nil
}

func (l *Launcher) reap() {
	for {
		l.mu.Lock()
		for l.outstanding == 0 {
			l.cond.Wait()
		}
		l.mu.Unlock()
		var ws unix.WaitStatus
		var ru unix.Rusage
		pid, err := unix.Wait4(-1, &ws, 0, &ru)
		at := time.Now()
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			time.Sleep(time.Millisecond)
			continue
		}
		e := Exit{Status: ws, Rusage: ru, At: at}
		l.mu.Lock()
		if ch, ok := l.waiters[pid]; ok {
			delete(l.waiters, pid)
			l.outstanding--
			ch <- e
		} else if l.launching > 0 {
			// Perhaps a process that exited before Start registered it.
			l.early[pid] = e
		}
		// Otherwise an orphan the subreaper inherited (podman's conmon, a
		// network helper that outlives isolate): nothing waits for it.
		// Kept, its status would be handed to the next launch that gets
		// the same pid.
		l.mu.Unlock()
	}
}

// Start starts argv (looked up in env's PATH) in its own process group with
// the given stdout and stderr (nil: /dev/null).
func (l *Launcher) Start(argv, env []string, stdout, stderr *os.File) (*Run, error) {
	path, err := lookPath(argv[0], env)
	if err != nil {
		return nil, err
	}
	if stdout == nil {
		stdout = l.devnull
	}
	if stderr == nil {
		stderr = l.devnull
	}
	attr := &os.ProcAttr{
		Env:   env,
		Files: []*os.File{l.devnull, stdout, stderr},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	}
	r := &Run{Done: make(chan Exit, 1)}
	l.mu.Lock()
	l.launching++
	l.mu.Unlock()
	r.Start = time.Now()
	p, err := os.StartProcess(path, argv, attr)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.launching--
	if err != nil {
		return nil, err
	}
	r.Pid = p.Pid
	p.Release()
	// A status reaped before this launch began belongs to an earlier
	// process with the same pid.
	if e, ok := l.early[r.Pid]; ok && !e.At.Before(r.Start) {
		delete(l.early, r.Pid)
		r.Done <- e
	} else {
		l.waiters[r.Pid] = r.Done
		l.outstanding++
		l.cond.Signal()
	}
	if l.launching == 0 {
		clear(l.early) // what is left are orphans reaped during a launch
	}
	return r, nil
}

// Wait waits for the run, killing its process group after timeout.
func (r *Run) Wait(timeout time.Duration) (Exit, bool) {
	select {
	case e := <-r.Done:
		return e, true
	case <-time.After(timeout):
		unix.Kill(-r.Pid, unix.SIGKILL)
		return <-r.Done, false
	}
}

// RunQuiet runs a helper command to its end and returns its combined output.
func (l *Launcher) RunQuiet(argv, env []string, timeout time.Duration) (string, error) {
	f, err := os.CreateTemp("", "isolate-bench-out-")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	r, err := l.Start(argv, env, f, f)
	if err != nil {
		return "", err
	}
	e, inTime := r.Wait(timeout)
	out, _ := os.ReadFile(f.Name())
	if !inTime {
		return string(out), fmt.Errorf("timed out after %s", timeout)
	}
	if !e.Status.Exited() || e.Status.ExitStatus() != 0 {
		return string(out), fmt.Errorf("%s", describeStatus(e.Status))
	}
	return string(out), nil
}

func describeStatus(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + unix.SignalName(ws.Signal())
	}
	return fmt.Sprintf("exit status %d", ws.ExitStatus())
}

func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	pathEnv := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			pathEnv = v
		}
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, exec.ErrNotFound)
}

// proc is one process as /proc/PID/stat shows it.
type proc struct {
	pid, ppid int
	comm      string
}

// processes lists every process of the machine.
func processes() map[int]proc {
	out := map[int]proc{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		out[pid] = proc{pid: pid, ppid: ppid, comm: s[open+1 : close]}
	}
	return out
}

// descendants of root in ps, root excluded.
func descendants(ps map[int]proc, root int) []proc {
	kids := map[int][]int{}
	for _, p := range ps {
		kids[p.ppid] = append(kids[p.ppid], p.pid)
	}
	var out []proc
	stack := append([]int(nil), kids[root]...)
	for len(stack) > 0 {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, ps[pid])
		stack = append(stack, kids[pid]...)
	}
	return out
}

// pssKB reads the proportional set size of pid: its private pages plus its
// share of every page it shares (smaps_rollup, Linux 4.14).
func pssKB(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, errors.New("no Pss line")
}

// Usage is the memory of a set of processes.
type Usage struct {
	TotalKB   int            // every process of the tree
	ProgramKB int            // the processes named like the program (sleep)
	ByComm    map[string]int // kB per command name
	Count     int            // processes counted
	Programs  int            // of which the program
	Unread    int            // processes whose smaps could not be read
}

// measure sums the PSS of every descendant of the benchmark that is not in
// before (processes that existed before the measured command started).
func measure(before map[int]proc, program string) Usage {
	u := Usage{ByComm: map[string]int{}}
	for _, p := range descendants(processes(), os.Getpid()) {
		if _, old := before[p.pid]; old {
			continue
		}
		kb, err := pssKB(p.pid)
		if err != nil {
			u.Unread++
			continue
		}
		u.Count++
		u.TotalKB += kb
		u.ByComm[p.comm] += kb
		if p.comm == program {
			u.ProgramKB += kb
			u.Programs++
		}
	}
	return u
}

// waitLine returns when r yields its first line, or after timeout.
func waitLine(f *os.File, timeout time.Duration) (time.Time, bool) {
	got := make(chan time.Time, 1)
	go func() {
		br := bufio.NewReader(f)
		if _, err := br.ReadString('\n'); err == nil {
			got <- time.Now()
			return
		}
		close(got)
	}()
	select {
	case t, ok := <-got:
		return t, ok
	case <-time.After(timeout):
		return time.Time{}, false
	}
}
