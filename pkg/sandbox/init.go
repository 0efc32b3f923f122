package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// runInit is isolate's PID 1. The kernel drops signals with a default action
// sent to a pid namespace's init, so a program running as PID 1 would ignore
// Ctrl-C and `kill` (pid_namespaces(7)); this init installs a handler for
// each forwarded signal and passes it on. It also reaps every orphan that the
// kernel re-parents to it, and exits with PROGRAM's status.
func runInit(ch *channel, cfg *Config) error {
	path, err := lookPath(cfg.Args[0], cfg.Env)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, append([]os.Signal{unix.SIGCHLD}, ForwardedSignals...)...)
	if err := dropPrivileges(cfg); err != nil {
		return err
	}

	attr := &syscall.ProcAttr{
		Env:   cfg.Env,
		Files: []uintptr{0, 1, 2},
		Sys: &syscall.SysProcAttr{
			// Its own process group, so a forwarded Ctrl-C reaches the
			// whole job (a shell pipeline), as the terminal would send it.
			Setpgid:    true,
			Credential: credential(cfg),
		},
	}
	argv0, argv := programArgv(cfg, path) // through the --ulimit trampoline
	pid, err := syscall.ForkExec(argv0, argv, attr)
	if err != nil {
		return execError(cfg.Args[0], err)
	}
	ch.send(message{Type: msgRunning})
	ch.Close()

	for sig := range sigs {
		if sig != unix.SIGCHLD {
			// To the program's group; if it already left, to its pid.
			if unix.Kill(-pid, sig.(syscall.Signal)) != nil {
				unix.Kill(pid, sig.(syscall.Signal))
			}
			continue
		}
		for {
			var ws unix.WaitStatus
			wpid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err == unix.EINTR {
				continue
			}
			if wpid <= 0 || err != nil {
				break
			}
			if wpid == pid {
				// Like docker's and bubblewrap's init: the sandbox ends with
				// its program; the kernel kills what is left when PID 1 exits.
				if ws.Signaled() {
					os.Exit(hints.ExitSignalsBase + int(ws.Signal()))
				}
				os.Exit(ws.ExitStatus())
			}
		}
	}
	return nil
}

// execProgram replaces this process with PROGRAM (--no-init).
func execProgram(ch *channel, cfg *Config) error {
	path, err := lookPath(cfg.Args[0], cfg.Env)
	if err != nil {
		return err
	}
	if c := credential(cfg); c != nil {
		if !c.NoSetGroups {
			if err := unix.Setgroups(nil); err != nil {
				return &hints.Error{What: "setgroups", Why: err}
			}
		}
		if err := unix.Setresgid(int(c.Gid), int(c.Gid), int(c.Gid)); err != nil {
			return &hints.Error{What: fmt.Sprintf("setresgid %d", c.Gid), Why: err}
		}
		if err := unix.Setresuid(int(c.Uid), int(c.Uid), int(c.Uid)); err != nil {
			return &hints.Error{What: fmt.Sprintf("setresuid %d", c.Uid), Why: err}
		}
		// A change of uid clears the parent-death signal (credentials(7)).
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
			return &hints.Error{What: "prctl(PR_SET_PDEATHSIG)", Why: err}
		}
	}
	if err := dropPrivileges(cfg); err != nil {
		return err
	}
	if err := ch.send(message{Type: msgExec}); err != nil {
		os.Exit(hints.ExitSetup)
	}
	argv0, argv := programArgv(cfg, path)
	err = unix.Exec(argv0, argv, cfg.Env)
	return execError(cfg.Args[0], err)
}

func credential(cfg *Config) *syscall.Credential {
	if cfg.User.UID == 0 && cfg.User.GID == 0 {
		return nil
	}
	return &syscall.Credential{
		Uid: cfg.User.UID, Gid: cfg.User.GID,
		// With setgroups denied (the single-id fallback), setgroups(2)
		// fails with EPERM; the list is then already empty.
		NoSetGroups: cfg.SetgroupsDeny,
	}
}

// lookPath finds name in the PATH of the program's environment, not
// isolate's, and sorts failures into "not found" (127) and "cannot
// execute" (126).
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, checkExecutable(name, name)
	}
	pathEnv := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			pathEnv = v
		}
	}
	var denied error
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			continue // missing, or a directory we may not search: not here
		}
		err := checkExecutable(name, p)
		if err == nil {
			return p, nil
		}
		if denied == nil {
			denied = err
		}
	}
	if denied != nil {
		return "", denied
	}
	return "", &hints.Error{What: name, Why: errors.New("executable file not found in $PATH"), Hint: hints.NotFound, Code: hints.ExitNotFound}
}

func checkExecutable(name, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return &hints.Error{What: name, Why: errors.New("no such file or directory"), Hint: hints.NotFound, Code: hints.ExitNotFound}
		}
		return execError(name, err)
	}
	if st.IsDir() {
		return &hints.Error{What: name, Why: errors.New("is a directory"), Hint: hints.CannotExec, Code: hints.ExitCannotExec}
	}
	if err := unix.Access(path, unix.X_OK); err != nil {
		return execError(name, err)
	}
	return nil
}

// execError classifies an execve(2) failure.
func execError(name string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	code := hints.ExitCannotExec
	hint := hints.CannotExec
	if errors.Is(err, unix.ENOENT) {
		// execve's ENOENT for an existing file means its interpreter is missing.
		code, hint = hints.ExitNotFound, hints.NotFound
	}
	return &hints.Error{What: name, Why: err, Hint: hint, Code: code}
}
