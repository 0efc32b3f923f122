// Package hints holds isolate's error type and every fix-it text it prints,
// so that the advice users get stays consistent and can be reviewed in one
// place. Messages follow one shape: "isolate: <what failed>: <why>", then,
// when the user can fix it, one line that says how.
package hints

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// Exit statuses, as docker and podman use them.
const (
	ExitSetup       = 125 // isolate itself failed
	ExitCannotExec  = 126 // the program exists but cannot be executed
	ExitNotFound    = 127 // the program was not found
	ExitSignalsBase = 128 // 128+N: the program died of signal N
)

// Error is a failure isolate reports to the user.
type Error struct {
	What string // what failed, with its arguments
	Why  error  // the cause
	Hint string // how to fix it; may be empty
	Code int    // exit status; 0 means ExitSetup
}

func (e *Error) Error() string {
	if e.Why == nil {
		return e.What
	}
	return e.What + ": " + e.Why.Error()
}

func (e *Error) Unwrap() error { return e.Why }

// ExitCode is the status isolate exits with for err.
func ExitCode(err error) int {
	var e *Error
	if errors.As(err, &e) && e.Code != 0 {
		return e.Code
	}
	return ExitSetup
}

// Hint returns the fix line of err, if it has one.
func Hint(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Hint
	}
	return ""
}

// Print writes err in the user-facing shape.
func Print(err error) {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintf(os.Stderr, "isolate: %s\n", msg)
	if h := Hint(err); h != "" {
		fmt.Fprintf(os.Stderr, "  hint: %s\n", h)
	}
}

// Notice prints a one-line notice (a fallback that the user should know of).
func Notice(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "isolate: notice: "+format+"\n", args...)
}

// RootMapping is said when real root gets the nobody mapping.
const RootMapping = "add root:100000:65536 to /etc/subuid and /etc/subgid for a full range, or pass --uidmap 0:0:65536 --gidmap 0:0:65536 to map host root (no isolation of ids)"

// SubIDsOrHelpers tells how to get a full subordinate id range.
func SubIDsOrHelpers(user string) string {
	return fmt.Sprintf("install the uidmap package (newuidmap/newgidmap, setuid root) and give %s ranges: sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s", user, user)
}

// UserNSClone explains a failed clone(CLONE_NEWUSER) by its errno
// (clone(2), user_namespaces(7)).
func UserNSClone(err error) string {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return "the user namespace limit is reached or zero: " + MaxUserNamespaces
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		if readSysctl("kernel/unprivileged_userns_clone") == "0" {
			return "unprivileged user namespaces are disabled: " + UnprivilegedUsernsClone
		}
		if h := AppArmorOrLSM(); h != "" {
			return h
		}
		return "user namespaces are refused here (inside a container, run it with a seccomp profile that allows clone(CLONE_NEWUSER), e.g. docker --security-opt seccomp=unconfined)"
	case errors.Is(err, syscall.EINVAL):
		return NoUserNS
	}
	return ""
}

// AppArmorOrLSM names Ubuntu's restriction when it is on, with a profile
// that allows this binary to create user namespaces.
func AppArmorOrLSM() string {
	if readSysctl("kernel/apparmor_restrict_unprivileged_userns") != "1" {
		return ""
	}
	exe, err := os.Executable()
	if err != nil {
		exe = "/usr/local/bin/isolate"
	}
	return "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1); allow isolate with: " + AppArmorProfile(exe)
}

// ProcSysRoot is where /proc/sys is read from; tests point it at a fake.
var ProcSysRoot = "/proc/sys"

func readSysctl(name string) string {
	b, err := os.ReadFile(ProcSysRoot + "/" + name)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Hints for the program itself.
const (
	NotFound   = "check the name and the PATH inside the sandbox (-e PATH=...)"
	CannotExec = "check that it is a regular file with execute permission, and its interpreter (#!) exists inside the sandbox"
)

// ProcMount explains a refused procfs mount.
func ProcMount(err error) string {
	if errors.Is(err, syscall.EPERM) {
		return ProcMasked
	}
	return ""
}

// NoTerminal is said for -t without a terminal on standard input.
const NoTerminal = "run isolate from a terminal (or ssh -t / script), or drop -t to use pipes"

// StaticBuild says how to build isolate without libc (os/user and net link
// it through cgo otherwise).
const StaticBuild = "rebuild isolate static: CGO_ENABLED=0 go build -tags urfave_cli_no_docs ./cmd/isolate"

// UnmappedUser is said for a --user outside the sandbox's id map.
const UnmappedUser = "pick an id inside the map, or give your user a larger range in /etc/subuid and /etc/subgid"
