package mounts

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Op is what one Step does.
type Op string

const (
	// OpPrivate makes every mount private (MS_REC|MS_PRIVATE on /).
	OpPrivate Op = "private"
	// OpCapture clones the host tree at Source (open_tree OPEN_TREE_CLONE)
	// and keeps it as ID, before any later mount can cover Source.
	OpCapture Op = "capture"
	// OpRoot attaches a recursive bind of Source on top of Source: a mount
	// point to pivot_root into; later targets resolve inside it.
	OpRoot Op = "root"
	// OpOverlayRoot is OpRoot with an overlayfs: lower Source, upper in
	// Upper (or a private tmpfs when Upper is empty).
	OpOverlayRoot Op = "overlay-root"
	// OpEnsure creates Target (Kind) inside the root if it is missing.
	OpEnsure Op = "ensure"
	// OpSymlink creates Target as a symlink to Link.
	OpSymlink Op = "symlink"
	// OpMount mounts a new FSType filesystem on Target.
	OpMount Op = "mount"
	// OpBind attaches the captured tree ID on Target, or, with Inside, a
	// clone of the sandbox's own Source.
	OpBind Op = "bind"
	// OpSetAttr sets and clears mount attributes (mount_setattr) of the
	// mount whose root is Target.
	OpSetAttr Op = "setattr"
	// OpRemountRO remounts the bind mount on Target read-only, keeping the
	// flags the kernel locked (statfs first).
	OpRemountRO Op = "remount-ro"
	// OpMask hides Target: /dev/null over a file, an empty read-only tmpfs
	// over a directory.
	OpMask Op = "mask"
	// OpFile binds a private read-only file holding Content on Target.
	OpFile Op = "file"
	// OpPivot makes the root the sandbox's / (pivot_root(".", ".")) and
	// detaches the old root.
	OpPivot Op = "pivot"
)

// Kind is what OpEnsure creates.
type Kind string

const (
	KindDir  Kind = "dir"
	KindFile Kind = "file"
	KindLike Kind = "like" // whatever the captured tree ID is
)

// Mount attributes (mount_setattr(2)); the fsmount attributes share them.
const (
	AttrRdonly = unix.MOUNT_ATTR_RDONLY
	AttrNosuid = unix.MOUNT_ATTR_NOSUID
	AttrNodev  = unix.MOUNT_ATTR_NODEV
	AttrNoexec = unix.MOUNT_ATTR_NOEXEC
)

// Step is one operation of the plan.
type Step struct {
	Op     Op
	ID     string // a captured tree
	Source string // a host path (capture, root), or the sandbox's own (bind Inside)
	Inside bool
	Target string // an absolute path inside the root
	FSType string
	// Options go to fsconfig(2): "key=value", or "flag".
	Options   []string
	Attr      uint64 // attributes to set
	Clear     uint64 // attributes to clear
	Recursive bool
	// Strict refuses a symlink anywhere in Target: for the kernel's
	// filesystems a symlink in a root filesystem is an attack or a mistake.
	Strict bool
	// Optional: a missing Target is skipped (masked paths the kernel lacks).
	Optional bool
	// BestEffort: any failure skips the step (a File marked Optional).
	BestEffort bool
	Kind       Kind
	Link       string
	Content    []byte
	Mode       uint32
	// Fallback is a captured tree bound read-only when the mount is refused
	// (a new sysfs needs an unmasked one in view; runc does the same).
	Fallback string
	Upper    string
	Fuse     bool // overlay: fuse-overlayfs, not the kernel's
}

func (s Step) String() string {
	switch s.Op {
	case OpPrivate:
		return "make every mount private (MS_REC|MS_PRIVATE on /)"
	case OpCapture:
		return fmt.Sprintf("clone %s (open_tree%s)", s.Source, rec(s.Recursive))
	case OpRoot:
		return fmt.Sprintf("bind %s as the new root", s.Source)
	case OpOverlayRoot:
		upper := "a private tmpfs"
		if s.Upper != "" {
			upper = s.Upper
		}
		if s.Fuse {
			return fmt.Sprintf("mount fuse-overlayfs on %s (upper layer in %s)", s.Source, upper)
		}
		return fmt.Sprintf("mount overlay on %s (upper layer in %s)", s.Source, upper)
	case OpEnsure:
		if s.Kind == KindLike {
			return fmt.Sprintf("create %s (like %s)", s.Target, s.ID)
		}
		return fmt.Sprintf("create %s (%s)", s.Target, s.Kind)
	case OpSymlink:
		return fmt.Sprintf("symlink %s -> %s", s.Target, s.Link)
	case OpMount:
		return fmt.Sprintf("mount %s on %s (%s)", s.FSType, s.Target, strings.Join(append(attrNames(s.Attr), s.Options...), ","))
	case OpBind:
		src := s.ID
		if s.Inside {
			src = s.Source
		}
		opts := attrNames(s.Attr)
		if s.Recursive {
			opts = append(opts, "recursive")
		}
		if len(opts) == 0 {
			return fmt.Sprintf("bind %s on %s", src, s.Target)
		}
		return fmt.Sprintf("bind %s on %s (%s)", src, s.Target, strings.Join(opts, ","))
	case OpSetAttr:
		var parts []string
		for _, n := range attrNames(s.Attr) {
			parts = append(parts, "+"+n)
		}
		for _, n := range attrNames(s.Clear) {
			parts = append(parts, "-"+n)
		}
		return fmt.Sprintf("set %s on %s (mount_setattr%s)", strings.Join(parts, ","), s.Target, rec(s.Recursive))
	case OpRemountRO:
		return fmt.Sprintf("remount %s read-only", s.Target)
	case OpMask:
		return "mask " + s.Target
	case OpFile:
		return fmt.Sprintf("bind a private file on %s (ro)", s.Target)
	case OpPivot:
		return "pivot_root into the new root and detach the old one"
	}
	return string(s.Op)
}

