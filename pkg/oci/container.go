package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/sandbox"
)

// Runtime runs the OCI commands against one state directory.
type Runtime struct {
	Store Store
	Log   *Logger
}

// CreateOptions are create's and run's arguments.
type CreateOptions struct {
	ID, Bundle, PidFile, ConsoleSocket string
	Stdin, Stdout, Stderr              *os.File
	// Attach: `isolate run` in the foreground without a console socket and
	// with process.terminal: the pty is copied to isolate's own stdio.
	Attach bool
}

// Create creates a container and leaves it waiting for Start. On failure
// nothing is left: no process, no state directory, no pid-file.
func (r *Runtime) Create(o CreateOptions) (*sandbox.Created, error) {
	c, _, err := r.create(o)
	return c, err
}

func (r *Runtime) create(o CreateOptions) (*sandbox.Created, *os.File, error) {
	if err := CheckID(o.ID); err != nil {
		return nil, nil, err
	}
	spec, bundle, err := LoadBundle(o.Bundle)
	if err != nil {
		return nil, nil, err
	}
	conv, err := Convert(spec, filepath.Join(bundle, "config.json"), bundle, o.ID, os.Geteuid())
	if err != nil {
		return nil, nil, err
	}
	cfg := conv.Config
	if cfg.OCI.Terminal && o.ConsoleSocket == "" && !o.Attach {
		return nil, nil, &hints.Error{What: "process.terminal is true", Why: errors.New("--console-socket is required to hand over the terminal"), Hint: "give --console-socket SOCKET, or set process.terminal to false"}
	}
	if !cfg.OCI.Terminal && o.ConsoleSocket != "" {
		return nil, nil, &hints.Error{What: "--console-socket " + o.ConsoleSocket, Why: errors.New("process.terminal is false in config.json")}
	}

	h, err := r.Store.reserve(o.ID)
	if err != nil {
		return nil, nil, err
	}
	// After the checks that refuse a bad command line, so an error is
	// the first line a user reads.
	for _, w := range conv.Warnings {
		r.Log.Warn("%s", w)
	}
	ok := false
	var pidFileTmp string
	defer func() {
		if !ok {
			h.remove()
			if pidFileTmp != "" {
				os.Remove(pidFileTmp)
			}
		}
	}()
	fifo := filepath.Join(h.dir, fifoFile)
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		return nil, nil, &hints.Error{What: "mkfifo " + fifo, Why: err}
	}
	// Read end, non-blocking so that this open does not wait for a writer;
	// the child polls it (sandbox.waitForStart).
	ff, err := os.OpenFile(fifo, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, &hints.Error{What: "open " + fifo, Why: unwrapPath(err)}
	}
	defer ff.Close()

	so := sandbox.CreateOptions{Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, ExecFifo: ff,
		Notice: func(s string) { r.Log.Warn("%s", s) }}
	var master, ours *os.File
	if cfg.OCI.Terminal {
		var sock *os.File
		if o.ConsoleSocket != "" {
			sock, err = connectConsole(o.ConsoleSocket)
		} else {
			sock, ours, err = consolePair()
		}
		if err != nil {
			return nil, nil, err
		}
		defer sock.Close()
		if ours != nil {
			defer ours.Close()
		}
		so.ConsoleSocket = sock
	}
	defer func() {
		if !ok && master != nil {
			master.Close()
		}
	}()

	h.rec = &record{
		State: specs.State{
			Version:     specs.Version,
			ID:          o.ID,
			Status:      specs.StateCreated,
			Bundle:      bundle,
			Annotations: spec.Annotations,
		},
		Created:   time.Now().UTC(),
		PidNS:     cfg.OCI.HasNew(specs.PIDNamespace),
		Rootfs:    conv.Rootfs,
		Owner:     os.Geteuid(),
		Poststart: conv.Hooks.Poststart,
		Poststop:  conv.Hooks.Poststop,
	}
	so.CreateRuntime = func(pid int) ([]byte, error) {
		h.rec.Pid = pid
		if _, h.rec.StartTime, err = procStat(pid); err != nil {
			return nil, &hints.Error{What: fmt.Sprintf("read /proc/%d/stat", pid), Why: unwrapPath(err)}
		}
		st, _ := json.Marshal(h.rec.State)
		// prestart is deprecated and runs where createRuntime runs.
		for _, l := range []struct {
			name  string
			hooks []specs.Hook
		}{{"prestart", conv.Hooks.Prestart}, {"createRuntime", conv.Hooks.CreateRuntime}} {
			for i, hk := range l.hooks {
				if err := sandbox.RunHook(hk, st); err != nil {
					return nil, &hints.Error{What: fmt.Sprintf("hooks.%s[%d] %s", l.name, i, hk.Path), Why: err}
				}
			}
		}
		return st, nil
	}
	c, err := sandbox.Create(cfg, so)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if !ok {
			c.Kill()
		}
	}()
	if ours != nil {
		// Sent during the set-up, so it is queued by now.
		if master, err = receiveMaster(ours); err != nil {
			return nil, nil, err
		}
	}
	if err := h.save(); err != nil {
		return nil, nil, err
	}
	if o.PidFile != "" {
		if pidFileTmp, err = writePidFile(o.PidFile, c.Pid); err != nil {
			return nil, nil, err
		}
	}
	ok = true
	h.close()
	return c, master, nil
}

