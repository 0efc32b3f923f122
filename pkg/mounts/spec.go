package mounts

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Spec is the filesystem the user asked for. It is plain data: it crosses
// from the parent to the sandbox as JSON.
type Spec struct {
	// Rootfs is a container root filesystem to pivot_root into; empty means
	// the host view (the host's own tree, protected).
	Rootfs string `json:"rootfs,omitempty"`
	// ReadOnly mounts the root filesystem read-only (--read-only).
	ReadOnly bool `json:"readOnly,omitempty"`
	// Overlay puts a copy-on-write layer over Rootfs (--overlay); the upper
	// layer lives in a private tmpfs, or in OverlayDir when it is set.
	Overlay    bool   `json:"overlay,omitempty"`
	OverlayDir string `json:"overlayDir,omitempty"`
	// OverlayFuse uses fuse-overlayfs even where the kernel's overlayfs
	// works (it is the automatic fallback where it does not).
	OverlayFuse bool `json:"overlayFuse,omitempty"`
	// Unmask leaves /proc and /sys unmasked and /proc/sys writable (by the
	// namespaces' own rules): the kernel refuses a nested sandbox a new
	// /proc while parts of this one are covered (mount_too_revealing).
	Unmask bool `json:"unmask,omitempty"`
	// RW leaves the host view writable (host permissions still apply).
	RW bool `json:"rw,omitempty"`
	// WritableDir stays writable in the read-only host view: the directory
	// isolate was started in. Empty: none.
	WritableDir string `json:"writableDir,omitempty"`
	// NoCwd keeps WritableDir read-only (--no-cwd); it stays visible where
	// a tmpfs of the sandbox (/tmp) would hide it.
	NoCwd bool `json:"noCwd,omitempty"`

	Volumes []Volume `json:"volumes,omitempty"`
	Tmpfs   []Tmpfs  `json:"tmpfs,omitempty"`

	// ExtraFiles and ExtraBinds are the hook for other concerns (see the
	// package comment): applied after everything above is in place.
	ExtraFiles []File   `json:"extraFiles,omitempty"`
	ExtraBinds []Volume `json:"extraBinds,omitempty"`
}

