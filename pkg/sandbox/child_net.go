package sandbox

import "github.com/isolate-sandbox/isolate/pkg/slirpnet"

// setupNetwork runs inside the new network namespace, before the mounts.
func setupNetwork(cfg *Config) error {
	return slirpnet.LoopbackUp()
}
