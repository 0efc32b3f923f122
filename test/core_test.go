package test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestEveryNamespaceDiffersFromTheHost(t *testing.T) {
	t.Parallel()
	out := isolate(t, "sh", "-c", "for n in user mnt pid uts ipc net cgroup; do echo $n $(readlink /proc/self/ns/$n); done")
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		n, inside, _ := strings.Cut(line, " ")
		host, err := os.Readlink("/proc/self/ns/" + n)
		if err != nil {
			t.Fatal(err)
		}
		if inside == "" || inside == host {
			t.Errorf("%s namespace inside is %q, host's is %q: want a new one", n, inside, host)
		}
		seen++
	}
	if seen != 7 {
		t.Fatalf("saw %d namespaces, want 7:\n%s", seen, out)
	}
}

func TestUIDMapHasCallerAsRootAndSubordinateRange(t *testing.T) {
	t.Parallel()
	r := run(t, opts{}, "cat", "/proc/self/uid_map", "/proc/self/gid_map")
	if r.Code != 0 {
		t.Fatal(r)
	}
	lines := fieldsPerLine(r.Stdout)
	first := fmt.Sprintf("0 %d 1", testUser.UID)
	if len(lines) == 0 || lines[0] != first {
		t.Fatalf("first uid map line = %v, want %q", lines, first)
	}
	if fallback {
		if len(lines) != 2 || lines[1] != fmt.Sprintf("0 %d 1", testUser.GID) {
			t.Errorf("fallback maps = %v, want only the caller's uid and gid", lines)
		}
		if !strings.Contains(r.Stderr, "isolate: notice: newuidmap/newgidmap not found") {
			t.Errorf("fallback must say so on stderr, got %q", r.Stderr)
		}
		return
	}
	if len(lines) < 4 || !strings.HasPrefix(lines[1], "1 ") {
		t.Errorf("maps = %v, want container 1.. mapped to the subordinate range", lines)
	}
	if r.Stderr != "" {
		t.Errorf("no notice expected with the helpers, got %q", r.Stderr)
	}
}

func fieldsPerLine(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		out = append(out, strings.Join(strings.Fields(l), " "))
	}
	return out
}

func TestQuietSuppressesTheFallbackNotice(t *testing.T) {
	t.Parallel()
	// A run that falls back: a user without subordinate ids, or any user
	// with the helpers hidden. Without -q it prints the notice, with -q not.
	as := noSubUser
	if fallback || as == nil {
		as = testUser
	}
	if !fallback && as == testUser {
		t.Skip("needs root (a user without subids) or the fallback run")
	}
	loud := run(t, opts{as: as}, "true")
	if loud.Code != 0 || !strings.HasPrefix(loud.Stderr, "isolate: notice: ") {
		t.Fatalf("without -q the fallback must be announced: %s", loud)
	}
	r := run(t, opts{as: as}, "-q", "true")
	if r.Code != 0 || r.Stderr != "" {
		t.Fatalf("want silent success with -q: %s", r)
	}
}

func TestUserWithoutSubIDsFallsBackWithANotice(t *testing.T) {
	t.Parallel()
	if noSubUser == nil {
		t.Skip("needs root to create a user without /etc/subuid entries")
	}
	r := run(t, opts{as: noSubUser}, "cat", "/proc/self/uid_map", "/proc/self/setgroups")
	if r.Code != 0 {
		t.Fatal(r)
	}
	lines := fieldsPerLine(r.Stdout)
	if lines[0] != fmt.Sprintf("0 %d 1", noSubUser.UID) || lines[1] != "deny" {
		t.Errorf("maps = %v, want only the caller mapped and setgroups denied", lines)
	}
	want := "no /etc/subuid entry for " + noSubUserName
	if fallback {
		want = "newuidmap/newgidmap not found"
	}
	if !strings.Contains(r.Stderr, want) || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Errorf("stderr = %q, want one notice line containing %q", r.Stderr, want)
	}
}

