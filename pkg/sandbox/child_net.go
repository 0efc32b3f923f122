package sandbox

import (
	"time"

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
	// These binds live in the sandbox's mount namespace only. They are made
	// on the host's /etc as the sandbox sees it now; when a rootfs is
	// pivoted to, its /etc needs them again (issue 4 meets this here).
	files := slirpnet.EtcFiles(cfg.Net.Mode, cfg.Hostname, cfg.Net.sandboxAddr())
	if err := slirpnet.BindEtcFiles("/", files); err != nil {
		return err
	}
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
