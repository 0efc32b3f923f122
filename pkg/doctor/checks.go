package doctor

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/cgroups"
	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/userns"
)

// fullRange is what an image's files can use: 65536 ids, as podman's and
// docker's default maps.
const fullRange = 65536

func one(c Check) []Check { return []Check{c} }

// checkUserNS: the sysctls that switch unprivileged user namespaces off
// (user_namespaces(7); kernel.unprivileged_userns_clone is Debian's patch).
func checkUserNS(h Host) []Check {
	c := Check{Name: "unprivileged user namespaces"}
	max, ok := h.sysctl("user.max_user_namespaces")
	switch {
	case !ok:
		c.Status, c.Detail = Fail, "/proc/sys/user/max_user_namespaces is missing: "+hints.NoUserNS
	case max == "0":
		c.Status, c.Detail, c.Fix = Fail, "disabled: user.max_user_namespaces=0", hints.MaxUserNamespaces
	default:
		c.Status, c.Detail = OK, "user.max_user_namespaces="+max
		if v, ok := h.sysctl("kernel.unprivileged_userns_clone"); ok {
			if v == "0" {
				c.Status, c.Detail, c.Fix = Fail, "disabled: kernel.unprivileged_userns_clone=0", hints.UnprivilegedUsernsClone
			} else {
				c.Detail += ", kernel.unprivileged_userns_clone=" + v
			}
		}
	}
	return one(c)
}

// checkAppArmor: Ubuntu 23.10+ lets only binaries with an AppArmor profile
// that says "userns," create user namespaces.
func checkAppArmor(h Host) []Check {
	c := Check{Name: "AppArmor user namespace restriction", Status: OK}
	v, ok := h.sysctl("kernel.apparmor_restrict_unprivileged_userns")
	switch {
	case !ok:
		c.Detail = "not present in this kernel"
	case v != "1":
		c.Detail = "off (kernel.apparmor_restrict_unprivileged_userns=" + v + ")"
	default:
		if prof := h.appArmorProfileFor(h.Exe); prof != "" {
			c.Detail = "on, and " + prof + " allows " + h.Exe
			break
		}
		c.Status = Fail
		c.Detail = "on (kernel.apparmor_restrict_unprivileged_userns=1) and no profile allows " + h.Exe
		c.Fix = hints.AppArmorProfile(h.Exe)
	}
	return one(c)
}

// appArmorProfileFor finds a profile in /etc/apparmor.d that names exe and
// grants userns.
func (h Host) appArmorProfileFor(exe string) string {
	ents, _ := os.ReadDir(h.path("/etc/apparmor.d"))
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		p := "/etc/apparmor.d/" + e.Name()
		b, err := os.ReadFile(h.path(p))
		if err == nil && strings.Contains(string(b), exe) && strings.Contains(string(b), "userns") {
			return p
		}
	}
	return ""
}

// checkUserNSWorks tries it: seccomp filters of an outer container and
// LSMs other than AppArmor show no sysctl.
func checkUserNSWorks(h Host) []Check {
	if h.TryUserNS == nil {
		return nil
	}
	c := Check{Name: "creating a user namespace", Status: OK, Detail: "works"}
	if err := h.TryUserNS(); err != nil {
		c.Status, c.Detail, c.Fix = Fail, "clone(CLONE_NEWUSER) failed: "+err.Error(), hints.UserNSClone(err)
	}
	return one(c)
}

// checkProc: inside many containers parts of /proc are over-mounted
// (masked), and then the kernel refuses the sandbox a /proc of its own
// (mount_too_revealing in fs/namespace.c).
func checkProc(h Host) []Check {
	c := Check{Name: "/proc", Status: OK}
	where := "not inside a container"
	for _, f := range []string{"/.dockerenv", "/run/.containerenv"} {
		if _, err := os.Stat(h.path(f)); err == nil {
			where = "inside a container (" + f + ")"
		}
	}
	masked, err := h.procOvermounts()
	switch {
	case err != nil:
		c.Status, c.Detail = Warn, "cannot read /proc/self/mountinfo: "+err.Error()
	case len(masked) > 0:
		c.Status, c.Fix = Fail, hints.ProcMasked
		c.Detail = fmt.Sprintf("%s, with %d mounts over /proc (%s): a new /proc cannot be mounted", where, len(masked), strings.Join(first(masked, 3), ", "))
	default:
		c.Detail = where + ", /proc is not masked"
	}
	return one(c)
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "...")
	}
	return s
}

