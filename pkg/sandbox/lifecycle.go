package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// The OCI lifecycle splits Run in two (runtime-spec runtime.md):
//
//	isolate create          clone → id map → createRuntime hooks → config →
//	                        the child builds everything, drops privileges and
//	                        says "created" → state.json, pid-file → exit 0
//	(child)                 blocks in poll(2) on the exec fifo (fd 4)
//	isolate start           writes one byte into the fifo → the child execs
//	                        the program as PID 1 (no isolate init: engines
//	                        bring their own, e.g. podman --init)
//
// The child is the same as for `isolate PROGRAM` (Config.OCI switches the
// few differences on); this file is its parent side.

// CreateOptions is what the OCI command line adds to a Config.
type CreateOptions struct {
	// Stdio of the container (replaced by the pty with a console).
	Stdin, Stdout, Stderr *os.File
	// ConsoleSocket, when process.terminal is true, is a connected unix
	// socket: the child allocates the pty inside the container's devpts
	// and sends its master there (SCM_RIGHTS), as runc does.
	ConsoleSocket *os.File
	// ExecFifo is the read end (O_NONBLOCK) of the exec fifo.
	ExecFifo *os.File
	// CreateRuntime runs on the host once the namespaces exist and the ids
	// are mapped, before the child builds its mounts (prestart and
	// createRuntime hooks). It returns the state JSON for the child hooks.
	CreateRuntime func(pid int) ([]byte, error)
	// Notice receives a fallback notice (the single-id map).
	Notice func(string)
}

// Created is a container waiting for start.
type Created struct {
	Pid int
	cmd *childProc
}

// Wait waits for a container created by this process (`isolate run` in
// the foreground) and returns its status the shell's way.
func (c *Created) Wait() int {
	c.cmd.Wait()
	return exitStatus(c.cmd.ProcessState)
}

// Kill ends a container that failed before it was handed over.
func (c *Created) Kill() {
	c.cmd.Process.Signal(unix.SIGKILL)
	c.cmd.Wait()
}

// Create builds the sandbox of cfg up to the program's execve and returns
// with its first process waiting on the exec fifo.
func Create(cfg *Config, o CreateOptions) (*Created, error) {
	if cfg.OCI == nil {
		return nil, errors.New("sandbox.Create needs an OCI config")
	}
	if err := cfg.Validate(); err != nil {
		return nil, ociField(err)
	}
	if err := checkStaticInRoot(cfg); err != nil {
		return nil, err
	}
	attr := &spawnAttr{
		// A session of its own: the container's terminal (if any) becomes
		// its controlling one, and no TIOCSTI into the engine's.
		setsid: true,
	}
	newUser := false
	for _, ns := range cfg.OCI.Namespaces {
		if ns.Path != "" {
			continue // joined by the child (enterOCI)
		}
		attr.cloneflags |= uintptr(nsFlags[ns.Type])
		newUser = newUser || ns.Type == specs.UserNamespace
	}
	var ids idPlan
	if newUser {
		var err error
		if ids, err = planIDs(cfg, o.Notice); err != nil {
			return nil, ociField(err)
		}
	}

	// As in Run: nothing the engine leaked reaches the container, and the
	// container runs from a sealed copy of isolate.
	if err := closeInheritedFds(); err != nil {
		return nil, err
	}
	exe, exeDone := initExecutable(cfg)
	defer exeDone()

	parentEnd, childEnd, err := newSocketPair()
	if err != nil {
		return nil, &hints.Error{What: "create the control socket", Why: err}
	}
	defer parentEnd.Close()
	attr.path, attr.args = exe, []string{initArg0}
	// fds 3, 4 and 5: the control socket, the exec fifo, the console socket
	attr.files = []*os.File{o.Stdin, o.Stdout, o.Stderr, childEnd.f, o.ExecFifo, o.ConsoleSocket}
	// As in Run: with newuidmap the child execs at once (ambient
	// capabilities) and starts while the helpers and the createRuntime
	// hooks run; it reads the configuration, then waits for idmap-done.
	ids.prepare(attr, childEnd)
	cfg.MapPending = attr.ambient
	cmd, err := spawn(attr)
	childEnd.Close()
	if err != nil {
		return nil, &hints.Error{What: "create namespaces (clone)", Why: unwrapSyscall(err), Hint: hints.UserNSClone(err)}
	}
	c := &Created{Pid: cmd.Process.Pid, cmd: cmd}
	ok := false
	defer func() {
		if !ok {
			c.Kill()
		}
	}()
	died := func(step string, err error) error {
		if cmd.ProcessState == nil {
			c.Kill()
		}
		return &hints.Error{What: fmt.Sprintf("child exited with %s before %s", describe(cmd.ProcessState), step), Why: err}
	}
	if err := ids.apply(c.Pid); err != nil {
		return nil, err
	}
	mapDone := func() error {
		if err := parentEnd.send(message{Type: msgIDMapDone}); err != nil {
			return died("the id map was written", nil)
		}
		return nil
	}
	if ids.used && !cfg.MapPending {
		if err := mapDone(); err != nil { // the child waits for it before its execve
			return nil, err
		}
	}
	if o.CreateRuntime != nil {
		if cfg.OCI.State, err = o.CreateRuntime(c.Pid); err != nil {
			return nil, err
		}
	}
	conf, err := encodeConfig(cfg)
	if err != nil {
		return nil, err
	}
	if err := parentEnd.sendAll(conf); err != nil {
		return nil, died("it received its configuration", nil)
	}
	if cfg.MapPending {
		if err := mapDone(); err != nil { // read after the configuration
			return nil, err
		}
	}
	if err := parentEnd.send(message{Type: msgStart}); err != nil {
		return nil, died("it was set up", nil)
	}
	m, err := parentEnd.recv()
	switch {
	case err != nil && !errors.Is(err, io.EOF):
		return nil, &hints.Error{What: "read from the container", Why: err}
	case err != nil:
		c.cmd.Wait()
		return nil, &hints.Error{What: fmt.Sprintf("child exited with %s before the container was created", describe(cmd.ProcessState))}
	case m.Type == msgError && m.Error != nil:
		return nil, ociField(m.Error.toError())
	case m.Type != msgCreated:
		return nil, &hints.Error{What: fmt.Sprintf("protocol: expected created, received %s", m.Type)}
	}
	ok = true
	return c, nil
}

// ociField names config.json's field where the shared checks name the
// command-line flag of `isolate PROGRAM`.
func ociField(err error) error {
	var he *hints.Error
	if !errors.As(err, &he) {
		return err
	}
	e := *he
	switch {
	case strings.HasPrefix(e.What, "--uidmap/--gidmap"):
		e.What = "config.json: linux.uidMappings/linux.gidMappings"
		e.Hint = ""
	case strings.HasPrefix(e.What, "--user "):
		e.What = "config.json: process.user " + strings.TrimPrefix(e.What, "--user ")
	case strings.HasPrefix(e.What, "--workdir "):
		e.What = "config.json: process.cwd " + strings.TrimPrefix(e.What, "--workdir ")
	case strings.HasPrefix(e.What, "--ulimit "), strings.HasPrefix(e.What, "rlimit "):
		_, rest, _ := strings.Cut(e.What, " ")
		e.What = "config.json: process.rlimits " + rest
		e.Hint = ""
	}
	return &e
}
