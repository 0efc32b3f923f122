package test

// The OCI runtime interface (issue 6): runc's command line driven the way
// engines drive it, as the unprivileged test user, with the real helpers.

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// bundle is one OCI bundle plus the state directory the test uses.
type bundle struct {
	dir  string // the bundle: config.json and rootfs/
	root string // --root
	spec *specs.Spec
}

// busyboxTools are linked into each bundle's rootfs.
var busyboxTools = []string{"sh", "cat", "echo", "sleep", "true", "test", "ls", "id", "hostname", "printf", "env"}

// newBundle writes a bundle from `isolate spec --rootless` (run as the
// test user), with a busybox rootfs, changed by edit.
func newBundle(t *testing.T, edit func(*specs.Spec)) *bundle {
	t.Helper()
	dir := userDir(t)
	b := &bundle{dir: dir, root: filepath.Join(userDir(t), "state")}
	r := run(t, opts{dir: dir}, "spec", "--rootless")
	if r.Code != 0 {
		t.Fatalf("isolate spec --rootless: %s", r)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	b.spec = &specs.Spec{}
	if err := json.Unmarshal(raw, b.spec); err != nil {
		t.Fatalf("isolate spec wrote invalid JSON: %v\n%s", err, raw)
	}
	bin := filepath.Join(dir, "rootfs", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("busybox-static is needed for the OCI tests: %v", err)
	}
	os.WriteFile(filepath.Join(bin, "busybox"), bb, 0o755)
	for _, tool := range busyboxTools {
		os.Symlink("busybox", filepath.Join(bin, tool))
	}
	for _, d := range []string{"proc", "dev", "sys", "tmp", "etc"} {
		os.MkdirAll(filepath.Join(dir, "rootfs", d), 0o755)
	}
	// The rootfs belongs to the user, as an unpacked image does.
	filepath.Walk(filepath.Join(dir, "rootfs"), func(p string, _ os.FileInfo, _ error) error {
		return os.Lchown(p, int(testUser.UID), int(testUser.GID))
	})
	b.spec.Process.Terminal = false
	b.spec.Process.Args = []string{"true"}
	if edit != nil {
		edit(b.spec)
	}
	b.write(t)
	return b
}

func (b *bundle) write(t *testing.T) {
	t.Helper()
	raw, err := json.MarshalIndent(b.spec, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	b.writeRaw(t, raw)
}

func (b *bundle) writeRaw(t *testing.T, raw []byte) {
	t.Helper()
	p := filepath.Join(b.dir, "config.json")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chown(p, int(testUser.UID), int(testUser.GID))
}

// oci runs an OCI command of isolate against this bundle's state directory.
func (b *bundle) oci(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, opts{dir: b.dir}, append([]string{"--root", b.root}, args...)...)
}

// create runs `isolate create` with its stdout and stderr in files, as an
// engine gives it: the container keeps them after create exits.
func (b *bundle) create(t *testing.T, id string, extra ...string) (code int, stdout, stderr string) {
	t.Helper()
	outF := filepath.Join(b.dir, id+".stdout")
	errF := filepath.Join(b.dir, id+".stderr")
	args := append([]string{"--root", b.root, "create", "--bundle", b.dir}, extra...)
	cmd := command(opts{dir: b.dir}, append(args, id)...)
	o, err := os.Create(outF)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := os.Create(errF)
	os.Chown(outF, int(testUser.UID), int(testUser.GID))
	os.Chown(errF, int(testUser.UID), int(testUser.GID))
	cmd.Stdout, cmd.Stderr = o, e
	err = runBounded(cmd)
	o.Close()
	e.Close()
	if err != nil {
		t.Fatalf("isolate create: %v", err)
	}
	return cmd.ProcessState.ExitCode(), outF, errF
}

func runBounded(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return nil
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("%q did not finish within a minute", cmd.Args)
	}
}

func (b *bundle) state(t *testing.T, id string) specs.State {
	t.Helper()
	r := b.oci(t, "state", id)
	if r.Code != 0 {
		t.Fatalf("isolate state %s: %s", id, r)
	}
	var st specs.State
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		t.Fatalf("state is not JSON: %v\n%s", err, r.Stdout)
	}
	if st.ID != id || st.Version == "" || st.Bundle != b.dir {
		t.Errorf("state %+v: want id %s, an ociVersion and bundle %s", st, id, b.dir)
	}
	return st
}

func (b *bundle) waitStatus(t *testing.T, id string, want specs.ContainerState) specs.State {
	t.Helper()
	var st specs.State
	eventually(t, fmt.Sprintf("container %s %s", id, want), func() bool {
		st = b.state(t, id)
		return st.Status == want
	})
	return st
}

