package sandbox

// NetConfig is the network: the mode and published ports (package slirpnet).
type NetConfig struct{}

func (c *NetConfig) validate() error { return nil }
