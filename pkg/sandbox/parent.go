package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/slirpnet"
	"github.com/isolate-sandbox/isolate/pkg/userns"
)

// namespaces are created together by clone(2). CLONE_NEWUSER makes the
// others possible without privileges: the kernel creates the user namespace
// first and the rest are owned by it (clone(2), user_namespaces(7)), which
// is the order the assignment's step (1) had to follow by hand. CLONE_NEWPID
// must be a clone flag, not an unshare flag (golang/go#19716).
const namespaces = unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID |
	unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// ForwardedSignals reach PROGRAM from the parent and from isolate's init.
var ForwardedSignals = []os.Signal{
	unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT,
	unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH,
}

// Run runs the sandbox described by cfg and returns PROGRAM's exit status,
// or an error for isolate's own failures (status 125, 126 or 127).
func Run(cfg *Config) (int, error) {
	if err := cfg.Validate(); err != nil {
		return 0, err
	}
	if err := checkTerminal(cfg); err != nil {
		return 0, err
	}
	if err := checkStaticInRoot(cfg); err != nil {
		return 0, err
	}
	waitSigs := subscribeAsync(16, ForwardedSignals...)
	defer func() { signal.Stop(waitSigs()) }()
	ids, err := planIDs(cfg, func(n string) {
		if !cfg.Quiet {
			hints.Notice("%s", n)
		}
	})
	if err != nil {
		return 0, err
	}
	if err := prepareNetwork(cfg); err != nil {
		return 0, err
	}
	lim, err := prepareLimits(cfg) // cgroup first: a refusal leaves nothing to undo
	if err != nil {
		return 0, err
	}
	defer lim.Close()

	if err := closeInheritedFds(); err != nil {
		return 0, err
	}
	exe, exeDone := initExecutable(cfg)
	defer exeDone()

	parentEnd, childEnd, err := newSocketPair()
	if err != nil {
		return 0, &hints.Error{What: "create the control socket", Why: err}
	}
	defer parentEnd.Close()

	// Pdeathsig belongs to the thread that forks (golang/go#27505): the
	// caller keeps this goroutine on its thread until the child is reaped,
	// so the child is killed when isolate dies, however it dies.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	attr := &spawnAttr{
		path:       exe,
		args:       []string{initArg0},
		files:      []*os.File{os.Stdin, os.Stdout, os.Stderr, childEnd.f}, // the socket is fd 3
		cloneflags: namespaces &^ netCloneFlags(cfg),
		pdeathsig:  unix.SIGKILL,
		// A new session: the program has no controlling terminal to
		// inject keystrokes into with TIOCSTI (CVE-2017-5226), and the
		// terminal's Ctrl-C reaches it only through isolate's forwarding.
		setsid: true,
	}
	ids.prepare(attr, childEnd)
	cfg.MapPending = attr.ambient
	// Subscribe before the child exists, so no signal is lost in between.
	sigs := waitSigs()

	cmd, err := spawn(attr)
	childEnd.Close()
	if err != nil {
		return 0, &hints.Error{What: "create namespaces (clone with CLONE_NEWUSER)", Why: unwrapSyscall(err), Hint: hints.UserNSClone(err)}
	}
	s := &session{cmd: cmd, ch: parentEnd, waited: make(chan struct{})}
	go s.wait()
	// Deferred calls run last first: the child is gone before the
	// terminal is restored, so its last output comes out first.
	defer func() { s.term.close() }()
	defer s.kill()
	if err := lim.started(cmd.Process.Pid, s.kill); err != nil {
		return 0, err
	}

	// Until "start" is sent there is no program to give a signal to: a
	// forwarded signal then aborts the set-up, and isolate exits as the
	// program would have (128+N).
	guard := s.guardSetup(sigs)
	network, err := s.setUp(cfg, ids)
	if network != nil {
		defer network.Close()
	}
	if sig := guard.end(); sig != nil {
		return hints.ExitSignalsBase + int(sig.(syscall.Signal)), nil
	}
	// A --timeout shorter than the set-up kills the child under it: then
	// whatever failed next (newuidmap finds no process) is not the news.
	if err != nil {
		return lim.status(0, childErrorOr(parentEnd, err))
	}
	if err := parentEnd.send(message{Type: msgStart}); err != nil {
		return lim.status(0, s.diedBefore("the program started", err))
	}
	return lim.status(s.supervise(sigs))
}