func TestPsSeesOnlyTheSandbox(t *testing.T) {
	t.Parallel()
	out := isolate(t, "ps", "-e", "-o", "pid=,comm=")
	lines := fieldsPerLine(out)
	if len(lines) != 2 || lines[0] != "1 isolate-init" || !strings.HasSuffix(lines[1], " ps") {
		t.Fatalf("ps inside saw %v, want only isolate's init as PID 1 and ps itself", lines)
	}
}

func TestHostnameIsIsolatedByDefault(t *testing.T) {
	t.Parallel()
	if got := strings.TrimSpace(isolate(t, "hostname")); got != "isolated" {
		t.Errorf("hostname = %q, want isolated", got)
	}
	if got := strings.TrimSpace(isolate(t, "--hostname", "box1", "hostname")); got != "box1" {
		t.Errorf("hostname = %q, want box1", got)
	}
	host, _ := os.Hostname()
	if host == "isolated" || host == "box1" {
		t.Errorf("the host's name changed to %q", host)
	}
}

func TestMountInsideIsInvisibleOutside(t *testing.T) {
	t.Parallel()
	dir := userDir(t)
	// Mounting needs CAP_SYS_ADMIN, which the default capability set lacks.
	isolate(t, "--cap-add", "SYS_ADMIN", "sh", "-c", "mount -t tmpfs none "+dir+" && echo secret > "+dir+"/f && cat "+dir+"/f")
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("host sees %d entries in %s, want none", len(ents), dir)
	}
	if mounts, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mounts), dir) {
		t.Errorf("host mount table has the sandbox's mount on %s", dir)
	}
}

// userDir is a fresh directory owned by the test user.
func userDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp(workDir, "d")
	if err != nil {
		t.Fatal(err)
	}
	os.Chown(dir, int(testUser.UID), int(testUser.GID))
	os.Chmod(dir, 0o755)
	return dir
}

func TestIPCObjectOfTheHostIsInvisibleInside(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("ipcmk", "-Q").Output()
	if err != nil {
		t.Fatalf("ipcmk: %v", err)
	}
	id := strings.TrimSpace(string(out[bytes.LastIndexByte(out, ':')+1:]))
	defer exec.Command("ipcrm", "-q", id).Run()
	if host, _ := os.ReadFile("/proc/sysvipc/msg"); !strings.Contains(string(host), " "+id+" ") {
		t.Fatalf("queue %s not visible on the host: %s", id, host)
	}
	inside := isolate(t, "cat", "/proc/sysvipc/msg")
	if n := len(fieldsPerLine(inside)); n != 1 {
		t.Errorf("sandbox sees %d message queues, want none:\n%s", n-1, inside)
	}
}

func TestNetworkHasOnlyLoopbackAndItIsUp(t *testing.T) {
	t.Parallel()
	// /proc/net is the sandbox's: /proc was mounted inside its namespaces.
	out := isolate(t, "-q", "--net", "none", "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1; ip -o link show lo")
	lines := fieldsPerLine(out)
	if len(lines) != 2 || lines[0] != "lo" {
		t.Fatalf("interfaces = %v, want only lo", lines)
	}
	if !strings.Contains(lines[1], ",UP,") {
		t.Errorf("lo is not up: %s", lines[1])
	}
}