// writePidFile writes the pid through a temporary file and rename(2), so
// an engine never reads half a number. It returns the path to remove if a
// later step fails.
func writePidFile(path string, pid int) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", &hints.Error{What: "--pid-file " + path, Why: err}
	}
	tmp := filepath.Join(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return "", &hints.Error{What: "--pid-file " + path, Why: unwrapPath(err)}
	}
	if err := os.Rename(tmp, abs); err != nil {
		os.Remove(tmp)
		return "", &hints.Error{What: "--pid-file " + path, Why: unwrapPath(err)}
	}
	return abs, nil
}

// Start lets a created container run its program.
func (r *Runtime) Start(id string) error {
	h, err := r.Store.load(id)
	if err != nil {
		return err
	}
	defer h.close()
	if st := h.status(); st != specs.StateCreated {
		return &hints.Error{What: fmt.Sprintf("start container %q", id), Why: fmt.Errorf("it is %s, not created", st)}
	}
	fifo := filepath.Join(h.dir, fifoFile)
	// Non-blocking: ENXIO means nobody waits on the other end.
	fd, err := unix.Open(fifo, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return &hints.Error{What: fmt.Sprintf("start container %q: open %s", id, fifo), Why: err}
	}
	_, err = unix.Write(fd, []byte{0})
	unix.Close(fd)
	if err != nil {
		return &hints.Error{What: fmt.Sprintf("start container %q: write %s", id, fifo), Why: err}
	}
	os.Remove(fifo)
	h.rec.Status = specs.StateRunning
	if err := h.save(); err != nil {
		return err
	}
	st := h.rec.State // running, with its pid, even if it already exited
	b, _ := json.Marshal(st)
	for i, hk := range h.rec.Poststart {
		// runtime-spec: a failed poststart hook is a warning; the
		// container keeps running.
		if err := sandbox.RunHook(hk, b); err != nil {
			r.Log.Warn("hooks.poststart[%d] %s: %v", i, hk.Path, err)
		}
	}
	return nil
}

// State returns the runtime-spec state of a container.
func (r *Runtime) State(id string) (specs.State, error) {
	h, err := r.Store.load(id)
	if err != nil {
		return specs.State{}, err
	}
	defer h.close()
	return h.state(), nil
}

// Kill sends sig to the container's first process, or with all to every
// process of its pid namespace.
func (r *Runtime) Kill(id string, sig unix.Signal, all bool) error {
	h, err := r.Store.load(id)
	if err != nil {
		return err
	}
	defer h.close()
	if h.status() == specs.StateStopped {
		return &hints.Error{What: fmt.Sprintf("kill container %q", id), Why: errors.New("it is not running")}
	}
	return h.signal(sig, all)
}

func (h *handle) signal(sig unix.Signal, all bool) error {
	if all && h.rec.PidNS {
		killPidNS(h.rec.Pid, sig)
	}
	// Through a pidfd taken before the start time is checked: once the
	// pid is held, it cannot be reused by another process, so the signal
	// never reaches one that merely inherited the number.
	pidfd, err := unix.PidfdOpen(h.rec.Pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return &hints.Error{What: fmt.Sprintf("pidfd_open %d", h.rec.Pid), Why: err}
	}
	defer unix.Close(pidfd)
	if !alive(h.rec.Pid, h.rec.StartTime) {
		return nil
	}
	if err := unix.PidfdSendSignal(pidfd, sig, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return &hints.Error{What: fmt.Sprintf("kill %d (%s)", h.rec.Pid, unix.SignalName(sig)), Why: err}
	}
	return nil
}

