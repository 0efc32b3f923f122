package sandbox

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/isolate-sandbox/isolate/pkg/cgroups"
	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// CgroupRoot is where the host's /proc and /sys are read for cgroups; tests
// point it at a faked host.
var CgroupRoot = "/"

// limits is the host side of --timeout, --memory, --pids-limit and --cpus.
type limits struct {
	cfg     *Config
	cg      *cgroups.Sandbox
	timer   *time.Timer
	expired atomic.Bool
}

// prepareLimits runs before the sandbox exists, so that a host without a
// delegated cgroup fails before anything starts.
func prepareLimits(cfg *Config) (*limits, error) {
	l := &limits{cfg: cfg}
	lc := cfg.Limits
	if !lc.wantsCgroup() {
		return l, nil
	}
	want := cgroups.Limits{MemoryMax: lc.Memory, PidsMax: lc.PidsLimit, CPUQuota: int64(lc.CPUs * cgroups.CPUPeriod)}
	g, err := cgroups.Find(CgroupRoot)
	if err == nil {
		err = g.Delegated(uint32(os.Getuid()), want.Controllers())
	}
	if err != nil {
		return nil, limitsError(err)
	}
	if l.cg, err = g.NewSandbox(fmt.Sprintf("isolate-%d", os.Getpid()), want, os.Getpid()); err != nil {
		return nil, limitsError(err)
	}
	return l, nil
}

// limitsError names the flags that need the cgroup in the error line.
func limitsError(err error) error {
	var he *hints.Error
	if errors.As(err, &he) {
		e := *he
		e.What = "--memory/--pids-limit/--cpus: " + e.What
		return &e
	}
	return &hints.Error{What: "--memory/--pids-limit/--cpus", Why: err}
}

// started puts the sandbox's first process into its cgroup (it has not
// started PROGRAM yet: it waits for "start") and arms the timeout.
func (l *limits) started(pid int, kill func()) error {
	if l.cg != nil {
		if err := l.cg.Add(pid); err != nil {
			return limitsError(err)
		}
	}
	if d := l.cfg.Limits.Timeout; d > 0 {
		l.timer = time.AfterFunc(d, func() {
			l.expired.Store(true)
			// SIGKILL to the sandbox's init ends its pid namespace.
			kill()
		})
	}
	return nil
}

// status turns the sandbox's end into timeout(1)'s 124 when the timer
// killed it.
func (l *limits) status(code int, err error) (int, error) {
	if l.timer != nil {
		l.timer.Stop()
	}
	if l.expired.Load() {
		return 0, &hints.Error{What: "--timeout " + l.cfg.Limits.Timeout.String(), Why: errors.New("the sandbox ran longer and was killed"), Code: ExitTimeout}
	}
	return code, err
}

// Close removes the sandbox's cgroup; call it after the sandbox is reaped.
func (l *limits) Close() {
	if l.timer != nil {
		l.timer.Stop()
	}
	if l.cg != nil {
		l.cg.Close()
	}
}
