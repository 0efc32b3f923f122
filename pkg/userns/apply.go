package userns

import (
	"bytes"
	"fmt"
	"os/exec"
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
// the child waits inside clone, see GoMappings.)
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

// GoMappings converts a Direct plan for syscall.SysProcAttr, whose fork
// writes uid_map, setgroups and gid_map between clone and exec.
func GoMappings(p Plan) (uids, gids []syscall.SysProcIDMap) {
	conv := func(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
		out := make([]syscall.SysProcIDMap, len(m))
		for i, r := range m {
			out[i] = syscall.SysProcIDMap{ContainerID: int(r.ContainerID), HostID: int(r.HostID), Size: int(r.Size)}
		}
		return out
	}
	return conv(p.UIDs), conv(p.GIDs)
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
