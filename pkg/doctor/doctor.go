// Package doctor tells whether isolate can work on this host and how to fix
// what is missing: `isolate doctor`. Every check reads below Host.Root, and
// runs programs and probes the kernel only through Host's functions, so each
// check is tested against a faked host (a directory tree and two stubs).
package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Status is the verdict of one check.
type Status int

const (
	OK   Status = iota // ✓ works
	Warn               // ! isolate runs, without this feature or with a fallback
	Fail               // ✗ isolate cannot run here
)

func (s Status) String() string { return [...]string{"ok", "warn", "fail"}[s] }

// Symbol is what the human-readable report shows.
func (s Status) Symbol() string { return [...]string{"✓", "!", "✗"}[s] }

func (s Status) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Check is one line of the report.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Exit statuses of `isolate doctor`.
const (
	ExitAll       = 0 // isolate runs with every feature
	ExitFallbacks = 1 // isolate runs, with fallbacks or without some features
	ExitCannot    = 2 // isolate cannot run here
)

// Report is every check and the verdict.
type Report struct {
	Checks  []Check `json:"checks"`
	Exit    int     `json:"exit"`
	Verdict string  `json:"verdict"`
}

// Host is the machine the checks look at.
type Host struct {
	Root   string   // prefix of every path read: "/" on the real host
	UID    uint32   // the user isolate runs as
	GID    uint32   // and its primary group
	Groups []uint32 // its supplementary groups
	User   string   // its login name ("" when it has none)
	Path   []string // directories searched for helper programs (below Root)
	Exe    string   // isolate's own path, for the AppArmor profile

	// Version runs the program at path (below Root) with --version and
	// returns its first line.
	Version func(path string) (string, error)
	// LandlockABI returns the kernel's Landlock ABI version
	// (landlock_create_ruleset(2) with LANDLOCK_CREATE_RULESET_VERSION).
	LandlockABI func() (int, error)
	// TryUserNS starts a process in a new user namespace, which is the
	// one test that also catches seccomp filters and other LSMs; nil skips it.
	TryUserNS func() error
}

// Run runs every check.
func Run(h Host) Report {
	var r Report
	for _, check := range []func(Host) []Check{
		checkUserNS, checkAppArmor, checkUserNSWorks, checkProc,
		checkHelpers, checkSubIDs,
		checkNetHelpers, checkTun, checkPingGroup, checkPorts,
		checkOverlay, checkLandlock, checkCgroup,
	} {
		r.Checks = append(r.Checks, check(h)...)
	}
	worst := OK
	for _, c := range r.Checks {
		if c.Status > worst {
			worst = c.Status
		}
	}
	switch worst {
	case OK:
		r.Exit, r.Verdict = ExitAll, "isolate can run here with every feature"
	case Warn:
		r.Exit, r.Verdict = ExitFallbacks, "isolate can run here, with the fallbacks and limits above"
	default:
		r.Exit, r.Verdict = ExitCannot, "isolate cannot run here until the ✗ lines are fixed"
	}
	return r
}

// WriteText prints the report for a person: one line per check, its fix
// indented under it.
func (r Report) WriteText(w io.Writer) {
	for _, c := range r.Checks {
		fmt.Fprintf(w, "%s %s: %s\n", c.Status.Symbol(), c.Name, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(w, "    fix: %s\n", c.Fix)
		}
	}
	fmt.Fprintf(w, "%s (exit %d)\n", r.Verdict, r.Exit)
}

// WriteJSON prints the report for a machine.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// path is p below the host's root.
func (h Host) path(p string) string {
	if h.Root == "" || h.Root == "/" {
		return p
	}
	return strings.TrimSuffix(h.Root, "/") + p
}

// read returns the trimmed content of a file below the root, and whether
// it could be read.
func (h Host) read(p string) (string, bool) {
	b, err := os.ReadFile(h.path(p))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

func (h Host) sysctl(name string) (string, bool) {
	return h.read("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
}

// lookPath finds a program in h.Path, as the real host's PATH would; it
// returns the host's name for it ("" when missing).
func (h Host) lookPath(name string) string {
	for _, dir := range h.Path {
		p := strings.TrimSuffix(dir, "/") + "/" + name
		if st, err := os.Stat(h.path(p)); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func (h Host) userName() string {
	if h.User != "" {
		return h.User
	}
	return fmt.Sprint(h.UID)
}
