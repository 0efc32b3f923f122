package cgroups

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

const scope = "/user.slice/user-1000.slice/user@1000.service/app.slice/run-1.scope"

// fakeDelegated lays out a cgroup v2 host where the caller's scope is
// delegated to uid (systemd-run --user --scope -p Delegate=yes).
func fakeDelegated(t *testing.T) (root string, uid uint32) {
	t.Helper()
	root = t.TempDir()
	put := func(p, s string) {
		os.MkdirAll(filepath.Dir(root+p), 0o755)
		if err := os.WriteFile(root+p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put("/proc/self/mountinfo", "22 27 0:21 / /proc rw - proc proc rw\n41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n")
	put("/proc/self/cgroup", "0::"+scope+"\n")
	put("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
	dir := root + "/sys/fs/cgroup" + scope
	put(dir[len(root):]+"/cgroup.controllers", "cpu memory pids\n")
	put(dir[len(root):]+"/cgroup.subtree_control", "")
	put(dir[len(root):]+"/cgroup.procs", "4242\n")
	uid = uint32(os.Getuid())
	if uid == 0 {
		uid = 1000
		for _, f := range []string{"", "cgroup.procs", "cgroup.subtree_control"} {
			if err := os.Chown(filepath.Join(dir, f), int(uid), int(uid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root, uid
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDelegatedScopeGetsASandboxCgroupWithLimits(t *testing.T) {
	root, uid := fakeDelegated(t)
	RemoveDir = os.RemoveAll // faked directories hold plain files
	defer func() { RemoveDir = os.Remove }()
	g, err := Find(root)
	if err != nil {
		t.Fatal(err)
	}
	if g.HostDir() != "/sys/fs/cgroup"+scope {
		t.Fatalf("own cgroup = %s", g.HostDir())
	}
	l := Limits{MemoryMax: 512 << 20, PidsMax: 100, CPUQuota: 150000}
	if err := g.Delegated(uid, l.Controllers()); err != nil {
		t.Fatal(err)
	}
	s, err := g.NewSandbox("isolate-4242", l, 4242)
	if err != nil {
		t.Fatal(err)
	}
	dir := g.Dir()
	for f, want := range map[string]string{
		"isolate-4242/memory.max":        "536870912",
		"isolate-4242/pids.max":          "100",
		"isolate-4242/cpu.max":           "150000 100000",
		"isolate-4242.self/cgroup.procs": "4242",  // isolate left its cgroup first...
		"cgroup.subtree_control":         "+pids", // ...then enabled cpu, memory, pids (one write each)
	} {
		if got := read(t, filepath.Join(dir, f)); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
	if err := s.Add(777); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(dir, "isolate-4242/cgroup.procs")); got != "777" {
		t.Errorf("sandbox cgroup.procs = %q", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Undone in reverse: controllers disabled, isolate back, leaves removed.
	if got := read(t, filepath.Join(dir, "cgroup.subtree_control")); got != "-cpu" {
		t.Errorf("after Close subtree_control = %q, want the last write -cpu", got)
	}
	if got := read(t, filepath.Join(dir, "cgroup.procs")); got != "4242" {
		t.Errorf("after Close isolate is not back in its cgroup: %q", got)
	}
	for _, d := range []string{"isolate-4242", "isolate-4242.self"} {
		if _, err := os.Stat(filepath.Join(dir, d)); !os.IsNotExist(err) {
			t.Errorf("%s left behind", d)
		}
	}
}

func TestCgroupsOfAKilledIsolateAreSweptOnTheNextStart(t *testing.T) {
	root, _ := fakeDelegated(t)
	RemoveDir = os.RemoveAll
	defer func() { RemoveDir = os.Remove }()
	g, _ := Find(root)
	// A pid above pid_max (4194304 at most) cannot be alive; ours is.
	dead, live := "isolate-99999999", "isolate-"+strconv.Itoa(os.Getpid())
	for _, d := range []string{dead, dead + ".self", live, "other"} {
		os.Mkdir(filepath.Join(g.Dir(), d), 0o755)
	}
	s, err := g.NewSandbox("isolate-1", Limits{PidsMax: 5}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for d, want := range map[string]bool{dead: false, dead + ".self": false, live: true, "other": true} {
		if _, err := os.Stat(filepath.Join(g.Dir(), d)); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", d, err == nil, want)
		}
	}
}

func TestControllersAlreadyEnabledNeedNoMove(t *testing.T) {
	root, _ := fakeDelegated(t)
	g, _ := Find(root)
	os.WriteFile(filepath.Join(g.Dir(), "cgroup.subtree_control"), []byte("cpu memory pids\n"), 0o644)
	s, err := g.NewSandbox("isolate-1", Limits{PidsMax: 5}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.selfDir != "" || len(s.enabled) != 0 {
		t.Errorf("moved itself (%q) or enabled %v though the controllers were on", s.selfDir, s.enabled)
	}
}

func TestHostsWithoutDelegationSayHowToGetIt(t *testing.T) {
	cases := []struct {
		name string
		edit func(root string)
		uid  uint32
		why  string
		hint string
	}{
		{"cgroup v1 only", func(root string) {
			os.WriteFile(root+"/proc/self/mountinfo", []byte("32 31 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"), 0o644)
		}, 0, "not mounted", hints.CgroupV2},
		{"hybrid, controllers bound to v1", func(root string) {
			os.WriteFile(root+"/sys/fs/cgroup/cgroup.controllers", []byte("hugetlb\n"), 0o644)
		}, 0, "has no cpu, memory, pids controller", hints.CgroupV2},
		{"hybrid without any controller", func(root string) {
			os.WriteFile(root+"/sys/fs/cgroup/cgroup.controllers", nil, 0o644)
		}, 0, "without controllers", hints.CgroupV2},
		{"someone else's cgroup", func(string) {}, 4343, "is not delegated to you", hints.CgroupDelegate},
		{"cgroup2 without nsdelegate: the sandbox could raise its own limits", func(root string) {
			os.WriteFile(root+"/proc/self/mountinfo", []byte("41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"), 0o644)
		}, 0, "mounted without nsdelegate", hints.CgroupNSDelegate},
		{"cpu not delegated", func(root string) {
			os.WriteFile(root+"/sys/fs/cgroup"+scope+"/cgroup.controllers", []byte("memory pids\n"), 0o644)
		}, 0, "controller cpu is not delegated", hints.CgroupControllers},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, uid := fakeDelegated(t)
			c.edit(root)
			if c.uid != 0 {
				uid = c.uid
			}
			g, err := Find(root)
			if err == nil {
				err = g.Delegated(uid, []string{"cpu", "memory", "pids"})
			}
			if err == nil || !strings.Contains(err.Error(), c.why) || hints.Hint(err) != c.hint {
				t.Fatalf("err = %v, hint %q; want %q with hint %q", err, hints.Hint(err), c.why, c.hint)
			}
		})
	}
}