// setUp maps the ids, sends the configuration and starts the network. The
// network's helper starts as early as it can (slirpnet.EarlyLink): pasta
// while the ids are mapped, slirp4netns and veth right after, while the
// child builds its mounts. The ports are published last, when the child
// has made its side of the port driver.
func (s *session) setUp(cfg *Config, ids idPlan) (*slirpnet.Session, error) {
	pid := s.cmd.Process.Pid
	opts := netOptions(cfg)
	var link *slirpnet.Session
	if slirpnet.EarlyLink(opts) {
		configured := make(chan error, 1)
		go func() { configured <- s.configure(cfg, ids) }()
		// On this goroutine: it is locked to the thread whose death the
		// helper's Pdeathsig follows.
		l, err := slirpnet.StartLink(opts, pid) // closes itself on error
		if cerr := <-configured; cerr != nil {
			if err == nil {
				l.Close()
			}
			return nil, cerr
		}
		if err != nil {
			return nil, err
		}
		link = l
	} else {
		if err := s.configure(cfg, ids); err != nil {
			return nil, err
		}
		l, err := slirpnet.StartLink(opts, pid)
		if err != nil {
			return nil, err
		}
		link = l
	}
	if err := link.Publish(opts, pid); err != nil {
		link.Close()
		return nil, err
	}
	return link, nil
}

// configure maps the child's ids and sends its configuration, in the order
// the child reads them: a child that execs first (cfg.MapPending) reads
// its configuration while the helpers run, then waits for "idmap-done";
// one that waits before its execve needs "idmap-done" first.
func (s *session) configure(cfg *Config, ids idPlan) error {
	if !cfg.MapPending {
		if err := s.mapIDs(ids); err != nil {
			return err
		}
		return s.sendConfig(cfg)
	}
	sent := make(chan error, 1)
	go func() { sent <- s.sendConfig(cfg) }()
	merr := ids.apply(s.cmd.Process.Pid)
	if err := <-sent; err != nil {
		return err
	}
	if merr != nil {
		return merr
	}
	if err := s.ch.send(message{Type: msgIDMapDone}); err != nil {
		return s.diedBefore("the id map was written", err)
	}
	return nil
}

// mapIDs maps the child's ids, which lets it exec.
func (s *session) mapIDs(ids idPlan) error {
	if err := ids.apply(s.cmd.Process.Pid); err != nil {
		return err
	}
	if ids.used {
		if err := s.ch.send(message{Type: msgIDMapDone}); err != nil {
			return s.diedBefore("the id map was written", err)
		}
	}
	return nil
}

// sendConfig sends the child its configuration. It runs while the child
// execs isolate-init and starts its Go runtime (and, with MapPending, while
// newuidmap runs), which takes longer than encoding the message: it waits
// in the socket when the child asks.
func (s *session) sendConfig(cfg *Config) error {
	conf, err := encodeConfig(cfg)
	if err != nil {
		return err
	}
	if err := s.ch.sendAll(conf); err != nil {
		return s.diedBefore("it received its configuration", err)
	}
	return nil
}

// idPlan is how a new user namespace gets its ids.
type idPlan struct {
	plan userns.Plan
	host userns.Host
	used bool // false when no user namespace is created (OCI)
}

// planIDs decides the id maps of a new user namespace (package userns);
// notice gets a fallback's one-line explanation.
func planIDs(cfg *Config, notice func(string)) (idPlan, error) {
	p := idPlan{used: true}
	var err error
	if p.host, err = userns.DetectHost(); err != nil {
		return p, &hints.Error{What: "read subordinate ids", Why: err}
	}
	if p.plan, err = userns.MakePlan(p.host, cfg.UIDMappings, cfg.GIDMappings); err != nil {
		return p, err
	}
	if err := checkUserMapped(cfg, p.plan); err != nil {
		return p, err
	}
	if p.plan.Notice != "" && notice != nil {
		notice(p.plan.Notice)
	}
	cfg.SetgroupsDeny = p.plan.SetgroupsDeny
	return p, nil
}

