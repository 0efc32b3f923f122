package test

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// busyboxRoot builds a root filesystem from the busybox-static package:
// /bin/busybox and one link per applet, /etc with a marker, owned by the
// test user (it is that user's rootfs, as an extracted tarball would be).
func busyboxRoot(t *testing.T) string {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatalf("busybox not found: install the busybox-static package")
	}
	if out, _ := exec.Command("file", "-L", bb).Output(); len(out) > 0 && !strings.Contains(string(out), "statically") && !strings.Contains(string(out), "static-pie") {
		t.Fatalf("%s is not static: install the busybox-static package (%s)", bb, out)
	}
	root := userDir(t)
	for _, d := range []string{"bin", "etc", "root"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	list, err := exec.Command(bb, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	for _, a := range strings.Fields(string(list)) {
		if a != "busybox" {
			os.Symlink("busybox", filepath.Join(root, "bin", a))
		}
	}
	os.WriteFile(filepath.Join(root, "etc/marker"), []byte("busybox rootfs\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
	chownTree(t, root)
	return root
}

func chownTree(t *testing.T, root string) {
	t.Helper()
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			os.Lchown(p, int(testUser.UID), int(testUser.GID))
		}
		return nil
	})
}

// homeDir is a fresh directory of the test user outside /tmp, so the
// sandbox's /tmp holds nothing of the working directory.
func homeDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp(testUser.Home, "fs-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chown(dir, int(testUser.UID), int(testUser.GID))
	os.Chmod(dir, 0o755)
	return dir
}

