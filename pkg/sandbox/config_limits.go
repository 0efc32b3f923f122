package sandbox

// LimitsConfig is the resource limits and timeouts.
type LimitsConfig struct{}

func (c *LimitsConfig) validate() error { return nil }
