package mounts

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// SymlinkError is a target that is, or goes through, a symlink where the
// plan allows none (the kernel filesystems' mount points in a rootfs).
type SymlinkError struct{ Target string }

func (e *SymlinkError) Error() string {
	return fmt.Sprintf("%s is or goes through a symlink, which isolate refuses to follow for this mount", e.Target)
}

// SymlinkTarget names the refused path (package hints finds the error by it).
func (e *SymlinkError) SymlinkTarget() string { return e.Target }

// OverlayError is the kernel refusing overlayfs with no fallback at hand.
type OverlayError struct{ Err error }

func (e *OverlayError) Error() string { return "kernel overlayfs refused: " + e.Err.Error() }
func (e *OverlayError) Unwrap() error { return e.Err }

// OverlayRefused marks the error for package hints.
func (e *OverlayError) OverlayRefused() {}

// sysMounter carries out Steps with the new mount API. Every target is
// opened with openat2(RESOLVE_IN_ROOT) below the root and mounted through
// that file descriptor (move_mount with MOVE_MOUNT_T_EMPTY_PATH), so the
// path that is checked is the path that is mounted on: no string join and
// no window for a symlink swap.
type sysMounter struct {
	root    int            // "/" in the host view; the new root's mount once attached
	trees   map[string]int // captured trees, each attached at most once
	staging int            // a detached private tmpfs (overlay upper, files); -1 until needed
	files   int
	notice  func(format string, args ...any)
}

// NewSysMounter returns the real Mounter. notice prints a one-line notice
// for a fallback that changes what the program sees.
func NewSysMounter(notice func(format string, args ...any)) (Mounter, error) {
	root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /: %w", err)
	}
	return &sysMounter{root: root, trees: map[string]int{}, staging: -1, notice: notice}, nil
}

func (m *sysMounter) Close() error {
	for _, fd := range m.trees {
		unix.Close(fd)
	}
	m.trees = map[string]int{}
	if m.staging >= 0 {
		unix.Close(m.staging)
		m.staging = -1
	}
	unix.Close(m.root)
	return nil
}

func (m *sysMounter) Do(s Step) error {
	switch s.Op {
	case OpPrivate:
		// A mount namespace made by an unprivileged user starts with its
		// mounts as slaves of the host's (mount_namespaces(7)); private
		// also keeps the host's later mounts out, and is what pivot_root
		// requires of the old root's mount.
		return unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
	case OpCapture:
		flags := unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC
		if s.Recursive {
			flags |= unix.AT_RECURSIVE
		}
		fd, err := unix.OpenTree(unix.AT_FDCWD, s.Source, uint(flags))
		if err != nil {
			return err
		}
		m.trees[s.ID] = fd
		return nil
	case OpRoot:
		return m.bindRoot(s.Source)
	case OpOverlayRoot:
		return m.overlayRoot(s.Source, s.Upper)
	case OpEnsure:
		return m.ensure(s)
	case OpSymlink:
		dir, base := splitPath(s.Target)
		pfd, err := m.resolve(dir, s.Strict)
		if err != nil {
			return err
		}
		defer unix.Close(pfd)
		return unix.Symlinkat(s.Link, pfd, base)
	case OpMount:
		err := m.mountNew(s)
		if err != nil && s.Fallback != "" && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)) {
			m.notice("a new %s for the sandbox was refused (%v); the host's is bound read-only instead", s.Target, err)
			return m.bind(Step{ID: s.Fallback, Target: s.Target, Attr: AttrRdonly, Recursive: true, Strict: s.Strict})
		}
		return err
	case OpBind:
		return m.bind(s)
	case OpSetAttr:
		fd, err := m.resolve(s.Target, s.Strict)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.MountSetattr(fd, "", atFlags(s.Recursive), &unix.MountAttr{Attr_set: s.Attr, Attr_clr: s.Clear})
	case OpRemountRO:
		return m.remountRO(s)
	case OpMask:
		return m.mask(s)
	case OpFile:
		return m.file(s)
	case OpPivot:
		return m.pivot()
	}
	return fmt.Errorf("unknown step %q", s.Op)
}

