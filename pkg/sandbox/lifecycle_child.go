package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// execFifoFd is the child's end of the exec fifo (ExtraFiles[1]) of an OCI
// container: a read end that `isolate start` writes one byte into.
const execFifoFd = 4

// nsFlags are the namespace types a config.json names, as clone flags.
var nsFlags = map[specs.LinuxNamespaceType]int{
	specs.UserNamespace:    unix.CLONE_NEWUSER,
	specs.MountNamespace:   unix.CLONE_NEWNS,
	specs.PIDNamespace:     unix.CLONE_NEWPID,
	specs.UTSNamespace:     unix.CLONE_NEWUTS,
	specs.IPCNamespace:     unix.CLONE_NEWIPC,
	specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.CgroupNamespace:  unix.CLONE_NEWCGROUP,
	specs.TimeNamespace:    unix.CLONE_NEWTIME,
}

// JoinableNamespaces can be joined by path from the child: setns(2) of
// these affects only the calling thread, which is locked and is the one that
// execs the program. User and mount namespaces refuse a multi-threaded
// caller (setns(2): EINVAL), and a pid namespace is entered only by
// children, so joining those would need code that runs before the Go
// runtime starts threads (runc's nsexec), which isolate does not have.
var JoinableNamespaces = map[specs.LinuxNamespaceType]bool{
	specs.NetworkNamespace: true,
	specs.IPCNamespace:     true,
	specs.UTSNamespace:     true,
	specs.CgroupNamespace:  true,
}

// enterOCI runs first in stage 2 for an OCI container.
func enterOCI(cfg *Config) error {
	if cfg.OCI == nil {
		return nil
	}
	// `isolate create` exits once the container is created and the
	// container must outlive it (the engine's monitor, such as conmon,
	// or the host's init reaps it): no parent-death signal.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0); err != nil {
		return &hints.Error{What: "prctl(PR_SET_PDEATHSIG, 0)", Why: err}
	}
	// Inherited without close-on-exec across stage 1's exec; the program
	// must never get it (CVE-2024-21626 is a leaked fd).
	unix.CloseOnExec(execFifoFd)
	for _, ns := range cfg.OCI.Namespaces {
		if ns.Path == "" {
			continue
		}
		fd, err := unix.Open(ns.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return &hints.Error{What: fmt.Sprintf("linux.namespaces: open %s namespace %s", ns.Type, ns.Path), Why: err}
		}
		err = unix.Setns(fd, nsFlags[ns.Type])
		unix.Close(fd)
		if err != nil {
			return &hints.Error{What: fmt.Sprintf("linux.namespaces: join %s namespace %s (setns)", ns.Type, ns.Path), Why: err}
		}
	}
	if adj := cfg.OCI.OOMScoreAdj; adj != nil {
		// Raising it is always allowed; lowering it needs CAP_SYS_RESOURCE
		// in the initial user namespace (proc(5)).
		if err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*adj)), 0); err != nil {
			return &hints.Error{What: fmt.Sprintf("process.oomScoreAdj %d", *adj), Why: unwrapPath(err)}
		}
	}
	return nil
}

// runCreateContainerHooks runs the createContainer hooks in the container's
// namespaces, before its mounts are made (so that the path still resolves
// in the runtime's filesystem, as the spec requires).
func runCreateContainerHooks(cfg *Config) error {
	if cfg.OCI == nil {
		return nil
	}
	for i, h := range cfg.OCI.CreateContainer {
		if err := RunHook(h, cfg.OCI.State); err != nil {
			return &hints.Error{What: fmt.Sprintf("hooks.createContainer[%d] %s", i, h.Path), Why: err}
		}
	}
	return nil
}

// applySysctl writes linux.sysctl after the mounts, through the
// container's own /proc.
func applySysctl(cfg *Config) error {
	if cfg.OCI == nil {
		return nil
	}
	for k, v := range cfg.OCI.Sysctl {
		p := filepath.Join("/proc/sys", strings.ReplaceAll(k, ".", "/"))
		if err := os.WriteFile(p, []byte(v), 0); err != nil {
			return &hints.Error{What: fmt.Sprintf("linux.sysctl %s=%s", k, v), Why: unwrapPath(err)}
		}
	}
	return nil
}

// waitForStart is the end of `isolate create`: the child tells the parent
// that the container is created, then blocks until `isolate start` writes
// to the exec fifo. It runs after the privileges are dropped, right before
// the program's execve.
func waitForStart(ch *channel, cfg *Config) error {
	if err := ch.send(message{Type: msgCreated}); err != nil {
		os.Exit(hints.ExitSetup) // the parent is gone: nobody will start us
	}
	ch.Close()
	// poll(2) on a fifo's read end reports POLLHUP only after a writer
	// came and went (fifo_poll: f_pipe != w_counter), so this sleeps
	// until `isolate start` opens the fifo and writes its byte.
	fds := []unix.PollFd{{Fd: execFifoFd, Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return &hints.Error{What: "wait for start (poll exec fifo)", Why: err}
		}
		break
	}
	var b [1]byte
	if n, err := unix.Read(execFifoFd, b[:]); n != 1 {
		return &hints.Error{What: "wait for start: the exec fifo was closed without a start", Why: err}
	}
	unix.Close(execFifoFd)
	for i, h := range cfg.OCI.StartContainer {
		if err := RunHook(h, cfg.OCI.State); err != nil {
			return &hints.Error{What: fmt.Sprintf("hooks.startContainer[%d] %s", i, h.Path), Why: err}
		}
	}
	if cfg.User.Umask != nil {
		unix.Umask(int(*cfg.User.Umask))
	}
	// Whatever the engine leaked into `isolate create` without
	// close-on-exec would reach the program (CVE-2024-21626): only 0, 1
	// and 2 cross the execve.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return &hints.Error{What: "close_range(3, ~0, CLOSE_RANGE_CLOEXEC)", Why: err}
	}
	return nil
}

// additionalGids is process.user.additionalGids as setgroups(2) wants it.
func additionalGids(cfg *Config) []int {
	var g []int
	for _, id := range cfg.User.AdditionalGids {
		g = append(g, int(id))
	}
	return g
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