// leftovers lists what is in the state directory.
func (b *bundle) leftovers() []string {
	ents, _ := os.ReadDir(b.root)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func alivePid(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

func TestOCILifecycleStateAfterEachStep(t *testing.T) {
	t.Parallel()
	m := marker()
	b := newBundle(t, func(s *specs.Spec) {
		// PID 1 of a pid namespace gets only the signals it handles.
		s.Process.Args = []string{"sh", "-c", "trap 'echo got TERM; exit 3' TERM; echo started; sleep " + m + " & wait"}
	})
	pidFile := filepath.Join(b.dir, "pid")
	code, stdout, stderr := b.create(t, "life", "--pid-file", pidFile)
	if code != 0 {
		t.Fatalf("create: exit %d: %s", code, readFile(t, stderr))
	}
	st := b.state(t, "life")
	if st.Status != specs.StateCreated || st.Pid <= 0 {
		t.Fatalf("after create: %+v, want created with a pid", st)
	}
	if pf := strings.TrimSpace(readFile(t, pidFile)); pf != strconv.Itoa(st.Pid) {
		t.Errorf("pid-file says %q, state says %d", pf, st.Pid)
	}
	if !alivePid(st.Pid) {
		t.Fatalf("created container's process %d is not alive", st.Pid)
	}
	if out := readFile(t, stdout); out != "" {
		t.Fatalf("the program ran before start: stdout %q", out)
	}

	if r := b.oci(t, "start", "life"); r.Code != 0 || r.Stdout != "" {
		t.Fatalf("start: %s", r)
	}
	eventually(t, "the program's output", func() bool { return readFile(t, stdout) == "started\n" })
	if st := b.state(t, "life"); st.Status != specs.StateRunning || st.Pid <= 0 {
		t.Fatalf("after start: %+v, want running", st)
	}
	if r := b.oci(t, "start", "life"); r.Code != 1 || !strings.HasPrefix(r.Stderr, "isolate: start container \"life\": it is running") {
		t.Errorf("second start: want exit 1 saying it is running: %s", r)
	}

	if r := b.oci(t, "kill", "life", "TERM"); r.Code != 0 {
		t.Fatalf("kill: %s", r)
	}
	b.waitStatus(t, "life", specs.StateStopped)
	if out := readFile(t, stdout); out != "started\ngot TERM\n" {
		t.Errorf("the program's output after kill TERM: %q", out)
	}
	if left := hostProcesses("sleep " + m); len(left) != 0 {
		t.Errorf("processes left after kill: %v", left)
	}
	if r := b.oci(t, "kill", "life"); r.Code != 1 || !strings.Contains(r.Stderr, "not running") {
		t.Errorf("kill of a stopped container: want exit 1, not running: %s", r)
	}

	if r := b.oci(t, "delete", "life"); r.Code != 0 {
		t.Fatalf("delete: %s", r)
	}
	r := b.oci(t, "state", "life")
	if r.Code != 1 || r.Stderr != "isolate: container \"life\": does not exist\n  hint: isolate list shows the containers of this --root\n" {
		t.Errorf("state after delete: %s", r)
	}
	if left := b.leftovers(); len(left) != 0 {
		t.Errorf("state directory keeps %v after delete", left)
	}
}

func TestOCIPidFileHoldsTheHostPidOfTheProgram(t *testing.T) {
	t.Parallel()
	m := marker()
	b := newBundle(t, func(s *specs.Spec) { s.Process.Args = []string{"sleep", m} })
	pidFile := filepath.Join(b.dir, "sub", "container.pid")
	os.MkdirAll(filepath.Dir(pidFile), 0o755)
	os.Chown(filepath.Dir(pidFile), int(testUser.UID), int(testUser.GID))
	if code, _, stderr := b.create(t, "pf", "--pid-file", pidFile); code != 0 {
		t.Fatalf("create: %s", readFile(t, stderr))
	}
	defer b.oci(t, "delete", "--force", "pf")
	b.oci(t, "start", "pf")
	pid := strings.TrimSpace(readFile(t, pidFile))
	eventually(t, "sleep to replace the waiting child", func() bool {
		cmdline, _ := os.ReadFile("/proc/" + pid + "/cmdline")
		return strings.Contains(string(cmdline), m)
	})
	if ents, _ := os.ReadDir(filepath.Dir(pidFile)); len(ents) != 1 {
		t.Errorf("pid-file directory has %d entries, want only the pid-file (no temporary file)", len(ents))
	}
}

func TestOCIHooksGetTheStateOnStdin(t *testing.T) {
	t.Parallel()
	out := userDir(t)
	hook := func(name string) specs.Hook {
		timeout := 10
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + filepath.Join(out, name)}, Timeout: &timeout}
	}
	b := newBundle(t, func(s *specs.Spec) {
		s.Annotations = map[string]string{"org.example.test": "hooks"}
		s.Process.Args = []string{"true"}
		s.Hooks = &specs.Hooks{
			Prestart:        []specs.Hook{hook("prestart")},
			CreateRuntime:   []specs.Hook{hook("createRuntime")},
			CreateContainer: []specs.Hook{hook("createContainer")},
			Poststart:       []specs.Hook{hook("poststart")},
			Poststop:        []specs.Hook{hook("poststop")},
		}
	})
	if code, _, stderr := b.create(t, "hk"); code != 0 {
		t.Fatalf("create: %s", readFile(t, stderr))
	}
	pid := b.state(t, "hk").Pid
	b.oci(t, "start", "hk")
	b.waitStatus(t, "hk", specs.StateStopped)
	if r := b.oci(t, "delete", "hk"); r.Code != 0 {
		t.Fatalf("delete: %s", r)
	}
	want := map[string]specs.ContainerState{
		"prestart": specs.StateCreated, "createRuntime": specs.StateCreated, "createContainer": specs.StateCreated,
		"poststart": specs.StateRunning, "poststop": specs.StateStopped,
	}
	for name, status := range want {
		raw, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Errorf("%s hook did not run: %v", name, err)
			continue
		}
		var st specs.State
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Errorf("%s hook's stdin is not the state JSON: %v: %q", name, err, raw)
			continue
		}
		if st.ID != "hk" || st.Bundle != b.dir || st.Status != status || st.Annotations["org.example.test"] != "hooks" {
			t.Errorf("%s hook got %+v, want id hk, bundle %s, status %s and the annotation", name, st, b.dir, status)
		}
		if name != "poststop" && st.Pid != pid {
			t.Errorf("%s hook got pid %d, want %d", name, st.Pid, pid)
		}
	}
}

