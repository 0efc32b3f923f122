package sandbox

// FSConfig is the filesystem: what of the host the program sees (package mounts).
type FSConfig struct{}

func (c *FSConfig) validate() error { return nil }
