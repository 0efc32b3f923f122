package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// execFifoFd is the child's end of the exec fifo (ExtraFiles[1]) of an OCI
// container: a read end that `isolate start` writes one byte into.
const execFifoFd = 4

// consoleFd is the console socket (ExtraFiles[2]) when process.terminal.
const consoleFd = 5

// nsFlags are the namespace types a config.json names, as clone flags.
var nsFlags = map[specs.LinuxNamespaceType]int{
	specs.UserNamespace:    unix.CLONE_NEWUSER,
	specs.MountNamespace:   unix.CLONE_NEWNS,
	specs.PIDNamespace:     unix.CLONE_NEWPID,
	specs.UTSNamespace:     unix.CLONE_NEWUTS,
	specs.IPCNamespace:     unix.CLONE_NEWIPC,
	specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.CgroupNamespace:  unix.CLONE_NEWCGROUP,
	specs.TimeNamespace:    unix.CLONE_NEWTIME,
}

// JoinableNamespaces can be joined by path from the child: setns(2) of
// these affects only the calling thread, which is locked and is the one that
// execs the program. User and mount namespaces refuse a multi-threaded
// caller (setns(2): EINVAL), and a pid namespace is entered only by
// children, so joining those would need code that runs before the Go
// runtime starts threads (runc's nsexec), which isolate does not have.
var JoinableNamespaces = map[specs.LinuxNamespaceType]bool{
	specs.NetworkNamespace: true,
	specs.IPCNamespace:     true,
	specs.UTSNamespace:     true,
	specs.CgroupNamespace:  true,
}

// enterOCI runs first in the child of an OCI container.
func enterOCI(cfg *Config) error {
	if cfg.OCI == nil {
		return nil
	}
	// `isolate create` exits once the container is created and the
	// container must outlive it (the engine's monitor, such as conmon,
	// or the host's init reaps it): no parent-death signal.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0); err != nil {
		return &hints.Error{What: "prctl(PR_SET_PDEATHSIG, 0)", Why: err}
	}
	// Inherited without close-on-exec across the child's execve; the program
	// must never get it (CVE-2024-21626 is a leaked fd).
	unix.CloseOnExec(execFifoFd)
	if cfg.OCI.Terminal {
		unix.CloseOnExec(consoleFd)
	}
	for _, ns := range cfg.OCI.Namespaces {
		if ns.Path == "" {
			continue
		}
		fd, err := unix.Open(ns.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return &hints.Error{What: fmt.Sprintf("linux.namespaces: open %s namespace %s", ns.Type, ns.Path), Why: err}
		}
		err = unix.Setns(fd, nsFlags[ns.Type])
		unix.Close(fd)
		if err != nil {
			return &hints.Error{What: fmt.Sprintf("linux.namespaces: join %s namespace %s (setns)", ns.Type, ns.Path), Why: err}
		}
	}
	if adj := cfg.OCI.OOMScoreAdj; adj != nil {
		// Raising it is always allowed; lowering it needs CAP_SYS_RESOURCE
		// in the initial user namespace (proc(5)).
		if err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*adj)), 0); err != nil {
			return &hints.Error{What: fmt.Sprintf("process.oomScoreAdj %d", *adj), Why: unwrapPath(err)}
		}
	}
	return nil
}

// beforeFilesystemOCI runs the createContainer hooks in the container's
// namespaces before its mounts are made, so that their paths still resolve
// in the runtime's filesystem as the spec requires, and writes linux.sysctl
// while /proc/sys is still writable (the plan makes it read-only). The
// kernel resolves net, ipc and uts sysctls by the writer's namespaces, so
// these land in the container's.
func beforeFilesystemOCI(cfg *Config) error {
	if cfg.OCI == nil {
		return nil
	}
	for i, h := range cfg.OCI.CreateContainer {
		if err := RunHook(h, cfg.OCI.State); err != nil {
			return &hints.Error{What: fmt.Sprintf("hooks.createContainer[%d] %s", i, h.Path), Why: err}
		}
	}
	if cfg.FS.Rootfs != "" && cfg.Cwd != "" {
		if err := makeCwd(cfg.FS.Rootfs, cfg.Cwd); err != nil {
			return &hints.Error{What: "process.cwd: create " + cfg.Cwd + " in the root filesystem", Why: err}
		}
	}
	for k, v := range cfg.OCI.Sysctl {
		p := filepath.Join("/proc/sys", strings.ReplaceAll(k, ".", "/"))
		if err := os.WriteFile(p, []byte(v), 0); err != nil {
			return &hints.Error{What: fmt.Sprintf("linux.sysctl %s=%s", k, v), Why: unwrapPath(err)}
		}
	}
	return nil
}

// propagation is linux.rootfsPropagation as mount(2) flags.
var propagation = map[string]uintptr{
	"private": unix.MS_PRIVATE, "slave": unix.MS_SLAVE, "shared": unix.MS_SHARED, "unbindable": unix.MS_UNBINDABLE,
}