func TestOCIFailingCreateRuntimeHookFailsCreateAndLeavesNothing(t *testing.T) {
	t.Parallel()
	b := newBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"true"}
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo no network for you >&2; exit 3"}}}}
	})
	code, _, stderr := b.create(t, "hkfail")
	msg := readFile(t, stderr)
	if code != 1 || !strings.Contains(msg, "isolate: hooks.createRuntime[0] /bin/sh: exit status 3: no network for you") {
		t.Fatalf("want exit 1 naming the hook and its output, got %d: %s", code, msg)
	}
	if left := b.leftovers(); len(left) != 0 {
		t.Errorf("state directory keeps %v", left)
	}
}

func TestOCIConsoleSocketReceivesAPtyThatIsTheProgramsTerminal(t *testing.T) {
	t.Parallel()
	b := newBundle(t, func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.Args = []string{"sh", "-c", "test -t 0 && test -t 1 && echo is-a-tty; read line; echo got-$line"}
	})
	sockDir := userDir(t)
	sock := filepath.Join(sockDir, "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	os.Chmod(sock, 0o777)
	got := make(chan *os.File, 1)
	go func() {
		c, err := l.AcceptUnix()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		buf, oob := make([]byte, 256), make([]byte, 256)
		_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
		if err != nil {
			got <- nil
			return
		}
		msgs, _ := syscall.ParseSocketControlMessage(oob[:oobn])
		if len(msgs) != 1 {
			got <- nil
			return
		}
		fds, _ := syscall.ParseUnixRights(&msgs[0])
		if len(fds) != 1 {
			got <- nil
			return
		}
		got <- os.NewFile(uintptr(fds[0]), "pty-master")
	}()
	code, _, stderr := b.create(t, "tty", "--console-socket", sock)
	if code != 0 {
		t.Fatalf("create: %s", readFile(t, stderr))
	}
	defer b.oci(t, "delete", "--force", "tty")
	var master *os.File
	select {
	case master = <-got:
	case <-time.After(20 * time.Second):
	}
	if master == nil {
		t.Fatal("no pty master arrived on the console socket")
	}
	defer master.Close()
	b.oci(t, "start", "tty")
	master.Write([]byte("ping\n"))
	var all lockedBuffer
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := master.Read(buf)
			all.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	eventually(t, "the program's answer on the pty", func() bool {
		return strings.Contains(all.String(), "is-a-tty") && strings.Contains(all.String(), "got-ping")
	})
}

func TestOCITerminalWithoutConsoleSocketIsRefused(t *testing.T) {
	t.Parallel()
	b := newBundle(t, func(s *specs.Spec) { s.Process.Terminal = true })
	code, _, stderr := b.create(t, "notty")
	if msg := readFile(t, stderr); code != 1 || !strings.HasPrefix(msg, "isolate: process.terminal is true: --console-socket is required") {
		t.Fatalf("want exit 1 asking for --console-socket, got %d: %s", code, msg)
	}
	if left := b.leftovers(); len(left) != 0 {
		t.Errorf("state directory keeps %v", left)
	}
}

func TestOCIConcurrentContainersAreIndependent(t *testing.T) {
	t.Parallel()
	m := marker()
	b := newBundle(t, func(s *specs.Spec) { s.Process.Args = []string{"sleep", m} })
	const n = 5
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := fmt.Sprintf("c%d", i)
			codes[i], _, _ = b.create(t, id)
			if codes[i] == 0 {
				codes[i] = b.oci(t, "start", id).Code
			}
		}(i)
	}
	wg.Wait()
	for i, c := range codes {
		if c != 0 {
			t.Fatalf("container c%d: create/start exit %d", i, c)
		}
	}
	r := b.oci(t, "list", "--format", "json")
	var l []specs.State
	if err := json.Unmarshal([]byte(r.Stdout), &l); err != nil || len(l) != n {
		t.Fatalf("list: want %d containers: %v %s", n, err, r)
	}
	pids := map[int]bool{}
	for _, st := range l {
		if st.Status != specs.StateRunning {
			t.Errorf("%s is %s, want running", st.ID, st.Status)
		}
		pids[st.Pid] = true
	}
	if len(pids) != n {
		t.Errorf("want %d different pids, got %v", n, pids)
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); b.oci(t, "delete", "--force", fmt.Sprintf("c%d", i)) }(i)
	}
	wg.Wait()
	if left := b.leftovers(); len(left) != 0 {
		t.Errorf("state directory keeps %v", left)
	}
	if left := hostProcesses("sleep " + m); len(left) != 0 {
		t.Errorf("processes left: %v", left)
	}
}

