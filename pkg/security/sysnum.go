package security

import "sort"

// sysnum is one entry of the generated syscall tables (sysnum_linux_*.go),
// which are sorted by name. A sorted array rather than a map: the compiler
// lays it out in the binary's data, where a map literal of 400 entries is
// built by code at every start of isolate and of its sandbox child, though
// the compiler that reads it rarely runs (the default filter is prebuilt).
type sysnum struct {
	name string
	nr   uint32
}

// syscallNumber is the number of the named syscall on this architecture.
func syscallNumber(name string) (uint32, bool) {
	i := sort.Search(len(syscallTable), func(i int) bool { return syscallTable[i].name >= name })
	if i < len(syscallTable) && syscallTable[i].name == name {
		return syscallTable[i].nr, true
	}
	return 0, false
}
