package doctor

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// fakeHost is a healthy host laid out in a temporary directory: every check
// passes until a test breaks one thing.
func fakeHost(t *testing.T) Host {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"/proc/sys/user/max_user_namespaces":            "15000\n",
		"/proc/sys/kernel/unprivileged_userns_clone":    "1\n",
		"/proc/sys/kernel/osrelease":                    "6.8.0-generic\n",
		"/proc/sys/net/ipv4/ping_group_range":           "0\t2147483647\n",
		"/proc/sys/net/ipv4/ip_unprivileged_port_start": "1024\n",
		"/proc/filesystems":                             "nodev\tproc\nnodev\toverlay\n",
		"/proc/self/mountinfo":                          "22 27 0:21 / /proc rw - proc proc rw\n30 22 0:40 / /proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw\n41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n",
		"/proc/self/cgroup":                             "0::/user.slice/user-1000.slice/user@1000.service/app.slice/isolate.scope\n",
		"/sys/fs/cgroup/cgroup.controllers":             "cpuset cpu io memory pids\n",
		"/etc/subuid":                                   "alice:100000:65536\n",
		"/etc/subgid":                                   "alice:100000:65536\n",
		"/usr/bin/slirp4netns":                          "#!/bin/sh\necho slirp4netns version 1.2.0\n",
		"/usr/bin/pasta":                                "#!/bin/sh\necho pasta 2023_06_03\n",
		"/dev/net/tun":                                  "",
		"/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/isolate.scope/cgroup.controllers": "cpu memory pids\n",
	}
	for p, content := range files {
		write(t, root, p, content)
	}
	os.Chmod(root+"/usr/bin/slirp4netns", 0o755)
	os.Chmod(root+"/usr/bin/pasta", 0o755)
	os.Chmod(root+"/dev/net/tun", 0o666)
	// The real setuid helpers stand in for the host's (stat follows links).
	for _, h := range []string{"newuidmap", "newgidmap"} {
		real := "/usr/bin/" + h
		if !isSetuidRoot(real) {
			t.Fatalf("%s is not setuid root on this machine: install the uidmap package", real)
		}
		os.Symlink(real, root+"/usr/bin/"+h)
	}
	h := Host{
		Root: root, UID: uint32(os.Getuid()), GID: 1000, User: "alice", Path: []string{"/usr/bin"},
		Exe:         "/usr/local/bin/isolate",
		LandlockABI: func() (int, error) { return 4, nil },
		TryUserNS:   func() error { return nil },
	}
	if h.UID == 0 {
		h.UID = 1000 // the checks look at a normal user's host
	}
	h.Version = func(p string) (string, error) { return "version of " + p, nil }
	// The delegated cgroup belongs to the user (systemd's Delegate=yes).
	chownTree(t, root+"/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/isolate.scope", h.UID)
	return h
}

