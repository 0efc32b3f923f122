package mounts

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func descriptions(steps []Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.String())
	}
	return out
}

func index(t *testing.T, steps []Step, desc string) int {
	t.Helper()
	for i, s := range steps {
		if s.String() == desc {
			return i
		}
	}
	t.Fatalf("no step %q in:\n%s", desc, strings.Join(descriptions(steps), "\n"))
	return -1
}

func has(steps []Step, desc string) bool {
	for _, s := range steps {
		if s.String() == desc {
			return true
		}
	}
	return false
}

// The host view, step by step: this is the order the kernel needs, and the
// one a reviewer checks.
func TestHostViewPlanIsExactlyThisSequence(t *testing.T) {
	got := descriptions(Build(Spec{WritableDir: "/home/u/p", Volumes: []Volume{{Source: "/srv", Dest: "/data", ReadOnly: true}}}))
	want := []string{
		"make every mount private (MS_REC|MS_PRIVATE on /)",
		"clone /home/u/p (open_tree, recursive)",
		"clone /srv (open_tree, recursive)",
		"clone /dev/null (open_tree)", "clone /dev/zero (open_tree)", "clone /dev/full (open_tree)",
		"clone /dev/random (open_tree)", "clone /dev/urandom (open_tree)", "clone /dev/tty (open_tree)",
		"set +ro on / (mount_setattr, recursive)",
		"mount proc on /proc (nosuid,nodev,noexec)",
		"mount tmpfs on /dev (nosuid,mode=755,size=65536k)",
		"create /dev/null (file)", "bind dev/null on /dev/null",
		"create /dev/zero (file)", "bind dev/zero on /dev/zero",
		"create /dev/full (file)", "bind dev/full on /dev/full",
		"create /dev/random (file)", "bind dev/random on /dev/random",
		"create /dev/urandom (file)", "bind dev/urandom on /dev/urandom",
		"create /dev/tty (file)", "bind dev/tty on /dev/tty",
		"symlink /dev/fd -> /proc/self/fd", "symlink /dev/stdin -> /proc/self/fd/0",
		"symlink /dev/stdout -> /proc/self/fd/1", "symlink /dev/stderr -> /proc/self/fd/2",
		"symlink /dev/ptmx -> pts/ptmx",
		"create /dev/pts (dir)",
		"mount devpts on /dev/pts (nosuid,noexec,newinstance,ptmxmode=0666,mode=0620)",
		"create /dev/shm (dir)",
		"mount tmpfs on /dev/shm (nosuid,nodev,noexec,mode=1777)",
		"mount tmpfs on /tmp (nosuid,nodev,mode=1777)",
		"bind cwd on /home/u/p (recursive)",
		"bind volume/0 on /data (ro,recursive)",
	}
	for _, p := range MaskedPaths {
		want = append(want, "mask "+p)
	}
	for _, p := range ReadOnlyPaths {
		want = append(want, "bind "+p+" on "+p+" (recursive)", "remount "+p+" read-only")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("plan:\n%s\n\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPlanProperties(t *testing.T) {
	cases := []struct {
		name  string
		spec  Spec
		check func(t *testing.T, steps []Step)
	}{
		{"--rw leaves / writable but /sys read-only", Spec{RW: true, WritableDir: "/w"}, func(t *testing.T, s []Step) {
			if has(s, "set +ro on / (mount_setattr, recursive)") || has(s, "clone /w (open_tree, recursive)") {
				t.Error("--rw still makes / read-only or binds the cwd")
			}
			index(t, s, "set +ro on /sys (mount_setattr, recursive)")
		}},
		{"a working directory of / stays read-only", Spec{WritableDir: "/"}, func(t *testing.T, s []Step) {
			for _, st := range s {
				if st.ID == "cwd" {
					t.Errorf("cwd / is made writable: %s", st)
				}
			}
		}},
		{"a working directory under /tmp is recreated in the private /tmp", Spec{WritableDir: "/tmp/work/x"}, func(t *testing.T, s []Step) {
			capture := index(t, s, "clone /tmp/work/x (open_tree, recursive)")
			tmp := index(t, s, "mount tmpfs on /tmp (nosuid,nodev,mode=1777)")
			ensure := index(t, s, "create /tmp/work/x (dir)")
			bind := index(t, s, "bind cwd on /tmp/work/x (recursive)")
			if !(capture < tmp && tmp < ensure && ensure < bind) {
				t.Errorf("order capture %d, tmpfs %d, create %d, bind %d", capture, tmp, ensure, bind)
			}
		}},
		{"host view: a volume elsewhere is never created on the host", Spec{Volumes: []Volume{{Source: "/a", Dest: "/srv/x"}}}, func(t *testing.T, s []Step) {
			for _, st := range s {
				if st.Op == OpEnsure && st.Target == "/srv/x" {
					t.Error("the plan creates a host directory")
				}
			}
		}},
		{"rootfs: mount points first, read-only next, pivot last", Spec{Rootfs: "/r", ReadOnly: true}, func(t *testing.T, s []Step) {
			root := index(t, s, "bind /r as the new root")
			ensure := index(t, s, "create /proc (dir)")
			ro := index(t, s, "set +ro on / (mount_setattr, recursive)")
			proc := index(t, s, "mount proc on /proc (nosuid,nodev,noexec)")
			if !(root < ensure && ensure < ro && ro < proc) {
				t.Errorf("order root %d, create %d, ro %d, proc %d", root, ensure, ro, proc)
			}
			if s[len(s)-1].Op != OpPivot {
				t.Errorf("last step is %s, want pivot_root", s[len(s)-1])
			}
			sys := s[index(t, s, "mount sysfs on /sys (ro,nosuid,nodev,noexec)")]
			if sys.Fallback != "sys" {
				t.Error("no fallback to the host's /sys")
			}
			index(t, s, "clone /sys (open_tree, recursive)")
		}},
		{"rootfs with overlay", Spec{Rootfs: "/r", Overlay: true, OverlayDir: "/keep"}, func(t *testing.T, s []Step) {
			index(t, s, "mount overlay on /r (upper layer in /keep)")
			if has(s, "bind /r as the new root") {
				t.Error("overlay and bind root both")
			}
		}},
		{"rootfs: volume mount points are made in the root, tmpfs children in the tmpfs", Spec{Rootfs: "/r", Volumes: []Volume{{Source: "/a", Dest: "/data"}}, Tmpfs: []Tmpfs{{Dest: "/scratch"}, {Dest: "/tmp/t"}}}, func(t *testing.T, s []Step) {
			like := index(t, s, "create /data (like volume/0)")
			scratch := index(t, s, "create /scratch (dir)")
			proc := index(t, s, "mount proc on /proc (nosuid,nodev,noexec)")
			tmp := index(t, s, "mount tmpfs on /tmp (nosuid,nodev,mode=1777)")
			tt := index(t, s, "create /tmp/t (dir)")
			if !(like < proc && scratch < proc && tmp < tt) {
				t.Errorf("order: %d %d %d %d %d", like, scratch, proc, tmp, tt)
			}
		}},
		{"parents are mounted before their children", Spec{Volumes: []Volume{{Source: "/b", Dest: "/tmp/a/b"}, {Source: "/a", Dest: "/tmp/a"}}}, func(t *testing.T, s []Step) {
			if index(t, s, "bind volume/1 on /tmp/a (recursive)") > index(t, s, "bind volume/0 on /tmp/a/b (recursive)") {
				t.Error("a child mount is covered by its parent")
			}
		}},
		{"the hook's files come after the user's volumes", Spec{Rootfs: "/r", Volumes: []Volume{{Source: "/e", Dest: "/etc"}}, ExtraFiles: []File{{Dest: "/etc/resolv.conf", Content: []byte("nameserver 10.0.2.3\n")}}}, func(t *testing.T, s []Step) {
			if index(t, s, "bind volume/0 on /etc (recursive)") > index(t, s, "bind a private file on /etc/resolv.conf (ro)") {
				t.Error("the network's file would be covered by the volume")
			}
			if index(t, s, "bind a private file on /etc/resolv.conf (ro)") > index(t, s, "mask /proc/kcore") {
				t.Error("files after the masks")
			}
		}},
		{"kernel filesystems never follow symlinks", Spec{Rootfs: "/r"}, func(t *testing.T, s []Step) {
			for _, st := range s {
				for _, k := range []string{"/proc", "/sys", "/dev", "/tmp"} {
					if st.Target != "" && isUnder(st.Target, k) && !st.Strict && st.ID != "cwd" {
						t.Errorf("%s may follow a symlink", st)
					}
				}
			}
		}},
		{"every host source is captured before anything is mounted", Spec{WritableDir: "/w", Volumes: []Volume{{Source: "/tmp/src", Dest: "/tmp/dst"}}, ExtraBinds: []Volume{{Source: "/x", Dest: "/etc/hosts"}}}, func(t *testing.T, s []Step) {
			firstMount := index(t, s, "mount proc on /proc (nosuid,nodev,noexec)")
			for i, st := range s {
				if st.Op == OpCapture && i > firstMount {
					t.Errorf("%s after the first mount", st)
				}
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.check(t, Build(c.spec)) })
	}
}

// recorder is the fake Mounter: it records each step and fails where told.
type recorder struct {
	did    []string
	failAt string
	err    error
	closed bool
}

func (r *recorder) Do(s Step) error {
	r.did = append(r.did, s.String())
	if s.String() == r.failAt {
		return r.err
	}
	return nil
}

func (r *recorder) Close() error { r.closed = true; return nil }

func TestApplyRunsEveryStepInOrder(t *testing.T) {
	steps := Build(Spec{Rootfs: "/r"})
	r := &recorder{}
	if err := Apply(steps, r); err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.did, "\n") != strings.Join(descriptions(steps), "\n") || !r.closed {
		t.Errorf("applied %d of %d steps, closed=%v", len(r.did), len(steps), r.closed)
	}
}

func TestApplyStopsAtTheFirstFailureAndNamesTheStep(t *testing.T) {
	steps := Build(Spec{Rootfs: "/r"})
	r := &recorder{failAt: "mount proc on /proc (nosuid,nodev,noexec)", err: unix.EPERM}
	err := Apply(steps, r)
	var se *StepError
	if !errors.As(err, &se) || !errors.Is(err, unix.EPERM) || se.Step.FSType != "proc" {
		t.Fatalf("err = %v", err)
	}
	if r.did[len(r.did)-1] != r.failAt || !r.closed {
		t.Errorf("went on after the failure: last %q", r.did[len(r.did)-1])
	}
	if err.Error() != "mount proc on /proc (nosuid,nodev,noexec): operation not permitted" {
		t.Errorf("message %q", err)
	}
}

func TestApplySkipsAMissingOptionalPath(t *testing.T) {
	r := &recorder{failAt: "mask /proc/kcore", err: unix.ENOENT}
	if err := Apply(Build(Spec{}), r); err != nil {
		t.Fatalf("a kernel without /proc/kcore fails the set-up: %v", err)
	}
	r = &recorder{failAt: "mount tmpfs on /tmp (nosuid,nodev,mode=1777)", err: unix.ENOENT}
	if err := Apply(Build(Spec{}), r); err == nil {
		t.Fatal("a missing /tmp is skipped")
	}
}

func TestParseVolume(t *testing.T) {
	cases := []struct {
		in   string
		want Volume
		err  string
	}{
		{"/a:/b", Volume{Source: "/a", Dest: "/b"}, ""},
		{"/a:/b:ro", Volume{Source: "/a", Dest: "/b", ReadOnly: true}, ""},
		{"rel:/b:rw", Volume{Source: "rel", Dest: "/b"}, ""},
		{"/a", Volume{}, "want SRC:DST[:ro|rw]"},
		{"/a:/b:ro:x", Volume{}, "want SRC:DST[:ro|rw]"},
		{":/b", Volume{}, "both paths non-empty"},
		{"/a:b", Volume{}, `destination "b" must be an absolute path`},
		{"/a:/b/../c", Volume{}, "must not contain .."},
		{"/a:/", Volume{}, "cannot mount over the root"},
		{"/a:/b:rx", Volume{}, `unknown option "rx"`},
	}
	for _, c := range cases {
		got, err := ParseVolume(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q = %+v, %v", c.in, got, err)
		}
	}
}

func TestParseTmpfs(t *testing.T) {
	cases := []struct {
		in   string
		opts string
		ro   bool
		err  string
	}{
		{"/t", "", false, ""},
		{"/t:size=64m,mode=1777", "size=64m mode=1777", false, ""},
		{"/t:size=50%,nr_inodes=1k,ro,noexec", "size=50% nr_inodes=1k", true, ""},
		{"t", "", false, "must be an absolute path"},
		{"/t:size=big", "", false, `size="big"`},
		{"/t:nr_inodes=5%", "", false, `nr_inodes="5%"`},
		{"/t:mode=9", "", false, `mode="9"`},
		{"/t:mode=77777", "", false, `mode="77777"`},
		{"/t:uid=0", "", false, `unknown option "uid=0"`},
		{"/t:", "", false, ""},
	}
	for _, c := range cases {
		got, err := ParseTmpfs(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || strings.Join(got.Options, " ") != c.opts || got.ReadOnly != c.ro {
			t.Errorf("%q = %+v, %v", c.in, got, err)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	for _, c := range []struct {
		spec Spec
		err  string
	}{
		{Spec{Overlay: true}, "--overlay needs --rootfs"},
		{Spec{Rootfs: "/r", OverlayDir: "/o"}, "--overlay-dir needs --overlay"},
		{Spec{Rootfs: "r"}, "must be an absolute path"},
		{Spec{Volumes: []Volume{{Source: "a", Dest: "/b"}}}, `volume source "a" must be an absolute path`},
		{Spec{ExtraFiles: []File{{Dest: "etc/hosts"}}}, "must be an absolute path"},
		{Spec{Rootfs: "/r", Overlay: true, OverlayDir: "/o"}, ""},
	} {
		err := c.spec.Validate()
		if (c.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("%+v: %v, want %q", c.spec, err, c.err)
		}
	}
}
