package security

import "testing"

// go test -bench . ./pkg/security: what isolate's start-up pays for the
// sealed copy of its binary and for building the default filter.

func BenchmarkSealedExecutable(b *testing.B) {
	for i := 0; i < b.N; i++ {
		f, err := SealedExecutable()
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func BenchmarkCompileDefaultProfile(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := Compile(DefaultProfile().Resolve(DefaultCaps, KernelVersion{6, 18})); err != nil {
			b.Fatal(err)
		}
	}
}