// resolve opens target below the root without ever leaving it: ".." and
// absolute symlinks stop at the root (openat2(2), RESOLVE_IN_ROOT), and
// /proc/self/... magic links are refused. strict refuses every symlink.
func (m *sysMounter) resolve(target string, strict bool) (int, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	if strict {
		how.Resolve |= unix.RESOLVE_NO_SYMLINKS
	}
	for range 16 {
		fd, err := unix.Openat2(m.root, target, &how)
		// EAGAIN: a rename raced with the walk; the kernel asks to retry.
		if err == unix.EAGAIN {
			continue
		}
		if err == unix.ELOOP && strict {
			return -1, &SymlinkError{Target: target}
		}
		return fd, err
	}
	return -1, fmt.Errorf("open %s: %w", target, unix.EAGAIN)
}

func atFlags(recursive bool) uint {
	f := uint(unix.AT_EMPTY_PATH)
	if recursive {
		f |= unix.AT_RECURSIVE
	}
	return f
}

func splitPath(p string) (dir, base string) {
	p = strings.TrimRight(p, "/")
	i := strings.LastIndexByte(p, '/')
	dir, base = p[:i], p[i+1:]
	if dir == "" {
		dir = "/"
	}
	return dir, base
}

// attach moves the detached mount fd onto target.
func (m *sysMounter) attach(fd int, target string, strict bool) error {
	tfd, err := m.resolve(target, strict)
	if err != nil {
		return err
	}
	defer unix.Close(tfd)
	return unix.MoveMount(fd, "", tfd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

func (m *sysMounter) bindRoot(source string) error {
	dfd, err := unix.Open(source, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	tree, err := unix.OpenTree(dfd, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_EMPTY_PATH)
	if err != nil {
		return err
	}
	// On top of the directory itself: pivot_root needs a mount point.
	if err := unix.MoveMount(tree, "", dfd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		unix.Close(tree)
		return err
	}
	unix.Close(m.root)
	m.root = tree // the attached mount's root: every later target resolves below it
	return nil
}

func (m *sysMounter) stagingFd() (int, error) {
	if m.staging >= 0 {
		return m.staging, nil
	}
	fs, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, err
	}
	defer unix.Close(fs)
	if err := unix.FsconfigSetString(fs, "mode", "700"); err != nil {
		return -1, err
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, err
	}
	// Never attached: reachable only through this descriptor.
	fd, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
	if err != nil {
		return -1, err
	}
	m.staging = fd
	return fd, nil
}

// overlayRoot mounts overlayfs with source as the lower layer on top of
// source. Unprivileged overlayfs needs Linux 5.11 and the userxattr option
// (its whiteouts and metadata go into user.* xattrs).
func (m *sysMounter) overlayRoot(source, upperDir string) error {
	lower, err := unix.Open(source, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(lower)
	base := unix.AT_FDCWD
	prefix := upperDir + "/"
	if upperDir == "" {
		if base, err = m.stagingFd(); err != nil {
			return fmt.Errorf("private tmpfs for the upper layer: %w", err)
		}
		prefix = ""
	}
	var layer [2]int
	for i, name := range []string{"upper", "work"} {
		if err := unix.Mkdirat(base, prefix+name, 0o755); err != nil && err != unix.EEXIST {
			return fmt.Errorf("mkdir %s%s: %w", prefix, name, err)
		}
		if layer[i], err = unix.Openat(base, prefix+name, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			return fmt.Errorf("open %s%s: %w", prefix, name, err)
		}
		defer unix.Close(layer[i])
	}
	fdPath := func(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }
	mfd, kerr := kernelOverlay(fdPath(lower), fdPath(layer[0]), fdPath(layer[1]))
	if kerr != nil {
		return m.fuseOverlay(source, lower, layer, kerr)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", lower, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return err
	}
	root, err := unix.OpenTree(mfd, "", unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return err
	}
	unix.Close(m.root)
	m.root = root
	return nil
}

func kernelOverlay(lower, upper, work string) (int, error) {
	fs, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, err
	}
	defer unix.Close(fs)
	for _, kv := range [][2]string{{"lowerdir", lower}, {"upperdir", upper}, {"workdir", work}} {
		if err := unix.FsconfigSetString(fs, kv[0], kv[1]); err != nil {
			return -1, fmt.Errorf("%s: %w", kv[0], err)
		}
	}
	if err := unix.FsconfigSetFlag(fs, "userxattr"); err != nil {
		return -1, fmt.Errorf("userxattr: %w", err)
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, err
	}
	return unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, 0)
}

// fuseOverlay is the fallback for kernels that refuse overlayfs in a user
// namespace: fuse-overlayfs mounts the same layers through /dev/fuse. It
// reaches this process's descriptors through /proc/PID/fd (it runs as the
// same user in the same namespaces) and daemonizes; it dies with the pid
// namespace.
func (m *sysMounter) fuseOverlay(source string, lower int, layer [2]int, kerr error) error {
	bin := ""
	for _, d := range []string{"/usr/bin", "/usr/local/bin", "/bin"} {
		if st, err := os.Stat(d + "/fuse-overlayfs"); err == nil && st.Mode().IsRegular() {
			bin = d + "/fuse-overlayfs"
			break
		}
	}
	if bin == "" {
		return &OverlayError{Err: kerr}
	}
	pid := strconv.Itoa(os.Getpid())
	p := func(fd int) string { return "/proc/" + pid + "/fd/" + strconv.Itoa(fd) }
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", p(lower), p(layer[0]), p(layer[1]))
	cmd := exec.Command(bin, "-o", opts, p(lower))
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	if out, err := cmd.CombinedOutput(); err != nil {
		return &OverlayError{Err: fmt.Errorf("%v; fuse-overlayfs: %v: %s", kerr, err, strings.TrimSpace(string(out)))}
	}
	m.notice("the kernel refused overlayfs (%v); using fuse-overlayfs", kerr)
	root, err := unix.Open(source, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	unix.Close(m.root)
	m.root = root
	return nil
}

func (m *sysMounter) mountNew(s Step) error {
	fs, err := unix.Fsopen(s.FSType, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(fs)
	if err := unix.FsconfigSetString(fs, "source", s.FSType); err != nil {
		return err
	}
	for _, o := range s.Options {
		k, v, hasValue := strings.Cut(o, "=")
		if hasValue {
			err = unix.FsconfigSetString(fs, k, v)
		} else {
			err = unix.FsconfigSetFlag(fs, k)
		}
		if err != nil {
			return fmt.Errorf("option %s: %w", o, err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return err
	}
	mfd, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, int(s.Attr))
	if err != nil {
		return err
	}
	defer unix.Close(mfd)
	return m.attach(mfd, s.Target, s.Strict)
}

func (m *sysMounter) bind(s Step) error {
	var tree int
	if s.Inside {
		sfd, err := m.resolve(s.Source, s.Strict)
		if err != nil {
			return err
		}
		flags := unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC | unix.AT_EMPTY_PATH
		if s.Recursive {
			flags |= unix.AT_RECURSIVE
		}
		tree, err = unix.OpenTree(sfd, "", uint(flags))
		unix.Close(sfd)
		if err != nil {
			return err
		}
	} else {
		fd, ok := m.trees[s.ID]
		if !ok {
			return fmt.Errorf("no captured tree %q", s.ID)
		}
		delete(m.trees, s.ID)
		tree = fd
	}
	defer unix.Close(tree)
	if s.Attr != 0 || s.Clear != 0 {
		// On the detached tree, before anyone can see it writable; with
		// AT_RECURSIVE every submount too.
		if err := unix.MountSetattr(tree, "", atFlags(s.Recursive), &unix.MountAttr{Attr_set: s.Attr, Attr_clr: s.Clear}); err != nil {
			return err
		}
	}
	return m.attach(tree, s.Target, s.Strict)
}

func (m *sysMounter) ensure(s Step) error {
	kind := s.Kind
	if kind == KindLike {
		fd, ok := m.trees[s.ID]
		if !ok {
			return fmt.Errorf("no captured tree %q", s.ID)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		kind = KindFile
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			kind = KindDir
		}
	}
	comps := strings.Split(strings.Trim(s.Target, "/"), "/")
	for i := range comps {
		p := "/" + strings.Join(comps[:i+1], "/")
		fd, err := m.resolve(p, s.Strict)
		if err == nil {
			unix.Close(fd)
			continue
		}
		if err != unix.ENOENT {
			return err
		}
		dir, base := splitPath(p)
		pfd, err := m.resolve(dir, s.Strict)
		if err != nil {
			return err
		}
		if i == len(comps)-1 && kind == KindFile {
			var f int
			f, err = unix.Openat(pfd, base, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
			if err == nil {
				unix.Close(f)
			}
		} else {
			err = unix.Mkdirat(pfd, base, 0o755)
		}
		unix.Close(pfd)
		// EEXIST: a dangling symlink is there; the mount's own resolve
		// then reports it.
		if err != nil && err != unix.EEXIST {
			return fmt.Errorf("create %s: %w", p, err)
		}
	}
	return nil
}

// remountRO makes the bind on target read-only. A remount replaces the
// mount's flags, and the kernel refuses with EPERM to clear flags it locked
// when the mount came from a more privileged namespace (nosuid, nodev,
// noexec, atime; mount_namespaces(7)): so read them first and keep them.
func (m *sysMounter) remountRO(s Step) error {
	fd, err := m.resolve(s.Target, s.Strict)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return err
	}
	const keep = unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC | unix.ST_NOATIME | unix.ST_NODIRATIME | unix.ST_RELATIME
	// ST_* and MS_* share their values for these bits (statfs(2)).
	flags := uintptr(unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY) | uintptr(st.Flags&keep)
	return unix.Mount("", "/proc/self/fd/"+strconv.Itoa(fd), "", flags, "")
}

func (m *sysMounter) mask(s Step) error {
	fd, err := m.resolve(s.Target, s.Strict)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	err = unix.Fstat(fd, &st)
	unix.Close(fd)
	if err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return m.mountNew(Step{FSType: "tmpfs", Target: s.Target, Attr: AttrRdonly | AttrNosuid | AttrNodev | AttrNoexec, Options: []string{"size=4k", "nr_inodes=1"}, Strict: s.Strict})
	}
	return m.bind(Step{Inside: true, Source: "/dev/null", Target: s.Target, Strict: true})
}

func (m *sysMounter) file(s Step) error {
	st, err := m.stagingFd()
	if err != nil {
		return fmt.Errorf("private tmpfs for files: %w", err)
	}
	m.files++
	name := "file" + strconv.Itoa(m.files)
	f, err := unix.Openat(st, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, s.Mode)
	if err != nil {
		return err
	}
	for b := s.Content; len(b) > 0; {
		n, err := unix.Write(f, b)
		if err != nil {
			unix.Close(f)
			return err
		}
		b = b[n:]
	}
	unix.Close(f)
	unix.Fchmodat(st, name, s.Mode, 0)
	tree, err := unix.OpenTree(st, name, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(tree)
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: AttrRdonly | AttrNosuid | AttrNodev | AttrNoexec}); err != nil {
		return err
	}
	return m.attach(tree, s.Target, s.Strict)
}

// pivot makes the root "/" with pivot_root(".", "."): the old root ends up
// stacked under the new one, and a lazy unmount of "." then detaches it, so
// no directory of the new root ever holds the host's tree (pivot_root(2);
// runc's rootfs_linux.go does the same). The whole old tree goes at once,
// which the kernel allows even for the mounts it locked.
func (m *sysMounter) pivot() error {
	if err := unix.Fchdir(m.root); err != nil {
		return fmt.Errorf("fchdir to the new root: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the old root: %w", err)
	}
	return unix.Chdir("/")
}