func TestExitStatusIsThePrograms(t *testing.T) {
	t.Parallel()
	noexec := filepath.Join(workDir, "not-executable")
	os.WriteFile(noexec, []byte("#!/bin/sh\necho hi\n"), 0o644)
	badInterp := filepath.Join(workDir, "bad-interpreter")
	os.WriteFile(badInterp, []byte("#!/nonexistent/interpreter\n"), 0o755)
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"success", []string{"true"}, 0, ""},
		{"own status", []string{"sh", "-c", "exit 3"}, 3, ""},
		{"killed by signal", []string{"sh", "-c", "kill -TERM $$"}, 128 + 15, ""},
		{"killed by SIGKILL", []string{"sh", "-c", "kill -KILL $$"}, 128 + 9, ""},
		{"bad flag", []string{"--no-such-flag", "true"}, 125, "isolate: flag provided but not defined: -no-such-flag"},
		{"cannot execute", []string{noexec}, 126, "isolate: " + noexec + ": permission denied"},
		{"directory", []string{"/"}, 126, "isolate: /: is a directory"},
		{"missing interpreter", []string{badInterp}, 127, "isolate: " + badInterp + ": no such file or directory"},
		{"not found", []string{"no-such-program-xyz"}, 127, "isolate: no-such-program-xyz: executable file not found in $PATH"},
		{"not found by path", []string{"/no/such/program"}, 127, "isolate: /no/such/program: no such file or directory"},
	}
	for _, init := range []bool{true, false} {
		for _, c := range cases {
			args := c.args
			name := c.name
			if !init {
				args = append([]string{"--no-init"}, args...)
				name += " no-init"
				if strings.HasPrefix(c.name, "killed by") {
					// PID 1 ignores signals from inside its own namespace
					// that it has no handler for, SIGKILL included
					// (pid_namespaces(7)): sh survives its own kill.
					continue
				}
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				r := run(t, opts{}, append([]string{"-q"}, args...)...)
				if r.Code != c.code {
					t.Fatalf("exit = %d, want %d\n%s", r.Code, c.code, r)
				}
				if c.stderr != "" && !strings.HasPrefix(r.Stderr, c.stderr+"\n") {
					t.Errorf("stderr = %q, want it to start with the line %q", r.Stderr, c.stderr)
				}
			})
		}
	}
}

func TestArgumentsAfterProgramBelongToIt(t *testing.T) {
	t.Parallel()
	cases := map[string][]string{
		"-la --hostname x\n": {"echo", "-la", "--hostname", "x"},
		"--\n":               {"--", "echo", "--"},
		"-q\n":               {"-q", "--", "echo", "-q"},
		"a  b\n":             {"printf", "%s\n", "a  b"},
	}
	for want, args := range cases {
		if got := isolate(t, append([]string{"-q"}, args...)...); got != want {
			t.Errorf("isolate %q printed %q, want %q", args, got, want)
		}
	}
}

func TestUserFlagRunsAsThatID(t *testing.T) {
	t.Parallel()
	if fallback {
		r := run(t, opts{}, "-q", "-u", "1000:1000", "id", "-u")
		if r.Code != 125 || !strings.Contains(r.Stderr, "uid 1000 is not mapped in the sandbox") {
			t.Fatalf("with only one id mapped, --user 1000 must fail clearly: %s", r)
		}
		return
	}
	if got := isolate(t, "-u", "1000:1001", "sh", "-c", "id -u; id -g; id -G"); got != "1000\n1001\n1001\n" {
		t.Errorf("id inside = %q, want uid 1000, gid 1001, no other groups", got)
	}
	if got := isolate(t, "--no-init", "-u", "7", "sh", "-c", "id -u; id -g"); got != "7\n7\n" {
		t.Errorf("--no-init -u 7: id inside = %q", got)
	}
}

func TestWorkdirAndEnvironment(t *testing.T) {
	t.Parallel()
	if got := isolate(t, "-q", "-w", "/usr", "pwd"); got != "/usr\n" {
		t.Errorf("pwd = %q, want /usr", got)
	}
	dir := userDir(t)
	if got := run(t, opts{dir: dir}, "-q", "pwd"); got.Stdout != dir+"\n" {
		t.Errorf("default workdir = %q, want the caller's %s", got.Stdout, dir)
	}
	r := run(t, opts{env: []string{"FROM_HOST=1", "PASS_ME=yes"}}, "-q", "--clear-env", "-e", "A=b,c", "-e", "PASS_ME", "-e", "UNSET_ON_HOST", "env")
	got := strings.Fields(r.Stdout)
	want := map[string]bool{"A=b,c": true, "PASS_ME=yes": true, "PATH=": false, "HOME=": false}
	for _, kv := range got {
		if strings.HasPrefix(kv, "FROM_HOST") || strings.HasPrefix(kv, "UNSET_ON_HOST") {
			t.Errorf("--clear-env leaked %s", kv)
		}
		for w := range want {
			if strings.HasPrefix(kv, w) {
				want[w] = true
			}
		}
	}
	for w, ok := range want {
		if !ok {
			t.Errorf("env inside lacks %s: %v", w, got)
		}
	}
	if inherited := run(t, opts{env: []string{"FROM_HOST=1"}}, "-q", "sh", "-c", "echo $FROM_HOST"); inherited.Stdout != "1\n" {
		t.Errorf("without --clear-env the environment is inherited: got %q", inherited.Stdout)
	}
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	r := run(t, opts{}, "--help")
	if r.Code != 0 || !strings.Contains(r.Stdout, "isolate [OPTIONS] PROGRAM [ARGS...]") || !strings.Contains(r.Stdout, "--uidmap") {
		t.Errorf("--help: %s", r)
	}
	r = run(t, opts{}, "--version")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "isolate version ") {
		t.Errorf("--version: %s", r)
	}
}

