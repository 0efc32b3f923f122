package sandbox

import (
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/mounts"

	"github.com/isolate-sandbox/isolate/pkg/slirpnet"
)

// setupNetwork runs inside the new network namespace, before the mounts.
// Interfaces other than lo are configured from the host (slirp4netns and
// pasta with their own options, veth by isolate through nsenter), so this
// side only brings lo up, shows the network's /etc files and serves the
// builtin port driver.
func setupNetwork(cfg *Config) error {
	if cfg.Net.Mode.Private() {
		if err := slirpnet.LoopbackUp(); err != nil {
			return err
		}
	}
	// The network's /etc files are mounted with the rest of the
	// filesystem view (networkFiles), so they land in a --rootfs too.
	if len(cfg.Net.Ports) == 0 || cfg.Net.PortDriver == slirpnet.Implicit {
		return nil
	}
	if err := slirpnet.MakeStateDir(); err != nil {
		return err
	}
	if cfg.Net.PortDriver == slirpnet.Builtin {
		if err := slirpnet.StartBuiltinChild(30 * time.Second); err != nil {
			return err
		}
	}
	return nil
}

// networkFiles are /etc/resolv.conf, /etc/hosts and /etc/hostname for the
// network mode, handed to the mount plan (mounts.Spec.ExtraFiles), which
// binds them read-only in the sandbox's mount namespace only, inside the
// root filesystem when there is one. A file whose mount point is missing
// and cannot be made is left out: in the host view creating it would write
// to the host; in a --rootfs the caller may not own /etc (nor can an
// --overlay copy up a directory of an unmapped owner). An OCI container gets its
// /etc files from its engine (config.json's mounts).
func networkFiles(cfg *Config) []mounts.File {
	if cfg.OCI != nil {
		return nil
	}
	spec := cfg.FS.Spec
	var out []mounts.File
	for _, f := range slirpnet.EtcFiles(cfg.Net.Mode, cfg.Hostname, cfg.Net.sandboxAddr()) {
		dest := "/etc/" + f.Name
		switch {
		case spec.Rootfs == "":
			if _, err := os.Stat(dest); err != nil {
				continue
			}
		default:
			// Only a decision: the mount itself resolves the path inside
			// the root, whatever symlinks the rootfs holds.
			if _, err := os.Lstat(filepath.Join(spec.Rootfs, dest)); err != nil &&
				unix.Access(filepath.Join(spec.Rootfs, "etc"), unix.W_OK) != nil {
				continue
			}
		}
		out = append(out, mounts.File{Dest: dest, Content: []byte(f.Content), Mode: 0o644})
	}
	return out
}