func write(t *testing.T, root, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(root+p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(root+p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func isSetuidRoot(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode()&os.ModeSetuid != 0 && st.Sys().(*syscall.Stat_t).Uid == 0
}

// chownTree gives dir and its cgroup.procs and cgroup.subtree_control to uid,
// as systemd does for a delegated scope. Only root may chown; a normal user
// running the tests owns the files already, and is then h.UID.
func chownTree(t *testing.T, dir string, uid uint32) {
	t.Helper()
	for _, f := range []string{"cgroup.procs", "cgroup.subtree_control"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	if os.Getuid() != 0 {
		return
	}
	for _, f := range []string{"", "cgroup.procs", "cgroup.subtree_control"} {
		if err := os.Chown(filepath.Join(dir, f), int(uid), int(uid)); err != nil {
			t.Fatal(err)
		}
	}
}

func find(t *testing.T, r Report, name string) Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", name, r.Checks)
	return Check{}
}

func TestHealthyHostPassesEveryCheckAndExitsZero(t *testing.T) {
	r := Run(fakeHost(t))
	for _, c := range r.Checks {
		if c.Status != OK {
			t.Errorf("%s: %s %s (fix %q), want ok", c.Name, c.Status, c.Detail, c.Fix)
		}
	}
	if r.Exit != ExitAll {
		t.Errorf("exit = %d, want 0", r.Exit)
	}
}

// Each broken host names the failing check, its exact fix, and the exit
// status: 2 when isolate cannot run, 1 when it runs with a fallback.
func TestEachBrokenHostGivesItsFixAndExitStatus(t *testing.T) {
	cases := []struct {
		name    string
		breakIt func(t *testing.T, h *Host)
		check   string
		status  Status
		fix     string
		exit    int
	}{
		{"user namespaces limited to zero", func(t *testing.T, h *Host) { write(t, h.Root, "/proc/sys/user/max_user_namespaces", "0\n") },
			"unprivileged user namespaces", Fail, hints.MaxUserNamespaces, 2},
		{"kernel without user namespaces", func(t *testing.T, h *Host) { os.Remove(h.Root + "/proc/sys/user/max_user_namespaces") },
			"unprivileged user namespaces", Fail, "", 2},
		{"Debian's switch off", func(t *testing.T, h *Host) { write(t, h.Root, "/proc/sys/kernel/unprivileged_userns_clone", "0\n") },
			"unprivileged user namespaces", Fail, hints.UnprivilegedUsernsClone, 2},
		{"Ubuntu's AppArmor restriction", func(t *testing.T, h *Host) {
			write(t, h.Root, "/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1\n")
		}, "AppArmor user namespace restriction", Fail, hints.AppArmorProfile("/usr/local/bin/isolate"), 2},
		{"clone refused by a seccomp filter", func(t *testing.T, h *Host) { h.TryUserNS = func() error { return syscall.EPERM } },
			"creating a user namespace", Fail, "", 2},
		{"masked /proc inside a container", func(t *testing.T, h *Host) {
			write(t, h.Root, "/.dockerenv", "")
			write(t, h.Root, "/proc/self/mountinfo", "22 27 0:21 / /proc rw - proc proc rw\n50 22 0:5 /null /proc/kcore rw - devtmpfs udev rw\n41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n")
		}, "/proc", Fail, hints.ProcMasked, 2},
		{"no newuidmap", func(t *testing.T, h *Host) { os.Remove(h.Root + "/usr/bin/newuidmap") },
			"newuidmap", Warn, hints.InstallUIDMap, 1},
		{"newgidmap not setuid", func(t *testing.T, h *Host) {
			os.Remove(h.Root + "/usr/bin/newgidmap")
			write(t, h.Root, "/usr/bin/newgidmap", "#!/bin/sh\n")
			os.Chmod(h.Root+"/usr/bin/newgidmap", 0o755)
		}, "newgidmap", Warn, hints.ChmodHelper("/usr/bin/newgidmap"), 1},
		{"no /etc/subuid entry", func(t *testing.T, h *Host) { write(t, h.Root, "/etc/subuid", "bob:100000:65536\n") },
			"/etc/subuid", Warn, hints.AddSubIDs("alice"), 1},
		{"small /etc/subgid range", func(t *testing.T, h *Host) { write(t, h.Root, "/etc/subgid", "alice:100000:1000\n") },
			"/etc/subgid", Warn, hints.AddSubIDs("alice"), 1},
		{"no slirp4netns", func(t *testing.T, h *Host) { os.Remove(h.Root + "/usr/bin/slirp4netns") },
			"slirp4netns", Warn, hints.InstallSlirp4netns, 1},
		{"pasta that fails", func(t *testing.T, h *Host) {
			ok := h.Version
			h.Version = func(p string) (string, error) {
				if p == "/usr/bin/pasta" {
					return "", errors.New("exit status 1")
				}
				return ok(p)
			}
		}, "pasta", Warn, hints.InstallPasta, 1},
		{"no /dev/net/tun", func(t *testing.T, h *Host) { os.Remove(h.Root + "/dev/net/tun") },
			"/dev/net/tun", Warn, hints.TunMissing, 1},
		{"/dev/net/tun 0600", func(t *testing.T, h *Host) { os.Chmod(h.Root+"/dev/net/tun", 0o600) },
			"/dev/net/tun", Warn, hints.TunMode, 1},
		{"ping_group_range off", func(t *testing.T, h *Host) { write(t, h.Root, "/proc/sys/net/ipv4/ping_group_range", "1\t0\n") },
			"net.ipv4.ping_group_range", Warn, hints.PingGroupRange, 1},
		{"kernel older than 5.11", func(t *testing.T, h *Host) { write(t, h.Root, "/proc/sys/kernel/osrelease", "5.10.0-28-amd64\n") },
			"overlayfs in user namespaces", Warn, hints.OverlayOldKernel, 1},
		{"overlay not loaded, no module", func(t *testing.T, h *Host) { write(t, h.Root, "/proc/filesystems", "nodev\tproc\n") },
			"overlayfs in user namespaces", Warn, hints.OverlayModule, 1},
		{"no Landlock", func(t *testing.T, h *Host) { h.LandlockABI = func() (int, error) { return 0, syscall.EOPNOTSUPP } },
			"Landlock", Warn, hints.Landlock, 1},
		{"cgroup v1 only", func(t *testing.T, h *Host) {
			write(t, h.Root, "/proc/self/mountinfo", "22 27 0:21 / /proc rw - proc proc rw\n32 31 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n")
		}, "cgroup v2 delegation (--memory, --pids-limit, --cpus)", Warn, hints.CgroupV2, 1},
		{"hybrid cgroups (this development machine)", func(t *testing.T, h *Host) {
			write(t, h.Root, "/proc/self/mountinfo", "22 27 0:21 / /proc rw - proc proc rw\n41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n")
			write(t, h.Root, "/proc/self/cgroup", "1:memory:/\n0::/\n")
			write(t, h.Root, "/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n")
		}, "cgroup v2 delegation (--memory, --pids-limit, --cpus)", Warn, hints.CgroupV2, 1},
		{"cgroup not delegated", func(t *testing.T, h *Host) { h.UID = 4242 },
			"cgroup v2 delegation (--memory, --pids-limit, --cpus)", Warn, hints.CgroupDelegate, 1},
		{"cgroup2 without nsdelegate", func(t *testing.T, h *Host) {
			write(t, h.Root, "/proc/self/mountinfo", "22 27 0:21 / /proc rw - proc proc rw\n41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
		}, "cgroup v2 delegation (--memory, --pids-limit, --cpus)", Warn, hints.CgroupNSDelegate, 1},
		{"cpu controller not delegated (systemd's default)", func(t *testing.T, h *Host) {
			write(t, h.Root, "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/isolate.scope/cgroup.controllers", "memory pids\n")
		}, "cgroup v2 delegation (--memory, --pids-limit, --cpus)", Warn, hints.CgroupControllers, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := fakeHost(t)
			c.breakIt(t, &h)
			r := Run(h)
			got := find(t, r, c.check)
			if got.Status != c.status {
				t.Errorf("status = %s (%s), want %s", got.Status, got.Detail, c.status)
			}
			if c.fix != "" && got.Fix != c.fix {
				t.Errorf("fix = %q\nwant  %q", got.Fix, c.fix)
			}
			if got.Status != OK && got.Fix == "" && c.fix != "" {
				t.Errorf("a failing check without a fix")
			}
			if r.Exit != c.exit {
				t.Errorf("exit = %d, want %d", r.Exit, c.exit)
			}
			// The other checks are untouched by this one break.
			for _, o := range r.Checks {
				if o.Name != c.check && o.Status != OK && !strings.HasPrefix(c.name, "kernel without") {
					t.Errorf("unrelated check %s: %s %s", o.Name, o.Status, o.Detail)
				}
			}
		})
	}
}

func TestAppArmorProfileForIsolateSatisfiesTheRestriction(t *testing.T) {
	h := fakeHost(t)
	write(t, h.Root, "/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1\n")
	write(t, h.Root, "/etc/apparmor.d/isolate", "abi <abi/4.0>,\nprofile isolate /usr/local/bin/isolate flags=(unconfined) {\n  userns,\n}\n")
	if c := find(t, Run(h), "AppArmor user namespace restriction"); c.Status != OK {
		t.Errorf("with a profile: %s %s", c.Status, c.Detail)
	}
}

func TestTextReportShowsSymbolsAndFixLines(t *testing.T) {
	h := fakeHost(t)
	write(t, h.Root, "/proc/sys/user/max_user_namespaces", "0\n")
	os.Remove(h.Root + "/usr/bin/pasta")
	var b bytes.Buffer
	Run(h).WriteText(&b)
	out := b.String()
	for _, want := range []string{
		"✓ newuidmap: /usr/bin/newuidmap (setuid root)\n",
		"✗ unprivileged user namespaces: disabled: user.max_user_namespaces=0\n    fix: " + hints.MaxUserNamespaces + "\n",
		"! pasta: not found",
		"    fix: " + hints.InstallPasta + "\n",
		"(exit 2)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestJSONReportIsMachineReadable(t *testing.T) {
	h := fakeHost(t)
	os.Chmod(h.Root+"/dev/net/tun", 0o600)
	var b bytes.Buffer
	if err := Run(h).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Checks []struct{ Name, Status, Detail, Fix string }
		Exit   int
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v:\n%s", err, b.String())
	}
	if got.Exit != 1 {
		t.Errorf("exit = %d, want 1", got.Exit)
	}
	for _, c := range got.Checks {
		if c.Name == "/dev/net/tun" && (c.Status != "warn" || c.Fix != hints.TunMode) {
			t.Errorf("/dev/net/tun = %+v", c)
		}
		if c.Status != "ok" && c.Status != "warn" && c.Status != "fail" {
			t.Errorf("status %q is not ok, warn or fail", c.Status)
		}
	}
}
