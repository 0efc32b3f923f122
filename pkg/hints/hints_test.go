package hints

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func fakeSysctls(t *testing.T, values map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for name, v := range values {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(v+"\n"), 0o644)
	}
	old := ProcSysRoot
	ProcSysRoot = dir
	t.Cleanup(func() { ProcSysRoot = old })
}

func TestUserNSCloneNamesTheFix(t *testing.T) {
	cases := []struct {
		sysctls map[string]string
		errno   error
		want    string
	}{
		{nil, syscall.ENOSPC, "user.max_user_namespaces"},
		{map[string]string{"kernel/unprivileged_userns_clone": "0"}, syscall.EPERM, "kernel.unprivileged_userns_clone=1"},
		{map[string]string{"kernel/apparmor_restrict_unprivileged_userns": "1"}, syscall.EPERM, "apparmor_parser -r /etc/apparmor.d/isolate"},
		{nil, syscall.EPERM, "seccomp profile"},
		{nil, syscall.EINVAL, "CONFIG_USER_NS"},
		{nil, syscall.EIO, ""},
	}
	for _, c := range cases {
		fakeSysctls(t, c.sysctls)
		got := UserNSClone(fmt.Errorf("fork/exec: %w", c.errno))
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%v with %v: hint %q, want %q", c.errno, c.sysctls, got, c.want)
		}
	}
}

func TestErrorShapeAndExitCode(t *testing.T) {
	e := &Error{What: "mount proc on /proc", Why: syscall.EPERM, Hint: "h", Code: ExitNotFound}
	wrapped := fmt.Errorf("setup: %w", e)
	if ExitCode(wrapped) != ExitNotFound || Hint(wrapped) != "h" || !errors.Is(wrapped, syscall.EPERM) {
		t.Errorf("wrapping lost the code, hint or cause")
	}
	if e.Error() != "mount proc on /proc: operation not permitted" {
		t.Errorf("Error() = %q", e.Error())
	}
	if ExitCode(errors.New("plain")) != ExitSetup {
		t.Error("a plain error must exit 125")
	}
}
