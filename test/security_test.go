package test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/isolate-sandbox/isolate/pkg/security"
)

// status reads the capability, no_new_privs and seccomp lines of
// /proc/self/status as PROGRAM sees them.
func status(t *testing.T, args ...string) map[string]string {
	t.Helper()
	out := isolate(t, append(append([]string{"-q"}, args...), "grep", "-E", "^(Cap|NoNewPrivs|Seccomp:)", "/proc/self/status")...)
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(l, ":")
		m[k] = strings.TrimSpace(v)
	}
	return m
}

const dockerCaps = "00000000a80425fb"

func TestRootGetsDockersCapabilitiesAndNothingAmbient(t *testing.T) {
	t.Parallel()
	for _, flags := range [][]string{nil, {"--no-init"}} {
		s := status(t, flags...)
		for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd"} {
			if s[k] != dockerCaps {
				t.Errorf("%v: %s = %s, want %s", flags, k, s[k], dockerCaps)
			}
		}
		if s["CapAmb"] != "0000000000000000" || s["NoNewPrivs"] != "1" || s["Seccomp"] != "2" {
			t.Errorf("%v: %v, want no ambient capabilities, no_new_privs, a seccomp filter", flags, s)
		}
	}
}

// isolate's child execs before newuidmap has run, privileged through
// ambient capabilities (pkg/sandbox/spawn.go); the init drops them once the
// map is written, so neither it nor anything it starts keeps them.
func TestInitKeepsNoAmbientCapabilities(t *testing.T) {
	t.Parallel()
	for _, flags := range [][]string{nil, {"--net", "none"}, {"--seccomp", "unconfined"}} {
		args := append(append([]string{"-q"}, flags...), "sh", "-c", "grep CapAmb /proc/1/status /proc/self/status")
		out := isolate(t, args...)
		want := "/proc/1/status:CapAmb:\t0000000000000000\n/proc/self/status:CapAmb:\t0000000000000000\n"
		if out != want {
			t.Errorf("%v: %q, want no ambient capabilities in the init or the program", flags, out)
		}
	}
}

func TestNonRootUserGetsNoCapabilities(t *testing.T) {
	t.Parallel()
	if fallback {
		t.Log("single-id map: only root exists inside (TestUserFlagRunsAsThatID covers the error)")
		return
	}
	for _, flags := range [][]string{{"-u", "1000"}, {"--no-init", "-u", "1000:1000"}, {"-u", "1000", "--cap-add", "NET_ADMIN"}} {
		s := status(t, flags...)
		for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapAmb"} {
			if s[k] != "0000000000000000" {
				t.Errorf("%v: %s = %s, want none", flags, k, s[k])
			}
		}
		if s["NoNewPrivs"] != "1" || s["Seccomp"] != "2" {
			t.Errorf("%v: %v", flags, s)
		}
	}
	if s := status(t, "-u", "1000"); s["CapBnd"] != dockerCaps {
		t.Errorf("bounding set of uid 1000 = %s, want docker's %s", s["CapBnd"], dockerCaps)
	}
}

func TestCapAddAndCapDrop(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--cap-add", "NET_ADMIN"}, "00000000a80435fb"},
		{[]string{"--cap-add", "cap_sys_admin", "--cap-drop", "CHOWN"}, "00000000a82425fa"},
		{[]string{"--cap-drop", "ALL"}, "0000000000000000"},
		{[]string{"--cap-drop", "ALL", "--cap-add", "KILL"}, "0000000000000020"},
		{[]string{"--no-init", "--cap-drop", "all", "--cap-add", "net_bind_service"}, "0000000000000400"},
		{[]string{"--cap-add", "ALL"}, "000001ffffffffff"},
	} {
		s := status(t, tc.flags...)
		if s["CapEff"] != tc.want || s["CapBnd"] != tc.want || s["CapPrm"] != tc.want {
			t.Errorf("%v: eff %s bnd %s prm %s, want %s", tc.flags, s["CapEff"], s["CapBnd"], s["CapPrm"], tc.want)
		}
	}
	// Dropping CHOWN is felt: chown to another user fails.
	if !fallback {
		r := run(t, opts{}, "-q", "--cap-drop", "CHOWN", "sh", "-c", "touch /tmp/c$$ && chown 1000 /tmp/c$$; s=$?; rm -f /tmp/c$$; exit $s")
		if r.Code == 0 {
			t.Errorf("chown worked without CAP_CHOWN: %s", r)
		}
	}
}