// prepare decides when the child execs, relative to apply. With the setuid
// helpers (the usual rootless case), at once, with every
// capability ambient: its Go runtime starts while newuidmap and newgidmap
// run, and it waits for "idmap-done" only before it builds anything
// (Config.MapPending). Otherwise it waits between clone and execve, on its
// end of the control socket, until apply has written the maps (spawn.go
// says why). With a Direct plan the child then becomes container root with
// setuid(0): for real root, whose own id 0 is not mapped, that is how it
// stops being host root.
func (p idPlan) prepare(a *spawnAttr, childEnd *channel) {
	a.waitFd = -1
	if !p.used {
		return
	}
	// An inherited SECBIT_NO_CAP_AMBIENT_RAISE cannot refuse the child's
	// raise: a new user namespace starts with default securebits
	// (set_cred_user_ns in kernel/user_namespace.c;
	// TestInheritedNoAmbientRaiseSecurebitChangesNothing).
	if p.plan.Method == userns.Helpers {
		a.ambient = true
		return
	}
	a.waitFd = int(childEnd.f.Fd())
	a.becomeRoot = p.plan.Method == userns.Direct
	a.setgroupsDeny = p.plan.SetgroupsDeny
}

// apply writes the maps of the waiting child pid.
func (p idPlan) apply(pid int) error {
	switch {
	case !p.used:
		return nil
	case p.plan.Method == userns.Helpers:
		return userns.ApplyHelpers(pid, p.plan, p.host)
	default:
		return userns.ApplyDirect(pid, p.plan)
	}
}

// setupGuard kills the child when a forwarded signal arrives during set-up.
type setupGuard struct {
	stop chan struct{}
	sig  chan os.Signal
}

func (s *session) guardSetup(sigs <-chan os.Signal) *setupGuard {
	g := &setupGuard{stop: make(chan struct{}), sig: make(chan os.Signal, 1)}
	go func() {
		select {
		case sig := <-sigs:
			g.sig <- sig
			s.cmd.Process.Signal(unix.SIGKILL)
		case <-g.stop:
			close(g.sig)
		}
	}()
	return g
}

// end stops the guard and returns the signal that aborted the set-up, if any.
func (g *setupGuard) end() os.Signal {
	close(g.stop)
	return <-g.sig
}

// subscribeAsync subscribes to sigs from another goroutine and returns a
// function that waits until the subscription is in place. os/signal enables
// each signal with a round trip to a thread of its own (runtime.sigenable):
// about fifteen thread wake-ups here, which overlap the set-up instead of
// delaying the clone (parent) or PROGRAM's start (init).
func subscribeAsync(size int, sigs ...os.Signal) (wait func() chan os.Signal) {
	c := make(chan os.Signal, size)
	done := make(chan struct{})
	go func() {
		signal.Notify(c, sigs...)
		close(done)
	}()
	return func() chan os.Signal {
		<-done
		return c
	}
}

// session is one running child.
type session struct {
	term   *terminal // -t: the user's terminal joined to the sandbox's pty
	cmd    *childProc
	ch     *channel
	waited chan struct{}
}

func (s *session) wait() {
	s.cmd.Wait()
	close(s.waited)
}

// kill ends the child if it still runs; its init's death kills every process
// of the pid namespace (pid_namespaces(7)).
func (s *session) kill() {
	select {
	case <-s.waited:
	default:
		s.cmd.Process.Signal(unix.SIGKILL)
		<-s.waited
	}
}