// fsRun runs isolate and checks that the host's mount table is the same
// before and after: every mount happens in the sandbox's own namespace.
func fsRun(t *testing.T, o opts, args ...string) result {
	t.Helper()
	for _, a := range args {
		if a == "--rootfs" {
			// The caller's PATH is the host's (in the fallback run, a
			// directory of links under /var/tmp); the rootfs has /bin.
			args = append([]string{"-e", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, args...)
			break
		}
	}
	before, _ := os.ReadFile("/proc/self/mountinfo")
	r := run(t, o, args...)
	after, _ := os.ReadFile("/proc/self/mountinfo")
	if string(before) != string(after) {
		t.Errorf("the host's mount table changed during isolate %q:\nbefore:\n%s\nafter:\n%s", args, before, after)
	}
	return r
}

func fsOK(t *testing.T, o opts, args ...string) string {
	t.Helper()
	r := fsRun(t, o, args...)
	if r.Code != 0 {
		t.Fatalf("isolate %q: %s", args, r)
	}
	return r.Stdout
}

func TestDefaultViewReadsTheHostButWritesOnlyCwdAndPrivateTmp(t *testing.T) {
	t.Parallel()
	cwd := homeDir(t)
	hostTmp := filepath.Join(workDir, "host-tmp-canary")
	os.WriteFile(hostTmp, []byte("x"), 0o644)
	script := `
		head -c4 /etc/passwd; echo
		touch "$HOME/written-to-home" 2>/dev/null && echo home-writable || echo home-ro
		touch /var/tmp/isolate-fs-probe 2>/dev/null && echo var-tmp-writable || echo var-tmp-ro
		echo hi > in-cwd && echo cwd-writable
		echo "tmp:$(ls -A /tmp | tr '\n' ' ')"
		echo secret > /tmp/inside && cat /tmp/inside
		test -e ` + hostTmp + ` && echo host-tmp-visible || echo host-tmp-hidden
	`
	out := fsOK(t, opts{dir: cwd, env: []string{"HOME=" + testUser.Home}}, "-q", "sh", "-c", script)
	want := "root\nhome-ro\nvar-tmp-ro\ncwd-writable\ntmp:\nsecret\nhost-tmp-hidden\n"
	if out != want {
		t.Errorf("default view:\n%s\nwant:\n%s", out, want)
	}
	if b, _ := os.ReadFile(filepath.Join(cwd, "in-cwd")); string(b) != "hi\n" {
		t.Errorf("write to the working directory did not reach the host: %q", b)
	}
	for _, p := range []string{filepath.Join(testUser.Home, "written-to-home"), "/var/tmp/isolate-fs-probe", "/tmp/inside"} {
		if _, err := os.Stat(p); err == nil {
			os.Remove(p)
			t.Errorf("%s was written on the host", p)
		}
	}
}

func TestDevHoldsExactlyTheListedEntries(t *testing.T) {
	t.Parallel()
	out := fsOK(t, opts{}, "-q", "sh", "-c", `ls -A /dev | tr '\n' ' '; echo; ls -A /dev/pts | tr '\n' ' '; echo; echo x > /dev/null && head -c1 /dev/zero | od -An -tx1; stat -c %F /dev/null; awk '$5=="/dev/shm"||$5=="/dev/pts"{print $5, $9}' /proc/self/mountinfo`)
	lines := strings.Split(out, "\n")
	if got, want := strings.TrimSpace(lines[0]), "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero"; got != want {
		t.Errorf("/dev = %q, want %q", got, want)
	}
	if got := strings.TrimSpace(lines[1]); got != "ptmx" {
		t.Errorf("/dev/pts = %q, want only its own ptmx (a new devpts instance)", got)
	}
	if !strings.Contains(out, " 00\ncharacter special file\n") {
		t.Errorf("/dev/null or /dev/zero do not work:\n%s", out)
	}
	if !strings.Contains(out, "/dev/pts devpts\n") || !strings.Contains(out, "/dev/shm tmpfs\n") {
		t.Errorf("want a devpts on /dev/pts and a tmpfs on /dev/shm:\n%s", out)
	}
}

func TestRWLeavesTheHostWritableWithTheHostsPermissions(t *testing.T) {
	t.Parallel()
	other := homeDir(t)
	cwd := homeDir(t)
	out := fsOK(t, opts{dir: cwd}, "-q", "--rw", "sh", "-c", "touch "+other+"/f && echo other-writable; touch /etc/isolate-probe 2>&1 | grep -o 'Permission denied\\|Read-only'; touch /sys/isolate 2>&1 | grep -c Read-only")
	if out != "other-writable\nPermission denied\n1\n" {
		t.Errorf("--rw: %q, want other dirs writable, /etc denied by the host's permissions, /sys read-only", out)
	}
	if _, err := os.Stat(filepath.Join(other, "f")); err != nil {
		t.Errorf("--rw write did not reach the host: %v", err)
	}
}

func TestNoCwdKeepsTheWorkingDirectoryReadOnly(t *testing.T) {
	t.Parallel()
	cwd := homeDir(t)
	out := fsOK(t, opts{dir: cwd}, "-q", "--no-cwd", "sh", "-c", "touch f 2>&1 | grep -c Read-only")
	if out != "1\n" {
		t.Errorf("--no-cwd: %q", out)
	}
	// Under /tmp the directory stays visible through the private /tmp.
	inTmp := userDir(t)
	os.WriteFile(filepath.Join(inTmp, "seen"), []byte("yes\n"), 0o644)
	if out := fsOK(t, opts{dir: inTmp}, "-q", "--no-cwd", "sh", "-c", "cat seen; touch f 2>&1 | grep -c Read-only"); out != "yes\n1\n" {
		t.Errorf("--no-cwd under /tmp: %q", out)
	}
	if out := fsOK(t, opts{dir: inTmp}, "-q", "--rw", "sh", "-c", "cat seen; touch f && echo written"); out != "yes\nwritten\n" {
		t.Errorf("--rw under /tmp: %q", out)
	}
}

func TestMaskedAndReadOnlyKernelPaths(t *testing.T) {
	t.Parallel()
	for _, root := range [][]string{nil, {"--rootfs", busyboxRoot(t)}} {
		args := append(append([]string{"-q"}, root...), "sh", "-c", `
			for f in /proc/keys /proc/timer_list /proc/interrupts /proc/kcore; do test -e $f && echo "$f $(wc -c < $f)"; done
			ls -A /sys/firmware | wc -l
			echo 1 > /proc/sys/kernel/hostname 2>/dev/null && echo sys-writable || echo sys-ro
			grep -c ' /proc/sys ro,' /proc/self/mountinfo`)
		out := fsOK(t, opts{}, args...)
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.HasPrefix(l, "/proc/") && !strings.HasSuffix(l, " 0") {
				t.Errorf("%v: masked file readable: %q", root, l)
			}
		}
		if !strings.HasSuffix(out, "0\nsys-ro\n1\n") {
			t.Errorf("%v: /sys/firmware not empty or /proc/sys writable:\n%s", root, out)
		}
	}
}

