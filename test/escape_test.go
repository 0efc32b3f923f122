package test

// The escape battery: each test is an attack a hostile program inside the
// sandbox would try, run by the real binary as the unprivileged test user.
// The program is test/attacker (built once), which prints "blocked: ERRNO"
// or "ESCAPED: ..."; the host's state is checked before and after.
// docs/security.md has the table of these attacks and their results.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// attacker is the path of the attack program (test/attacker).
func attacker(t *testing.T) string { return testProgram(t, "attacker") }

// attack runs `isolate FLAGS... attacker ATTACK...` and returns the
// attacker's verdict lines; flags and attack are split at "--".
func attack(t *testing.T, o opts, args ...string) string {
	t.Helper()
	i := indexOf(args, "--")
	full := append(append(append([]string{"-q"}, args[:i]...), attacker(t)), args[i+1:]...)
	r := run(t, o, full...)
	if r.Code != 0 {
		t.Fatalf("isolate %q: %s", full, r)
	}
	return strings.TrimSpace(r.Stdout)
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return len(s)
}

// mustBlock fails unless every verdict line says "blocked" (and, when
// given, with one of the errnos).
func mustBlock(t *testing.T, what, verdict string, errnos ...string) {
	t.Helper()
	lines := strings.Split(verdict, "\n")
	for _, l := range lines {
		if !strings.HasPrefix(l, "blocked") {
			t.Errorf("%s: %s", what, verdict)
			return
		}
		if len(errnos) > 0 {
			ok := false
			for _, e := range errnos {
				ok = ok || strings.Contains(l, e)
			}
			if !ok {
				t.Errorf("%s: %s, want one of %v", what, l, errnos)
			}
		}
	}
	t.Logf("%s: %s", what, strings.ReplaceAll(verdict, "\n", "; "))
}

// The loosest sandbox a user can ask for, to show that the layers under
// seccomp hold on their own.
var unconfined = []string{"--seccomp", "unconfined", "--landlock", "off"}

func TestCannotWriteKernelSettingsThroughProc(t *testing.T) {
	t.Parallel()
	before, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
	for _, flags := range [][]string{nil, append([]string{"--cap-add", "ALL"}, unconfined...)} {
		out := run(t, opts{}, append(append([]string{"-q"}, flags...), "sh", "-c",
			`echo '|/tmp/evil %p' > /proc/sys/kernel/core_pattern && echo ESCAPED core_pattern
			 echo h > /proc/sysrq-trigger && echo ESCAPED sysrq; exit 0`)...)
		if strings.Contains(out.Stdout, "ESCAPED") || !strings.Contains(out.Stderr, "core_pattern") {
			t.Errorf("flags %q: %s", flags, out)
		}
	}
	if after, _ := os.ReadFile("/proc/sys/kernel/core_pattern"); !bytes.Equal(before, after) {
		t.Fatalf("host core_pattern changed from %q to %q", before, after)
	}
}

