package sandbox

import (
	"time"

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
// root filesystem when there is one. They are optional: where the mount
// point is missing and cannot be made, the file is left out (in the host
// view isolate creates nothing on the host; a --rootfs may have a /etc the
// caller cannot write, or a volume over it). An OCI container gets its /etc
// files from its engine (config.json's mounts).
func networkFiles(cfg *Config) []mounts.File {
	if cfg.OCI != nil {
		return nil
	}
	var out []mounts.File
	for _, f := range slirpnet.EtcFiles(cfg.Net.Mode, cfg.Hostname, cfg.Net.sandboxAddr()) {
		out = append(out, mounts.File{Dest: "/etc/" + f.Name, Content: []byte(f.Content), Mode: 0o644, Optional: true})
	}
	return out
}