func rec(r bool) string {
	if r {
		return ", recursive"
	}
	return ""
}

func attrNames(a uint64) []string {
	var out []string
	for _, f := range []struct {
		bit  uint64
		name string
	}{{AttrRdonly, "ro"}, {AttrNosuid, "nosuid"}, {AttrNodev, "nodev"}, {AttrNoexec, "noexec"}} {
		if a&f.bit != 0 {
			out = append(out, f.name)
		}
	}
	return out
}

// Devices are bound from the host: mknod is refused in a user namespace,
// and a bind of the host's node works because the host's /dev is not nodev.
var Devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// devSymlinks are the ones every container runtime makes (runc's
// defaultSymlinks); /dev/ptmx points into the sandbox's own devpts.
var devSymlinks = [][2]string{
	{"/dev/fd", "/proc/self/fd"},
	{"/dev/stdin", "/proc/self/fd/0"},
	{"/dev/stdout", "/proc/self/fd/1"},
	{"/dev/stderr", "/proc/self/fd/2"},
	{"/dev/ptmx", "pts/ptmx"},
}

// MaskedPaths are hidden as runc and podman do: they reveal host kernel
// memory (kcore), other users' keys, timers and hardware.
var MaskedPaths = []string{
	"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/proc/scsi", "/sys/firmware",
	"/sys/devices/virtual/powercap",
}

// ReadOnlyPaths are visible but read-only (docker's and podman's set):
// writing them would change the host kernel's behaviour.
var ReadOnlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}

