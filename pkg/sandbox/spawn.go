package sandbox

import (
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/security"
)

// The sandbox's first process is started by a clone(2) of isolate's own,
// not by os/exec, for one reason: with helper-written id maps, os/exec's
// child would execve before newuidmap has run, as an unmapped uid, and
// capabilities are computed at execve (user_namespaces(7),
// "Capabilities"): it would hold none and need a second exec once mapped.
// Here the child does one of two things between clone and its only execve
// (idPlan.prepare): with the helpers, it makes its capabilities ambient,
// which an execve keeps whatever the uid, so it can exec at once and start
// while newuidmap runs; with maps the parent writes itself (two writes), it
// waits until they are written, exactly as Go's own fork waits for the maps
// it writes (syscall.SysProcAttr.UidMappings). Either way its execve runs
// privileged in the new namespaces, one Go runtime start fewer than a
// re-exec (bench/OPTIMISATIONS.md).
//
// Between clone and execve the child is a copy of a multi-threaded Go
// process with one thread: it may make raw system calls and nothing else (no
// allocation, no stack growth, no scheduler). The runtime hooks below are
// the ones package syscall uses around its fork; the runtime keeps them
// reachable by linkname for programs like this one (go.dev/issue/67401).

//go:linkname runtimeBeforeFork syscall.runtime_BeforeFork
func runtimeBeforeFork()

//go:linkname runtimeAfterFork syscall.runtime_AfterFork
func runtimeAfterFork()

//go:linkname runtimeAfterForkInChild syscall.runtime_AfterForkInChild
func runtimeAfterForkInChild()

// spawnAttr describes the child: its clone and what it does before execve.
type spawnAttr struct {
	path       string
	args       []string
	files      []*os.File // the child's fd i; nil is /dev/null for 0-2, else closed
	cloneflags uintptr
	setsid     bool
	pdeathsig  syscall.Signal
	// waitFd, when not negative, is the parent's fd number of the child's
	// control socket end: the child reads one message from it before
	// execve (msgIDMapDone) and exits if the parent is gone instead.
	waitFd int
	// becomeRoot: setresgid and setresuid to 0 after the wait, and
	// setgroups(0) unless setgroupsDeny. With a Direct map the caller's own
	// id is not always container id 0 (real root maps to nobody).
	becomeRoot    bool
	setgroupsDeny bool
	// ambient: raise every capability into the ambient set before execve.
	// The child holds them all in the user namespace it created, and
	// ambient capabilities survive an execve whatever the uid
	// (capabilities(7), "Ambient capability set"), so it may exec before
	// its ids are mapped and still be privileged (see idPlan.prepare).
	ambient bool
}

// childEnv is the environment of isolate-init (see spawn).
var childEnv = []string{"GOMAXPROCS=1"}

// childProc is the started child; the fields mirror exec.Cmd's.
type childProc struct {
	Process      *os.Process
	ProcessState *os.ProcessState
	waitOnce     sync.Once
}

// Wait reaps the child once; later calls return at once.
func (c *childProc) Wait() {
	c.waitOnce.Do(func() {
		c.ProcessState, _ = c.Process.Wait()
	})
}

// forkState is everything the child reads, converted before the fork
// (converting allocates, and the child may not).
type forkState struct {
	flags              uintptr
	path               *byte
	argv, envv         []*byte
	fds                []int
	nextfd             int
	waitFd             int
	setsid, becomeRoot bool
	setgroups          bool
	pdeathsig          uintptr
	buf                [8]byte
	ambient            bool
	lastCap            uintptr
	capHdr             unix.CapUserHeader
	capData            [2]unix.CapUserData
}

// spawn clones the child with a.cloneflags and returns once it exists; the
// child execs a.path on its own (after the parent's message, with waitFd).
func spawn(a *spawnAttr) (*childProc, error) {
	st := &forkState{
		flags:      a.cloneflags | uintptr(unix.SIGCHLD),
		waitFd:     a.waitFd,
		setsid:     a.setsid,
		becomeRoot: a.becomeRoot,
		setgroups:  a.becomeRoot && !a.setgroupsDeny,
		pdeathsig:  uintptr(a.pdeathsig),
	}
	var err error
	if st.path, err = syscall.BytePtrFromString(a.path); err != nil {
		return nil, err
	}
	if st.argv, err = syscall.SlicePtrFromStrings(a.args); err != nil {
		return nil, err
	}
	// The child's whole environment (PROGRAM gets Config.Env instead). One
	// P: the init's work is sequential, and each P costs its caches and
	// threads, about 0.2 MB of the init's resident memory, for nothing.
	if st.envv, err = syscall.SlicePtrFromStrings(childEnv); err != nil {
		return nil, err
	}
	var devNull *os.File
	defer func() {
		if devNull != nil {
			devNull.Close()
		}
	}()
	st.fds = make([]int, len(a.files))
	st.nextfd = len(a.files)
	for i, f := range a.files {
		switch {
		case f != nil:
			st.fds[i] = int(f.Fd())
		case i <= 2:
			if devNull == nil {
				if devNull, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
					return nil, err
				}
			}
			st.fds[i] = int(devNull.Fd())
		default:
			st.fds[i] = -1
		}
		st.nextfd = max(st.nextfd, st.fds[i]+1)
	}
	st.nextfd = max(st.nextfd, a.waitFd+1)
	if a.ambient {
		last := security.LastCap()
		st.ambient, st.lastCap = true, uintptr(last)
		all := uint64(1)<<(last+1) - 1
		st.capHdr = unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		for w := range st.capData {
			v := uint32(all >> (32 * w))
			st.capData[w] = unix.CapUserData{Effective: v, Permitted: v, Inheritable: v}
		}
	}

	// No other goroutine may create an fd without close-on-exec while the
	// child holds a copy of the fd table (syscall.ForkLock's contract).
	syscall.ForkLock.Lock()
	pid, errno := forkChild(st)
	syscall.ForkLock.Unlock()
	if errno != 0 {
		return nil, os.NewSyscallError("clone", errno)
	}
	p, err := os.FindProcess(pid) // a pidfd: signals can never hit a reused pid
	if err != nil {
		unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
		return nil, err
	}
	return &childProc{Process: p}, nil
}

