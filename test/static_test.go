package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A dynamically linked isolate (built with cgo, which os/user and net pull
// in) cannot run its --ulimit step after pivot_root, where the rootfs has
// no loader: it must say so before starting, not fail with a bare ENOENT.
func TestDynamicIsolateRefusesLimitsInsideARootfsClearly(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(workDir, "isolate-dynamic")
	build := exec.Command("go", "build", "-o", bin, "../cmd/isolate")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build with cgo (needs gcc): %v: %s", err, out)
	}
	os.Chmod(bin, 0o755)
	if out, _ := exec.Command("file", bin).Output(); !strings.Contains(string(out), "dynamically linked") {
		t.Fatalf("the cgo build is not dynamic, the test proves nothing: %s", out)
	}
	root := busyboxRoot(t)
	m := marker()
	cmd := command(opts{}, "-q", "--net", "none", "--rootfs", root, "--ulimit", "nofile=100", "/bin/sleep", m)
	cmd.Path, cmd.Args[0] = bin, bin
	r := runCmd(t, cmd)
	if r.Code != 125 || !strings.HasPrefix(r.Stderr, "isolate: resource limits inside a root filesystem: isolate is dynamically linked") ||
		!strings.Contains(r.Stderr, "  hint: rebuild isolate static: CGO_ENABLED=0") {
		t.Fatalf("%s", r)
	}
	if left := hostProcesses(m); len(left) != 0 {
		t.Errorf("processes left behind: %v", left)
	}
	// The same binary without a rootfs has no such step inside a root.
	cmd = command(opts{}, "-q", "--net", "none", "--ulimit", "nofile=100", "sh", "-c", "ulimit -n")
	cmd.Path, cmd.Args[0] = bin, bin
	if r := runCmd(t, cmd); r.Code != 0 || r.Stdout != "100\n" {
		t.Errorf("dynamic isolate with --ulimit in the host view: %s", r)
	}
}