func TestCannotReadKernelMemoryOrKeys(t *testing.T) {
	t.Parallel()
	// /proc/kcore is the kernel's memory as an ELF core file; some kernels
	// have none (CONFIG_PROC_KCORE=n).
	r := run(t, opts{}, "-q", "sh", "-c", "head -c 4 /proc/kcore")
	if r.Code == 0 || strings.Contains(r.Stdout, "ELF") {
		t.Errorf("/proc/kcore readable: %s", r)
	}
	if !strings.Contains(r.Stderr, "Permission denied") && !strings.Contains(r.Stderr, "No such file") {
		t.Errorf("reading /proc/kcore: want permission denied (or no kcore): %s", r)
	}
	// A canary key in the test user's keyring on the host.
	name := "isolate-canary-" + strconv.Itoa(os.Getpid()) + "-" + marker()
	add := command(opts{}, "x") // reuse the credential set-up
	add.Path, add.Args = mustLookPath(t, "keyctl"), []string{"keyctl", "add", "user", name, "s3cret-payload", "@u"}
	out, err := add.Output()
	if err != nil {
		t.Fatalf("keyctl add: %v", err)
	}
	id := strings.TrimSpace(string(out))
	defer func() {
		rm := command(opts{}, "x")
		rm.Path, rm.Args = add.Path, []string{"keyctl", "unlink", id, "@u"}
		rm.Run()
	}()
	mustBlock(t, "keyctl read of a host key", attack(t, opts{}, "--", "keyctl-read", id), "EPERM")
	mustBlock(t, "keyctl search for a host key", attack(t, opts{}, "--", "keyctl-search", name), "EPERM")
	// Under seccomp the payload is out of reach; without it the key's
	// permissions still refuse (view only, not possessed).
	mustBlock(t, "keyctl read, unconfined", attack(t, opts{}, append(unconfined, "--", "keyctl-read", id)...), "EACCES")
	keys := isolate(t, "-q", "cat", "/proc/keys")
	if strings.Contains(keys, "s3cret") {
		t.Errorf("/proc/keys shows the payload:\n%s", keys)
	}
	// procfs would list the key's description (its owner is mapped inside);
	// the filesystem view masks /proc/keys.
	if strings.Contains(keys, name) {
		t.Errorf("/proc/keys lists the host key %q:\n%s", name, keys)
	}
}

func mustLookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: install it (scripts/test.sh installs keyutils)", name)
	}
	return p
}

func TestCannotMountHostDevicesProcOrCgroups(t *testing.T) {
	t.Parallel()
	dir := userDir(t)
	dev := firstBlockDevice(t)
	for _, flags := range [][]string{nil, unconfined} {
		for _, m := range [][]string{
			{dev, dir, "ext4", ""},
			{"proc", dir, "proc", ""},
			{"none", dir, "cgroup2", ""},
			{"none", dir, "cgroup", ""},
		} {
			mustBlock(t, fmt.Sprintf("mount %s %v", m[2], flags), attack(t, opts{}, append(append([]string{}, flags...), append([]string{"--", "mount"}, m...)...)...), "EPERM", "EACCES")
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("host sees %d entries in %s", len(ents), dir)
	}
}

func firstBlockDevice(t *testing.T) string {
	ents, _ := os.ReadDir("/sys/block")
	for _, e := range ents {
		if _, err := os.Stat("/dev/" + e.Name()); err == nil {
			return "/dev/" + e.Name()
		}
	}
	t.Fatal("no block device in /sys/block")
	return ""
}

// hostReadOnlyBind makes a read-only bind mount on the host (as root), the
// kind the filesystem view puts over what the program may only read.
func hostReadOnlyBind(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("making a host mount needs root; CI runs the tests as root")
	}
	dir := userDir(t)
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCannotRemountAReadOnlyBindReadWrite(t *testing.T) {
	dir := hostReadOnlyBind(t)
	// Even with CAP_SYS_ADMIN, no seccomp and no Landlock: the kernel locks
	// the flags of mounts inherited from a more privileged namespace.
	for _, flags := range [][]string{nil, append([]string{"--cap-add", "SYS_ADMIN"}, unconfined...)} {
		mustBlock(t, fmt.Sprintf("remount rw %v", flags), attack(t, opts{}, append(append([]string{}, flags...), "--", "mount", "none", dir, "", "remount,bind")...), "EPERM")
		r := run(t, opts{}, append(append([]string{"-q"}, flags...), "sh", "-c", "mount -o remount,rw,bind "+dir+"; touch "+dir+"/x")...)
		if r.Code == 0 {
			t.Errorf("%v: writing below the read-only bind worked: %s", flags, r)
		}
	}
	if _, err := os.Stat(dir + "/x"); err == nil {
		t.Fatal("host sees the file written inside")
	}
}

func TestCannotUnmountAMaskingMount(t *testing.T) {
	dir := hostReadOnlyBind(t)
	mustBlock(t, "umount a mount over a host directory", attack(t, opts{}, "--", "umount", dir), "EPERM")
	mustBlock(t, "umount /proc", attack(t, opts{}, "--", "umount", "/proc"), "EPERM")
	// Masked /proc files (issue 4) are checked where they exist.
	for _, p := range []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sysrq-trigger"} {
		if mounted, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(mounted, []byte(" "+p+" ")) {
			mustBlock(t, "umount "+p, attack(t, opts{}, "--", "umount", p), "EPERM")
		}
	}
}