func TestOCITwoCreatesRacingOnOneIDExactlyOneWins(t *testing.T) {
	t.Parallel()
	m := marker()
	b := newBundle(t, func(s *specs.Spec) { s.Process.Args = []string{"sleep", m} })
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		codes := make([]int, 2)
		errs := make([]string, 2)
		for i := range codes {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				args := []string{"--root", b.root, "create", "--bundle", b.dir, "race"}
				cmd := command(opts{dir: b.dir}, args...)
				errF := filepath.Join(b.dir, fmt.Sprintf("race%d-%d.stderr", round, i))
				e, _ := os.Create(errF)
				cmd.Stderr = e
				runBounded(cmd)
				e.Close()
				codes[i], errs[i] = cmd.ProcessState.ExitCode(), readFile(t, errF)
			}(i)
		}
		wg.Wait()
		won := 0
		for i := range codes {
			switch {
			case codes[i] == 0:
				won++
			case codes[i] != 1 || !strings.Contains(errs[i], "isolate: container \"race\": already exists"):
				t.Errorf("round %d: loser exit %d, want 1 and \"already exists\": %s", round, codes[i], errs[i])
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d creates succeeded, want exactly 1: %v %q", round, won, codes, errs)
		}
		if st := b.state(t, "race"); st.Status != specs.StateCreated {
			t.Errorf("round %d: the winner's container is %s", round, st.Status)
		}
		if r := b.oci(t, "delete", "--force", "race"); r.Code != 0 {
			t.Fatalf("delete: %s", r)
		}
	}
	if left := hostProcesses("isolate-init"); len(left) != 0 {
		// Only this test's root matters; other tests' children may run.
		_ = left
	}
	if left := b.leftovers(); len(left) != 0 {
		t.Errorf("state directory keeps %v", left)
	}
}

func TestOCIDeleteOfARunningContainerNeedsForce(t *testing.T) {
	t.Parallel()
	m := marker()
	b := newBundle(t, func(s *specs.Spec) { s.Process.Args = []string{"sleep", m} })
	if code, _, stderr := b.create(t, "busy"); code != 0 {
		t.Fatalf("create: %s", readFile(t, stderr))
	}
	b.oci(t, "start", "busy")
	r := b.oci(t, "delete", "busy")
	if r.Code != 1 || !strings.HasPrefix(r.Stderr, "isolate: delete container \"busy\": it is running\n  hint: ") {
		t.Fatalf("delete without --force: want exit 1, \"it is running\": %s", r)
	}
	if st := b.state(t, "busy"); st.Status != specs.StateRunning {
		t.Fatalf("after a refused delete the container is %s, want still running", st.Status)
	}
	if r := b.oci(t, "delete", "--force", "busy"); r.Code != 0 {
		t.Fatalf("delete --force: %s", r)
	}
	if left := hostProcesses("sleep " + m); len(left) != 0 {
		t.Errorf("processes left after delete --force: %v", left)
	}
	if left := b.leftovers(); len(left) != 0 {
		t.Errorf("state directory keeps %v", left)
	}
	if r := b.oci(t, "delete", "--force", "busy"); r.Code != 0 {
		t.Errorf("delete --force of a deleted container succeeds as runc's does: %s", r)
	}
}

func TestOCICreatedContainerCanBeDeletedWithoutEverStarting(t *testing.T) {
	t.Parallel()
	out := userDir(t)
	b := newBundle(t, func(s *specs.Spec) { s.Process.Args = []string{"sh", "-c", "echo ran > " + out + "/ran"} })
	if code, _, stderr := b.create(t, "never"); code != 0 {
		t.Fatalf("create: %s", readFile(t, stderr))
	}
	pid := b.state(t, "never").Pid
	if r := b.oci(t, "delete", "--force", "never"); r.Code != 0 {
		t.Fatalf("delete --force: %s", r)
	}
	if alivePid(pid) {
		t.Errorf("the created container's process %d survived delete --force", pid)
	}
	if _, err := os.Stat(out + "/ran"); err == nil {
		t.Error("the program ran although the container was never started")
	}
}

func TestOCIRunWaitsReturnsTheStatusAndDeletes(t *testing.T) {
	t.Parallel()
	b := newBundle(t, func(s *specs.Spec) { s.Process.Args = []string{"sh", "-c", "echo out; exit 7"} })
	r := b.oci(t, "run", "--bundle", b.dir, "fg")
	if r.Code != 7 || !strings.Contains(r.Stdout, "out\n") {
		t.Fatalf("run: want exit 7 and the program's output: %s", r)
	}
	if left := b.leftovers(); len(left) != 0 {
		t.Errorf("state directory keeps %v after run", left)
	}
}

func TestOCIRunDetachReturnsWhileTheProgramRuns(t *testing.T) {
	t.Parallel()
	m := marker()
	b := newBundle(t, func(s *specs.Spec) { s.Process.Args = []string{"sleep", m} })
	cmd := command(opts{dir: b.dir}, "--root", b.root, "run", "--detach", "--bundle", b.dir, "bg")
	devnull, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	defer devnull.Close()
	cmd.Stdout, cmd.Stderr = devnull, devnull
	if err := runBounded(cmd); err != nil || cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("run --detach: %v %v", err, cmd.ProcessState)
	}
	if st := b.state(t, "bg"); st.Status != specs.StateRunning {
		t.Fatalf("after run --detach: %s, want running", st.Status)
	}
	b.oci(t, "kill", "bg", "KILL")
	b.waitStatus(t, "bg", specs.StateStopped)
	b.oci(t, "delete", "bg")
}

