package oci

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Logger writes warnings and errors to --log (text or runc's json lines)
// or, without one, to stderr. Engines pass --log and read the file when a
// command fails.
type Logger struct {
	W    io.Writer // nil: stderr
	JSON bool
}

// Warn says what isolate did not do as asked.
func (l *Logger) Warn(format string, a ...any) { l.write("warning", fmt.Sprintf(format, a...)) }

// Error records a failure (the caller also prints it on stderr).
func (l *Logger) Error(msg string) {
	if l != nil && l.W != nil {
		l.write("error", msg)
	}
}

func (l *Logger) write(level, msg string) {
	msg = strings.ReplaceAll(msg, "\n", " ")
	if l == nil || l.W == nil {
		fmt.Fprintf(os.Stderr, "isolate: %s: %s\n", level, msg)
		return
	}
	if l.JSON {
		b, _ := json.Marshal(map[string]string{"level": level, "msg": msg, "time": time.Now().UTC().Format(time.RFC3339Nano)})
		fmt.Fprintf(l.W, "%s\n", b)
		return
	}
	fmt.Fprintf(l.W, "%s isolate: %s: %s\n", time.Now().UTC().Format(time.RFC3339), level, msg)
}