func TestBadInputIsOneLineAndExit125(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{}, "isolate: no program given"},
		{[]string{"--user", "abc", "true"}, "isolate: --user abc: UID must be a number"},
		{[]string{"--user", "1:x", "true"}, "isolate: --user 1:x: GID must be a number"},
		{[]string{"--user", "4294967295", "true"}, "isolate: --user 4294967295: 4294967295 is not a valid id"},
		{[]string{"--user", "4000000000", "true"}, "isolate: --user 4000000000:4000000000: uid 4000000000 is not mapped in the sandbox"},
		{[]string{"--uidmap", "0:1", "true"}, `isolate: --uidmap: "0:1": want CONTAINER:HOST:SIZE`},
		{[]string{"--uidmap", "0:1:0", "true"}, `isolate: --uidmap: "0:1:0": size must be at least 1`},
		{[]string{"--uidmap", "0:1:x", "true"}, `isolate: --uidmap: "0:1:x": "x" is not a number`},
		{[]string{"--gidmap", "0:100:10", "--gidmap", "5:200:10", "true"}, "isolate: --gidmap: ranges 0:100:10 and 5:200:10 overlap inside the sandbox"},
		{[]string{"--uidmap", "0:0:1", "true"}, "isolate: --uidmap/--gidmap: mapping other ids than your own needs the setuid helpers"},
		{[]string{"--hostname", "bad name", "true"}, "isolate: --hostname bad name: not a valid host name"},
		{[]string{"--hostname", strings.Repeat("a", 65), "true"}, "isolate: --hostname " + strings.Repeat("a", 65) + ": 65 bytes"},
		{[]string{"-w", "relative", "true"}, "isolate: --workdir relative: must be an absolute path"},
		{[]string{"-w", "/no/such/dir", "true"}, "isolate: --workdir /no/such/dir: no such file or directory"},
		{[]string{"-e", "=x", "true"}, `isolate: --env "=x": want KEY=VALUE or KEY`},
		{[]string{"--unknown", "true"}, "isolate: flag provided but not defined: -unknown"},
	}
	for _, c := range cases {
		c := c
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Parallel()
			if strings.Contains(c.want, "needs the setuid helpers") && !fallback {
				c.want = "isolate: --uidmap/--gidmap: the maps must map container id 0 to your own uid"
			}
			m := marker()
			args := c.args
			if len(args) > 0 {
				args = append(append([]string{}, args...), m)
			}
			r := run(t, opts{}, args...)
			if r.Code != 125 {
				t.Fatalf("exit = %d, want 125\n%s", r.Code, r)
			}
			lines := withoutNotices(r.Stderr)
			if !strings.HasPrefix(lines[0], c.want) {
				t.Errorf("first line = %q, want it to start with %q", lines[0], c.want)
			}
			if len(lines) > 2 || (len(lines) == 2 && !strings.HasPrefix(lines[1], "  hint: ")) {
				t.Errorf("want one error line and at most one hint line, got %q", r.Stderr)
			}
			if strings.Contains(r.Stderr, "goroutine") || strings.Contains(r.Stderr, "panic") {
				t.Errorf("stack trace in stderr: %q", r.Stderr)
			}
			if left := hostProcesses(m); len(left) != 0 {
				t.Errorf("processes left behind: %v", left)
			}
		})
	}
}