// afterFilesystemOCI adds what config.json asks beyond the filesystem
// plan, inside the new root (after pivot_root every path resolves in the
// container's own tree, so a symlink in the image cannot lead out).
func afterFilesystemOCI(cfg *Config) error {
	if cfg.OCI == nil {
		return nil
	}
	o := cfg.OCI
	for _, m := range o.KernelMounts {
		if err := kernelMount(m); err != nil {
			return &hints.Error{What: fmt.Sprintf("mounts: %s on %s", m.Type, m.Destination), Why: err}
		}
	}
	for _, d := range o.Devices {
		if err := makeDevice(d); err != nil {
			return &hints.Error{What: "linux.devices: mknod " + d.Path, Why: err}
		}
	}
	for _, p := range o.MaskedPaths {
		if err := maskPath(p); err != nil {
			return &hints.Error{What: "linux.maskedPaths: mask " + p, Why: err}
		}
	}
	for _, p := range o.ReadonlyPaths {
		if err := readonlyPath(p); err != nil {
			return &hints.Error{What: "linux.readonlyPaths: make " + p + " read-only", Why: err}
		}
	}
	if o.Terminal {
		if err := setupConsole(cfg); err != nil {
			return err
		}
	}
	if rp := o.RootfsPropagation; rp != "" {
		flags := propagation[strings.TrimPrefix(rp, "r")]
		if strings.HasPrefix(rp, "r") {
			flags |= unix.MS_REC
		}
		if err := unix.Mount("", "/", "", flags, ""); err != nil {
			return &hints.Error{What: "linux.rootfsPropagation " + rp, Why: err}
		}
	}
	return nil
}

// makeCwd creates a missing process.cwd in the root filesystem, as runc
// does, before the root may become read-only. Every component is resolved
// inside the root (openat2 RESOLVE_IN_ROOT): a symlink planted in the
// image cannot make isolate create a directory outside of it.
func makeCwd(rootfs, cwd string) error {
	root, err := unix.Open(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(root)
	dir := "."
	for _, c := range strings.Split(strings.Trim(filepath.Clean(cwd), "/"), "/") {
		if c == "" {
			continue
		}
		parent, err := unix.Openat2(root, dir, &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
		if err != nil {
			return err
		}
		err = unix.Mkdirat(parent, c, 0o755)
		unix.Close(parent)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return err
		}
		dir = filepath.Join(dir, c)
	}
	return nil
}

// mountFlags are the mount(2) flags among config.json's mount options;
// the rest (mode=, size=, ...) is the filesystem's data.
var mountFlags = map[string]uintptr{
	"ro": unix.MS_RDONLY, "nosuid": unix.MS_NOSUID, "nodev": unix.MS_NODEV, "noexec": unix.MS_NOEXEC,
	"relatime": unix.MS_RELATIME, "strictatime": unix.MS_STRICTATIME, "noatime": unix.MS_NOATIME,
	"sync": unix.MS_SYNCHRONOUS, "dirsync": unix.MS_DIRSYNC,
}

// kernelMount mounts an mqueue, the /dev/shm tmpfs or sysfs (or, for a
// rootless config, a bind of /sys) as config.json gives it. The plan
// already made /dev/shm and /sys; a new mount on top carries the
// config's source and options and keeps the config's order in the mount
// table, which engines and the runtime-spec tests read.
func kernelMount(m specs.Mount) error {
	if !remade(m) {
		// A bind or tmpfs of the plan, attached again at this point of
		// the order.
		return reattach(m)
	}
	var flags uintptr
	var data []string
	bind := false
	for _, o := range m.Options {
		switch {
		case mountFlags[o] != 0:
			flags |= mountFlags[o]
		case o == "bind" || o == "rbind":
			bind = true
		case strings.Contains(o, "="):
			data = append(data, o)
		}
	}
	if err := os.MkdirAll(m.Destination, 0o755); err != nil {
		return unwrapPath(err)
	}
	src := m.Source
	if src == "" {
		src = m.Type
	}
	if !bind {
		err := unix.Mount(src, m.Destination, m.Type, flags, strings.Join(data, ","))
		if err == nil || m.Type != "sysfs" {
			return err
		}
		// A new sysfs needs the network namespace's owner to be the
		// initial user namespace: rootless, bind the plan's /sys instead.
	}
	if err := unix.Mount(m.Destination, m.Destination, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	var st unix.Statfs_t
	if err := unix.Statfs(m.Destination, &st); err != nil {
		return err
	}
	locked := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	return unix.Mount(m.Destination, m.Destination, "", unix.MS_BIND|unix.MS_REMOUNT|flags|locked, "")
}

// remade mirrors oci.remade: the mounts made here from config.json.
func remade(m specs.Mount) bool {
	bind := m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
	return m.Type == "mqueue" || m.Destination == "/sys" && (m.Type == "sysfs" || bind) || m.Destination == "/dev/shm" && m.Type == "tmpfs"
}

// reattach binds the mount at m.Destination on itself: a new mount with
// the same content and flags, later in the mount table.
func reattach(m specs.Mount) error {
	if err := unix.Mount(m.Destination, m.Destination, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	if !slices.Contains(m.Options, "ro") {
		return nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs(m.Destination, &st); err != nil {
		return err
	}
	locked := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	return unix.Mount(m.Destination, m.Destination, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|locked, "")
}

// makeDevice creates one linux.devices node; one that the filesystem plan
// already bound (null, zero, ...) is left as it is.
func makeDevice(d specs.LinuxDevice) error {
	if _, err := os.Lstat(d.Path); err == nil {
		return nil
	}
	mode := uint32(0o666)
	if d.FileMode != nil {
		mode = uint32(*d.FileMode) & 0o7777
	}
	switch d.Type {
	case "c", "u":
		mode |= unix.S_IFCHR
	case "b":
		mode |= unix.S_IFBLK
	case "p":
		mode |= unix.S_IFIFO
	}
	if err := os.MkdirAll(filepath.Dir(d.Path), 0o755); err != nil {
		return unwrapPath(err)
	}
	if err := unix.Mknod(d.Path, mode, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))); err != nil {
		return err
	}
	// mknod(2) applies the umask; the config's mode is meant exactly.
	if err := unix.Chmod(d.Path, mode&0o7777); err != nil {
		return err
	}
	uid, gid := -1, -1
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	return unix.Lchown(d.Path, uid, gid)
}

// maskPath hides p as runc does: /dev/null over a file, an empty
// read-only tmpfs over a directory. A path the image lacks is fine.
func maskPath(p string) error {
	st, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return unwrapPath(err)
	}
	if st.IsDir() {
		return unix.Mount("tmpfs", p, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=0")
	}
	return unix.Mount("/dev/null", p, "", unix.MS_BIND, "")
}

// readonlyPath binds p on itself and remounts it read-only, keeping the
// flags the kernel locked on it (a remount that drops a locked nosuid,
// nodev or noexec fails with EPERM in a user namespace).
func readonlyPath(p string) error {
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return err
	}
	keep := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
	return unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|keep, "")
}

