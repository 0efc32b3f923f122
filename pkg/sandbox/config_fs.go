package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/mounts"
)

// FSConfig is the filesystem: what of the host the program sees (package
// mounts). The default, the host view, shows the host's tree read-only with
// the working directory and a private /tmp writable.
//
// Hook for other concerns: append to FS.ExtraFiles (content, bound
// read-only) or FS.ExtraBinds (host paths) before the child's
// setupFilesystem runs, e.g. from applyNetFlags or setupNetwork; they are
// mounted after the root filesystem, /proc, /dev, /sys, /tmp and the
// user's volumes, resolved inside the root like every other target.
type FSConfig struct {
	mounts.Spec
}

// validate checks the options, then what the parent can see of the host
// (it runs as the same user the sandbox maps to), so that a bad path is
// reported before any process starts.
func (c *FSConfig) validate() error {
	if err := c.Spec.Validate(); err != nil {
		return &hints.Error{What: err.Error(), Hint: "see isolate --help"}
	}
	if c.Rootfs != "" {
		if err := isDir(c.Rootfs); err != nil {
			return &hints.Error{What: "--rootfs " + c.Rootfs, Why: err, Hint: hints.Rootfs}
		}
	}
	if c.OverlayDir != "" {
		if err := isDir(c.OverlayDir); err != nil {
			return &hints.Error{What: "--overlay-dir " + c.OverlayDir, Why: err}
		}
	}
	for _, v := range c.Volumes {
		what := fmt.Sprintf("--volume %s:%s", v.Source, v.Dest)
		if _, err := os.Stat(v.Source); err != nil {
			return &hints.Error{What: what, Why: fmt.Errorf("source %s: %w", v.Source, pathErr(err))}
		}
		if c.Rootfs == "" && !c.createdInside(v.Dest) {
			if _, err := os.Stat(v.Dest); err != nil {
				return &hints.Error{What: what, Why: fmt.Errorf("destination %s: %w", v.Dest, pathErr(err)), Hint: hints.HostViewDest}
			}
		}
	}
	for _, t := range c.Tmpfs {
		if c.Rootfs == "" && !c.createdInside(t.Dest) {
			if _, err := os.Stat(t.Dest); err != nil {
				return &hints.Error{What: "--tmpfs " + t.Dest, Why: pathErr(err), Hint: hints.HostViewDest}
			}
		}
	}
	return nil
}

// createdInside: in the host view, a mount point under a tmpfs of the
// sandbox (/tmp, /dev, a --tmpfs) or under another volume is made, or
// found, inside; anything else must already exist on the host.
func (c *FSConfig) createdInside(dst string) bool {
	under := func(p, base string) bool {
		p, base = path.Clean(p), path.Clean(base)
		return p != base && (base == "/" || len(p) > len(base) && p[:len(base)+1] == base+"/")
	}
	bases := []string{"/tmp", "/dev"}
	for _, t := range c.Tmpfs {
		bases = append(bases, t.Dest)
	}
	for _, v := range c.Volumes {
		bases = append(bases, v.Dest)
	}
	for _, b := range bases {
		if under(dst, b) {
			return true
		}
	}
	return false
}

func isDir(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return pathErr(err)
	}
	if !st.IsDir() {
		return errors.New("not a directory")
	}
	return nil
}

// pathErr drops the path that os.PathError repeats.
func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
