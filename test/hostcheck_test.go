package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The host errors a user meets, each reproduced for real where a normal
// user can reproduce it: limits and maps are per user namespace, so an
// outer `unshare` plays the misconfigured host.

func TestUserNamespaceLimitOfZeroNamesTheSysctl(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("unshare", "--user", "--map-root-user", "sh", "-c",
		`echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" -q true`, isolateBin)
	res := runCmd(t, cmd)
	if res.Code != 125 {
		t.Fatalf("want exit 125: %s", res)
	}
	want := "isolate: create namespaces (clone with CLONE_NEWUSER): no space left on device\n  hint: the user namespace limit is reached or zero: sudo sysctl -w user.max_user_namespaces=15000\n"
	if res.Stderr != want {
		t.Errorf("stderr = %q, want %q", res.Stderr, want)
	}
}

func TestRootOfANestedNamespaceMapsItsOwnIDs(t *testing.T) {
	t.Parallel()
	if fallback {
		t.Skip("unshare --map-auto needs newuidmap")
	}
	cmd := exec.Command("unshare", "--user", "--map-auto", "--map-root-user", isolateBin, "cat", "/proc/self/uid_map")
	res := runCmd(t, cmd)
	lines := fieldsPerLine(res.Stdout)
	if res.Code != 0 || len(lines) != 2 || lines[0] != "0 0 1" || !strings.HasPrefix(lines[1], "1 1 ") {
		t.Fatalf("inside a rootless container, root's ids must map to themselves: %s", res)
	}
	if res.Stderr != "" {
		t.Errorf("no notice expected for nested root: %q", res.Stderr)
	}
}

func TestHelpersWithoutSetuidFallBackWithANotice(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(workDir, "nosetuid-bin")
	os.MkdirAll(dir, 0o755)
	for _, h := range []string{"newuidmap", "newgidmap"} {
		b, err := os.ReadFile("/usr/bin/" + h)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, h), b, 0o755) // a copy: no setuid bit
	}
	r := run(t, opts{env: []string{"PATH=" + dir + ":" + defaultPath}}, "cat", "/proc/self/uid_map")
	if r.Code != 0 {
		t.Fatal(r)
	}
	if !strings.Contains(r.Stderr, "isolate: notice: newuidmap/newgidmap are neither setuid root nor have file capabilities") {
		t.Errorf("stderr = %q", r.Stderr)
	}
	if lines := fieldsPerLine(r.Stdout); len(lines) != 1 {
		t.Errorf("only the caller must be mapped: %v", lines)
	}
}

func TestUserOutsideASmallRangeIsRefused(t *testing.T) {
	t.Parallel()
	if fallback {
		t.Skip("covered by TestUserFlagRunsAsThatID")
	}
	// Container ids 0..65536 exist (the caller, then 65536 subordinate ids).
	if got := isolate(t, "-q", "-u", "65536", "id", "-u"); got != "65536\n" {
		t.Errorf("the last mapped id: %q", got)
	}
	r := run(t, opts{}, "-u", "65537", "true")
	if r.Code != 125 || !strings.HasPrefix(r.Stderr, "isolate: --user 65537:65537: uid 65537 is not mapped in the sandbox (uid map 0:") ||
		!strings.Contains(r.Stderr, "  hint: pick an id inside the map, or give your user a larger range in /etc/subuid") {
		t.Errorf("%s", r)
	}
}

// runCmd runs an arbitrary command line as the test user.
func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	c := command(opts{})
	c.Path, c.Args = cmd.Path, cmd.Args
	if c.Path == "" || !filepath.IsAbs(c.Path) {
		p, err := exec.LookPath(cmd.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		c.Path = p
	}
	var out, errb lockedBuffer
	c.Stdout, c.Stderr = &out, &errb
	c.Run()
	return result{Stdout: out.String(), Stderr: errb.String(), Code: c.ProcessState.ExitCode()}
}
