package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/mounts"
	"github.com/isolate-sandbox/isolate/pkg/sandbox"
)

// fsUsage is the FILESYSTEM section of --help: what the default protects.
const fsUsage = `

FILESYSTEM:
   By default PROGRAM sees the host's files but can write only the current
   directory and a private, empty /tmp (a tmpfs, gone at exit): everything
   else, your home included, is read-only. /proc is the sandbox's own, with
   kcore, keys, timer_list and the like masked and /proc/sys read-only; /dev
   holds only null, zero, full, random, urandom, tty, pts (its own ptys) and
   shm (private); /sys is read-only. Host permissions still apply on top.
   --rw lifts the read-only rule, --no-cwd keeps the current directory
   read-only too. --rootfs DIR runs in a container root filesystem instead
   (pivot_root; the host's tree is unreachable); --overlay keeps DIR
   unchanged by writing to a copy-on-write layer.`

func fsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "rw", Usage: "host view: leave the host writable (host permissions still apply)"},
		&cli.BoolFlag{Name: "no-cwd", Usage: "host view: keep the current directory read-only too"},
		&cli.StringFlag{Name: "rootfs", Usage: "run in the root filesystem in `DIR` (pivot_root) instead of the host view"},
		&cli.BoolFlag{Name: "read-only", Usage: "mount the --rootfs read-only"},
		&cli.BoolFlag{Name: "overlay", Usage: "write to a copy-on-write layer over the --rootfs, discarded at exit; the rootfs is never modified"},
		&cli.StringFlag{Name: "overlay-dir", Usage: "keep the --overlay upper layer in `DIR` (DIR/upper, DIR/work) instead of discarding it"},
		&cli.StringSliceFlag{Name: "volume", Aliases: []string{"v"}, Usage: "bind `SRC:DST[:ro|rw]` (recursive; ro is read-only all the way down; repeatable)"},
		&cli.StringSliceFlag{Name: "tmpfs", Usage: "mount a private tmpfs on `DST[:size=N,mode=OCTAL,nr_inodes=N,ro,noexec]` (repeatable)"},
	}
}

func applyFsFlags(c *cli.Context, cfg *sandbox.Config) error {
	fs := &cfg.FS
	fs.RW = c.Bool("rw")
	fs.ReadOnly = c.Bool("read-only")
	fs.Overlay = c.Bool("overlay")
	fs.OverlayDir = absPath(c.String("overlay-dir"))
	fs.Rootfs = absPath(c.String("rootfs"))
	if fs.Rootfs != "" {
		if !c.IsSet("workdir") {
			// The host's current directory means nothing in another root.
			cfg.Cwd = "/"
		}
	} else if !c.Bool("no-cwd") {
		if wd, err := os.Getwd(); err == nil {
			fs.WritableDir = wd
		}
	}
	for _, s := range c.StringSlice("volume") {
		v, err := mounts.ParseVolume(s)
		if err != nil {
			return &hints.Error{What: "--volume " + s, Why: err, Hint: "e.g. -v /srv/data:/data:ro"}
		}
		v.Source = absPath(v.Source)
		fs.Volumes = append(fs.Volumes, v)
	}
	for _, s := range c.StringSlice("tmpfs") {
		t, err := mounts.ParseTmpfs(s)
		if err != nil {
			return &hints.Error{What: "--tmpfs " + s, Why: err, Hint: "e.g. --tmpfs /scratch:size=64m,mode=1777"}
		}
		fs.Tmpfs = append(fs.Tmpfs, t)
	}
	if fs.ReadOnly && fs.Rootfs == "" {
		return &hints.Error{What: "--read-only", Why: fmt.Errorf("needs --rootfs (the host view is read-only already)")}
	}
	return nil
}

// absPath makes a host path absolute against isolate's directory, as the
// shell user meant it.
func absPath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func init() {
	// -v is --volume, as in docker and podman; urfave/cli gives -v to
	// --version unless told otherwise.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version"}
}