// Build turns a Spec into the ordered Steps that set the sandbox's
// filesystem up. It is pure. Spec must have passed Validate.
func Build(s Spec) []Step {
	b := &builder{rootfs: s.Rootfs != ""}
	b.add(Step{Op: OpPrivate})

	// 1. Everything that comes from the host is cloned first, before /dev,
	// /tmp or a volume can cover it (a source under /tmp must still be the
	// host's /tmp/...).
	// The working directory: writable; or, with --no-cwd or --rw, bound
	// only where the private /tmp would hide it.
	cwd := ""
	if !b.rootfs && s.WritableDir != "" && writableCwdAllowed(s.WritableDir) {
		cwd = path.Clean(s.WritableDir)
		if !s.RW && !s.NoCwd || isUnder(cwd, "/tmp") {
			b.add(Step{Op: OpCapture, ID: "cwd", Source: cwd, Recursive: true})
		} else {
			cwd = ""
		}
	}
	users := userMounts(s)
	for _, u := range users {
		if u.id != "" {
			b.add(Step{Op: OpCapture, ID: u.id, Source: u.source, Recursive: true})
		}
	}
	for _, d := range Devices {
		b.add(Step{Op: OpCapture, ID: "dev/" + d, Source: "/dev/" + d})
	}
	if b.rootfs {
		b.add(Step{Op: OpCapture, ID: "sys", Source: "/sys", Recursive: true})
	}

	// 2. The root, and the mount points inside it while it is writable.
	b.ours = []string{"/dev", "/tmp"}
	for _, u := range users {
		if u.tmpfs != nil {
			b.ours = append(b.ours, u.dest)
		}
	}
	if b.rootfs {
		if s.Overlay {
			b.add(Step{Op: OpOverlayRoot, Source: s.Rootfs, Upper: s.OverlayDir, Fuse: s.OverlayFuse})
		} else {
			b.add(Step{Op: OpRoot, Source: s.Rootfs})
		}
		for _, d := range []string{"/proc", "/dev", "/sys", "/tmp"} {
			b.add(Step{Op: OpEnsure, Target: d, Kind: KindDir, Strict: true})
		}
		for _, u := range users {
			if !b.underOurs(u.dest, u.self()) {
				b.add(u.ensure())
			}
		}
		if s.ReadOnly {
			b.add(Step{Op: OpSetAttr, Target: "/", Attr: AttrRdonly, Recursive: true})
		}
	} else if !s.RW {
		// Read-only all the way down; the locked flags of the host's
		// mounts are only ever added to, so this never needs a lock lifted.
		b.add(Step{Op: OpSetAttr, Target: "/", Attr: AttrRdonly, Recursive: true})
	}

	// 3. The kernel's filesystems, fresh where the namespaces allow.
	// procfs for the new pid namespace; the kernel allows it only while a
	// full /proc is in view (mount_too_revealing), so before pivot_root.
	b.add(Step{Op: OpMount, FSType: "proc", Target: "/proc", Attr: AttrNosuid | AttrNodev | AttrNoexec, Strict: true})
	b.add(Step{Op: OpMount, FSType: "tmpfs", Target: "/dev", Attr: AttrNosuid, Options: []string{"mode=755", "size=65536k"}, Strict: true})
	for _, d := range Devices {
		b.add(Step{Op: OpEnsure, Target: "/dev/" + d, Kind: KindFile, Strict: true})
		b.add(Step{Op: OpBind, ID: "dev/" + d, Target: "/dev/" + d, Strict: true})
	}
	for _, l := range devSymlinks {
		b.add(Step{Op: OpSymlink, Target: l[0], Link: l[1], Strict: true})
	}
	b.add(Step{Op: OpEnsure, Target: "/dev/pts", Kind: KindDir, Strict: true})
	// newinstance: its own ptmx and pty numbers, not the host's ptys. No
	// gid=5: it may be unmapped (single-id map), and the mount would fail.
	b.add(Step{Op: OpMount, FSType: "devpts", Target: "/dev/pts", Attr: AttrNosuid | AttrNoexec, Options: []string{"newinstance", "ptmxmode=0666", "mode=0620"}, Strict: true})
	b.add(Step{Op: OpEnsure, Target: "/dev/shm", Kind: KindDir, Strict: true})
	b.add(Step{Op: OpMount, FSType: "tmpfs", Target: "/dev/shm", Attr: AttrNosuid | AttrNodev | AttrNoexec, Options: []string{"mode=1777"}, Strict: true})
	if b.rootfs {
		b.add(Step{Op: OpMount, FSType: "sysfs", Target: "/sys", Attr: AttrRdonly | AttrNosuid | AttrNodev | AttrNoexec, Fallback: "sys", Strict: true})
	} else if s.RW {
		b.add(Step{Op: OpSetAttr, Target: "/sys", Attr: AttrRdonly, Recursive: true, Strict: true})
	}
	b.add(Step{Op: OpMount, FSType: "tmpfs", Target: "/tmp", Attr: AttrNosuid | AttrNodev, Options: []string{"mode=1777"}, Strict: true})

	// 4. The user's: the writable working directory, volumes, tmpfs, then
	// the other concerns' files (the hook), parents before children.
	if cwd != "" {
		if b.underOurs(cwd, "") {
			b.add(Step{Op: OpEnsure, Target: cwd, Kind: KindDir})
		}
		bind := Step{Op: OpBind, ID: "cwd", Target: cwd, Recursive: true}
		if s.NoCwd {
			bind.Attr = AttrRdonly
		}
		b.add(bind)
	}
	for _, u := range users {
		// Mount points in the root filesystem were made in step 2; in the
		// host view they must exist (isolate creates nothing on the host).
		if b.underOurs(u.dest, u.self()) {
			b.add(u.ensure())
		}
		b.add(u.step())
	}

	// 5. What the program must not read or change.
	if !s.Unmask {
		for _, p := range MaskedPaths {
			b.add(Step{Op: OpMask, Target: p, Optional: true, Strict: true})
		}
		for _, p := range ReadOnlyPaths {
			b.add(Step{Op: OpBind, Inside: true, Source: p, Target: p, Recursive: true, Optional: true, Strict: true})
			b.add(Step{Op: OpRemountRO, Target: p, Optional: true, Strict: true})
		}
	}

	if b.rootfs {
		b.add(Step{Op: OpPivot})
	}
	return b.steps
}

type builder struct {
	steps  []Step
	rootfs bool
	ours   []string // tmpfs mounted by the plan: mount points in them may be created
}

func (b *builder) add(s Step) { b.steps = append(b.steps, s) }

// underOurs: p lies in a tmpfs that the plan mounts (other than self,
// the mount p itself is for), so its mount point can be created there.
func (b *builder) underOurs(p, self string) bool {
	for _, o := range b.ours {
		if o != self && isUnder(p, o) {
			return true
		}
	}
	return false
}

