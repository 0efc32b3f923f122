//go:build !amd64 && !arm64

package security

// Only amd64 and arm64 have syscall tables (gen_sysnum.go): on other
// machines Compile refuses, and --seccomp unconfined is the way to run.
const nativeAuditArch = 0

const nativeArchName = "unsupported"

var syscallTable = [...]sysnum{}
