package security

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Plan is everything Apply takes away, for one program.
type Plan struct {
	// Capability sets the program keeps; bits beyond the sets are dropped.
	Bounding, Permitted, Effective, Inheritable, Ambient CapSet
	// User, when not nil, is the identity the thread switches to.
	User *Identity
	// LandlockABI and Writable: Landlock limits writes to Writable when
	// the ABI is above 0.
	LandlockABI int
	Writable    []string
	// Seccomp is loaded last; nil runs unconfined.
	Seccomp *Program
	// AllowNewPrivs leaves no_new_privs unset (an OCI config.json with
	// "noNewPrivileges": false). Seccomp then needs CAP_SYS_ADMIN, so it
	// is loaded first, while the thread still has it (runc's order), and
	// Landlock must be off.
	AllowNewPrivs bool
}

// Identity is a uid, gid and supplementary groups.
type Identity struct {
	UID, GID uint32
	Groups   []uint32
	// NoSetGroups skips setgroups(2), which fails when the user namespace
	// was created with setgroups denied.
	NoSetGroups bool
}

// Apply confines the calling OS thread, in the order of the package
// comment. The caller must have locked the thread, and the thread should
// fork or exec the program next.
func Apply(p *Plan) error {
	if err := MarkFdsCloexec(3); err != nil {
		return err
	}
	ruleset := -1
	if p.LandlockABI > 0 {
		fd, err := landlockRuleset(p.LandlockABI, p.Writable)
		if err != nil {
			return err
		}
		ruleset = fd
		defer func() {
			if ruleset >= 0 {
				unix.Close(ruleset)
			}
		}()
	}
	if p.AllowNewPrivs && p.Seccomp != nil {
		if err := loadSeccomp(p.Seccomp); err != nil {
			return err
		}
	}
	if err := dropBounding(p.Bounding); err != nil {
		return err
	}
	if p.User != nil {
		if err := switchUser(p.User, p.Permitted != 0); err != nil {
			return err
		}
	}
	if err := setCaps(p.Permitted, p.Effective, p.Inheritable); err != nil {
		return err
	}
	if err := setAmbient(p.Ambient); err != nil {
		return err
	}
	// no_new_privs: execve never grants privileges again (setuid bits and
	// file capabilities are ignored), and it allows seccomp and Landlock
	// without CAP_SYS_ADMIN (prctl(2), seccomp(2)).
	if p.AllowNewPrivs {
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	if ruleset >= 0 {
		fd := ruleset
		ruleset = -1
		if err := landlockRestrict(fd); err != nil {
			return err
		}
	}
	if p.Seccomp != nil {
		if err := loadSeccomp(p.Seccomp); err != nil {
			return err
		}
	}
	return nil
}

// LastCap is the highest capability this kernel knows: PR_CAPBSET_READ
// fails with EINVAL above it.
func LastCap() int {
	c := 0
	for c < 63 {
		if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c+1), 0, 0, 0); err != nil {
			break
		}
		c++
	}
	return c
}

func dropBounding(keep CapSet) error {
	last := LastCap()
	for c := 0; c <= last; c++ {
		if keep.Has(c) {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("prctl(PR_CAPBSET_DROP, %s): %w", capName(c), err)
		}
	}
	return nil
}

func capName(c int) string {
	if c < len(capNames) {
		return capNames[c]
	}
	return "capability " + strconv.Itoa(c)
}

// switchUser changes the ids of this thread only. Go's syscall.Setresuid
// and friends change every thread of the process (golang/go#1435), which
// would also demote isolate's init; raw syscalls keep the change on the
// thread that starts the program.
func switchUser(id *Identity, keepCaps bool) error {
	if keepCaps {
		// Keep the permitted set across the change to a non-zero uid
		// (capabilities(7), "Effect of user ID changes").
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("prctl(PR_SET_KEEPCAPS): %w", err)
		}
	}
	if !id.NoSetGroups {
		var ptr unsafe.Pointer
		if len(id.Groups) > 0 {
			ptr = unsafe.Pointer(&id.Groups[0])
		}
		if _, _, errno := unix.RawSyscall(sysSetgroups, uintptr(len(id.Groups)), uintptr(ptr), 0); errno != 0 {
			return fmt.Errorf("setgroups: %w", errno)
		}
	}
	if _, _, errno := unix.RawSyscall(sysSetresgid, uintptr(id.GID), uintptr(id.GID), uintptr(id.GID)); errno != 0 {
		return fmt.Errorf("setresgid %d: %w", id.GID, errno)
	}
	if _, _, errno := unix.RawSyscall(sysSetresuid, uintptr(id.UID), uintptr(id.UID), uintptr(id.UID)); errno != 0 {
		return fmt.Errorf("setresuid %d: %w", id.UID, errno)
	}
	return nil
}

func setCaps(p, e, i CapSet) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for w := 0; w < 2; w++ {
		data[w].Permitted = uint32(p >> (32 * w))
		data[w].Effective = uint32(e >> (32 * w))
		data[w].Inheritable = uint32(i >> (32 * w))
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset (permitted %s): %w", p.Names(), err)
	}
	return nil
}

func setAmbient(a CapSet) error {
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("prctl(PR_CAP_AMBIENT_CLEAR_ALL): %w", err)
	}
	for c := 0; c < 64; c++ {
		if a.Has(c) {
			if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
				return fmt.Errorf("prctl(PR_CAP_AMBIENT_RAISE, %s): %w", capName(c), err)
			}
		}
	}
	return nil
}

func loadSeccomp(prog *Program) error {
	fprog := unix.SockFprog{Len: uint16(len(prog.Insns)), Filter: &prog.Insns[0]}
	// No SECCOMP_FILTER_FLAG_TSYNC: the filter belongs to this thread and
	// what it forks or execs, not to the rest of isolate's init.
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(prog.Flags), uintptr(unsafe.Pointer(&fprog))); errno != 0 {
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %w", errno)
	}
	return nil
}

// MarkFdsCloexec makes every fd from lowest on close-on-exec, so that
// nothing isolate inherited or opened reaches the program
// (CVE-2024-21626).
func MarkFdsCloexec(lowest int) error {
	err := unix.CloseRange(uint(lowest), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("close_range(CLOSE_RANGE_CLOEXEC): %w", err)
	}
	// Before Linux 5.11: one by one.
	ents, rerr := os.ReadDir("/proc/self/fd")
	if rerr != nil {
		return fmt.Errorf("list /proc/self/fd: %w", rerr)
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < lowest {
			continue
		}
		unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
	}
	return nil
}
