package test

// Tests that back docs/how-it-works.md: the assignment's answers, shown on
// this machine as the unprivileged test user.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// asTestUser prepares a program other than isolate to run as the test user.
func asTestUser(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = []string{"PATH=" + defaultPath, "HOME=" + testUser.Home}
	cmd.Dir = workDir
	if !testUser.self {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: testUser.UID, Gid: testUser.GID}}
	}
	return cmd
}

// ancestry walks from pid up to (not past) stop and returns each comm.
func ancestry(t *testing.T, pid, stop int) []string {
	comms, _ := ancestryPids(t, pid, stop)
	return comms
}

func ancestryPids(t *testing.T, pid, stop int) (out []string, pids []int) {
	t.Helper()
	for pid != stop && pid > 1 && len(out) < 20 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatalf("read stat of %d: %v", pid, err)
		}
		s := string(b)
		comm := s[strings.IndexByte(s, '(')+1 : strings.LastIndexByte(s, ')')]
		out = append(out, comm)
		pids = append(pids, pid)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		pid, _ = strconv.Atoi(f[1]) // field 4, ppid
	}
	return out, pids
}

func onePid(t *testing.T, pattern string) int {
	t.Helper()
	var pids []string
	eventually(t, pattern+" running", func() bool { pids = hostProcesses(pattern); return len(pids) == 1 })
	pid, _ := strconv.Atoi(pids[0])
	return pid
}

// (a.1) The assignment's child shell nests one unshare per step; with
// --kill-child each unshare forks and stays as the parent of the next shell.
func TestAssignmentSequenceIsEightProcessesDeep(t *testing.T) {
	t.Parallel()
	m := marker()
	cmd := asTestUser("unshare", "--user", "--map-root-user", "--kill-child", "sh", "-c",
		`unshare --ipc --uts --kill-child sh -c "unshare --net --kill-child sh -c 'unshare --pid --mount --fork --kill-child sleep `+m+`'"`)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sleep := onePid(t, "^sleep "+m+"$")
	got, pids := ancestryPids(t, sleep, cmd.Process.Pid)
	want := []string{"sleep", "unshare", "sh", "unshare", "sh", "unshare", "sh"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("from the program up: %v, want %v below the first unshare", got, want)
	}
	// (d.1) --kill-child arms PR_SET_PDEATHSIG only in unshare's own child:
	// killing the first unshare ends the first shell, and the rest of the
	// chain lives on, re-parented. Exiting from the innermost shell outwards
	// (or killing each one) is what cleans it up.
	cmd.Process.Kill()
	cmd.Wait()
	firstShell := pids[len(pids)-1]
	eventually(t, "the first shell is killed", func() bool { return syscall.Kill(firstShell, 0) != nil })
	if syscall.Kill(sleep, 0) != nil {
		t.Errorf("the innermost program died with the first unshare; want it left behind")
	}
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGKILL)
	}
	eventually(t, "the chain is gone", func() bool { return len(hostProcesses(m)) == 0 })
}

// (a.2) isolate's hierarchy: isolate, its init (PID 1 inside), the program;
// with --no-init the program is PID 1 itself.
func TestSandboxIsTwoProcessesAboveTheProgram(t *testing.T) {
	t.Parallel()
	for _, noInit := range []bool{false, true} {
		m := marker()
		args := []string{"-q", "sleep", m}
		want := []string{"sleep", "isolate-init"}
		if noInit {
			args = append([]string{"--no-init"}, args...)
			want = want[:1]
		}
		cmd := command(opts{}, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		got := ancestry(t, onePid(t, "^sleep "+m+"$"), cmd.Process.Pid)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("no-init=%v: from the program up to isolate: %v, want %v", noInit, got, want)
		}
		cmd.Process.Kill()
		cmd.Wait()
		eventually(t, "sandbox gone", func() bool { return len(hostProcesses(m)) == 0 })
	}
}

// (b) Namespaces other than the user namespace need CAP_SYS_ADMIN in the
// user namespace that will own them: unprivileged, the user namespace must
// come first.
func TestOtherNamespacesNeedTheUserNamespaceFirst(t *testing.T) {
	t.Parallel()
	out, err := asTestUser("unshare", "--ipc", "true").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Operation not permitted") {
		t.Errorf("unshare --ipc as a normal user: %v %s; want EPERM", err, out)
	}
	if out, err := asTestUser("unshare", "--user", "--map-root-user", "--ipc", "--uts", "--net", "true").CombinedOutput(); err != nil {
		t.Errorf("unshare --user ... --ipc: %v %s; want it to work", err, out)
	}
}

// (b) and (e) The id map written late: a process that exec'd before its
// map existed has no capabilities, and keeps none after the map appears;
// only its next execve as the now-mapped root gets them. That is why
// isolate's child waits for "idmap-done" before its first execve. And (e): a normal user
// may map only its own id; the assignment's "0 1000 1000" needs the setuid
// newuidmap.
func TestIDMapWrittenLateGivesCapabilitiesOnlyAtTheNextExec(t *testing.T) {
	t.Parallel()
	script := `unshare --uts true 2>/dev/null || echo uts-refused-before-map
echo ready; read x
id -u
while read -r l; do case $l in CapEff*) echo "$l";; esac; done < /proc/$$/status
sh -c 'while read -r l; do case $l in CapEff*) echo "$l";; esac; done < /proc/$$/status'
unshare --uts true && echo uts-ok-after-exec`
	cmd := asTestUser("unshare", "--user", "sh", "-c", script)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	r := bufio.NewReader(stdout)
	var before []string
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("no ready line: %v", err)
		}
		if l == "ready\n" {
			break
		}
		before = append(before, strings.TrimSpace(l))
	}
	if strings.Join(before, ",") != "uts-refused-before-map" {
		t.Errorf("before the map: %v, want unshare --uts refused", before)
	}
	mapFile := fmt.Sprintf("/proc/%d/uid_map", cmd.Process.Pid)
	// unshare without --fork execs sh: its pid is the namespace's process.
	write := func(line string) error {
		return asTestUser("sh", "-c", "printf '"+line+"\\n' > "+mapFile).Run()
	}
	if err := write(fmt.Sprintf("0 %d 2", testUser.UID)); err == nil {
		t.Errorf("a normal user wrote a two-id map without newuidmap")
	}
	if err := write(fmt.Sprintf("0 %d 1", testUser.UID)); err != nil {
		t.Fatalf("writing its own single id: %v", err)
	}
	io.WriteString(stdin, "go\n")
	stdin.Close()
	rest, _ := io.ReadAll(r)
	cmd.Wait()
	lines := fieldsPerLine(string(rest))
	want := []string{"0", "CapEff: 0000000000000000", "CapEff: 000001ffffffffff", "uts-ok-after-exec"}
	if len(lines) != 4 || lines[0] != want[0] || lines[1] != want[1] || !strings.HasPrefix(lines[2], "CapEff: 000001") || lines[3] != want[3] {
		t.Errorf("after the late map: %q, want %q (no capabilities until the next exec)", lines, want)
	}
}