func TestOCIProgramGetsNoDescriptorOfTheRuntime(t *testing.T) {
	t.Parallel()
	// A leaked fd of the runtime (the control socket, the exec fifo) is an
	// escape route out of the container (CVE-2024-21626).
	b := newBundle(t, func(s *specs.Spec) { s.Process.Args = []string{"ls", "/proc/self/fd"} })
	r := b.oci(t, "run", "--bundle", b.dir, "fds")
	if r.Code != 0 {
		t.Fatalf("run: %s", r)
	}
	// ls itself opens one directory fd.
	if got := strings.Fields(r.Stdout); len(got) > 4 {
		t.Errorf("the program has fds %v, want only 0, 1, 2 and ls's own", got)
	}
}

func TestOCIAnotherUserCannotUseYourStateDirectory(t *testing.T) {
	t.Parallel()
	if noSubUser == nil {
		t.Skip("needs a second user (run the tests as root)")
	}
	m := marker()
	b := newBundle(t, func(s *specs.Spec) { s.Process.Args = []string{"sleep", m} })
	if code, _, stderr := b.create(t, "mine"); code != 0 {
		t.Fatalf("create: %s", readFile(t, stderr))
	}
	defer b.oci(t, "delete", "--force", "mine")
	for _, args := range [][]string{{"kill", "mine", "KILL"}, {"start", "mine"}, {"delete", "--force", "mine"}} {
		r := run(t, opts{as: noSubUser, dir: "/"}, append([]string{"--root", b.root}, args...)...)
		if r.Code != 1 || !strings.HasPrefix(r.Stderr, "isolate: ") {
			t.Errorf("%v by another user: want exit 1 and an error: %s", args, r)
		}
	}
	if st := b.state(t, "mine"); st.Status != specs.StateCreated {
		t.Errorf("after another user's attempts the container is %s, want created", st.Status)
	}
}

func TestOCIBadInputIsOneLineExitOneAndLeavesNothing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		config string // config.json's text; "" keeps the valid one
		args   func(b *bundle) []string
		want   string // the first line of stderr
	}{
		{"missing bundle", "", func(b *bundle) []string { return []string{"create", "--bundle", b.dir + "/nope", "x"} },
			"isolate: bundle %B/nope: no such file or directory"},
		{"args of the wrong type", `{"ociVersion":"1.0.2","process":{"args":"sh","cwd":"/"},"root":{"path":"rootfs"},"linux":{}}`, nil,
			"isolate: %B/config.json: process.args: want an array, found a JSON string"},
		{"empty args", `{"ociVersion":"1.0.2","process":{"args":[],"cwd":"/"},"root":{"path":"rootfs"},"linux":{}}`, nil,
			"isolate: %B/config.json: process.args: must not be empty"},
		{"relative cwd", `{"ociVersion":"1.0.2","process":{"args":["true"],"cwd":"tmp"},"root":{"path":"rootfs"},"linux":{}}`, nil,
			`isolate: %B/config.json: process.cwd: "tmp" must be an absolute path`},
		{"unknown namespace", `{"ociVersion":"1.0.2","process":{"args":["true"],"cwd":"/"},"root":{"path":"rootfs"},"linux":{"namespaces":[{"type":"pid"},{"type":"galaxy"}]}}`, nil,
			`isolate: %B/config.json: linux.namespaces[1].type: "galaxy" is not a namespace type (user, mount, pid, network, uts, ipc, cgroup, time)`},
		{"missing root", `{"ociVersion":"1.0.2","process":{"args":["true"],"cwd":"/"},"linux":{}}`, nil,
			"isolate: %B/config.json: root.path: missing: it names the container's root filesystem"},
		{"unsupported version", `{"ociVersion":"2.0.0","process":{"args":["true"],"cwd":"/"},"root":{"path":"rootfs"},"linux":{}}`, nil,
			"isolate: %B/config.json: ociVersion: 2.0.0: isolate supports runtime-spec 1.0.0 to 1.3.0"},
		{"JSON syntax", "{\n \"ociVersion\": \"1.0.2\",\n \"process\": {,\n}", nil,
			"isolate: %B/config.json:3:14: invalid JSON: invalid character ',' looking for beginning of object key string"},
		{"hostname without uts namespace", `{"ociVersion":"1.0.2","hostname":"h","process":{"args":["true"],"cwd":"/"},"root":{"path":"rootfs"},"linux":{"namespaces":[{"type":"mount"}]}}`, nil,
			"isolate: %B/config.json: hostname: needs a new uts namespace in linux.namespaces"},
		{"join a pid namespace", `{"ociVersion":"1.0.2","process":{"args":["true"],"cwd":"/"},"root":{"path":"rootfs"},"linux":{"namespaces":[{"type":"pid","path":"/proc/1/ns/pid"}]}}`, nil,
			"isolate: %B/config.json: linux.namespaces[0].path: joining an existing pid namespace is not supported by isolate (only network, ipc, uts and cgroup namespaces can be joined)"},
		{"no mount namespace", `{"ociVersion":"1.0.2","process":{"args":["true"],"cwd":"/"},"root":{"path":"rootfs"},"linux":{"namespaces":[{"type":"pid"}]}}`, nil,
			`isolate: %B/config.json: linux.namespaces: isolate needs a mount namespace (type "mount") to build the container's root filesystem`},
		{"bad ID", "", func(b *bundle) []string { return []string{"create", "--bundle", b.dir, "../up"} },
			`isolate: container ID "../up": use only letters, digits, '_', '+', '-' and '.'`},
		{"unwritable state directory", "", func(b *bundle) []string {
			return []string{"--root", filepath.Join(workDir, "not-yours"), "create", "--bundle", b.dir, "x"}
		}, "isolate: create state directory %W/not-yours: permission denied"},
		{"unknown ID: start", "", func(b *bundle) []string { return []string{"start", "nope"} }, `isolate: container "nope": does not exist`},
		{"unknown ID: state", "", func(b *bundle) []string { return []string{"state", "nope"} }, `isolate: container "nope": does not exist`},
		{"unknown ID: kill", "", func(b *bundle) []string { return []string{"kill", "nope", "KILL"} }, `isolate: container "nope": does not exist`},
		{"unknown ID: delete", "", func(b *bundle) []string { return []string{"delete", "nope"} }, `isolate: container "nope": does not exist`},
		{"unknown signal", "", func(b *bundle) []string { return []string{"kill", "nope", "SIGNOPE"} }, `isolate: signal SIGNOPE: unknown signal name`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := marker()
			b := newBundle(t, func(s *specs.Spec) { s.Process.Args = []string{"sleep", m} })
			if c.config != "" {
				b.writeRaw(t, []byte(c.config))
			}
			args := []string{"create", "--bundle", b.dir, "x"}
			if c.args != nil {
				args = c.args(b)
			}
			if args[0] != "--root" {
				args = append([]string{"--root", b.root}, args...)
			}
			r := run(t, opts{dir: b.dir}, args...)
			want := strings.NewReplacer("%B", b.dir, "%W", workDir).Replace(c.want)
			first, _, _ := strings.Cut(r.Stderr, "\n")
			if r.Code != 1 || first != want {
				t.Errorf("want exit 1 and first line\n  %s\ngot exit %d:\n%s", want, r.Code, r.Stderr)
			}
			if n := strings.Count(strings.TrimRight(r.Stderr, "\n"), "\n"); n > 1 {
				t.Errorf("more than the error and one hint line:\n%s", r.Stderr)
			}
			if left := b.leftovers(); len(left) != 0 {
				t.Errorf("state directory keeps %v", left)
			}
			if left := hostProcesses("sleep " + m); len(left) != 0 {
				t.Errorf("processes left: %v", left)
			}
		})
	}
}

