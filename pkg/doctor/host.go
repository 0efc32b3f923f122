package doctor

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// RealHost is the machine isolate runs on, as the calling user.
func RealHost() Host {
	h := Host{
		Root: "/",
		UID:  uint32(os.Getuid()),
		GID:  uint32(os.Getgid()),
		Path: filepath.SplitList(os.Getenv("PATH")),
	}
	if gs, err := os.Getgroups(); err == nil {
		for _, g := range gs {
			h.Groups = append(h.Groups, uint32(g))
		}
	}
	if u, err := user.LookupId(strconv.Itoa(int(h.UID))); err == nil {
		h.User = u.Username
	}
	if exe, err := os.Executable(); err == nil {
		h.Exe = exe
	}
	h.Version = runVersion
	h.LandlockABI = landlockABI
	h.TryUserNS = tryUserNS
	return h
}

// runVersion runs a helper with --version; the bound keeps a broken helper
// from hanging the doctor.
func runVersion(path string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		return "", err
	}
	return firstLine(out), nil
}

func firstLine(b []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			return l
		}
	}
	return "(no version printed)"
}

// landlockABI asks the kernel (landlock_create_ruleset(2)).
func landlockABI() (int, error) {
	abi, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0, errno
	}
	return int(abi), nil
}

// tryUserNS runs /bin/true in a new user namespace, as the sandbox would
// be created.
func tryUserNS() error {
	truePath, err := exec.LookPath("true")
	if err != nil {
		truePath = "/bin/true"
	}
	cmd := exec.Command(truePath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
	err = cmd.Run()
	// The errno is the news; "fork/exec /usr/bin/true" is the doctor's own.
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}
