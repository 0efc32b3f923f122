// Package test runs the built isolate binary as an unprivileged user, with
// the real setuid helpers, and checks what a user would see. When the tests
// run as root (as CI does), TestMain prepares the users below and drops to
// them for every run; run as a normal user, they use that user.
//
// ISOLATE_TEST_IDMAP=fallback hides newuidmap/newgidmap from isolate's PATH,
// so the whole suite also covers the single-id fallback (runc's
// tests/rootless.sh does the same with and without the helpers).
package test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	testUserName  = "isolate-test"  // has /etc/subuid and /etc/subgid ranges
	noSubUserName = "isolate-nosub" // has none: the fallback for a real user
)

var (
	isolateBin string // the binary under test
	workDir    string // scratch space readable by the test users
	fallback   bool   // helpers hidden: single-id mapping expected
	hiddenPath string // PATH without newuidmap/newgidmap
	hiddenDir  string // the directory of hiddenPath
	testUser   *runAs // who runs isolate
	noSubUser  *runAs // a user without subordinate ids (root only)
	inCI       = os.Getenv("CI") == "true"
)

// runAs is an unprivileged identity the tests run isolate as.
type runAs struct {
	Name     string
	UID, GID uint32
	Home     string
	self     bool // the current user: no credential switch
}

func TestMain(m *testing.M) {
	os.Exit(mainWithSetup(m))
}

func mainWithSetup(m *testing.M) int {
	var err error
	workDir, err = os.MkdirTemp("", "isolate-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "test setup:", err)
		return 1
	}
	defer os.RemoveAll(workDir)
	defer func() {
		if hiddenDir != "" {
			os.RemoveAll(hiddenDir)
		}
	}()
	os.Chmod(workDir, 0o755)
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "test setup:", err)
		if inCI {
			return 1
		}
		fmt.Fprintln(os.Stderr, "integration tests skipped: prerequisites missing (set CI=true to make this a failure)")
		return 0
	}
	return m.Run()
}

func setup() error {
	isolateBin = filepath.Join(workDir, "isolate")
	// The tag as in the README: without urfave/cli's man-page renderer.
	build := exec.Command("go", "build", "-tags", "urfave_cli_no_docs", "-o", isolateBin, "../cmd/isolate")
	build.Stderr = os.Stderr
	// Static: isolate re-executes itself inside root filesystems that have
	// no C library (the --ulimit trampoline in an OCI bundle's rootfs).
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}
	os.Chmod(isolateBin, 0o755)
	if err := checkHelpers(); err != nil {
		return err
	}
	var err error
	if os.Geteuid() == 0 {
		if testUser, err = ensureUser(testUserName, true); err != nil {
			return err
		}
		if noSubUser, err = ensureUser(noSubUserName, false); err != nil {
			return err
		}
		if err := prepareNetworkHost(); err != nil {
			return err
		}
	} else {
		u, err := user.Current()
		if err != nil {
			return err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		testUser = &runAs{Name: u.Username, UID: uint32(uid), GID: uint32(gid), Home: u.HomeDir, self: true}
		if !hasSubIDs(u.Username, u.Uid) {
			return fmt.Errorf("user %s has no /etc/subuid and /etc/subgid ranges (run the tests as root, or: sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s)", u.Username, u.Username)
		}
	}
	fallback = os.Getenv("ISOLATE_TEST_IDMAP") == "fallback"
	if fallback {
		if hiddenPath, err = pathWithout("newuidmap", "newgidmap"); err != nil {
			return err
		}
	}
	return nil
}

func checkHelpers() error {
	for _, h := range []string{"newuidmap", "newgidmap"} {
		p, err := exec.LookPath(h)
		if err != nil {
			return fmt.Errorf("%s not found: install the uidmap package (apt-get install uidmap)", h)
		}
		st, err := os.Stat(p)
		if err != nil || st.Mode()&os.ModeSetuid == 0 {
			return fmt.Errorf("%s is not setuid root: reinstall the uidmap package", p)
		}
	}
	return nil
}