func TestProgramNamedLikeAnOCICommandRunsAfterDoubleDash(t *testing.T) {
	t.Parallel()
	r := run(t, opts{}, "--", "state")
	if r.Code != 127 || !strings.Contains(r.Stderr, "isolate: state: executable file not found in $PATH") {
		t.Fatalf("isolate -- state: want the program \"state\" looked up (127): %s", r)
	}
	r = run(t, opts{}, "state")
	if r.Code != 1 || !strings.HasPrefix(r.Stderr, "isolate: state: want exactly one container ID") {
		t.Fatalf("isolate state: want the OCI command: %s", r)
	}
}

func TestFeaturesDescribesTheRuntime(t *testing.T) {
	t.Parallel()
	var f features.Features
	if err := json.Unmarshal([]byte(isolate(t, "features")), &f); err != nil {
		t.Fatal(err)
	}
	if f.OCIVersionMin != "1.0.0" || f.OCIVersionMax != "1.3.0" || f.Linux == nil || len(f.Linux.Namespaces) == 0 || len(f.Hooks) != 6 {
		t.Errorf("features: %+v", f)
	}
}

func TestSpecRefusesToOverwriteAConfig(t *testing.T) {
	t.Parallel()
	dir := userDir(t)
	isolate(t, "spec", "--bundle", dir)
	r := run(t, opts{}, "spec", "--bundle", dir)
	if r.Code != 1 || !strings.HasPrefix(r.Stderr, "isolate: write "+dir+"/config.json: file exists") {
		t.Errorf("second spec: %s", r)
	}
}

