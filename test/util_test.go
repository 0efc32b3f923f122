package test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var (
	programsMu sync.Mutex
	programs   = map[string]string{}
)

// testProgram builds a helper program of the tests (test/NAME) once, static
// and readable by the test user, and returns its path.
func testProgram(t *testing.T, name string) string {
	t.Helper()
	programsMu.Lock()
	defer programsMu.Unlock()
	if p, ok := programs[name]; ok {
		return p
	}
	p := filepath.Join(workDir, name)
	cmd := exec.Command("go", "build", "-o", p, "./"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatal(fmt.Errorf("go build ./%s: %v: %s", name, err, out))
	}
	os.Chmod(p, 0o755)
	programs[name] = p
	return p
}