func TestCannotOpenHostFilesByHandle(t *testing.T) {
	t.Parallel()
	secret := filepath.Join(workDir, "handle-canary")
	if err := os.WriteFile(secret, []byte("host secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, secret, 0)
	if err != nil {
		t.Fatalf("name_to_handle_at on the host: %v", err)
	}
	typ, b := strconv.Itoa(int(h.Type())), hex.EncodeToString(h.Bytes())
	mustBlock(t, "open_by_handle_at", attack(t, opts{}, "--", "open-by-handle", typ, b), "EPERM")
	mustBlock(t, "open_by_handle_at, unconfined", attack(t, opts{}, append(append([]string{"--cap-add", "DAC_READ_SEARCH"}, unconfined...), "--", "open-by-handle", typ, b)...), "EPERM")
}

func TestCannotLoadKernelModules(t *testing.T) {
	t.Parallel()
	mustBlock(t, "init_module", attack(t, opts{}, "--", "init-module"), "EPERM")
	// Without the filter: EPERM (CAP_SYS_MODULE counts only in the
	// initial user namespace), or ENOSYS on a kernel without modules.
	mustBlock(t, "init_module, unconfined, CAP_SYS_MODULE", attack(t, opts{}, append(append([]string{"--cap-add", "SYS_MODULE"}, unconfined...), "--", "init-module")...), "EPERM", "ENOSYS")
}

func TestCannotPtraceTheInitOrTheParent(t *testing.T) {
	t.Parallel()
	mustBlock(t, "ptrace the init", attack(t, opts{}, "--", "ptrace", "1"), "EPERM")
	// Without seccomp, the init's being non-dumpable refuses it.
	mustBlock(t, "ptrace the init, unconfined", attack(t, opts{}, append(unconfined, "--", "ptrace", "1")...), "EPERM")
	// The parent is a host process: no pid inside names it (the test's
	// own pid stands for it: same user, same kind of number).
	self := strconv.Itoa(os.Getpid())
	mustBlock(t, "ptrace a host pid", attack(t, opts{}, append(unconfined, "--", "ptrace", self)...), "ESRCH", "EPERM")
}

func TestCannotSignalOrSeeHostProcesses(t *testing.T) {
	t.Parallel()
	m := marker()
	sentinel := command(opts{}, "x")
	sentinel.Path, sentinel.Args = "/bin/sleep", []string{"sleep", m}
	if err := sentinel.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sentinel.Process.Kill(); sentinel.Wait() }()
	pid := strconv.Itoa(sentinel.Process.Pid)
	r := run(t, opts{}, "-q", "sh", "-c", "kill -9 -1; ls /proc | grep -x "+pid+"; "+attacker(t)+" kill "+pid)
	if strings.Contains(r.Stdout, "ESCAPED") || strings.Contains(r.Stdout, pid+"\n") {
		t.Errorf("the sandbox saw or signalled host pid %s: %s", pid, r)
	}
	mustBlock(t, "kill a host pid", strings.TrimSpace(r.Stdout), "ESRCH")
	if err := sentinel.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the host's sentinel died: %v", err)
	}
}

func TestCannotReachAHostAbstractSocket(t *testing.T) {
	t.Parallel()
	name := "isolate-canary-" + marker()
	l, err := net.Listen("unix", "@"+name)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan struct{}, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
			got <- struct{}{}
		}
	}()
	mustBlock(t, "connect to a host abstract socket", attack(t, opts{}, "--", "abstract", name), "ECONNREFUSED", "EPERM")
	mustBlock(t, "connect to a host abstract socket, unconfined", attack(t, opts{}, append(unconfined, "--", "abstract", name)...), "ECONNREFUSED")
	select {
	case <-got:
		t.Fatal("the host's listener got a connection")
	default:
	}
}

