//go:build !amd64

package security

// No prebuilt default filter: the profile is compiled at each start.
var prebuiltDefault []byte