// withoutNotices drops the fallback notice, which the fallback run prints
// before any error.
func withoutNotices(stderr string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		if !strings.HasPrefix(l, "isolate: notice: ") {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}

func TestHelperRefusingARangeIsReported(t *testing.T) {
	t.Parallel()
	if fallback {
		t.Skip("needs newuidmap")
	}
	// Host uid 1 is in nobody's subordinate range: newuidmap must refuse it,
	// and its reason must reach the user.
	m := marker()
	r := run(t, opts{}, "--uidmap", fmt.Sprintf("0:%d:1", testUser.UID), "--uidmap", "1:1:1", "sleep", m)
	if r.Code != 125 || !strings.HasPrefix(r.Stderr, "isolate: /usr/bin/newuidmap ") || !strings.Contains(r.Stderr, "  hint: ") {
		t.Fatalf("want newuidmap's refusal with a hint and exit 125: %s", r)
	}
	if left := hostProcesses(m); len(left) != 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

func TestSignalsReachTheProgram(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1} {
		sig := sig
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			script := fmt.Sprintf(`trap 'echo got-%d; exit 42' %d; echo ready; while :; do sleep 0.05; done`, sig, sig)
			cmd := command(opts{}, "-q", "sh", "-c", script)
			out := &lockedBuffer{}
			cmd.Stdout = out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			eventually(t, "program ready", func() bool { return strings.Contains(out.String(), "ready") })
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 42 || !strings.Contains(out.String(), fmt.Sprintf("got-%d", sig)) {
				t.Fatalf("after %v: exit %d (%v), output %q; want the trap to run and exit 42", sig, code, err, out.String())
			}
		})
	}
	t.Run("untrapped SIGTERM ends the program with 143", func(t *testing.T) {
		t.Parallel()
		cmd := command(opts{}, "-q", "sh", "-c", "echo ready; exec sleep 100")
		out := &lockedBuffer{}
		cmd.Stdout = out
		cmd.Start()
		eventually(t, "program ready", func() bool { return strings.Contains(out.String(), "ready") })
		time.Sleep(50 * time.Millisecond) // let exec replace sh
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 143 {
			t.Fatalf("exit = %d, want 143", code)
		}
	})
}

func TestOrphansAreReaped(t *testing.T) {
	t.Parallel()
	// The inner sh exits at once, so its background sleep is re-parented to
	// PID 1; once it exits, only init can reap it.
	out := isolate(t, "-q", "sh", "-c", `sh -c 'sleep 0.1 &'; sleep 0.6; ps -e -o stat=,comm=`)
	if strings.Contains(out, "Z") {
		t.Errorf("zombie left in the sandbox:\n%s", out)
	}
}

func TestSIGKILLOfIsolateLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	for _, noInit := range []bool{false, true} {
		m := marker()
		args := []string{"-q", "sh", "-c", "sleep " + m + " & sleep " + m}
		if noInit {
			args = append([]string{"--no-init"}, args...)
		}
		cmd := command(opts{}, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		eventually(t, "both sleeps running", func() bool { return len(hostProcesses("^sleep "+m+"$")) == 2 })
		cmd.Process.Kill()
		cmd.Wait()
		eventually(t, "sandbox processes gone after SIGKILL of isolate", func() bool {
			return len(hostProcesses(m)) == 0
		})
	}
}

func TestRealRootIsNotHostRootByDefault(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("tier 3: needs real root")
	}
	r := run(t, opts{root: true}, "cat", "/proc/self/uid_map")
	lines := fieldsPerLine(r.Stdout)
	if r.Code != 0 || len(lines) == 0 {
		t.Fatal(r)
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if f[0] == "0" && f[1] == "0" {
			t.Errorf("sandbox root is host root by default: %q", l)
		}
	}
	r = run(t, opts{root: true}, "-q", "--uidmap", "0:0:1", "--gidmap", "0:0:1", "cat", "/proc/self/uid_map")
	if fieldsPerLine(r.Stdout)[0] != "0 0 1" {
		t.Errorf("--uidmap 0:0:1 as root: %s", r)
	}
}
