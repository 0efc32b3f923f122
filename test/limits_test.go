package test

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestUlimitIsSeenInside(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--ulimit", "nofile=123"}, "123 123\n"}, // HARD defaults to SOFT, as docker does
		{[]string{"--ulimit", "nofile=100:200"}, "100 200\n"},
		{[]string{"--no-init", "--ulimit", "nofile=100:200"}, "100 200\n"},
	}
	for _, c := range cases {
		args := append(append([]string{"-q"}, c.args...), "sh", "-c", "echo $(ulimit -n) $(ulimit -Hn)")
		if got := isolate(t, args...); got != c.want {
			t.Errorf("isolate %q: ulimit -n -Hn inside = %q, want %q", c.args, got, c.want)
		}
	}
	if got := isolate(t, "-q", "--ulimit", "cpu=7", "--ulimit", "core=0", "sh", "-c", "echo $(ulimit -t) $(ulimit -c)"); got != "7 0\n" {
		t.Errorf("cpu and core limits inside = %q, want \"7 0\"", got)
	}
}

// The limits bind the program, not isolate's init: a Go runtime cannot live
// under a small address-space limit, and the init must outlive the program.
func TestSmallAddressSpaceLimitBindsOnlyTheProgram(t *testing.T) {
	t.Parallel()
	r := run(t, opts{}, "-q", "--ulimit", "as=67108864", "sh", "-c", "ulimit -v; grep -E '^Max address space' /proc/self/limits /proc/1/limits")
	if r.Code != 0 {
		t.Fatalf("want the program to run under the limit: %s", r)
	}
	lines := fieldsPerLine(r.Stdout)
	if lines[0] != "65536" || !strings.Contains(lines[1], "67108864") || strings.Contains(lines[2], "67108864") {
		t.Errorf("want 64 MiB for the program and no limit for PID 1 (the init):\n%s", r.Stdout)
	}
}