// TestCannotInjectKeystrokesIntoTheTerminal runs isolate on a pty that is
// its controlling terminal, as in a user's shell, and tries TIOCSTI.
func TestCannotInjectKeystrokesIntoTheTerminal(t *testing.T) {
	t.Parallel()
	for _, flags := range [][]string{nil, unconfined} {
		master, slave := openPty(t)
		cmd := command(opts{}, append(append([]string{"-q"}, flags...), attacker(t), "tiocsti", "id > /tmp/pwned\n")...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		if cmd.SysProcAttr == nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, true, 0
		var out bytes.Buffer
		done := make(chan struct{})
		go func() { readAll(master, &out); close(done) }()
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %v", flags, err)
		}
		// Whatever was injected would now wait in the terminal's input
		// queue for the user's shell: read it as the shell would.
		injected := pendingInput(t, slave)
		slave.Close()
		<-done
		master.Close()
		verdict := strings.TrimSpace(strings.ReplaceAll(out.String(), "\r", ""))
		want := "EPERM"
		mustBlock(t, fmt.Sprintf("TIOCSTI %v", flags), verdict, want)
		if injected != "" {
			t.Errorf("%v: the terminal received %q", flags, injected)
		}
	}
	// TIOCLINUX (keystroke injection on virtual consoles, CVE-2023-1523) is refused
	// by the filter before the driver sees it.
	mustBlock(t, "TIOCLINUX", attack(t, opts{stdin: "x"}, "--", "tioclinux"), "EPERM")
}

func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The test user must be able to use it, as its own terminal.
	os.Chown(s.Name(), int(testUser.UID), -1)
	return m, s
}

func readAll(f *os.File, b *bytes.Buffer) {
	buf := make([]byte, 4096)
	for {
		n, err := f.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return
		}
	}
}

// pendingInput returns what waits in the terminal's input queue.
func pendingInput(t *testing.T, slave *os.File) string {
	n, err := unix.IoctlGetInt(int(slave.Fd()), unix.TIOCINQ)
	if err != nil {
		t.Fatalf("TIOCINQ: %v", err)
	}
	if n == 0 {
		return ""
	}
	buf := make([]byte, n)
	k, _ := unix.Read(int(slave.Fd()), buf)
	return string(buf[:k])
}

func TestLeakedFdsDoNotReachTheProgram(t *testing.T) {
	t.Parallel()
	hostDir, err := os.Open(workDir)
	if err != nil {
		t.Fatal(err)
	}
	defer hostDir.Close()
	secret := filepath.Join(workDir, "fd-canary")
	os.WriteFile(secret, []byte("secret"), 0o644)
	file, err := os.OpenFile(secret, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	for _, flags := range [][]string{nil, {"--no-init"}, unconfined} {
		// fds 3 and 4 of isolate, inherited without close-on-exec as a
		// careless caller would leak them.
		cmd := command(opts{}, append(append([]string{"-q"}, flags...), attacker(t), "fds")...)
		cmd.ExtraFiles = []*os.File{hostDir, file}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: %v", flags, err)
		}
		for _, leaked := range []string{" -> " + workDir + "\n", " -> " + secret + "\n"} {
			if strings.Contains(string(out), leaked) {
				t.Errorf("%v: the program holds the caller's fd%s%s", flags, strings.TrimSuffix(leaked, "\n"), out)
			}
		}
		t.Logf("fds of the program %v:\n%s", flags, out)
	}
	// CVE-2024-21626: a working directory through a leaked fd.
	cmd := command(opts{}, "-q", "-w", "/proc/self/fd/3", "pwd")
	cmd.ExtraFiles = []*os.File{hostDir}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, _ := cmd.Output()
	if code := cmd.ProcessState.ExitCode(); code != 125 || len(out) != 0 || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("-w /proc/self/fd/3 with a leaked fd: exit %d, stdout %q, stderr %q; want a one-line error, 125", code, out, stderr.String())
	}
}

