package hints

import "fmt"

// Fixes for hosts that block isolate. The errors at the failing call and
// `isolate doctor` print the same texts.
const (
	MaxUserNamespaces       = "sudo sysctl -w user.max_user_namespaces=15000"
	UnprivilegedUsernsClone = "sudo sysctl -w kernel.unprivileged_userns_clone=1"
	NoUserNS                = "this kernel has no user namespace support (CONFIG_USER_NS)"
	InstallUIDMap           = "sudo apt-get install uidmap (Debian/Ubuntu; shadow-utils on Fedora): it installs newuidmap and newgidmap setuid root"
	InstallSlirp4netns      = "sudo apt-get install slirp4netns"
	InstallPasta            = "sudo apt-get install passt (it provides pasta)"
	TunMissing              = "sudo modprobe tun (and make it permanent: echo tun | sudo tee /etc/modules-load.d/tun.conf)"
	TunMode                 = `sudo chmod 0666 /dev/net/tun (its usual mode; to keep it: echo 'KERNEL=="tun", MODE="0666"' | sudo tee /etc/udev/rules.d/50-tun.rules)`
	OverlayModule           = "sudo modprobe overlay"
	OverlayOldKernel        = "a kernel of 5.11 or newer mounts overlayfs in user namespaces; otherwise: sudo apt-get install fuse-overlayfs"
	Landlock                = "boot a kernel with CONFIG_SECURITY_LANDLOCK=y and landlock in its lsm= list (e.g. lsm=landlock,lockdown,yama,apparmor,bpf)"
	PingGroupRange          = `sudo sysctl -w net.ipv4.ping_group_range="0 2147483647"`
	UnprivilegedPorts       = "sudo sysctl -w net.ipv4.ip_unprivileged_port_start=0"
	CgroupV2                = "boot with systemd.unified_cgroup_hierarchy=1 (a cgroup v2 host), then run isolate in a delegated scope: systemd-run --user --scope -p Delegate=yes isolate ..."
	CgroupDelegate          = "run isolate in a delegated scope: systemd-run --user --scope -p Delegate=yes isolate ..."
	ProcMasked              = "the kernel refuses a new /proc when parts of the existing one are masked (as inside many containers): run isolate where /proc is not over-mounted, e.g. docker --security-opt systempaths=unconfined"
	CgroupOwnScope          = "run isolate in a scope of its own: systemd-run --user --scope -p Delegate=yes isolate ..."
)

// AddSubIDs gives user a range of 65536 subordinate ids, enough for any
// image (usermod(8)).
func AddSubIDs(user string) string {
	return fmt.Sprintf("sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s", user)
}

// ChmodHelper makes a uid-map helper setuid root again.
func ChmodHelper(path string) string {
	return fmt.Sprintf("sudo chmod u+s %s (or reinstall: %s)", path, InstallUIDMap)
}

// AppArmorProfile is a profile that lets the binary at exe create user
// namespaces under Ubuntu 23.10+'s restriction, and how to load it.
func AppArmorProfile(exe string) string {
	return fmt.Sprintf("printf 'abi <abi/4.0>,\\ninclude <tunables/global>\\nprofile isolate %s flags=(unconfined) {\\n  userns,\\n}\\n' | sudo tee /etc/apparmor.d/isolate && sudo apparmor_parser -r /etc/apparmor.d/isolate"+
		" (or, for the whole machine: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)", exe)
}

// CgroupNSDelegate makes cgroup namespaces delegation boundaries.
const CgroupNSDelegate = "sudo mount -o remount,nsdelegate /sys/fs/cgroup (systemd mounts cgroup2 so by default)"

// CgroupControllers makes systemd delegate every controller to user
// sessions (by default it delegates only memory and pids).
const CgroupControllers = `sudo mkdir -p /etc/systemd/system/user@.service.d && printf '[Service]\nDelegate=cpu cpuset io memory pids\n' | sudo tee /etc/systemd/system/user@.service.d/delegate.conf && sudo systemctl daemon-reload, then log in again`
