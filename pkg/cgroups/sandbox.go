package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// Limits are the sandbox's cgroup limits; zero means none.
type Limits struct {
	MemoryMax int64 // bytes (memory.max)
	PidsMax   int64 // tasks (pids.max)
	CPUQuota  int64 // microseconds of CPU time per CPUPeriod (cpu.max)
}

// CPUPeriod is cpu.max's default period, 100ms (cgroup-v2.rst).
const CPUPeriod = 100000

// Controllers are the controllers the limits need.
func (l Limits) Controllers() []string {
	var c []string
	if l.CPUQuota > 0 {
		c = append(c, "cpu")
	}
	if l.MemoryMax > 0 {
		c = append(c, "memory")
	}
	if l.PidsMax > 0 {
		c = append(c, "pids")
	}
	return c
}

// Files are the interface files and values that set the limits.
func (l Limits) Files() map[string]string {
	f := map[string]string{}
	if l.MemoryMax > 0 {
		f["memory.max"] = strconv.FormatInt(l.MemoryMax, 10)
	}
	if l.PidsMax > 0 {
		f["pids.max"] = strconv.FormatInt(l.PidsMax, 10)
	}
	if l.CPUQuota > 0 {
		f["cpu.max"] = fmt.Sprintf("%d %d", l.CPUQuota, CPUPeriod)
	}
	return f
}

// Sandbox is a child cgroup of the caller's that holds one sandbox.
//
// The kernel lets a cgroup hand controllers to its children only while it
// has no processes of its own ("no internal processes", cgroup-v2.rst), and
// isolate itself sits in the delegated cgroup. So isolate first moves itself
// into a leaf next to the sandbox's, enables the controllers, and on Close
// undoes both, in reverse:
//
//	<own cgroup>/             subtree_control += cpu memory pids
//	├── isolate-PID.self/     isolate (the supervisor)
//	└── isolate-PID/          the sandbox, with memory.max, pids.max, cpu.max
type Sandbox struct {
	g       *Group
	dir     string   // the sandbox's cgroup
	selfDir string   // isolate's leaf; "" when it did not move
	enabled []string // controllers this Sandbox enabled in g
	selfPid int
}

// RemoveDir removes an empty cgroup directory; tests of faked hosts, whose
// directories hold plain files, replace it.
var RemoveDir = os.Remove

// NewSandbox creates the sandbox's cgroup with the limits l. name is unique
// per isolate process (isolate-PID); selfPid is isolate's own pid.
func (g *Group) NewSandbox(name string, l Limits, selfPid int) (s *Sandbox, err error) {
	s = &Sandbox{g: g, dir: filepath.Join(g.Dir(), name), selfPid: selfPid}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()
	sweep(g.Dir())
	need := l.Controllers()
	subtree, _ := readFields(filepath.Join(g.Dir(), "cgroup.subtree_control"))
	toEnable := Missing(subtree, need)
	if len(toEnable) > 0 {
		s.selfDir = filepath.Join(g.Dir(), name+".self")
		if err := mkdir(s.selfDir); err != nil {
			return s, err
		}
		if err := write(filepath.Join(s.selfDir, "cgroup.procs"), strconv.Itoa(selfPid)); err != nil {
			return s, err
		}
		for _, c := range toEnable {
			if err := write(filepath.Join(g.Dir(), "cgroup.subtree_control"), "+"+c); err != nil {
				if errors.Is(err, unix.EBUSY) {
					// Other processes share isolate's cgroup.
					return s, &hints.Error{What: "cgroup v2: enable " + c + " in " + g.HostDir(), Why: errors.New("the cgroup has other processes"), Hint: hints.CgroupOwnScope}
				}
				return s, err
			}
			s.enabled = append(s.enabled, c)
		}
	}
	if err := mkdir(s.dir); err != nil {
		return s, err
	}
	for f, v := range l.Files() {
		if err := write(filepath.Join(s.dir, f), v); err != nil {
			return s, err
		}
	}
	return s, nil
}

// Add moves the process pid (and with it, everything it starts later) into
// the sandbox's cgroup.
func (s *Sandbox) Add(pid int) error {
	return write(filepath.Join(s.dir, "cgroup.procs"), strconv.Itoa(pid))
}

// Close removes the sandbox's cgroup once its processes are gone, then
// moves isolate back and disables what it enabled. Call it after the
// sandbox's init was reaped: the kernel has then emptied the pid namespace.
func (s *Sandbox) Close() error {
	var first error
	keep := func(err error) {
		if first == nil && err != nil && !errors.Is(err, os.ErrNotExist) {
			first = err
		}
	}
	keep(removeWhenEmpty(s.dir))
	for i := len(s.enabled) - 1; i >= 0; i-- {
		keep(write(filepath.Join(s.g.Dir(), "cgroup.subtree_control"), "-"+s.enabled[i]))
	}
	if s.selfDir != "" {
		keep(write(filepath.Join(s.g.Dir(), "cgroup.procs"), strconv.Itoa(s.selfPid)))
		keep(removeWhenEmpty(s.selfDir))
	}
	return first
}

// removeWhenEmpty retries while the kernel still counts exiting tasks
// (rmdir fails with EBUSY until they are released). The bound only avoids a
// hang.
func removeWhenEmpty(dir string) error {
	var err error
	for i := 0; i < 200; i++ {
		if err = RemoveDir(dir); err == nil || !errors.Is(err, unix.EBUSY) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return err
}

// sweep removes what an isolate killed with SIGKILL left: "isolate-PID"
// and "isolate-PID.self" cgroups whose isolate is gone. rmdir removes only
// empty cgroups (cgroup-v2.rst), so a sandbox that still runs is never
// touched; a live PID is skipped even when reused by another program.
func sweep(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		pidStr, ok := strings.CutPrefix(strings.TrimSuffix(e.Name(), ".self"), "isolate-")
		pid, err := strconv.Atoi(pidStr)
		if !e.IsDir() || !ok || err != nil || pid <= 0 || unix.Kill(pid, 0) != unix.ESRCH {
			continue
		}
		RemoveDir(filepath.Join(dir, e.Name()))
	}
}

func mkdir(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return &hints.Error{What: "cgroup v2: mkdir " + dir, Why: unwrap(err)}
	}
	return nil
}

func write(path, v string) error {
	if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
		return &hints.Error{What: fmt.Sprintf("cgroup v2: write %q to %s", strings.TrimSpace(v), path), Why: unwrap(err)}
	}
	return nil
}

func unwrap(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