func TestRootfsIsTheProgramsRootAndTheHostIsUnreachable(t *testing.T) {
	t.Parallel()
	root := busyboxRoot(t)
	canary := filepath.Join(workDir, "host-canary-"+marker())
	os.WriteFile(canary, []byte("host"), 0o644)
	defer os.Remove(canary)
	out := fsOK(t, opts{}, "-q", "--rootfs", root, "sh", "-c", `
		cat /etc/marker; pwd
		ls / | tr '\n' ' '; echo
		awk '$5=="/"{print $4}' /proc/self/mountinfo
		find / -xdev -name "`+filepath.Base(canary)+`" 2>/dev/null | wc -l
		cd /.. && ls | tr '\n' ' '; echo
		awk '{print $5}' /proc/self/mountinfo`)
	want := fmt.Sprintf("busybox rootfs\n/\nbin dev etc proc root sys tmp \n%s\n0\nbin dev etc proc root sys tmp \n", root)
	if !strings.HasPrefix(out, want) {
		t.Errorf("--rootfs:\n%s\nwant:\n%s", out, want)
	}
	// Only the sandbox's own mounts: none of the host's tree is left (the
	// network's /etc files are the sandbox's own, on its private tmpfs).
	for _, mp := range strings.Fields(strings.TrimPrefix(out, want)) {
		if mp != "/" && !isUnderAny(mp, "/proc", "/dev", "/sys", "/tmp", "/etc/resolv.conf", "/etc/hosts", "/etc/hostname") {
			t.Errorf("the host's mount %s is reachable inside the rootfs", mp)
		}
	}
}

func isUnderAny(p string, bases ...string) bool {
	for _, b := range bases {
		if p == b || strings.HasPrefix(p, b+"/") {
			return true
		}
	}
	return false
}

func TestReadOnlyRootfs(t *testing.T) {
	t.Parallel()
	root := busyboxRoot(t)
	out := fsOK(t, opts{}, "-q", "--rootfs", root, "--read-only", "sh", "-c", "touch /etc/x 2>&1 | grep -c Read-only; touch /tmp/x && echo tmp-writable")
	if out != "1\ntmp-writable\n" {
		t.Errorf("--read-only: %q", out)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/x")); err == nil {
		t.Error("the read-only rootfs was written")
	}
}