// killPidNS signals every process in the pid namespace of pid. Its
// processes are ours (the container's user namespace belongs to us), so
// their /proc/PID/ns/pid links are readable.
func killPidNS(pid int, sig unix.Signal) {
	var want unix.Stat_t
	if unix.Stat(fmt.Sprintf("/proc/%d/ns/pid", pid), &want) != nil {
		return
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil || p == pid {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/"+e.Name()+"/ns/pid", &st) == nil && st.Ino == want.Ino && st.Dev == want.Dev {
			unix.Kill(p, sig)
		}
	}
}

// Delete removes a stopped container (or, with force, kills it first),
// running its poststop hooks.
func (r *Runtime) Delete(id string, force bool) error {
	h, err := r.Store.load(id)
	if err != nil {
		if force && errors.Is(err, ErrNotExist) {
			return nil // runc: delete --force of a missing container succeeds
		}
		return err
	}
	defer h.close()
	if st := h.status(); st != specs.StateStopped {
		if !force {
			return &hints.Error{What: fmt.Sprintf("delete container %q", id), Why: fmt.Errorf("it is %s", st), Hint: "stop it with isolate kill " + id + ", or use isolate delete --force " + id}
		}
		h.signal(unix.SIGKILL, true)
		if err := h.waitStopped(); err != nil {
			return err
		}
	}
	r.poststop(h)
	h.remove()
	return nil
}

// waitStopped waits, boundedly, until SIGKILL has taken effect.
func (h *handle) waitStopped() error {
	deadline := time.Now().Add(10 * time.Second)
	for alive(h.rec.Pid, h.rec.StartTime) {
		if time.Now().After(deadline) {
			return &hints.Error{What: fmt.Sprintf("container %q", h.id), Why: fmt.Errorf("pid %d still alive 10s after SIGKILL", h.rec.Pid)}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

func (r *Runtime) poststop(h *handle) {
	st := h.state()
	b, _ := json.Marshal(st)
	for i, hk := range h.rec.Poststop {
		// runtime-spec: a failed poststop hook is a warning; delete goes on.
		if err := sandbox.RunHook(hk, b); err != nil {
			r.Log.Warn("hooks.poststop[%d] %s: %v", i, hk.Path, err)
		}
	}
}

// Entry is one line of `isolate list`.
type Entry struct {
	specs.State
	Created time.Time `json:"created"`
	Owner   int       `json:"owner"`
}

// List returns the containers of the state directory.
func (r *Runtime) List() ([]Entry, error) {
	ids, err := r.Store.list()
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, id := range ids {
		h, err := r.Store.load(id)
		if err != nil {
			continue // deleted meanwhile, or a failed create
		}
		out = append(out, Entry{State: h.state(), Created: h.rec.Created, Owner: h.rec.Owner})
		h.close()
	}
	return out, nil
}

// Run is create + start, then, unless detach, waits for the container,
// forwarding signals to it, deletes it and returns its status.
func (r *Runtime) Run(o CreateOptions, detach bool) (int, error) {
	o.Attach = !detach && o.ConsoleSocket == ""
	sigs := make(chan os.Signal, 16)
	if !detach {
		signal.Notify(sigs, sandbox.ForwardedSignals...)
		defer signal.Stop(sigs)
	}
	c, master, err := r.create(o)
	if err != nil {
		return 0, err
	}
	if master != nil {
		stop := attachTerminal(master, o.Stdin, o.Stdout)
		defer stop()
	}
	if err := r.Start(o.ID); err != nil {
		r.Delete(o.ID, true)
		return 0, err
	}
	if detach {
		return 0, nil
	}
	done := make(chan int, 1)
	go func() { done <- c.Wait() }()
	for {
		select {
		case code := <-done:
			if err := r.Delete(o.ID, true); err != nil {
				r.Log.Warn("%v", err)
			}
			return code, nil
		case sig := <-sigs:
			unix.Kill(c.Pid, sig.(syscall.Signal))
		}
	}
}