// isUnder: p is base or inside it.
func isUnder(p, base string) bool {
	p, base = path.Clean(p), path.Clean(base)
	return p == base || strings.HasPrefix(p, base+"/")
}

// writableCwdAllowed: / would make the whole host writable, and the kernel
// filesystems are replaced by the sandbox's own.
func writableCwdAllowed(dir string) bool {
	dir = path.Clean(dir)
	if dir == "/" {
		return false
	}
	for _, k := range []string{"/proc", "/sys", "/dev"} {
		if isUnder(dir, k) {
			return false
		}
	}
	return true
}

// userMount is one volume, tmpfs, extra file or extra bind.
type userMount struct {
	id     string // captured tree (volumes and extra binds)
	source string
	dest   string
	ro     bool
	tmpfs  *Tmpfs
	file   *File
}

func userMounts(s Spec) []userMount {
	var out []userMount
	for i, v := range s.Volumes {
		out = append(out, userMount{id: fmt.Sprintf("volume/%d", i), source: path.Clean(v.Source), dest: path.Clean(v.Dest), ro: v.ReadOnly})
	}
	for i := range s.Tmpfs {
		out = append(out, userMount{dest: path.Clean(s.Tmpfs[i].Dest), tmpfs: &s.Tmpfs[i]})
	}
	// The hook: after the user's own, so that a network file wins over a
	// volume that covers /etc; sorted by depth with the rest.
	for i := range s.ExtraFiles {
		out = append(out, userMount{dest: path.Clean(s.ExtraFiles[i].Dest), file: &s.ExtraFiles[i]})
	}
	for i, v := range s.ExtraBinds {
		out = append(out, userMount{id: fmt.Sprintf("extra/%d", i), source: path.Clean(v.Source), dest: path.Clean(v.Dest), ro: v.ReadOnly})
	}
	// Parents before children, else a later parent would cover a child.
	sort.SliceStable(out, func(i, j int) bool {
		return strings.Count(out[i].dest, "/") < strings.Count(out[j].dest, "/")
	})
	return out
}

// self is the tmpfs this mount adds to the plan's own, if any.
func (u userMount) self() string {
	if u.tmpfs != nil {
		return u.dest
	}
	return ""
}

func (u userMount) ensure() Step {
	s := u.ensureStep()
	s.BestEffort = u.file != nil && u.file.Optional
	return s
}

func (u userMount) ensureStep() Step {
	switch {
	case u.tmpfs != nil:
		return Step{Op: OpEnsure, Target: u.dest, Kind: KindDir}
	case u.file != nil:
		return Step{Op: OpEnsure, Target: u.dest, Kind: KindFile}
	}
	return Step{Op: OpEnsure, Target: u.dest, Kind: KindLike, ID: u.id}
}

func (u userMount) step() Step {
	switch {
	case u.tmpfs != nil:
		attr := uint64(AttrNosuid | AttrNodev)
		if u.tmpfs.ReadOnly {
			attr |= AttrRdonly
		}
		if u.tmpfs.NoExec {
			attr |= AttrNoexec
		}
		return Step{Op: OpMount, FSType: "tmpfs", Target: u.dest, Attr: attr, Options: u.tmpfs.Options}
	case u.file != nil:
		mode := u.file.Mode
		if mode == 0 {
			mode = 0o644
		}
		return Step{Op: OpFile, Target: u.dest, Content: u.file.Content, Mode: mode, BestEffort: u.file.Optional}
	}
	s := Step{Op: OpBind, ID: u.id, Target: u.dest, Recursive: true}
	if u.ro {
		// Recursive: read-only all the way down, submounts included
		// (a plain MS_RDONLY remount would leave them writable).
		s.Attr = AttrRdonly
	}
	return s
}

// WritablePaths lists where the plan lets the program write, as paths
// inside the sandbox (after pivot_root for a rootfs): for a second,
// independent layer such as Landlock, so that a mount mistake is not an
// escape. Host permissions and read-only submounts still apply below them.
func WritablePaths(s Spec) []string {
	if s.RW || s.Rootfs != "" && !s.ReadOnly {
		return []string{"/"}
	}
	out := []string{"/dev", "/tmp"}
	if s.Rootfs == "" && s.WritableDir != "" && !s.NoCwd && writableCwdAllowed(s.WritableDir) {
		out = append(out, path.Clean(s.WritableDir))
	}
	for _, v := range append(append([]Volume{}, s.Volumes...), s.ExtraBinds...) {
		if !v.ReadOnly {
			out = append(out, path.Clean(v.Dest))
		}
	}
	for _, t := range s.Tmpfs {
		if !t.ReadOnly {
			out = append(out, path.Clean(t.Dest))
		}
	}
	return out
}