// treeDigest is every name, mode, link target and content under root.
func treeDigest(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		info, _ := d.Info()
		l := fmt.Sprintf("%s %v", strings.TrimPrefix(p, root), info.Mode())
		if d.Type()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			l += " -> " + target
		} else if d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			l += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		lines = append(lines, l)
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestOverlayWritesLandInTheUpperLayerAndTheRootfsIsUnchanged(t *testing.T) {
	t.Parallel()
	root := busyboxRoot(t)
	// The mount points exist already, so the lower tree is the user's alone.
	fsOK(t, opts{}, "-q", "--rootfs", root, "true")
	before := treeDigest(t, root)
	script := "echo new > /new && rm /etc/marker && echo changed > /etc/passwd && mkdir /d && ls / | tr '\n' ' '"
	out := fsOK(t, opts{}, "-q", "--rootfs", root, "--overlay", "sh", "-c", script)
	if out != "bin d dev etc new proc root sys tmp " {
		t.Errorf("inside the overlay: %q", out)
	}
	if after := treeDigest(t, root); after != before {
		t.Errorf("--overlay changed the lower tree:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// --overlay-dir keeps the upper layer.
	keep := userDir(t)
	fsOK(t, opts{}, "-q", "--rootfs", root, "--overlay", "--overlay-dir", keep, "sh", "-c", script)
	if b, err := os.ReadFile(filepath.Join(keep, "upper/new")); err != nil || string(b) != "new\n" {
		t.Errorf("--overlay-dir: upper/new = %q, %v", b, err)
	}
	if after := treeDigest(t, root); after != before {
		t.Errorf("--overlay --overlay-dir changed the lower tree")
	}
	// A second run sees the kept layer.
	if out := fsOK(t, opts{}, "-q", "--rootfs", root, "--overlay", "--overlay-dir", keep, "cat", "/new"); out != "new\n" {
		t.Errorf("the kept upper layer is not seen again: %q", out)
	}
}

// Not parallel: it mounts on the host, and the other tests check that the
// host's mount table does not change while they run.
func TestVolumesReadWriteAndReadOnlyAllTheWayDown(t *testing.T) {
	src := userDir(t)
	os.Mkdir(filepath.Join(src, "sub"), 0o755)
	chownTree(t, src)
	// A mount below the source: read-only must reach it too (recursive).
	if os.Geteuid() == 0 {
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "mode=777", "sub", filepath.Join(src, "sub")).CombinedOutput(); err != nil {
			t.Fatalf("mount: %v %s", err, out)
		}
		defer exec.Command("umount", filepath.Join(src, "sub")).Run()
	}
	for _, root := range [][]string{nil, {"--rootfs", busyboxRoot(t)}} {
		out := fsOK(t, opts{}, append(append([]string{"-q"}, root...), "-v", src+":/tmp/data", "-v", src+":/tmp/ro:ro", "sh", "-c", `
			echo rw > /tmp/data/f && cat /tmp/ro/f
			echo x > /tmp/ro/g 2>/dev/null && echo ro-writable || echo ro-refused
			echo x > /tmp/ro/sub/g 2>/dev/null && echo sub-writable || echo sub-refused
			echo x > /tmp/data/sub/h && echo rw-sub-writable`)...)
		if out != "rw\nro-refused\nsub-refused\nrw-sub-writable\n" {
			t.Errorf("%v volumes: %q", root, out)
		}
		if b, _ := os.ReadFile(filepath.Join(src, "f")); string(b) != "rw\n" {
			t.Errorf("rw volume write not on the host: %q", b)
		}
	}
}

func TestReadOnlyMountsCannotBeMadeWritableInside(t *testing.T) {
	t.Parallel()
	// Root inside has no CAP_SYS_ADMIN by default (the container set of
	// the security options), and a non-root user never has it: neither
	// can remount, unmount or mount over what the view made read-only.
	src := userDir(t)
	attack := "mount -o remount,rw,bind /tmp/ro; mount -o remount,rw,bind /; umount /tmp/ro; umount /proc/keys; umount -l /tmp; " +
		"touch /tmp/ro/x " + testUser.Home + "/x 2>/dev/null; cat /proc/keys | wc -c"
	users := [][]string{nil}
	if !fallback {
		users = append(users, []string{"-u", "1000:1000"}) // needs a second mapped uid
	}
	for _, u := range users {
		r := fsRun(t, opts{}, append(append([]string{"-q"}, u...), "-v", src+":/tmp/ro:ro", "sh", "-c", attack)...)
		if strings.TrimSpace(r.Stdout) != "0" {
			t.Errorf("%v: /proc/keys unmasked: %s", u, r)
		}
		for _, p := range []string{filepath.Join(src, "x"), filepath.Join(testUser.Home, "x")} {
			if _, err := os.Stat(p); err == nil {
				os.Remove(p)
				t.Errorf("%v: %s was written", u, p)
			}
		}
	}
}

func TestTmpfsOptions(t *testing.T) {
	t.Parallel()
	out := fsOK(t, opts{}, "-q", "--tmpfs", "/tmp/a:size=1m,mode=700", "--tmpfs", "/tmp/b:ro", "sh", "-c", `
		stat -c %a /tmp/a; awk '$5=="/tmp/a"{print $6, $NF}' /proc/self/mountinfo
		dd if=/dev/zero of=/tmp/a/big bs=1024 count=2048 2>/dev/null && echo fits || echo full
		touch /tmp/b/x 2>/dev/null && echo b-writable || echo b-ro`)
	if out != "700\nrw,nosuid,nodev,relatime rw,size=1024k,mode=700\nfull\nb-ro\n" && !strings.HasPrefix(out, "700\nrw,nosuid,nodev,relatime rw,size=1024k,mode=700") {
		t.Errorf("--tmpfs: %q", out)
	}
	if !strings.HasSuffix(out, "full\nb-ro\n") {
		t.Errorf("--tmpfs size or ro not applied: %q", out)
	}
}

// A rootfs's owner can plant symlinks; none may send a mount outside it.
func TestRootfsSymlinksCannotRedirectMountsToTheHost(t *testing.T) {
	t.Parallel()
	vol := userDir(t)
	check := func(t *testing.T) {
		for _, p := range []string{"/etc/isolate-probe", "/etc/t"} {
			if _, err := os.Lstat(p); err == nil {
				os.Remove(p)
				t.Errorf("%s appeared on the host", p)
			}
		}
	}
	t.Run("volume onto an absolute symlink stays in the root", func(t *testing.T) {
		root := busyboxRoot(t)
		os.Symlink("/etc", filepath.Join(root, "mnt"))
		os.Symlink("../../../../../../etc", filepath.Join(root, "up"))
		chownTree(t, root)
		out := fsOK(t, opts{}, "-q", "--rootfs", root, "-v", vol+":/mnt", "sh", "-c", "echo probe > /mnt/isolate-probe; cat /etc/isolate-probe")
		if out != "probe\n" {
			t.Errorf("out = %q", out)
		}
		out = fsOK(t, opts{}, "-q", "--rootfs", root, "--tmpfs", "/up/t", "sh", "-c", "awk '$5==\"/etc/t\"{print $9}' /proc/self/mountinfo")
		if out != "tmpfs\n" {
			t.Errorf("tmpfs through ../ symlink: %q", out)
		}
		if _, err := os.Stat(filepath.Join(vol, "isolate-probe")); err != nil {
			t.Errorf("the write did not land in the volume: %v", err)
		}
		if _, err := os.Stat(filepath.Join(root, "etc/t")); err != nil {
			t.Errorf("the tmpfs mount point was not made inside the root: %v", err)
		}
		check(t)
	})
	t.Run("dangling symlinks are created inside the root", func(t *testing.T) {
		root := busyboxRoot(t)
		file := filepath.Join(userDir(t), "f")
		os.WriteFile(file, []byte("content\n"), 0o644)
		os.Symlink("../run/nowhere/stub", filepath.Join(root, "etc/relative"))
		os.Symlink("/etc/isolate-probe", filepath.Join(root, "etc/absolute"))
		os.Symlink("/etc/t/deep", filepath.Join(root, "dirlink"))
		chownTree(t, root)
		out := fsOK(t, opts{}, "-q", "--rootfs", root, "-v", file+":/etc/relative", "-v", file+":/etc/absolute", "-v", vol+":/dirlink", "sh", "-c", "cat /etc/relative /etc/isolate-probe; ls -d /etc/t/deep")
		if out != "content\ncontent\n/etc/t/deep\n" {
			t.Errorf("out = %q", out)
		}
		for _, p := range []string{"run/nowhere/stub", "etc/isolate-probe", "etc/t/deep"} {
			if _, err := os.Stat(filepath.Join(root, p)); err != nil {
				t.Errorf("mount point %s not made inside the root: %v", p, err)
			}
		}
		if _, err := os.Stat("/run/nowhere"); err == nil {
			t.Error("/run/nowhere was made on the host")
		}
		check(t)
	})
	for _, dir := range []string{"proc", "sys", "dev", "tmp"} {
		dir := dir
		t.Run("symlinked /"+dir+" is refused", func(t *testing.T) {
			root := busyboxRoot(t)
			os.Symlink("/etc", filepath.Join(root, dir))
			chownTree(t, root)
			m := marker()
			r := fsRun(t, opts{}, "-q", "--rootfs", root, "sleep", m)
			if r.Code != 125 || !strings.Contains(r.Stderr, "/"+dir+" is or goes through a symlink") {
				t.Errorf("want exit 125 naming the symlink: %s", r)
			}
			if lines := withoutNotices(r.Stderr); len(lines) > 2 || len(lines) == 2 && !strings.HasPrefix(lines[1], "  hint: ") {
				t.Errorf("want one error line and one hint: %q", r.Stderr)
			}
			if left := hostProcesses(m); len(left) != 0 {
				t.Errorf("processes left behind: %v", left)
			}
			check(t)
		})
	}
	t.Run("symlinked /dev/null is replaced", func(t *testing.T) {
		root := busyboxRoot(t)
		os.Mkdir(filepath.Join(root, "dev"), 0o755)
		os.Symlink("/etc/passwd", filepath.Join(root, "dev/null"))
		chownTree(t, root)
		before, _ := os.ReadFile("/etc/passwd")
		out := fsOK(t, opts{}, "-q", "--rootfs", root, "sh", "-c", "echo overwritten > /dev/null; stat -c %F /dev/null")
		if out != "character special file\n" {
			t.Errorf("/dev/null inside: %q", out)
		}
		if after, _ := os.ReadFile("/etc/passwd"); string(after) != string(before) {
			t.Error("the host's /etc/passwd changed")
		}
		if link, _ := os.Readlink(filepath.Join(root, "dev/null")); link != "/etc/passwd" {
			t.Errorf("the rootfs's own /dev/null was changed: %q", link)
		}
	})
	t.Run("host view: volume destination through a symlink", func(t *testing.T) {
		dir := homeDir(t)
		os.Symlink("/etc", filepath.Join(dir, "link"))
		r := fsRun(t, opts{dir: dir}, "-q", "-v", vol+":"+dir+"/link", "sh", "-c", "echo probe > "+dir+"/link/isolate-probe")
		// The user's own symlink on the host is the user's to follow: the
		// volume covers /etc inside, never the host's /etc.
		if r.Code != 0 {
			t.Fatalf("%s", r)
		}
		check(t)
	})
}

func TestBadFilesystemInputIsOneLineAndExit125(t *testing.T) {
	t.Parallel()
	file := filepath.Join(workDir, "a-file")
	os.WriteFile(file, nil, 0o644)
	src := userDir(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--rootfs", "/no/such/rootfs"}, "isolate: --rootfs /no/such/rootfs: no such file or directory"},
		{[]string{"--rootfs", file}, "isolate: --rootfs " + file + ": not a directory"},
		{[]string{"-v", "/no/such/src:/data"}, "isolate: --volume /no/such/src:/data: source /no/such/src: no such file or directory"},
		{[]string{"-v", src + ":relative"}, "isolate: --volume " + src + ":relative: destination \"relative\" must be an absolute path"},
		{[]string{"-v", src + ":/tmp/x/../../etc"}, "isolate: --volume " + src + ":/tmp/x/../../etc: destination \"/tmp/x/../../etc\" must not contain .."},
		{[]string{"-v", src}, "isolate: --volume " + src + ": want SRC:DST[:ro|rw]"},
		{[]string{"-v", src + ":/data:rx"}, "isolate: --volume " + src + ":/data:rx: unknown option \"rx\""},
		{[]string{"-v", src + ":/no/such/dest"}, "isolate: --volume " + src + ":/no/such/dest: destination /no/such/dest: no such file or directory"},
		{[]string{"--tmpfs", "relative"}, "isolate: --tmpfs relative: destination \"relative\" must be an absolute path"},
		{[]string{"--tmpfs", "/tmp/x:size=lots"}, "isolate: --tmpfs /tmp/x:size=lots: size=\"lots\": want a number"},
		{[]string{"--tmpfs", "/tmp/x:mode=999"}, "isolate: --tmpfs /tmp/x:mode=999: mode=\"999\": want an octal mode"},
		{[]string{"--tmpfs", "/tmp/x:uid=0"}, "isolate: --tmpfs /tmp/x:uid=0: unknown option \"uid=0\""},
		{[]string{"--overlay"}, "isolate: --overlay needs --rootfs"},
		{[]string{"--read-only"}, "isolate: --read-only: needs --rootfs"},
		{[]string{"--rootfs", src, "--overlay-dir", src}, "isolate: --overlay-dir needs --overlay"},
	}
	for _, c := range cases {
		c := c
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Parallel()
			m := marker()
			r := fsRun(t, opts{}, append(c.args, "sleep", m)...)
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
			if left := hostProcesses(m); len(left) != 0 {
				t.Errorf("processes left behind: %v", left)
			}
		})
	}
}

