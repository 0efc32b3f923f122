package sandbox

import (
	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/slirpnet"
)

// prepareNetwork resolves the default mode and checks the host before any
// process starts, so that a missing helper or a taken port is an error
// with nothing to clean up.
func prepareNetwork(cfg *Config) error {
	if cfg.Net.Mode == "" {
		mode, notice := slirpnet.DefaultMode(nil, nil)
		cfg.Net.Mode = mode
		if notice != "" && !cfg.Quiet {
			hints.Notice("%s", notice)
		}
		if cfg.Net.AllowHostLoopback && !mode.UserMode() {
			cfg.Net.AllowHostLoopback = false
		}
	}
	return slirpnet.Check(netOptions(cfg))
}

// netCloneFlags are the namespace flags the network mode removes: --net
// host keeps the host's network namespace.
func netCloneFlags(cfg *Config) uintptr {
	if cfg.Net.Mode == slirpnet.Host {
		return unix.CLONE_NEWNET
	}
	return 0
}

// The network starts (session.setUp) while the child builds its mounts, so
// nothing in it may depend on the child's mount tree (DESIGN: network before
// pivot_root): slirp4netns and pasta join only the child's user and network
// namespaces, veth is configured through nsenter --net, and the port drivers
// meet the child in a tmpfs reached through /proc/PID/fd, which no
// pivot_root moves.

func netOptions(cfg *Config) slirpnet.Options {
	return slirpnet.Options{
		Mode:              cfg.Net.Mode,
		AllowHostLoopback: cfg.Net.AllowHostLoopback,
		Ports:             cfg.Net.Ports,
		PortDriver:        cfg.Net.PortDriver,
		VethSubnet:        cfg.Net.VethSubnet,
		NoInit:            cfg.NoInit,
	}
}

// childErrorOr prefers the child's own report when the network set-up
// failed because the child did: its message says why, "the sandbox exited"
// does not.
func childErrorOr(ch *channel, err error) error {
	if cerr := ch.queuedError(); cerr != nil {
		return cerr
	}
	return err
}
