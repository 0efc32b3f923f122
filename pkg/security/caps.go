package security

import (
	"errors"
	"fmt"
	"strings"
)

// CapSet is a set of capabilities, bit N for capability N (capabilities(7)).
type CapSet uint64

// capNames are the kernel's capabilities up to CAP_CHECKPOINT_RESTORE (5.9).
// A kernel that knows more (cap_last_cap) has them dropped from the
// bounding set too; they cannot be named here.
var capNames = [...]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// AllCaps is every capability this package can name.
const AllCaps = CapSet(1)<<len(capNames) - 1

// DefaultCaps is the set docker and podman give a container's root.
var DefaultCaps = mustCaps("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL",
	"SETGID", "SETUID", "SETPCAP", "NET_BIND_SERVICE", "NET_RAW", "SYS_CHROOT",
	"MKNOD", "AUDIT_WRITE", "SETFCAP")

// CapByName reads a capability name as docker does: any case, with or
// without the CAP_ prefix.
func CapByName(name string) (int, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	for i, c := range capNames {
		if c == n {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown capability %q", name)
}

// CapError is a bad --cap-add or --cap-drop.
type CapError struct {
	Flag string // "--cap-add", "--cap-drop" or "--cap-add/--cap-drop"
	Name string
	Err  error
}

func (e *CapError) Error() string { return e.Flag + " " + e.Name + ": " + e.Err.Error() }
func (e *CapError) Unwrap() error { return e.Err }

func mustCaps(names ...string) CapSet {
	s, err := ParseCaps(names)
	if err != nil {
		panic(err)
	}
	return s
}

// ParseCaps reads a list of capability names (no ALL).
func ParseCaps(names []string) (CapSet, error) {
	var s CapSet
	for _, n := range names {
		c, err := CapByName(n)
		if err != nil {
			return 0, err
		}
		s |= 1 << c
	}
	return s, nil
}

func isAll(n string) bool { return strings.EqualFold(strings.TrimSpace(n), "ALL") }

// ResolveCaps applies --cap-add and --cap-drop to base, the way docker
// does: ALL in drop empties the set before the additions, ALL in add fills
// it before the removals. Naming a capability in both lists is an error,
// because the user's intent is unclear.
func ResolveCaps(base CapSet, add, drop []string) (CapSet, error) {
	var addSet, dropSet CapSet
	addAll, dropAll := false, false
	for _, n := range add {
		if isAll(n) {
			addAll = true
			continue
		}
		c, err := CapByName(n)
		if err != nil {
			return 0, &CapError{Flag: "--cap-add", Name: n, Err: errors.New("unknown capability")}
		}
		addSet |= 1 << c
	}
	for _, n := range drop {
		if isAll(n) {
			dropAll = true
			continue
		}
		c, err := CapByName(n)
		if err != nil {
			return 0, &CapError{Flag: "--cap-drop", Name: n, Err: errors.New("unknown capability")}
		}
		dropSet |= 1 << c
	}
	if both := addSet & dropSet; both != 0 {
		return 0, &CapError{Flag: "--cap-add/--cap-drop", Name: strings.Join(both.Names(), ","), Err: errors.New("both added and dropped")}
	}
	set := base
	switch {
	case addAll:
		set = AllCaps &^ dropSet
	case dropAll:
		set = addSet
	default:
		set = (set &^ dropSet) | addSet
	}
	return set, nil
}

// Has reports whether capability c is in s.
func (s CapSet) Has(c int) bool { return c >= 0 && c < 64 && s&(1<<c) != 0 }

// Names lists s as CAP_ names, in the kernel's order.
func (s CapSet) Names() []string {
	var out []string
	for i, n := range capNames {
		if s.Has(i) {
			out = append(out, n)
		}
	}
	return out
}

// CapsFromNames reads OCI capability lists ("CAP_NET_ADMIN", ...).
func CapsFromNames(names []string) (CapSet, error) { return ParseCaps(names) }

// CapNames lists every capability isolate knows, by its CAP_ name.
func CapNames() []string { return append([]string(nil), capNames[:]...) }
