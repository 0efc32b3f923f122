package security

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Landlock (Linux 5.13+) is used for one thing: the program may write only
// below the paths the mount set-up made writable, so that a mistake in the
// mounts is not a way to change the host. Reading and executing are left
// to the mounts and the file permissions. isolate calls the three
// landlock_* syscalls itself: they are per thread, like everything else
// here, and go-landlock restricts every thread of the process instead
// (syscall.AllThreadsSyscall, which also fails in a cgo binary).

// writeRights are the write-like access rights, with the ABI that added
// each (landlock(7)).
var writeRights = []struct {
	right uint64
	abi   int
	dir   bool // only meaningful on directories
}{
	{unix.LANDLOCK_ACCESS_FS_WRITE_FILE, 1, false},
	{unix.LANDLOCK_ACCESS_FS_REMOVE_DIR, 1, true},
	{unix.LANDLOCK_ACCESS_FS_REMOVE_FILE, 1, true},
	{unix.LANDLOCK_ACCESS_FS_MAKE_CHAR, 1, true},
	{unix.LANDLOCK_ACCESS_FS_MAKE_DIR, 1, true},
	{unix.LANDLOCK_ACCESS_FS_MAKE_REG, 1, true},
	{unix.LANDLOCK_ACCESS_FS_MAKE_SOCK, 1, true},
	{unix.LANDLOCK_ACCESS_FS_MAKE_FIFO, 1, true},
	{unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK, 1, true},
	{unix.LANDLOCK_ACCESS_FS_MAKE_SYM, 1, true},
	// Not handling REFER would deny every rename or link across
	// directories, even inside a writable one (ABI 1 behaviour).
	{unix.LANDLOCK_ACCESS_FS_REFER, 2, true},
	{unix.LANDLOCK_ACCESS_FS_TRUNCATE, 3, false},
}

// LandlockRights returns the access rights handled by the ruleset and those
// granted below a writable directory or on a writable file, for an ABI.
func LandlockRights(abi int) (handled, dir, file uint64) {
	for _, r := range writeRights {
		if r.abi > abi {
			continue
		}
		handled |= r.right
		dir |= r.right
		if !r.dir {
			file |= r.right
		}
	}
	return handled, dir, file
}

// LandlockScopes are the IPC scopes isolate sets for an ABI: from ABI 6
// (Linux 6.12) the program cannot connect to abstract unix sockets made
// outside the sandbox, which matters whenever the network namespace is
// shared with the host. Signals are not scoped: the program's parent is
// isolate's init, and kill(getppid(), ...) should keep working.
func LandlockScopes(abi int) uint64 {
	if abi >= 6 {
		return unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
	}
	return 0
}

// LandlockABI is the kernel's Landlock ABI version, 0 when the kernel lacks
// Landlock or has it disabled.
func LandlockABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}

// rulesetAttr is struct landlock_ruleset_attr up to "scoped" (ABI 6); an
// older kernel accepts the longer struct when the fields it lacks are 0.
type rulesetAttr struct {
	handledFS  uint64
	handledNet uint64
	scoped     uint64
}

type pathBeneath struct {
	allowed  uint64
	parentFd int32
}

// landlockRuleset creates a ruleset that allows writes only below the
// given paths; missing paths are skipped. The caller enforces it with
// landlockRestrict after no_new_privs.
func landlockRuleset(abi int, writable []string) (int, error) {
	handled, dirRights, fileRights := LandlockRights(abi)
	attr := rulesetAttr{handledFS: handled, scoped: LandlockScopes(abi)}
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if errno != 0 {
		return -1, fmt.Errorf("landlock_create_ruleset: %w", errno)
	}
	for _, p := range writable {
		pfd, err := unix.Open(p, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			unix.Close(int(fd))
			return -1, fmt.Errorf("open %s for a landlock rule: %w", p, err)
		}
		var st unix.Stat_t
		rights := fileRights
		if unix.Fstat(pfd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			rights = dirRights
		}
		rule := pathBeneath{allowed: rights, parentFd: int32(pfd)}
		_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, fd, unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&rule)), 0, 0, 0)
		unix.Close(pfd)
		if errno != 0 {
			unix.Close(int(fd))
			return -1, fmt.Errorf("landlock_add_rule %s: %w", p, errno)
		}
	}
	return int(fd), nil
}

func landlockRestrict(fd int) error {
	defer unix.Close(fd)
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(fd), 0, 0); errno != 0 {
		return fmt.Errorf("landlock_restrict_self: %w", errno)
	}
	return nil
}