// supervise waits for the child's report, then forwards signals until the
// child exits.
func (s *session) supervise(sigs chan os.Signal) (int, error) {
	msgs := make(chan message, 4)
	readErr := make(chan error, 1)
	go func() {
		for {
			m, err := s.ch.recv() // recv reads past a reset to the queued error
			if err != nil {
				readErr <- err
				close(msgs)
				return
			}
			msgs <- m
		}
	}()
	// A signal that arrives after "start" but before the child confirms
	// waits: the program may already run (it can print before the init's
	// "running" arrives), and it must get the signal, not lose it.
	var pending []os.Signal
	started := false
	for !started {
		select {
		case m, ok := <-msgs:
			if !ok {
				// EOF: the child is gone (or, after "exec", PROGRAM runs).
				return s.eofBeforeStart(<-readErr)
			}
			switch m.Type {
			case msgError:
				if m.Error == nil {
					return 0, &hints.Error{What: "child reported an error without details"}
				}
				return 0, m.Error.toError()
			case msgTerminal:
				if m.fd < 0 {
					return 0, &hints.Error{What: "protocol: terminal message without a descriptor"}
				}
				t, err := startTerminal(m.fd)
				if err != nil {
					return 0, err
				}
				s.term = t
			case msgRunning:
				started = true
			case msgExec:
				// --no-init: a successful execve closes the socket (it is
				// close-on-exec); a failed one sends an error.
				m2, ok := <-msgs
				if ok && m2.Type == msgError && m2.Error != nil {
					return 0, m2.Error.toError()
				}
				started = true
			default:
				return 0, &hints.Error{What: fmt.Sprintf("protocol: expected running, received %s", m.Type)}
			}
		case sig := <-sigs:
			pending = append(pending, sig)
		}
	}
	for _, sig := range pending {
		s.cmd.Process.Signal(sig)
	}
	for {
		select {
		case <-s.waited:
			return exitStatus(s.cmd.ProcessState), nil
		case sig := <-sigs:
			if sig == unix.SIGWINCH && s.term != nil {
				s.term.resize() // the pty signals its own foreground job
				continue
			}
			// Only signals with a handler reach a pid namespace's init from
			// outside (pid_namespaces(7)); isolate's init has one for each.
			s.cmd.Process.Signal(sig)
		}
	}
}

func (s *session) eofBeforeStart(err error) (int, error) {
	<-s.waited
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, &hints.Error{What: "read from the sandbox", Why: err}
	}
	return 0, &hints.Error{What: fmt.Sprintf("child exited with %s before the program started", describe(s.cmd.ProcessState))}
}

// diedBefore reports a child that vanished before step.
func (s *session) diedBefore(step string, err error) error {
	if errors.Is(err, unix.EPIPE) || errors.Is(err, unix.ECONNRESET) {
		// The child closed its end, so it is exiting: its error, sent
		// before, is still queued for us.
		<-s.waited
		if cerr := s.ch.queuedError(); cerr != nil {
			return cerr
		}
	}
	select {
	case <-s.waited:
		return &hints.Error{What: fmt.Sprintf("child exited with %s before %s", describe(s.cmd.ProcessState), step)}
	default:
		return &hints.Error{What: "talk to the sandbox before " + step, Why: err}
	}
}

func describe(ps *os.ProcessState) string {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "signal " + unix.SignalName(ws.Signal())
	}
	return fmt.Sprintf("status %d", ps.ExitCode())
}

// exitStatus is the shell's convention: the code, or 128+N for signal N.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return hints.ExitSignalsBase + int(ws.Signal())
	}
	return ps.ExitCode()
}

// unwrapSyscall keeps the errno of a failed fork/exec: the path and the
// operation are isolate's own, not the user's.
func unwrapSyscall(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}

func checkUserMapped(cfg *Config, p userns.Plan) error {
	for _, c := range []struct {
		kind string
		id   uint32
		m    []specsMapping
	}{{"uid", cfg.User.UID, p.UIDs}, {"gid", cfg.User.GID, p.GIDs}} {
		if !userns.Contains(c.m, c.id) {
			return &hints.Error{
				What: fmt.Sprintf("--user %d:%d", cfg.User.UID, cfg.User.GID),
				Why:  fmt.Errorf("%s %d is not mapped in the sandbox (%s map %s)", c.kind, c.id, c.kind, formatMap(c.m)),
				Hint: hints.UnmappedUser,
			}
		}
	}
	return nil
}

func formatMap(m []specsMapping) string {
	s := ""
	for i, r := range m {
		if i > 0 {
			s += ","
		}
		s += userns.FormatMapping(r)
	}
	return s
}
