package userns

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// ApplyHelpers writes the plan's maps for the process pid, which must be in
// a user namespace that has no maps yet, through newuidmap and newgidmap.
// (Direct plans need no helper: the kernel lets the parent write them while
// the child waits between clone and execve, see ApplyDirect.)
func ApplyHelpers(pid int, p Plan, h Host) error {
	// The two helpers are independent processes: run them at once, since
	// each costs a setuid exec.
	var wg sync.WaitGroup
	var uerr, gerr error
	wg.Add(1)
	go func() { defer wg.Done(); uerr = runHelper(h.NewUIDMap, pid, p.UIDs, h) }()
	gerr = runHelper(h.NewGIDMap, pid, p.GIDs, h)
	wg.Wait()
	if uerr != nil {
		return uerr
	}
	return gerr
}

func runHelper(path string, pid int, m []specs.LinuxIDMapping, h Host) error {
	args := append([]string{strconv.Itoa(pid)}, HelperArgs(m)...)
	out, err := runQuiet(path, args)
	if err != nil {
		msg := strings.TrimSpace(out)
		if msg == "" {
			msg = err.Error()
		}
		// The helper's own message says which range it refused.
		msg = strings.ReplaceAll(msg, "\n", "; ")
		return &hints.Error{
			What: path + " " + strings.Join(args, " "),
			Why:  fmt.Errorf("%s", msg),
			Hint: hints.SubIDsOrHelpers(h.userName()),
		}
	}
	return nil
}

// runQuiet runs path with args, stdin and stdout on /dev/null, and returns
// what it wrote to stderr. It is os/exec's Run without what isolate does not
// need on its critical path (the helpers run while the sandbox waits): no
// goroutine to copy the output, no pidfd probe on the first start, and a
// vfork (syscall.ForkExec) rather than a fork.
func runQuiet(path string, args []string) (stderr string, err error) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return "", err
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	defer r.Close()
	pid, err := syscall.ForkExec(path, append([]string{path}, args...), &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{null.Fd(), null.Fd(), w.Fd()},
	})
	w.Close()
	if err != nil {
		return "", &os.PathError{Op: "fork/exec", Path: path, Err: err}
	}
	var out bytes.Buffer
	_, rerr := out.ReadFrom(r)
	var ws syscall.WaitStatus
	for {
		_, err = syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	switch {
	case err != nil:
		return out.String(), err
	case rerr != nil:
		return out.String(), rerr
	case ws.Signaled():
		return out.String(), fmt.Errorf("killed by signal %s", ws.Signal())
	case ws.ExitStatus() != 0:
		return out.String(), fmt.Errorf("exit status %d", ws.ExitStatus())
	}
	return out.String(), nil
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