// Volume is -v SRC:DST[:ro|rw]: a recursive bind of a host path.
type Volume struct {
	Source   string `json:"source"`
	Dest     string `json:"dest"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// Tmpfs is --tmpfs DST[:OPTIONS].
type Tmpfs struct {
	Dest string `json:"dest"`
	// Options for the tmpfs (size=, mode=, nr_inodes=), as key=value.
	Options  []string `json:"options,omitempty"`
	ReadOnly bool     `json:"readOnly,omitempty"`
	NoExec   bool     `json:"noExec,omitempty"`
}

// File is a file whose content the sandbox gets at Dest, read-only.
type File struct {
	Dest    string `json:"dest"`
	Content []byte `json:"content"`
	Mode    uint32 `json:"mode,omitempty"` // default 0644
	// Optional files are skipped when their mount point is missing and
	// cannot be made (a host without /etc/hostname, a root-owned /etc).
	Optional bool `json:"optional,omitempty"`
}

// ParseVolume reads SRC:DST[:ro|rw] (docker's -v). Relative sources are the
// caller's to make absolute; the destination must be absolute.
func ParseVolume(s string) (Volume, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return Volume{}, errors.New("want SRC:DST[:ro|rw]")
	}
	v := Volume{Source: parts[0], Dest: parts[1]}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			v.ReadOnly = true
		case "rw":
		default:
			return Volume{}, fmt.Errorf("unknown option %q: want ro or rw", parts[2])
		}
	}
	if v.Source == "" || v.Dest == "" {
		return Volume{}, errors.New("want SRC:DST[:ro|rw] with both paths non-empty")
	}
	if err := checkDest(v.Dest); err != nil {
		return Volume{}, err
	}
	return v, nil
}

// ParseTmpfs reads DST[:OPTION,...] with the options size=N[k|m|g|%],
// mode=OCTAL, nr_inodes=N[k|m|g], ro, noexec (docker's --tmpfs, minus the
// flags a sandbox always sets: nosuid and nodev).
func ParseTmpfs(s string) (Tmpfs, error) {
	dst, opts, _ := strings.Cut(s, ":")
	t := Tmpfs{Dest: dst}
	if err := checkDest(dst); err != nil {
		return Tmpfs{}, err
	}
	if opts == "" {
		return t, nil
	}
	for _, o := range strings.Split(opts, ",") {
		k, v, hasValue := strings.Cut(o, "=")
		switch {
		case k == "ro" && !hasValue:
			t.ReadOnly = true
		case k == "noexec" && !hasValue:
			t.NoExec = true
		case k == "size" || k == "nr_inodes":
			if !validSize(v, k == "size") {
				return Tmpfs{}, fmt.Errorf("%s=%q: want a number with an optional k, m or g suffix%s", k, v, map[bool]string{true: " (or a percentage)"}[k == "size"])
			}
			t.Options = append(t.Options, k+"="+v)
		case k == "mode":
			m, err := strconv.ParseUint(v, 8, 32)
			if err != nil || m > 0o7777 {
				return Tmpfs{}, fmt.Errorf("mode=%q: want an octal mode such as 1777", v)
			}
			t.Options = append(t.Options, fmt.Sprintf("mode=%o", m))
		default:
			return Tmpfs{}, fmt.Errorf("unknown option %q: want size=, mode=, nr_inodes=, ro or noexec", o)
		}
	}
	return t, nil
}

func validSize(v string, percent bool) bool {
	if v == "" {
		return false
	}
	num := v
	switch last := v[len(v)-1]; {
	case last == 'k' || last == 'K' || last == 'm' || last == 'M' || last == 'g' || last == 'G':
		num = v[:len(v)-1]
	case last == '%' && percent:
		num = v[:len(v)-1]
	}
	_, err := strconv.ParseUint(num, 10, 64)
	return err == nil
}

// checkDest: a destination is an absolute path inside the sandbox; ".."
// is refused outright rather than cleaned, so what the user wrote is what
// gets mounted.
func checkDest(dst string) error {
	if !filepath.IsAbs(dst) {
		return fmt.Errorf("destination %q must be an absolute path", dst)
	}
	for _, c := range strings.Split(dst, "/") {
		if c == ".." {
			return fmt.Errorf("destination %q must not contain ..", dst)
		}
	}
	if strings.ContainsRune(dst, 0) {
		return fmt.Errorf("destination %q contains a NUL byte", dst)
	}
	if filepath.Clean(dst) == "/" {
		return fmt.Errorf("destination %q: cannot mount over the root (use --rootfs)", dst)
	}
	return nil
}

// Validate checks what needs no file system access.
func (s *Spec) Validate() error {
	if s.Overlay && s.Rootfs == "" {
		return errors.New("--overlay needs --rootfs (the copy-on-write layer goes over a root filesystem)")
	}
	if s.OverlayDir != "" && !s.Overlay {
		return errors.New("--overlay-dir needs --overlay")
	}
	if s.OverlayFuse && !s.Overlay {
		return errors.New("--overlay-fuse needs --overlay")
	}
	if s.Rootfs != "" && !filepath.IsAbs(s.Rootfs) {
		return fmt.Errorf("--rootfs %q must be an absolute path", s.Rootfs)
	}
	for _, v := range append(append([]Volume{}, s.Volumes...), s.ExtraBinds...) {
		if !filepath.IsAbs(v.Source) {
			return fmt.Errorf("volume source %q must be an absolute path", v.Source)
		}
		if err := checkDest(v.Dest); err != nil {
			return err
		}
	}
	for _, t := range s.Tmpfs {
		if err := checkDest(t.Dest); err != nil {
			return err
		}
	}
	for _, f := range s.ExtraFiles {
		if err := checkDest(f.Dest); err != nil {
			return err
		}
	}
	return nil
}
