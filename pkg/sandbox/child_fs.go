package sandbox

import "github.com/isolate-sandbox/isolate/pkg/mounts"

// setupFilesystem builds the program's view of the filesystem, inside the
// new mount namespace.
func setupFilesystem(cfg *Config) error {
	return mounts.Setup()
}