func TestInitKeepsForwardingSignalsWithoutCapabilities(t *testing.T) {
	t.Parallel()
	if fallback {
		return
	}
	// PROGRAM runs as another uid with no capabilities; the init still
	// delivers SIGTERM (it keeps CAP_KILL on its own threads).
	cmd := command(opts{}, "-q", "--cap-drop", "ALL", "-u", "1000", "sh", "-c", "trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done")
	out := &lockedBuffer{}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "program ready", func() bool { return strings.Contains(out.String(), "ready") })
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 && code != 42 {
		t.Fatalf("exit %d after SIGINT, want 130", code)
	}
}

func TestSeccompDefaultUnconfinedAndCustom(t *testing.T) {
	t.Parallel()
	// Default: keyctl is refused with EPERM.
	if out := attack(t, opts{}, "--", "keyctl-read", "1"); out != "blocked: EPERM" {
		t.Errorf("default profile, keyctl: %s", out)
	}
	if s := status(t, "--seccomp", "unconfined"); s["Seccomp"] != "0" || s["NoNewPrivs"] != "1" {
		t.Errorf("--seccomp unconfined: %v, want no filter but no_new_privs", s)
	}
	// Unconfined, keyctl reaches the kernel, which answers for itself.
	if out := attack(t, opts{}, "--seccomp", "unconfined", "--", "keyctl-read", "1"); out == "blocked: EPERM" {
		t.Errorf("unconfined, keyctl still EPERM: %s", out)
	}
	dir := userDir(t)
	profile := filepath.Join(dir, "no-mkdir.json")
	os.WriteFile(profile, []byte(`{
	"defaultAction": "SCMP_ACT_ALLOW",
	"syscalls": [
		{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "comment": "EACCES"},
		{"names": ["no_such_syscall"], "action": "SCMP_ACT_KILL"}
	]}`), 0o644)
	r := run(t, opts{dir: dir}, "-q", "--seccomp", profile, "sh", "-c", "grep Seccomp: /proc/self/status; mkdir sub")
	if r.Code == 0 || !strings.Contains(r.Stdout, "2") || !strings.Contains(r.Stderr, "Permission denied") {
		t.Errorf("custom profile refusing mkdir with EACCES: %s", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub")); err == nil {
		t.Error("mkdir happened")
	}
	// The same profile lets keyctl through: only the file's rules apply.
	if out := attack(t, opts{}, "--seccomp", profile, "--", "keyctl-read", "1"); out == "blocked: EPERM" {
		t.Errorf("custom allow-all profile still refuses keyctl: %s", out)
	}
}

func TestLandlockLimitsWritesToTheWritablePaths(t *testing.T) {
	t.Parallel()
	// The test user's home: writable for the user on the host, but not
	// one of the sandbox's writable paths (cwd, /tmp, /dev/shm): the
	// read-only view refuses it, and Landlock would too.
	target := filepath.Join(testUser.Home, "landlock-probe-"+marker())
	defer os.Remove(target)
	r := run(t, opts{}, "-q", "touch", target)
	if r.Code == 0 {
		t.Errorf("default: writing %s should be refused: %s", target, r)
	}
	if _, err := os.Stat(target); err == nil {
		t.Fatalf("%s was created", target)
	}
	// Writable: the working directory and /tmp.
	dir := userDir(t)
	if r := run(t, opts{dir: dir}, "-q", "sh", "-c", "echo x > here && mkdir d && mv here d/ && echo y > /tmp/ll-$$ && rm /tmp/ll-$$"); r.Code != 0 {
		t.Errorf("writing the cwd and /tmp: %s", r)
	}
	// /dev is the sandbox's own writable tmpfs, but only its devices are
	// among the writable paths: a new file there is refused by Landlock
	// alone, the second layer.
	probe := "touch /dev/landlock-probe"
	if r := run(t, opts{}, "-q", "sh", "-c", probe); r.Code == 0 || !strings.Contains(r.Stderr, "Permission denied") {
		t.Errorf("default: a new file in /dev should be refused by Landlock: %s", r)
	}
	if r := run(t, opts{}, "-q", "--landlock", "off", "sh", "-c", probe); r.Code != 0 {
		t.Errorf("--landlock off: %s", r)
	}
	if r := run(t, opts{}, "-q", "--landlock", "on", "sh", "-c", probe); r.Code == 0 {
		t.Errorf("--landlock on: a new file in /dev should be refused")
	}
	// With CAP_SYS_ADMIN the program manages its own mounts, which a
	// Landlock domain forbids: auto leaves Landlock out then.
	if r := run(t, opts{}, "-q", "--cap-add", "SYS_ADMIN", "sh", "-c", probe); r.Code != 0 {
		t.Errorf("--cap-add SYS_ADMIN: %s", r)
	}
}

func TestSecurityBadInputIsOneLineAndExit125(t *testing.T) {
	t.Parallel()
	dir := userDir(t)
	broken := filepath.Join(dir, "broken.json")
	os.WriteFile(broken, []byte("{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [\n"), 0o644)
	typo := filepath.Join(dir, "typo.json")
	os.WriteFile(typo, []byte(`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALOW"}]}`), 0o644)
	notify := filepath.Join(dir, "notify.json")
	os.WriteFile(notify, []byte(`{"defaultAction": "SCMP_ACT_NOTIFY"}`), 0o644)
	m := marker()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cap-add", "FLY"}, "isolate: --cap-add FLY: unknown capability"},
		{[]string{"--cap-drop", "CAP_"}, "isolate: --cap-drop CAP_: unknown capability"},
		{[]string{"--cap-add", "NET_RAW", "--cap-drop", "net_raw"}, "isolate: --cap-add/--cap-drop CAP_NET_RAW: both added and dropped"},
		{[]string{"--seccomp", filepath.Join(dir, "missing.json")}, "isolate: --seccomp " + filepath.Join(dir, "missing.json") + ": no such file or directory"},
		{[]string{"--seccomp", broken}, "isolate: --seccomp " + broken + ": unexpected EOF"},
		{[]string{"--seccomp", typo}, `syscalls[0] (read): unknown action "SCMP_ACT_ALOW"`},
		{[]string{"--seccomp", notify}, "needs a seccomp agent"},
		{[]string{"--seccomp", dir}, "is a directory"},
		{[]string{"--landlock", "maybe"}, "isolate: --landlock maybe: want auto, on or off"},
	} {
		r := run(t, opts{}, append(append([]string{"-q"}, tc.args...), "sleep", m)...)
		lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
		if r.Code != 125 || r.Stdout != "" || !strings.Contains(lines[0], tc.want) || len(lines) > 2 ||
			(len(lines) == 2 && !strings.HasPrefix(lines[1], "  hint: ")) {
			t.Errorf("%q: %s\nwant exit 125 and one line containing %q", tc.args, r, tc.want)
		}
	}
	if left := hostProcesses(m); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

func TestKernelWithoutLandlockIsANoticeOnlyWithVerbose(t *testing.T) {
	t.Parallel()
	// This kernel has Landlock: no notice, even with --verbose.
	if r := run(t, opts{}, "--verbose", "true"); r.Code != 0 || strings.Contains(r.Stderr, "Landlock") {
		t.Errorf("%s", r)
	}
	if fallback {
		// The outer sandbox maps one id; isolate inside it cannot map the
		// ids its own sandbox needs (see TestRootOfANestedNamespaceMapsItsOwnIDs).
		t.Log("single-id map: no nested sandbox; the kernel-without-Landlock case runs with the helpers")
		return
	}
	// A kernel without it, played by an outer isolate whose seccomp
	// profile answers ENOSYS to landlock_create_ruleset, as such a kernel
	// does; the inner isolate is the one under test.
	dir := userDir(t)
	profile := filepath.Join(dir, "no-landlock.json")
	os.WriteFile(profile, []byte(`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
		{"names": ["landlock_create_ruleset"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}`), 0o644)
	// --unmask: the kernel gives the inner isolate a new /proc only while
	// the outer one is not partly covered (mount_too_revealing).
	outer := []string{"-q", "--unmask", "--seccomp", profile, "--landlock", "off", "--cap-add", "ALL", isolateBin}
	for _, tc := range []struct {
		args []string
		code int
		want string // a line of stderr; "" for no mention of Landlock
	}{
		{[]string{"-q", "true"}, 0, ""},
		{[]string{"true"}, 0, ""},
		{[]string{"--verbose", "true"}, 0, "isolate: notice: this kernel has no Landlock: writes are limited by the mounts alone"},
		{[]string{"-q", "--landlock", "on", "true"}, 125, "isolate: --landlock on: the kernel has no Landlock"},
	} {
		r := run(t, opts{}, append(append([]string{}, outer...), tc.args...)...)
		ok := r.Code == tc.code
		if tc.want == "" {
			ok = ok && !strings.Contains(r.Stderr, "Landlock")
		} else {
			ok = ok && strings.Contains(r.Stderr, tc.want+"\n")
		}
		if !ok {
			t.Errorf("inner isolate %q: %s\nwant exit %d and %q", tc.args, r, tc.code, tc.want)
		}
	}
}

func TestDefaultProfileWrittenAsDockerJSONBehavesTheSame(t *testing.T) {
	t.Parallel()
	// isolate's default profile, as a docker-format file with includes and
	// excludes, read back through --seccomp.
	data, err := json.MarshalIndent(security.DefaultProfile(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	dir := userDir(t)
	profile := filepath.Join(dir, "default.json")
	os.WriteFile(profile, data, 0o644)
	if out := attack(t, opts{}, "--seccomp", profile, "--", "keyctl-read", "1"); out != "blocked: EPERM" {
		t.Errorf("keyctl: %s", out)
	}
	if out := attack(t, opts{}, "--seccomp", profile, "--", "unshare-user"); out != "blocked: EPERM" {
		t.Errorf("unshare: %s", out)
	}
	if r := run(t, opts{}, "-q", "--seccomp", profile, "--cap-add", "SYS_ADMIN", "unshare", "-U", "true"); r.Code != 0 {
		t.Errorf("includes caps SYS_ADMIN not honoured: %s", r)
	}
	if r := run(t, opts{}, "-q", "--seccomp", profile, "sh", "-c", "ls / > /dev/null && echo ok"); r.Stdout != "ok\n" {
		t.Errorf("ordinary work under the profile: %s", r)
	}
}

// isolate's child raises ambient capabilities before its execve. A service
// manager may run isolate with SECBIT_NO_CAP_AMBIENT_RAISE (systemd's
// SecureBits=), which refuses that raise; but the child's new user
// namespace starts with default securebits (set_cred_user_ns), so the
// sandbox works the same, with its full map.
func TestInheritedNoAmbientRaiseSecurebitChangesNothing(t *testing.T) {
	t.Parallel()
	if fallback || os.Geteuid() != 0 {
		t.Log("needs newuidmap and root to set securebits for the test user")
		return
	}
	helper := testProgram(t, "securebits")
	const noCapAmbientRaise = 1 << 6 // SECBIT_NO_CAP_AMBIENT_RAISE
	cmd := exec.Command(helper, strconv.Itoa(noCapAmbientRaise), strconv.Itoa(int(testUser.UID)), strconv.Itoa(int(testUser.GID)),
		isolateBin, "-q", "--net", "none", "sh", "-c", "grep SecBits /proc/self/status >/dev/null; cat /proc/self/uid_map; grep CapEff /proc/self/status")
	cmd.Env = []string{"PATH=" + defaultPath, "HOME=" + testUser.Home}
	cmd.Dir = workDir
	out, err := cmd.CombinedOutput()
	lines := fieldsPerLine(string(out))
	if err != nil || len(lines) != 3 || !strings.HasPrefix(lines[1], "1 ") || lines[2] != "CapEff: "+dockerCaps {
		t.Fatalf("with SECBIT_NO_CAP_AMBIENT_RAISE: %v\n%s\nwant the caller's id, a subordinate range and docker's capabilities", err, out)
	}
}