func TestOCIConfigIsWhatTheProgramSees(t *testing.T) {
	t.Parallel()
	share := userDir(t)
	os.WriteFile(filepath.Join(share, "shared"), []byte("from-the-host\n"), 0o644)
	b := newBundle(t, func(s *specs.Spec) {
		s.Hostname = "oci-box"
		s.Process.Env = []string{"PATH=/bin", "GREETING=hello"}
		s.Process.Cwd = "/work"
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 77, Hard: 77}}
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Permitted: []string{"CAP_KILL"}, Effective: []string{"CAP_KILL"}}
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/share", Type: "bind", Source: share, Options: []string{"rbind", "ro"}},
			specs.Mount{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}})
		s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/etc/secret")
		s.Linux.ReadonlyPaths = append(s.Linux.ReadonlyPaths, "/etc")
		s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		s.Process.Args = []string{"sh", "-c", `
			echo host=$(hostname) env=$GREETING cwd=$(pwd) nofile=$(ulimit -n)
			grep CapEff /proc/self/status
			cat /marker /share/shared; test -s /etc/secret && echo secret-visible
			touch /etc/x 2>/dev/null && echo etc-writable; touch /share/x 2>/dev/null && echo share-writable
			touch /scratch/x && echo scratch-writable
			cat /proc/sys/net/ipv4/ip_forward
			test -e /usr/bin/go && echo host-fs-visible; true`}
	})
	os.WriteFile(filepath.Join(b.dir, "rootfs", "marker"), []byte("in-the-bundle\n"), 0o644)
	os.WriteFile(filepath.Join(b.dir, "rootfs", "etc", "secret"), []byte("s3cret\n"), 0o644)
	r := b.oci(t, "run", "--bundle", b.dir, "seen")
	want := "host=oci-box env=hello cwd=/work nofile=77\nCapEff:\t0000000000000020\nin-the-bundle\nfrom-the-host\nscratch-writable\n1\n"
	if r.Code != 0 || r.Stdout != want {
		t.Fatalf("want stdout\n%s\ngot %s", want, r)
	}
	if r.Stderr != "" && !fallback {
		t.Errorf("no warning expected for a config isolate applies fully: %q", r.Stderr)
	}
}

// podmanAsUser runs podman as the test user with isolate as its runtime
// and a private storage, so that the user's own images are not touched.
func podmanAsUser(t *testing.T, home, xdg string, args ...string) result {
	t.Helper()
	base := []string{"--root", filepath.Join(home, "storage"), "--runroot", filepath.Join(xdg, "run"),
		"--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
		"--runtime", isolateBin}
	cmd := command(opts{dir: home, env: []string{
		// podman is the engine here: it needs newuidmap whatever mode
		// isolate's own tests run in.
		"PATH=" + defaultPath, "HOME=" + home, "XDG_RUNTIME_DIR=" + xdg, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
	}}, append(base, args...)...)
	cmd.Path, cmd.Args[0] = podmanPath, "podman"
	var out, errb lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := runBounded(cmd); err != nil {
		t.Fatalf("podman %q: %v\n%s", args, err, errb.String())
	}
	return result{Stdout: out.String(), Stderr: errb.String(), Code: cmd.ProcessState.ExitCode()}
}

var podmanPath string

