package userns

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// ApplyHelpers writes the plan's maps for the process pid, which must be in
// a user namespace that has no maps yet, through newuidmap and newgidmap.
// (Direct plans need no helper: the kernel lets the parent write them while
// the child waits between clone and execve, see ApplyDirect.)
func ApplyHelpers(pid int, p Plan, h Host) error {
	// The two helpers are independent processes, each a setuid exec: both
	// start, then both are waited for, from this one goroutine (a second
	// one would cost isolate another thread while everything waits).
	uargs := append([]string{strconv.Itoa(pid)}, HelperArgs(p.UIDs)...)
	gargs := append([]string{strconv.Itoa(pid)}, HelperArgs(p.GIDs)...)
	u, uerr := startQuiet(h.NewUIDMap, uargs)
	g, gerr := startQuiet(h.NewGIDMap, gargs)
	if uerr == nil {
		uerr = u.wait()
	}
	if gerr == nil {
		gerr = g.wait()
	}
	if uerr != nil {
		return helperError(h.NewUIDMap, uargs, u, uerr, h)
	}
	if gerr != nil {
		return helperError(h.NewGIDMap, gargs, g, gerr, h)
	}
	return nil
}

// helperError is a failed helper's own message, which says which range it
// refused, with the fix.
func helperError(path string, args []string, q *quietRun, err error, h Host) error {
	msg := ""
	if q != nil {
		msg = strings.TrimSpace(q.stderr.String())
	}
	if msg == "" {
		msg = err.Error()
	}
	msg = strings.ReplaceAll(msg, "\n", "; ")
	return &hints.Error{
		What: path + " " + strings.Join(args, " "),
		Why:  fmt.Errorf("%s", msg),
		Hint: hints.SubIDsOrHelpers(h.userName()),
	}
}

// quietRun is a process started by startQuiet: stdin and stdout on
// /dev/null, stderr into a pipe. It is os/exec's Start and Wait without what
// isolate does not need on its critical path (the helpers run while the
// sandbox waits): no goroutine to copy the output, no pidfd probe on the
// first start, and a vfork (syscall.ForkExec) rather than a fork.
type quietRun struct {
	pid    int
	r      *os.File
	stderr bytes.Buffer
}

func startQuiet(path string, args []string) (*quietRun, error) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	pid, err := syscall.ForkExec(path, append([]string{path}, args...), &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{null.Fd(), null.Fd(), w.Fd()},
	})
	w.Close()
	if err != nil {
		r.Close()
		return nil, &os.PathError{Op: "fork/exec", Path: path, Err: err}
	}
	return &quietRun{pid: pid, r: r}, nil
}

// wait reads the process's stderr to its end and reaps it.
func (q *quietRun) wait() error {
	_, rerr := q.stderr.ReadFrom(q.r)
	q.r.Close()
	var ws syscall.WaitStatus
	var err error
	for {
		_, err = syscall.Wait4(q.pid, &ws, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	switch {
	case err != nil:
		return err
	case rerr != nil:
		return rerr
	case ws.Signaled():
		return fmt.Errorf("killed by signal %s", ws.Signal())
	case ws.ExitStatus() != 0:
		return fmt.Errorf("exit status %d", ws.ExitStatus())
	}
	return nil
}

// ApplyDirect writes a Direct plan's maps for the process pid, which must
// be a child of the caller waiting in a user namespace that has no maps yet.
// The order is the kernel's: gid_map may be written by an unprivileged
// caller only after setgroups is "deny" (user_namespaces(7), "The
// /proc/[pid]/setgroups file"; CVE-2014-8989).
func ApplyDirect(pid int, p Plan) error {
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	if err := writeProcFile(dir+"uid_map", formatMapFile(p.UIDs)); err != nil {
		return err
	}
	setgroups := "allow"
	if p.SetgroupsDeny {
		setgroups = "deny"
	}
	if err := writeProcFile(dir+"setgroups", setgroups); err != nil && !errors.Is(err, syscall.ENOENT) {
		return err
	}
	return writeProcFile(dir+"gid_map", formatMapFile(p.GIDs))
}

// formatMapFile is the content of /proc/PID/uid_map: "container host size"
// per line, as one write (the kernel accepts a map only once).
func formatMapFile(m []specs.LinuxIDMapping) string {
	var b strings.Builder
	for _, r := range m {
		fmt.Fprintf(&b, "%d %d %d\n", r.ContainerID, r.HostID, r.Size)
	}
	return b.String()
}

func writeProcFile(path, content string) error {
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return &hints.Error{What: "open " + path, Why: err}
	}
	defer syscall.Close(fd)
	if _, err := syscall.Write(fd, []byte(content)); err != nil {
		return &hints.Error{What: fmt.Sprintf("write %q to %s", strings.TrimSpace(content), path), Why: err}
	}
	return nil
}