// procOvermounts lists mounts below /proc that hide part of it. Mounts on
// the permanently empty binfmt_misc directory do not count: the kernel
// allows those.
func (h Host) procOvermounts() ([]string, error) {
	f, err := os.Open(h.path("/proc/self/mountinfo"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		a := strings.Fields(sc.Text())
		if len(a) < 5 {
			continue
		}
		mp := a[4]
		if strings.HasPrefix(mp, "/proc/") && !strings.HasPrefix(mp, "/proc/sys/fs/binfmt_misc") {
			out = append(out, mp)
		}
	}
	return out, sc.Err()
}

// checkHelpers: newuidmap/newgidmap map the subordinate ranges; without
// them isolate maps only the caller's own id.
func checkHelpers(h Host) []Check {
	var out []Check
	for _, name := range []string{"newuidmap", "newgidmap"} {
		c := Check{Name: name}
		p := h.lookPath(name)
		switch {
		case h.UID == 0:
			c.Status, c.Detail = OK, "not needed: real root writes its maps itself"
		case p == "":
			c.Status, c.Detail, c.Fix = Warn, "not found: isolate maps only your own id (single-id fallback)", hints.InstallUIDMap
		case !userns.PrivilegedHelper(h.path(p)):
			c.Status, c.Detail, c.Fix = Warn, p+" is neither setuid root nor has file capabilities: isolate maps only your own id", hints.ChmodHelper(p)
		default:
			c.Status, c.Detail = OK, p+" "+helperKind(h.path(p))
		}
		out = append(out, c)
	}
	return out
}

func helperKind(path string) string {
	var st unix.Stat_t
	if unix.Stat(path, &st) == nil && st.Mode&unix.S_ISUID != 0 && st.Uid == 0 {
		return "(setuid root)"
	}
	return "(file capabilities)"
}

// checkSubIDs: the caller's ranges in /etc/subuid and /etc/subgid
// (subuid(5)), read by the same parser the sandbox uses.
func checkSubIDs(h Host) []Check {
	var out []Check
	for _, file := range []string{"/etc/subuid", "/etc/subgid"} {
		c := Check{Name: file}
		// subuid(5) and subgid(5) both name the user or its uid.
		rs, err := userns.ReadSubIDs(h.path(file), h.User, h.UID)
		var total uint64
		for _, r := range rs {
			total += uint64(r.Count)
		}
		fix := hints.AddSubIDs(h.userName())
		if h.UID == 0 {
			fix = hints.RootMapping
		}
		switch {
		case err != nil:
			c.Status, c.Detail = Warn, err.Error()
		case len(rs) == 0 && h.UID == 0:
			c.Status, c.Detail, c.Fix = Warn, "no entry for root: root in the sandbox is host nobody (65534)", fix
		case len(rs) == 0:
			c.Status, c.Detail, c.Fix = Warn, "no entry for "+h.userName()+": isolate maps only your own id", fix
		case total < fullRange:
			c.Status, c.Detail, c.Fix = Warn, fmt.Sprintf("%s has only %d ids (from %d): fewer than the %d an image's files may use", h.userName(), total, rs[0].Start, fullRange), fix
		default:
			c.Status, c.Detail = OK, fmt.Sprintf("%s has %d ids (from %d)", h.userName(), total, rs[0].Start)
		}
		out = append(out, c)
	}
	return out
}

// checkNetHelpers: the user-mode network stacks.
func checkNetHelpers(h Host) []Check {
	var out []Check
	for _, n := range []struct{ name, fix string }{
		{"slirp4netns", hints.InstallSlirp4netns},
		{"pasta", hints.InstallPasta},
	} {
		c := Check{Name: n.name}
		p := h.lookPath(n.name)
		if p == "" {
			c.Status, c.Detail, c.Fix = Warn, "not found: the sandbox cannot reach the network through it", n.fix
			out = append(out, c)
			continue
		}
		v, err := h.Version(p)
		if err != nil {
			c.Status, c.Detail, c.Fix = Warn, p+" --version failed: "+err.Error(), n.fix
		} else {
			c.Status, c.Detail = OK, p+": "+v
		}
		out = append(out, c)
	}
	return out
}

// checkTun: slirp4netns and pasta open /dev/net/tun after joining the
// sandbox's user namespace, where host root (its owner) is unmapped, so
// only its permission bits for others count (capable_wrt_inode_uidgid).
func checkTun(h Host) []Check {
	c := Check{Name: "/dev/net/tun"}
	var st unix.Stat_t
	err := unix.Stat(h.path("/dev/net/tun"), &st)
	mode := st.Mode & 0o777
	switch {
	case err != nil:
		c.Status, c.Detail, c.Fix = Warn, "missing ("+unwrapErrno(err)+"): no user-mode network", hints.TunMissing
	case mode&0o006 == 0o006 || (st.Uid == h.UID && mode&0o600 == 0o600):
		c.Status, c.Detail = OK, fmt.Sprintf("mode %04o", mode)
	default:
		c.Status, c.Detail, c.Fix = Warn, fmt.Sprintf("mode %04o owned by uid %d: slirp4netns and pasta cannot open it from inside the sandbox", mode, st.Uid), hints.TunMode
	}
	return one(c)
}

func unwrapErrno(err error) string {
	var e unix.Errno
	if errors.As(err, &e) {
		return e.Error()
	}
	return err.Error()
}

// checkPingGroup: slirp4netns and pasta forward ping through ICMP datagram
// sockets, which the kernel gives only to the groups in this range (icmp(7)).
func checkPingGroup(h Host) []Check {
	c := Check{Name: "net.ipv4.ping_group_range"}
	v, ok := h.sysctl("net.ipv4.ping_group_range")
	f := strings.Fields(v)
	if !ok || len(f) != 2 {
		return nil
	}
	v = f[0] + " " + f[1]
	lo, err1 := strconv.ParseUint(f[0], 10, 32)
	hi, err2 := strconv.ParseUint(f[1], 10, 32)
	if err1 == nil && err2 == nil && h.inGroups(lo, hi) {
		c.Status, c.Detail = OK, fmt.Sprintf("%q includes gid %d: ping works from the sandbox", v, h.GID)
	} else {
		c.Status, c.Detail, c.Fix = Warn, fmt.Sprintf("%q excludes your groups: ping from the sandbox cannot leave the host", v), hints.PingGroupRange
	}
	return one(c)
}

func (h Host) inGroups(lo, hi uint64) bool {
	for _, g := range append([]uint32{h.GID}, h.Groups...) {
		if uint64(g) >= lo && uint64(g) <= hi {
			return true
		}
	}
	return false
}

// checkPorts: unprivileged processes may bind host ports from this one up.
func checkPorts(h Host) []Check {
	v, ok := h.sysctl("net.ipv4.ip_unprivileged_port_start")
	if !ok {
		return nil
	}
	c := Check{Name: "net.ipv4.ip_unprivileged_port_start", Status: OK}
	if n, err := strconv.Atoi(v); err == nil && n > 0 && h.UID != 0 {
		c.Detail = fmt.Sprintf("host ports from %d up can be published; lower ones need: %s", n, hints.UnprivilegedPorts)
	} else {
		c.Detail = "every host port can be published"
	}
	return one(c)
}

// checkOverlay: since Linux 5.11 overlayfs can be mounted in a user
// namespace (commit 92dbc9dedccb); before, fuse-overlayfs does it.
func checkOverlay(h Host) []Check {
	c := Check{Name: "overlayfs in user namespaces"}
	rel, _ := h.sysctl("kernel.osrelease")
	fs, _ := h.read("/proc/filesystems")
	loaded := false
	for _, l := range strings.Split(fs, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[len(f)-1] == "overlay" {
			loaded = true
		}
	}
	_, modErr := os.Stat(h.path("/lib/modules/" + rel + "/kernel/fs/overlayfs"))
	switch {
	case !kernelAtLeast(rel, 5, 11):
		c.Status, c.Detail, c.Fix = Warn, "kernel "+rel+" is older than 5.11", hints.OverlayOldKernel
	case loaded:
		c.Status, c.Detail = OK, "kernel "+rel+", overlay loaded"
	case modErr == nil:
		c.Status, c.Detail = OK, "kernel "+rel+", overlay module loads on first use"
	default:
		c.Status, c.Detail, c.Fix = Warn, "kernel "+rel+" has no overlay filesystem loaded", hints.OverlayModule
	}
	return one(c)
}

func kernelAtLeast(release string, major, minor int) bool {
	var a, b int
	if _, err := fmt.Sscanf(release, "%d.%d", &a, &b); err != nil {
		return false
	}
	return a > major || (a == major && b >= minor)
}

// checkLandlock: the unprivileged filesystem sandbox of Linux 5.13+.
func checkLandlock(h Host) []Check {
	if h.LandlockABI == nil {
		return nil
	}
	c := Check{Name: "Landlock"}
	abi, err := h.LandlockABI()
	if err != nil || abi < 1 {
		why := "not enabled"
		if err != nil {
			why += " (" + unwrapErrno(err) + ")"
		}
		c.Status, c.Detail, c.Fix = Warn, why+": no Landlock rules for the program", hints.Landlock
	} else {
		c.Status, c.Detail = OK, fmt.Sprintf("ABI version %d", abi)
	}
	return one(c)
}

// checkCgroup: --memory, --pids-limit and --cpus need a cgroup v2 subtree
// delegated to the user; the same code decides it when the flags are used.
func checkCgroup(h Host) []Check {
	c := Check{Name: "cgroup v2 delegation (--memory, --pids-limit, --cpus)"}
	g, err := cgroups.Find(h.Root)
	if err == nil {
		err = g.Delegated(h.UID, []string{"cpu", "memory", "pids"})
	}
	if err != nil {
		c.Status, c.Fix = Warn, hints.Hint(err)
		var he *hints.Error
		if errors.As(err, &he) && he.Why != nil {
			c.Detail = he.Why.Error()
		} else {
			c.Detail = err.Error()
		}
		return one(c)
	}
	c.Status, c.Detail = OK, fmt.Sprintf("%s is yours, with %s", g.HostDir(), strings.Join(g.Controllers, " "))
	return one(c)
}
