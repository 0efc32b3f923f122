package test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// On this host isolate runs, so the doctor says 0 or 1, never 2; every line
// is a check with its symbol, or the fix under one.
func TestDoctorOnThisHost(t *testing.T) {
	t.Parallel()
	r := run(t, opts{}, "doctor")
	if r.Code != 0 && r.Code != 1 {
		t.Fatalf("exit = %d, want 0 or 1 on a host where isolate runs\n%s", r.Code, r)
	}
	lines := strings.Split(strings.TrimRight(r.Stdout, "\n"), "\n")
	for i, l := range lines[:len(lines)-1] {
		switch {
		case strings.HasPrefix(l, "✓ "), strings.HasPrefix(l, "! "), strings.HasPrefix(l, "✗ "):
		case strings.HasPrefix(l, "    fix: ") && i > 0 && !strings.HasPrefix(lines[i-1], "✓"):
		default:
			t.Errorf("line %q is neither a check nor the fix of a failing one", l)
		}
	}
	if !strings.HasSuffix(lines[len(lines)-1], "(exit "+string(rune('0'+r.Code))+")") {
		t.Errorf("last line %q does not give the exit status %d", lines[len(lines)-1], r.Code)
	}
	for _, name := range []string{"unprivileged user namespaces", "creating a user namespace", "newuidmap", "/etc/subuid", "slirp4netns", "pasta", "/dev/net/tun", "Landlock", "cgroup v2"} {
		if !strings.Contains(r.Stdout, " "+name) {
			t.Errorf("no %s check:\n%s", name, r.Stdout)
		}
	}
	if fallback {
		if !strings.Contains(r.Stdout, "! newuidmap: not found") || r.Code != 1 {
			t.Errorf("with the helpers hidden the doctor must name the fallback and exit 1:\n%s", r)
		}
	} else if !strings.Contains(r.Stdout, "✓ newuidmap: /usr/bin/newuidmap (setuid root)") ||
		!strings.Contains(r.Stdout, "✓ /etc/subuid: "+testUser.Name+" has ") {
		t.Errorf("the test user's helpers and ranges are not seen:\n%s", r.Stdout)
	}
}

func TestDoctorJSONAgreesWithItsExitStatus(t *testing.T) {
	t.Parallel()
	r := run(t, opts{}, "doctor", "--json")
	var rep struct {
		Checks []struct{ Name, Status, Detail, Fix string }
		Exit   int
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r)
	}
	if rep.Exit != r.Code || len(rep.Checks) < 10 {
		t.Errorf("JSON exit %d, process exit %d, %d checks", rep.Exit, r.Code, len(rep.Checks))
	}
	for _, c := range rep.Checks {
		if c.Status != "ok" && c.Fix == "" {
			t.Errorf("%s is %s without a fix: %s", c.Name, c.Status, c.Detail)
		}
	}
}

func TestDoctorNamesTheUsermodLineForAUserWithoutRanges(t *testing.T) {
	t.Parallel()
	if noSubUser == nil {
		t.Skip("needs root to create a user without /etc/subuid entries")
	}
	r := run(t, opts{as: noSubUser}, "doctor")
	want := "! /etc/subuid: no entry for " + noSubUserName + ": isolate maps only your own id\n    fix: sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 " + noSubUserName + "\n"
	if r.Code != 1 || !strings.Contains(r.Stdout, want) {
		t.Errorf("want exit 1 and\n%s\ngot %s", want, r)
	}
}

// `isolate doctor` is the subcommand; a program named doctor runs after
// "--" or after any option, because a subcommand is only the first word.
func TestProgramNamedDoctorRunsAfterDashDash(t *testing.T) {
	t.Parallel()
	dir := userDir(t)
	script := filepath.Join(dir, "doctor")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho program doctor \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := "PATH=" + dir + ":/usr/bin:/bin"
	for _, args := range [][]string{
		{"-e", path, "--", "doctor", "--json"},
		{"-q", "-e", path, "doctor", "--json"},
	} {
		if got := isolate(t, append([]string{"-q"}, args...)...); got != "program doctor --json\n" {
			t.Errorf("isolate %q printed %q, want the program's output", args, got)
		}
	}
	r := run(t, opts{}, "doctor", "extra")
	if r.Code != 125 || !strings.Contains(r.Stderr, "  hint: to run a program named doctor: isolate -- doctor extra") {
		t.Errorf("isolate doctor extra: %s", r)
	}
}

// A host where isolate cannot run, for real: an outer user namespace with
// user.max_user_namespaces=0 (limits are per user namespace) plays it.
func TestDoctorOnAHostWithoutUserNamespacesExits2(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("unshare", "--user", "--map-root-user", "sh", "-c",
		`echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" doctor`, isolateBin)
	res := runCmd(t, cmd)
	if res.Code != 2 {
		t.Fatalf("want exit 2: %s", res)
	}
	for _, want := range []string{
		"✗ unprivileged user namespaces: disabled: user.max_user_namespaces=0\n    fix: sudo sysctl -w user.max_user_namespaces=15000\n",
		"✗ creating a user namespace: clone(CLONE_NEWUSER) failed: no space left on device\n    fix: the user namespace limit is reached or zero: sudo sysctl -w user.max_user_namespaces=15000\n",
		"isolate cannot run here until the ✗ lines are fixed (exit 2)\n",
	} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("doctor output lacks\n%s\ngot:\n%s", want, res.Stdout)
		}
	}
}
