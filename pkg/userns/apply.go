package userns

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// Apply writes the plan's maps for the process pid, which must be in a user
// namespace that has no maps yet.
func Apply(pid int, p Plan, h Host) error {
	if p.Method == Helpers {
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
	dir := "/proc/" + strconv.Itoa(pid)
	if err := writeProc(dir+"/uid_map", MapFile(p.UIDs)); err != nil {
		return err
	}
	if p.SetgroupsDeny {
		// The kernel refuses an unprivileged gid_map until setgroups is
		// denied, so the sandbox cannot drop a supplementary group that
		// guards a file with negative permissions (CVE-2014-8989).
		if err := writeProc(dir+"/setgroups", "deny"); err != nil {
			return err
		}
	}
	return writeProc(dir+"/gid_map", MapFile(p.GIDs))
}

func writeProc(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return &hints.Error{What: "open " + path, Why: err}
	}
	defer f.Close()
	if _, err := f.Write([]byte(content)); err != nil {
		return &hints.Error{What: fmt.Sprintf("write %q to %s", strings.TrimSpace(content), path), Why: err, Hint: hints.ForMapWrite(err)}
	}
	return nil
}

func runHelper(path string, pid int, m []specs.LinuxIDMapping, h Host) error {
	args := append([]string{strconv.Itoa(pid)}, HelperArgs(m)...)
	cmd := exec.Command(path, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
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