func TestHelpSaysWhatTheDefaultProtects(t *testing.T) {
	t.Parallel()
	r := run(t, opts{}, "--help")
	for _, s := range []string{"FILESYSTEM:", "can write only the current", "private, empty /tmp", "--volume", "--rootfs"} {
		if !strings.Contains(r.Stdout, s) {
			t.Errorf("--help lacks %q", s)
		}
	}
}

// fuse-overlayfs is the fallback where the kernel refuses overlayfs in a
// user namespace; --overlay-fuse takes that path on this kernel too. Not
// parallel: /dev/fuse is opened to the test user for its duration (many
// hosts ship it 0600, and fuse in a user namespace needs to open it).
func TestOverlayThroughFuseOverlayfsLeavesTheRootfsUnchanged(t *testing.T) {
	if _, err := exec.LookPath("fuse-overlayfs"); err != nil {
		t.Fatal("fuse-overlayfs not found: install the fuse-overlayfs package")
	}
	if unix := unixAccess("/dev/fuse"); !unix && os.Geteuid() == 0 {
		st, err := os.Stat("/dev/fuse")
		if err != nil {
			t.Fatalf("no /dev/fuse: %v", err)
		}
		os.Chmod("/dev/fuse", 0o666)
		t.Cleanup(func() { os.Chmod("/dev/fuse", st.Mode().Perm()) })
	} else if !unix {
		t.Skip("/dev/fuse is not usable by this user")
	}
	root := busyboxRoot(t)
	fsOK(t, opts{}, "-q", "--rootfs", root, "true")
	before := treeDigest(t, root)
	out := fsOK(t, opts{}, "-q", "--rootfs", root, "--overlay", "--overlay-fuse", "sh", "-c", "echo new > /new && rm /etc/marker && ls / | tr '\n' ' '; awk '$5==\"/\"{print $8}' /proc/self/mountinfo")
	if out != "bin dev etc new proc root sys tmp fuse.fuse-overlayfs\n" {
		t.Errorf("inside fuse-overlayfs: %q", out)
	}
	if after := treeDigest(t, root); after != before {
		t.Errorf("the lower tree changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	keep := userDir(t)
	fsOK(t, opts{}, "-q", "--rootfs", root, "--overlay", "--overlay-fuse", "--overlay-dir", keep, "sh", "-c", "echo kept > /k")
	if b, err := os.ReadFile(filepath.Join(keep, "upper/k")); err != nil || string(b) != "kept\n" {
		t.Errorf("--overlay-dir with fuse-overlayfs: %q, %v", b, err)
	}
	eventually(t, "fuse-overlayfs daemons gone", func() bool { return len(hostProcesses("fuse-overlayfs -o lowerdir="+root)) == 0 })
}

// unixAccess: the test user may open path read-write (other bits; the
// tests run isolate as a user who is neither owner nor group).
func unixAccess(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().Perm()&0o006 == 0o006
}