// ensureUser creates a system user for the tests, with or without subid
// ranges; useradd gives ranges from /etc/login.defs.
func ensureUser(name string, withSubIDs bool) (*runAs, error) {
	if _, err := user.Lookup(name); err != nil {
		args := []string{"--create-home", "--shell", "/bin/sh"}
		if !withSubIDs {
			args = append(args, "--key", "SUB_UID_COUNT=0", "--key", "SUB_GID_COUNT=0")
		}
		if out, err := exec.Command("useradd", append(args, name)...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("useradd %s: %v: %s", name, err, out)
		}
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	if withSubIDs && !hasSubIDs(name, u.Uid) {
		out, err := exec.Command("usermod", "--add-subuids", "300000-365535", "--add-subgids", "300000-365535", name).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("usermod --add-subuids %s: %v: %s", name, err, out)
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &runAs{Name: name, UID: uint32(uid), GID: uint32(gid), Home: u.HomeDir}, nil
}

func hasSubIDs(name, uid string) bool {
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		b, err := os.ReadFile(f)
		if err != nil {
			return false
		}
		found := false
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, name+":") || strings.HasPrefix(line, uid+":") {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// pathWithout builds a directory of links to every program on the standard
// PATH except the named ones, and returns a PATH made of it.
func pathWithout(hide ...string) (string, error) {
	// Not under /tmp: the sandbox's /tmp is private, and PROGRAM looks
	// itself up in this PATH inside.
	dir, err := os.MkdirTemp("/var/tmp", "isolate-hidden-bin-")
	if err != nil {
		return "", err
	}
	os.Chmod(dir, 0o755)
	hiddenDir = dir
	skip := map[string]bool{}
	for _, h := range hide {
		skip[h] = true
	}
	for _, d := range filepath.SplitList(defaultPath) {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if skip[e.Name()] {
				continue
			}
			os.Symlink(filepath.Join(d, e.Name()), filepath.Join(dir, e.Name())) // first one wins, like PATH
		}
	}
	return dir, nil
}

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// result is what a user sees of one run.
type result struct {
	Stdout, Stderr string
	Code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// opts changes how isolate is run.
type opts struct {
	as    *runAs // default testUser
	root  bool   // run as real root (tier 3)
	stdin string
	env   []string // added to the user's environment
	dir   string
}

// command prepares isolate ARGS as the test user, ready to start.
func command(o opts, args ...string) *exec.Cmd {
	cmd := exec.Command(isolateBin, args...)
	as := o.as
	if as == nil {
		as = testUser
	}
	path := defaultPath
	if fallback {
		path = hiddenPath
	}
	cmd.Env = []string{"PATH=" + path, "LANG=C.UTF-8"}
	if !o.root {
		cmd.Env = append(cmd.Env, "HOME="+as.Home, "USER="+as.Name, "LOGNAME="+as.Name)
		if !as.self {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: as.UID, Gid: as.GID}}
		}
	} else {
		cmd.Env = append(cmd.Env, "HOME=/root", "USER=root")
	}
	cmd.Env = append(cmd.Env, o.env...)
	cmd.Dir = o.dir
	if cmd.Dir == "" {
		cmd.Dir = workDir
	}
	if o.stdin != "" {
		cmd.Stdin = strings.NewReader(o.stdin)
	}
	return cmd
}

// run runs isolate ARGS to completion. The minute-long bound only keeps a
// hung test from hanging the suite; it is not a performance assertion.
func run(t *testing.T, o opts, args ...string) result {
	t.Helper()
	cmd := command(o, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start isolate: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("isolate %q did not finish within a minute\n%s\n%s", args, stdout.String(), stderr.String())
	}
	return result{Stdout: stdout.String(), Stderr: stderr.String(), Code: cmd.ProcessState.ExitCode()}
}

// isolate runs isolate ARGS as the test user and requires exit 0.
func isolate(t *testing.T, args ...string) string {
	t.Helper()
	r := run(t, opts{}, args...)
	if r.Code != 0 {
		t.Fatalf("isolate %q: %s", args, r)
	}
	return r.Stdout
}

// eventually polls cond until it holds or a generous bound passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting: %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// marker is a unique sleep duration, so a test finds its own processes on
// the host with pgrep even while other tests run.
func marker() string {
	return fmt.Sprintf("1000.%d", time.Now().UnixNano()%1e9)
}

// hostProcesses lists host pids whose command line contains s.
func hostProcesses(s string) []string {
	out, _ := exec.Command("pgrep", "-f", s).Output()
	return strings.Fields(string(out))
}