// waitForStart is the end of `isolate create`: the child tells the parent
// that the container is created, then blocks until `isolate start` writes
// to the exec fifo. It runs after the privileges are dropped, right before
// the program's execve.
func waitForStart(ch *channel, cfg *Config) error {
	if err := ch.send(message{Type: msgCreated}); err != nil {
		os.Exit(hints.ExitSetup) // the parent is gone: nobody will start us
	}
	ch.Close()
	// poll(2) on a fifo's read end reports POLLHUP only after a writer
	// came and went (fifo_poll: f_pipe != w_counter), so this sleeps
	// until `isolate start` opens the fifo and writes its byte.
	fds := []unix.PollFd{{Fd: execFifoFd, Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return &hints.Error{What: "wait for start (poll exec fifo)", Why: err}
		}
		break
	}
	var b [1]byte
	if n, err := unix.Read(execFifoFd, b[:]); n != 1 {
		return &hints.Error{What: "wait for start: the exec fifo was closed without a start", Why: err}
	}
	unix.Close(execFifoFd)
	for i, h := range cfg.OCI.StartContainer {
		if err := RunHook(h, cfg.OCI.State); err != nil {
			return &hints.Error{What: fmt.Sprintf("hooks.startContainer[%d] %s", i, h.Path), Why: err}
		}
	}
	if cfg.User.Umask != nil {
		unix.Umask(int(*cfg.User.Umask))
	}
	return nil
}

// setupConsole makes the container's terminal as runc does: a pty of the
// container's own devpts (so that tty(1) and ttyname(3) find it under
// /dev/pts), its slave on stdin, stdout, stderr and /dev/console and as
// the controlling terminal, its master sent to the engine.
func setupConsole(cfg *Config) error {
	fail := func(what string, err error) error {
		return &hints.Error{What: "process.terminal: " + what, Why: err}
	}
	var size *unix.Winsize
	if sz := cfg.OCI.ConsoleSize; sz != nil {
		size = &unix.Winsize{Row: uint16(sz.Height), Col: uint16(sz.Width)}
	}
	p, err := openPTY(cfg.User.UID, cfg.User.GID, size)
	if err != nil {
		return fail("make the pty", err)
	}
	defer unix.Close(p.master)
	if fd, err := unix.Open("/dev/console", unix.O_CREAT|unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600); err == nil {
		unix.Close(fd)
		if err := unix.Mount(p.name, "/dev/console", "", unix.MS_BIND, ""); err != nil {
			return fail("bind "+p.name+" on /dev/console", err)
		}
	}
	if err := unix.Sendmsg(consoleFd, []byte(p.name), unix.UnixRights(p.master), nil, 0); err != nil {
		return fail("send the pty master to the console socket", err)
	}
	unix.Close(consoleFd)
	// This process leads its own session (Setsid at clone).
	return takeTerminal(p, "process.terminal")
}
