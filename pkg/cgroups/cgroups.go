// Package cgroups finds the caller's cgroup v2 directory, tells whether it
// is delegated to the caller (systemd's Delegate=yes chowns it), and puts a
// sandbox into a child cgroup with memory, pids and cpu limits. Everything
// is read below an injectable root, so a faked host is a directory tree.
//
// It never touches cgroup v1: rootless processes cannot be given v1
// hierarchies safely, which is why podman and runc require v2 for rootless
// limits too.
package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// Group is the caller's own cgroup v2.
type Group struct {
	Root        string   // prefix of every path read ("" or "/" on a real host)
	Mount       string   // where cgroup2 is mounted, e.g. /sys/fs/cgroup
	Path        string   // the caller's cgroup in that hierarchy, e.g. /user.slice/...
	Controllers []string // what cgroup.controllers of that cgroup offers
	Top         []string // what the hierarchy's root offers
	Owner       uint32   // owner of the directory (systemd's Delegate=yes chowns it)
	NSDelegate  bool     // mounted with nsdelegate: cgroup namespaces are delegation boundaries
}

// Dir is the directory of the caller's cgroup, below Root.
func (g *Group) Dir() string { return filepath.Join(g.Root, g.Mount, g.Path) }

// HostDir is the directory as the host names it.
func (g *Group) HostDir() string { return filepath.Join(g.Mount, g.Path) }

// Find locates the cgroup v2 of the calling process (proc/self/cgroup and
// proc/self/mountinfo below root). Its errors say what is missing and how to
// get it.
func Find(root string) (*Group, error) {
	mount, mountRoot, opts, err := cgroup2Mount(filepath.Join(root, "proc/self/mountinfo"))
	if err != nil {
		return nil, &hints.Error{What: "cgroup v2", Why: err, Hint: hints.CgroupV2}
	}
	if mount == "" {
		return nil, &hints.Error{What: "cgroup v2", Why: errors.New("not mounted (a cgroup v1 host)"), Hint: hints.CgroupV2}
	}
	// On a hybrid host the v2 hierarchy is mounted (at /sys/fs/cgroup/unified)
	// but every controller stays bound to v1, so it can limit nothing.
	top, _ := readFields(filepath.Join(root, mount, "cgroup.controllers"))
	if len(top) == 0 {
		return nil, &hints.Error{What: "cgroup v2", Why: fmt.Errorf("mounted at %s without controllers (a cgroup v1 or hybrid host)", mount), Hint: hints.CgroupV2}
	}
	own, err := ownCgroup(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return nil, &hints.Error{What: "cgroup v2", Why: err, Hint: hints.CgroupV2}
	}
	// Inside a cgroup namespace both are relative to its root; otherwise the
	// mount's root is "/".
	rel, ok := strings.CutPrefix(own, mountRoot)
	if mountRoot == "/" {
		rel, ok = own, true
	}
	if !ok {
		return nil, &hints.Error{What: "cgroup v2", Why: fmt.Errorf("own cgroup %s is outside the mount of %s at %s", own, mountRoot, mount)}
	}
	g := &Group{Root: root, Mount: mount, Path: "/" + strings.TrimPrefix(rel, "/"), Top: top}
	for _, o := range strings.Split(opts, ",") {
		g.NSDelegate = g.NSDelegate || o == "nsdelegate"
	}
	var st unix.Stat_t
	if err := unix.Stat(g.Dir(), &st); err != nil {
		return nil, &hints.Error{What: "cgroup v2: " + g.HostDir(), Why: err}
	}
	g.Owner = st.Uid
	g.Controllers, _ = readFields(filepath.Join(g.Dir(), "cgroup.controllers"))
	return g, nil
}

// Delegated checks that uid may create child cgroups with the controllers
// need: the directory and its cgroup.procs and cgroup.subtree_control belong
// to uid (cgroups(7), "Delegation"), and the controllers are offered.
func (g *Group) Delegated(uid uint32, need []string) error {
	if missing := Missing(g.Top, need); len(missing) > 0 {
		return &hints.Error{What: "cgroup v2", Why: fmt.Errorf("the hierarchy at %s has no %s controller (they are bound to cgroup v1: a hybrid host)", g.Mount, strings.Join(missing, ", ")), Hint: hints.CgroupV2}
	}
	if uid != 0 {
		for _, f := range []string{"", "cgroup.procs", "cgroup.subtree_control"} {
			var st unix.Stat_t
			if err := unix.Stat(filepath.Join(g.Dir(), f), &st); err != nil || st.Uid != uid {
				return &hints.Error{What: "cgroup v2", Why: fmt.Errorf("your cgroup %s is not delegated to you", g.HostDir()), Hint: hints.CgroupDelegate}
			}
		}
	}
	// Everything isolate creates below a delegated cgroup belongs to the
	// user, and so to the sandbox's root, who could raise its own
	// memory.max. With nsdelegate the kernel refuses writes to the control
	// files of a cgroup namespace's root from inside it, and moves across
	// its border (cgroup-v2.rst, "Delegation Containment"); the sandbox
	// enters a cgroup namespace rooted at its own cgroup (applyLimits).
	if uid != 0 && !g.NSDelegate {
		return &hints.Error{What: "cgroup v2", Why: fmt.Errorf("%s is mounted without nsdelegate: the sandbox could lift its own limits", g.Mount), Hint: hints.CgroupNSDelegate}
	}
	if missing := Missing(g.Controllers, need); len(missing) > 0 {
		return &hints.Error{What: "cgroup v2", Why: fmt.Errorf("controller %s is not delegated to %s (it offers: %s)", strings.Join(missing, ", "), g.HostDir(), strings.Join(g.Controllers, " ")), Hint: hints.CgroupControllers}
	}
	return nil
}

// Missing lists the entries of need that have lacks.
func Missing(have, need []string) []string {
	var out []string
	for _, n := range need {
		found := false
		for _, h := range have {
			found = found || h == n
		}
		if !found {
			out = append(out, n)
		}
	}
	return out
}

// cgroup2Mount finds the cgroup2 mount in a mountinfo file
// (proc_pid_mountinfo(5)): its mount point, its root and its options.
func cgroup2Mount(path string) (mount, root, opts string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) >= 6 && len(b) >= 3 && b[0] == "cgroup2" {
			return unescape(a[4]), unescape(a[3]), a[5] + "," + b[2], nil
		}
	}
	return "", "", "", sc.Err()
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ownCgroup reads the v2 line ("0::PATH") of /proc/self/cgroup (cgroups(7)).
func ownCgroup(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s has no cgroup v2 entry", path)
}

func readFields(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}
