package security

import _ "embed"

//go:embed seccomp_default_amd64.bin
var prebuiltDefault []byte