func TestCannotOverwriteIsolateThroughProcExe(t *testing.T) {
	t.Parallel()
	// isolate installed where its user can write it (~/.local/bin).
	dir := userDir(t)
	bin := filepath.Join(dir, "isolate")
	data, err := os.ReadFile(isolateBin)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bin, data, 0o755)
	os.Chown(bin, int(testUser.UID), int(testUser.GID))
	sum := sha256.Sum256(data)
	runOwn := func(args ...string) string {
		cmd := command(opts{}, append([]string{"-q"}, args...)...)
		cmd.Path = bin
		cmd.Args[0] = bin
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %q: %v", bin, args, err)
		}
		return strings.TrimSpace(string(out))
	}
	a := attacker(t)
	mustBlock(t, "open /proc/1/exe for writing", runOwn(a, "open-write", "/proc/1/exe"), "EACCES", "EPERM")
	mustBlock(t, "readlink /proc/1/exe", runOwn(a, "readlink", "/proc/1/exe"), "EACCES", "EPERM")
	// Given CAP_SYS_PTRACE (alone, or every capability and no filter), the
	// program may look at the init, but what it runs is then a sealed copy,
	// not the installed file.
	// With Landlock, the init is outside the program's domain, which
	// Landlock does not let it ptrace or inspect either.
	if link := runOwn("--cap-add", "SYS_PTRACE", a, "readlink", "/proc/1/exe"); !strings.HasPrefix(link, "blocked") && !strings.Contains(link, "/memfd:isolate") {
		t.Errorf("--cap-add SYS_PTRACE: the init runs from %q, want it unreachable or a sealed copy", link)
	}
	for _, loose := range [][]string{{"--cap-add", "SYS_PTRACE", "--landlock", "off"}, append([]string{"--cap-add", "ALL"}, unconfined...)} {
		mustBlock(t, fmt.Sprintf("open /proc/1/exe for writing %v", loose), runOwn(append(loose, a, "open-write", "/proc/1/exe")...), "EPERM", "ETXTBSY", "EACCES")
		if link := runOwn(append(loose, a, "readlink", "/proc/1/exe")...); !strings.Contains(link, "/memfd:isolate") {
			t.Errorf("%v: the init runs from %q, want the sealed memfd copy", loose, link)
		}
	}
	after, _ := os.ReadFile(bin)
	if sha256.Sum256(after) != sum {
		t.Fatal("the isolate binary changed")
	}
}

func TestSetuidBinaryGainsNothing(t *testing.T) {
	t.Parallel()
	// Every program runs with no_new_privs.
	if out := isolate(t, "-q", "grep", "NoNewPrivs", "/proc/self/status"); !strings.Contains(out, "1") {
		t.Errorf("NoNewPrivs: %s", out)
	}
	if fallback {
		t.Log("single-id map: no second id to run a setuid binary as; no_new_privs checked above")
		return
	}
	dir := userDir(t)
	// Root inside makes a setuid-root copy of the attacker (owned by the
	// sandbox's root), then an ordinary user inside runs it.
	isolate(t, "-q", "-w", dir, "sh", "-c", "cp "+attacker(t)+" ./suid && chmod 4755 ./suid && chmod 755 .")
	out := isolate(t, "-q", "-u", "1000", "-w", dir, "./suid", "ids")
	if strings.TrimSpace(out) != "1000 1000" {
		t.Errorf("setuid-root binary run by uid 1000: uid/euid %q, want 1000 1000", out)
	}
}

func TestNestedUserNamespaceIsDeniedUnlessSysAdmin(t *testing.T) {
	t.Parallel()
	mustBlock(t, "unshare(CLONE_NEWUSER)", attack(t, opts{}, "--", "unshare-user"), "EPERM")
	r := run(t, opts{}, "-q", "unshare", "-U", "true")
	if r.Code == 0 {
		t.Errorf("unshare -U worked: %s", r)
	}
	// As with docker, CAP_SYS_ADMIN opens namespaces to the program.
	if r := run(t, opts{}, "-q", "--cap-add", "SYS_ADMIN", "unshare", "-U", "true"); r.Code != 0 {
		t.Errorf("with --cap-add SYS_ADMIN a nested user namespace should work: %s", r)
	}
}