// forkChild is clone(2) and, in the child, childExec. Only raw system calls
// run between runtimeBeforeFork and the child's execve.
//
//go:norace
//go:noinline
func forkChild(st *forkState) (pid int, errno syscall.Errno) {
	runtimeBeforeFork()
	r1, _, e1 := syscall.RawSyscall6(syscall.SYS_CLONE, st.flags, 0, 0, 0, 0, 0)
	if e1 != 0 || r1 != 0 {
		runtimeAfterFork()
		return int(r1), e1
	}
	runtimeAfterForkInChild()
	childExec(st)
	return 0, 0 // not reached
}

// childExec runs in the new child: the order is the one of Go's own
// forkAndExecInChild1, with the wait for the id map in place of Go's wait
// for the maps it writes itself.
//
//go:nosplit
//go:norace
func childExec(st *forkState) {
	var e syscall.Errno
	if st.pdeathsig != 0 {
		// If the parent died before this line the wait below sees EOF.
		if _, _, e = syscall.RawSyscall6(syscall.SYS_PRCTL, unix.PR_SET_PDEATHSIG, st.pdeathsig, 0, 0, 0, 0); e != 0 {
			childExit()
		}
	}
	if st.setsid {
		if _, _, e = syscall.RawSyscall(syscall.SYS_SETSID, 0, 0, 0); e != 0 {
			childExit()
		}
	}
	if st.waitFd >= 0 {
		for {
			// One SEQPACKET message (truncated to buf): the maps are written.
			n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(st.waitFd), uintptr(unsafe.Pointer(&st.buf[0])), uintptr(len(st.buf)))
			if e == syscall.EINTR {
				continue
			}
			if e != 0 || n == 0 {
				childExit() // the parent is gone, or failed and closed its end
			}
			break
		}
	}
	if st.ambient {
		// A capability can be ambient only if it is permitted and
		// inheritable: make every one inheritable, then raise them all.
		if _, _, e = syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&st.capHdr)), uintptr(unsafe.Pointer(&st.capData[0])), 0); e != 0 {
			childExit()
		}
		for c := uintptr(0); c <= st.lastCap; c++ {
			if _, _, e = syscall.RawSyscall6(syscall.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, c, 0, 0, 0); e != 0 {
				childExit()
			}
		}
	}
	if st.becomeRoot {
		// The child holds every capability in the user namespace it just
		// created (user_namespaces(7)), so these succeed once 0 is mapped.
		if st.setgroups {
			if _, _, e = syscall.RawSyscall(syscall.SYS_SETGROUPS, 0, 0, 0); e != 0 {
				childExit()
			}
		}
		if _, _, e = syscall.RawSyscall(syscall.SYS_SETRESGID, 0, 0, 0); e != 0 {
			childExit()
		}
		if _, _, e = syscall.RawSyscall(syscall.SYS_SETRESUID, 0, 0, 0); e != 0 {
			childExit()
		}
	}
	// Place the files at fds 0..n-1. An fd that belongs in a slot below
	// its own number is first moved above every slot and every source, so
	// that no dup3 overwrites an fd a later slot still needs.
	fds := st.fds
	nextfd := st.nextfd
	for i := 0; i < len(fds); i++ {
		if fds[i] >= 0 && fds[i] < i {
			if _, _, e = syscall.RawSyscall(syscall.SYS_DUP3, uintptr(fds[i]), uintptr(nextfd), unix.O_CLOEXEC); e != 0 {
				childExit()
			}
			fds[i] = nextfd
			nextfd++
		}
	}
	for i := 0; i < len(fds); i++ {
		switch {
		case fds[i] < 0:
			syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(i), 0, 0)
		case fds[i] == i:
			// Already in place: only its close-on-exec flag goes.
			if _, _, e = syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(i), syscall.F_SETFD, 0); e != 0 {
				childExit()
			}
		default:
			if _, _, e = syscall.RawSyscall(syscall.SYS_DUP3, uintptr(fds[i]), uintptr(i), 0); e != 0 {
				childExit()
			}
		}
	}
	syscall.RawSyscall(syscall.SYS_EXECVE,
		uintptr(unsafe.Pointer(st.path)),
		uintptr(unsafe.Pointer(&st.argv[0])),
		uintptr(unsafe.Pointer(&st.envv[0])))
	childExit()
}

// childExit ends a child that failed before its execve. The parent sees
// the status when the control socket closes: "child exited with status
// 125 before ...".
//
//go:nosplit
//go:norace
func childExit() {
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 125, 0, 0)
	}
}