func TestPodmanRunsContainersWithIsolateAsItsRuntime(t *testing.T) {
	t.Parallel()
	var err error
	if podmanPath, err = exec.LookPath("podman"); err != nil {
		if inCI {
			t.Fatal("podman is not installed (apt-get install podman)")
		}
		t.Skip("podman is not installed")
	}
	home, xdg := userDir(t), userDir(t)
	os.Chmod(xdg, 0o700)
	// Rootless podman keeps a pause process holding its user namespace
	// for later commands; this test's podman has no later commands.
	defer func() {
		if b, err := os.ReadFile(filepath.Join(xdg, "libpod", "tmp", "pause.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}()
	// An image from a local tarball: no registry is reachable here.
	rootfs := filepath.Join(userDir(t), "rootfs")
	os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755)
	for _, d := range []string{"etc", "tmp", "proc", "sys", "dev", "root"} {
		os.MkdirAll(filepath.Join(rootfs, d), 0o755)
	}
	bb, _ := os.ReadFile("/bin/busybox")
	os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), bb, 0o755)
	for _, tool := range append(busyboxTools, "httpd", "wget", "tty") {
		os.Symlink("busybox", filepath.Join(rootfs, "bin", tool))
	}
	os.WriteFile(filepath.Join(rootfs, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
	tarball := filepath.Join(home, "busybox.tar")
	if out, err := exec.Command("tar", "-C", rootfs, "-cf", tarball, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	os.Chmod(tarball, 0o644)
	if r := podmanAsUser(t, home, xdg, "import", tarball, "localhost/isolate-busybox:test"); r.Code != 0 {
		t.Fatalf("podman import: %s", r)
	}
	defer podmanAsUser(t, home, xdg, "rm", "-af")

	r := podmanAsUser(t, home, xdg, "run", "--rm", "localhost/isolate-busybox:test", "echo", "hello")
	if r.Code != 0 || r.Stdout != "hello\n" {
		t.Fatalf("podman run --rm IMAGE echo hello: %s", r)
	}
	r = podmanAsUser(t, home, xdg, "run", "--rm", "localhost/isolate-busybox:test", "sh", "-c", "exit 3")
	if r.Code != 3 {
		t.Errorf("podman run of a program exiting 3: %s", r)
	}
	r = podmanAsUser(t, home, xdg, "run", "--rm", "--hostname", "through-podman", "localhost/isolate-busybox:test", "sh", "-c", "hostname; id -u; echo $$")
	if want := "through-podman\n0\n1\n"; r.Code != 0 || r.Stdout != want {
		t.Errorf("podman run: want the host name, uid 0 and the program as PID 1, %q: %s", want, r)
	}
	// -p: podman's rootless port forwarding into the container's network
	// namespace, which isolate joins by path.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r = podmanAsUser(t, home, xdg, "run", "-d", "--name", "web", "-p", fmt.Sprintf("127.0.0.1:%d:80", port),
		"localhost/isolate-busybox:test", "httpd", "-f", "-p", "80", "-h", "/etc")
	if r.Code != 0 {
		t.Fatalf("podman run -d -p: %s", r)
	}
	var page string
	eventually(t, "the container's web server through -p", func() bool {
		resp, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err != nil {
			return false
		}
		defer resp.Close()
		resp.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(resp, "GET /passwd HTTP/1.0\r\n\r\n")
		b := make([]byte, 4096)
		n, _ := io.ReadFull(resp, b)
		page = string(b[:n])
		return strings.Contains(page, "root:x:0:0")
	})
	if r := podmanAsUser(t, home, xdg, "rm", "-f", "-t", "0", "web"); r.Code != 0 {
		t.Errorf("podman rm -f: %s", r)
	}
	if r := podmanAsUser(t, home, xdg, "ps", "-aq"); r.Stdout != "" {
		t.Errorf("containers left after --rm: %q", r.Stdout)
	}
}

func TestOCILogFileGetsErrorsAsJSONLines(t *testing.T) {
	t.Parallel()
	b := newBundle(t, nil)
	log := filepath.Join(b.dir, "runtime.log")
	r := b.oci(t, "--log", log, "--log-format", "json", "create", "--bundle", b.dir+"/nope", "x")
	if r.Code != 1 || !strings.HasPrefix(r.Stderr, "isolate: bundle "+b.dir+"/nope: no such file or directory") {
		t.Fatalf("want exit 1 and the error on stderr: %s", r)
	}
	var entry map[string]string
	if err := json.Unmarshal([]byte(readFile(t, log)), &entry); err != nil {
		t.Fatalf("log is not one JSON line: %v: %q", err, readFile(t, log))
	}
	if entry["level"] != "error" || !strings.HasPrefix(entry["msg"], "bundle "+b.dir+"/nope: no such file or directory") || entry["time"] == "" {
		t.Errorf("log entry %v", entry)
	}
}

func TestOCIDevicesAreCreatedForRealRootOnly(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs real root (tier 3)")
	}
	b := newBundle(t, func(s *specs.Spec) {
		mode := os.FileMode(0o640)
		s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/isolate-test-null", Type: "c", Major: 1, Minor: 3, FileMode: &mode}}
		s.Process.Args = []string{"sh", "-c", "ls -l /dev/isolate-test-null"}
	})
	// As the user: a warning, no node.
	r := b.oci(t, "run", "--bundle", b.dir, "dev-user")
	if r.Code != 1 || !strings.Contains(r.Stderr, "isolate: warning: linux.devices ignored (1 entries)") || !strings.Contains(r.Stderr, "No such file") {
		t.Errorf("as a user: want a warning and no device: %s", r)
	}
	// As real root without a user namespace: the node, with its mode.
	b.spec.Linux.UIDMappings, b.spec.Linux.GIDMappings = nil, nil
	var nss []specs.LinuxNamespace
	for _, ns := range b.spec.Linux.Namespaces {
		if ns.Type != specs.UserNamespace {
			nss = append(nss, ns)
		}
	}
	b.spec.Linux.Namespaces = nss
	b.write(t)
	rootState, err := os.MkdirTemp("", "isolate-oci-root-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(rootState)
	r = run(t, opts{root: true, dir: b.dir}, "--root", rootState, "run", "--bundle", b.dir, "dev-root")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "crw-r-----") || !strings.Contains(r.Stdout, "1,   3") {
		t.Errorf("as root: want the character device 1,3 with mode 0640: %s", r)
	}
}

// A config.json that maps the user's subordinate range goes through
// newuidmap, with the child exec'd before the map (ambient capabilities):
// the container sees the whole map and keeps no ambient capability.
func TestOCISubordinateMapsThroughTheHelpers(t *testing.T) {
	t.Parallel()
	if fallback {
		t.Log("helpers hidden: such a config.json needs newuidmap (TestOCIBadInputIsOneLineExitOneAndLeavesNothing covers refusals)")
		return
	}
	sub := subordinateRange(t, "/etc/subuid")
	subg := subordinateRange(t, "/etc/subgid")
	b := newBundle(t, func(s *specs.Spec) {
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: testUser.UID, Size: 1}, {ContainerID: 1, HostID: sub, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: testUser.GID, Size: 1}, {ContainerID: 1, HostID: subg, Size: 65536}}
		s.Process.Args = []string{"sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; grep CapAmb /proc/self/status"}
	})
	r := b.oci(t, "run", "--bundle", b.dir, "sub")
	if r.Code != 0 {
		t.Fatalf("run: %s", r)
	}
	lines := fieldsPerLine(r.Stdout)
	want := []string{fmt.Sprintf("0 %d 1", testUser.UID), fmt.Sprintf("1 %d 65536", sub),
		fmt.Sprintf("0 %d 1", testUser.GID), fmt.Sprintf("1 %d 65536", subg), "CapAmb: 0000000000000000"}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("inside: %q, want %q", lines, want)
	}
}

// subordinateRange is the start of the test user's first range in file.
func subordinateRange(t *testing.T, file string) uint32 {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Split(l, ":")
		if len(f) == 3 && (f[0] == testUser.Name || f[0] == strconv.Itoa(int(testUser.UID))) {
			n, err := strconv.ParseUint(f[1], 10, 32)
			if err == nil {
				return uint32(n)
			}
		}
	}
	t.Fatalf("%s has no range for %s", file, testUser.Name)
	return 0
}
