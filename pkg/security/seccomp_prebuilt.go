package security

// The default profile with docker's capabilities is what almost every run
// loads, and compiling it is the same work each time: about 0.4 ms of CPU
// and 200 KB of garbage in isolate's parent, while the sandbox waits for
// it. Its compiled form is kept in the binary (seccomp_default_amd64.bin,
// next to the syscall table it was compiled for); a test compiles it again
// and fails if the copy is stale:
//
//	go test ./pkg/security -run PrebuiltDefaultFilter -update

// DefaultFilter is DefaultProfile resolved for bounding and compiled, from
// the prebuilt copy; ok is false where there is none (another bounding
// set, another architecture), and the caller compiles the profile itself.
// The default profile has no kernel-version rules, so the kernel does not
// matter.
func DefaultFilter(bounding CapSet) (p *Program, ok bool) {
	if bounding != DefaultCaps || len(prebuiltDefault) == 0 {
		return nil, false
	}
	p = &Program{}
	if err := p.UnmarshalBinary(prebuiltDefault); err != nil {
		return nil, false
	}
	return p, true
}