func TestUlimitCannotRaiseTheHardLimit(t *testing.T) {
	t.Parallel()
	m := marker()
	r := run(t, opts{}, "-q", "--ulimit", "nofile=64:unlimited", "sleep", m)
	lines := withoutNotices(r.Stderr)
	if r.Code != 125 || !strings.HasPrefix(lines[0], "isolate: --ulimit nofile=64:unlimited: the hard limit cannot be raised above isolate's own") || len(lines) != 2 || !strings.HasPrefix(lines[1], "  hint: ") {
		t.Fatalf("want one error line and a hint, exit 125: %s", r)
	}
	if left := hostProcesses(m); len(left) != 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

func TestTimeoutKillsTheSandboxReturns124AndLeavesNothing(t *testing.T) {
	t.Parallel()
	for _, noInit := range []bool{false, true} {
		m := marker()
		args := []string{"-q", "--timeout", "1s", "sh", "-c", "sleep " + m + " & sleep " + m}
		if noInit {
			args = append([]string{"--no-init"}, args...)
		}
		r := run(t, opts{}, args...)
		if r.Code != 124 {
			t.Fatalf("exit = %d, want 124 as timeout(1)\n%s", r.Code, r)
		}
		if r.Stderr != "isolate: --timeout 1s: the sandbox ran longer and was killed\n" {
			t.Errorf("stderr = %q, want one line that says so", r.Stderr)
		}
		eventually(t, "no process of the sandbox left", func() bool { return len(hostProcesses(m)) == 0 })
	}
}

// A timeout that fires during the set-up (here while newuidmap runs, or
// before the program is forked) is still reported as the timeout, not as
// whatever failed after the kill.
func TestTimeoutDuringSetUpIsStillTheTimeout(t *testing.T) {
	t.Parallel()
	for i := 0; i < 5; i++ {
		m := marker()
		r := run(t, opts{}, "-q", "--timeout", "1ms", "sh", "-c", "echo started; sleep "+m)
		if r.Code != 124 || r.Stderr != "isolate: --timeout 1ms: the sandbox ran longer and was killed\n" || r.Stdout != "" {
			t.Fatalf("want exit 124, the timeout's one line and no program: %s", r)
		}
		if left := hostProcesses(m); len(left) != 0 {
			t.Errorf("processes left behind: %v", left)
		}
	}
}

func TestTimeoutLeavesAProgramThatEndsInTimeAlone(t *testing.T) {
	t.Parallel()
	r := run(t, opts{}, "-q", "--timeout", "10m", "sh", "-c", "echo done; exit 3")
	if r.Code != 3 || r.Stdout != "done\n" || r.Stderr != "" {
		t.Fatalf("want the program's own status 3 and no message: %s", r)
	}
}

// cgroupDelegated asks isolate doctor, as the test user, whether this host
// delegates a cgroup v2 subtree.
func cgroupDelegated(t *testing.T) (bool, string) {
	t.Helper()
	r := run(t, opts{}, "doctor", "--json")
	var rep struct {
		Checks []struct{ Name, Status, Detail, Fix string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, r)
	}
	for _, c := range rep.Checks {
		if strings.HasPrefix(c.Name, "cgroup v2") {
			return c.Status == "ok", c.Detail
		}
	}
	t.Fatal("doctor has no cgroup check")
	return false, ""
}

// Where a cgroup v2 subtree is delegated the limits apply; everywhere else
// (this development machine is a cgroup v1/hybrid host) they fail with one
// line that names the fix, never silently. The success path is also tested
// against a faked v2 host in pkg/cgroups and pkg/sandbox.
func TestCgroupLimitsApplyWhereDelegatedAndFailClearlyElsewhere(t *testing.T) {
	t.Parallel()
	if ok, _ := cgroupDelegated(t); ok {
		out := isolate(t, "-q", "--pids-limit", "17", "--memory", "64m", "sh", "-c", "cat /proc/self/cgroup")
		if !strings.Contains(out, "isolate-") {
			t.Errorf("the sandbox is not in isolate's cgroup: %s", out)
		}
		return
	}
	for _, flag := range [][]string{{"--memory", "64m"}, {"--pids-limit", "10"}, {"--cpus", "0.5"}} {
		m := marker()
		r := run(t, opts{}, append(append([]string{"-q"}, flag...), "sleep", m)...)
		lines := withoutNotices(r.Stderr)
		if r.Code != 125 || !strings.HasPrefix(lines[0], "isolate: --memory/--pids-limit/--cpus: cgroup v2: ") || len(lines) != 2 ||
			!strings.Contains(lines[1], "systemd-run --user --scope -p Delegate=yes") {
			t.Errorf("%v: want one error line and a hint naming systemd-run, exit 125: %s", flag, r)
		}
		if left := hostProcesses(m); len(left) != 0 {
			t.Errorf("processes left behind: %v", left)
		}
	}
}

func TestBadLimitsAreOneLineAndExit125(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--ulimit", "nofile"}, "isolate: --ulimit nofile: want NAME=SOFT[:HARD]"},
		{[]string{"--ulimit", "nofile=1:x"}, `isolate: --ulimit nofile=1:x: hard limit "x" is not a number`},
		{[]string{"--ulimit", "nofile=10:5"}, "isolate: --ulimit nofile=10:5: soft limit 10 is above the hard limit 5"},
		{[]string{"--ulimit", "openfiles=5"}, `isolate: --ulimit openfiles=5: unknown limit "openfiles"`},
		{[]string{"--timeout", "-5s"}, "isolate: --timeout -5s: must be more than zero"},
		{[]string{"--timeout", "0"}, "isolate: --timeout 0: must be more than zero"},
		{[]string{"--timeout", "soon"}, "isolate: --timeout soon: not a duration"},
		{[]string{"--memory", "512x"}, `isolate: --memory 512x: unknown unit "x"`},
		{[]string{"--memory", "-1g"}, "isolate: --memory -1g: must be more than zero"},
		{[]string{"--memory", "1k"}, "isolate: --memory 1024: less than 6m"},
		{[]string{"--pids-limit", "0"}, "isolate: --pids-limit 0: want a number of processes above zero"},
		{[]string{"--cpus", "many"}, "isolate: --cpus many: want a number of CPUs above zero"},
	}
	for _, c := range cases {
		c := c
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Parallel()
			m := marker()
			r := run(t, opts{}, append(append([]string{}, c.args...), "sleep", m)...)
			lines := withoutNotices(r.Stderr)
			if r.Code != 125 || !strings.HasPrefix(lines[0], c.want) {
				t.Fatalf("want exit 125 and %q first: %s", c.want, r)
			}
			if len(lines) > 2 || (len(lines) == 2 && !strings.HasPrefix(lines[1], "  hint: ")) {
				t.Errorf("want one error line and at most one hint line, got %q", r.Stderr)
			}
			if left := hostProcesses(m); len(left) != 0 {
				t.Errorf("processes left behind: %v", left)
			}
		})
	}
}

// A hostile program cannot undo a limit: the hard limit binds it, and
// raising it needs CAP_SYS_RESOURCE in the host's user namespace.
func TestProgramCannotRaiseItsHardLimit(t *testing.T) {
	t.Parallel()
	r := run(t, opts{}, "-q", "--ulimit", "nofile=50:60", "sh", "-c", "ulimit -Hn 1000 2>/dev/null && echo raised; ulimit -Hn")
	if r.Code != 0 || strings.Contains(r.Stdout, "raised") || r.Stdout != "60\n" {
		t.Fatalf("root in the sandbox raised its hard limit: %s", r)
	}
}
