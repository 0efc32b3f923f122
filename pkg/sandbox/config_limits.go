package sandbox

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/cgroups"
	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// LimitsConfig is the resource limits and timeouts.
type LimitsConfig struct {
	// Rlimits are set inside, before PROGRAM starts (--ulimit), in the OCI
	// runtime spec's form: Type "RLIMIT_NOFILE", Soft, Hard.
	Rlimits []specs.POSIXRlimit `json:"rlimits,omitempty"`
	// Timeout kills the sandbox when it runs longer (--timeout); 0: never.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Cgroup v2 limits (--memory, --pids-limit, --cpus); 0: none.
	Memory    int64   `json:"memory,omitempty"` // bytes
	PidsLimit int64   `json:"pidsLimit,omitempty"`
	CPUs      float64 `json:"cpus,omitempty"`
}

// ExitTimeout is timeout(1)'s status for a command that ran too long.
const ExitTimeout = 124

// rlimits are the names --ulimit takes (docker's, which are
// setrlimit(2)'s without RLIMIT_), with the kernel's resource numbers.
var rlimits = map[string]int{
	"as": unix.RLIMIT_AS, "core": unix.RLIMIT_CORE, "cpu": unix.RLIMIT_CPU,
	"data": unix.RLIMIT_DATA, "fsize": unix.RLIMIT_FSIZE, "locks": unix.RLIMIT_LOCKS,
	"memlock": unix.RLIMIT_MEMLOCK, "msgqueue": unix.RLIMIT_MSGQUEUE, "nice": unix.RLIMIT_NICE,
	"nofile": unix.RLIMIT_NOFILE, "nproc": unix.RLIMIT_NPROC, "rss": unix.RLIMIT_RSS,
	"rtprio": unix.RLIMIT_RTPRIO, "rttime": unix.RLIMIT_RTTIME,
	"sigpending": unix.RLIMIT_SIGPENDING, "stack": unix.RLIMIT_STACK,
}

// UlimitNames lists the names --ulimit accepts, sorted.
func UlimitNames() []string {
	var n []string
	for k := range rlimits {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// rlimitResource maps an OCI type ("RLIMIT_NOFILE") to its number.
func rlimitResource(typ string) (int, bool) {
	r, ok := rlimits[strings.ToLower(strings.TrimPrefix(typ, "RLIMIT_"))]
	return r, ok && strings.HasPrefix(typ, "RLIMIT_")
}

// ParseUlimit reads docker's --ulimit NAME=SOFT[:HARD]; a missing HARD is
// SOFT, and "unlimited" (or -1) is no limit.
func ParseUlimit(s string) (specs.POSIXRlimit, error) {
	bad := func(why string) (specs.POSIXRlimit, error) {
		return specs.POSIXRlimit{}, &hints.Error{What: "--ulimit " + s, Why: errors.New(why), Hint: "use NAME=SOFT[:HARD] with NAME one of " + strings.Join(UlimitNames(), ", ") + ", e.g. --ulimit nofile=1024:4096"}
	}
	name, vals, ok := strings.Cut(s, "=")
	if !ok || name == "" || vals == "" {
		return bad("want NAME=SOFT[:HARD]")
	}
	if _, known := rlimits[name]; !known {
		return bad(fmt.Sprintf("unknown limit %q", name))
	}
	softS, hardS, hasHard := strings.Cut(vals, ":")
	soft, err := parseRlimitValue(softS)
	if err != nil {
		return bad("soft limit " + err.Error())
	}
	hard := soft
	if hasHard {
		if hard, err = parseRlimitValue(hardS); err != nil {
			return bad("hard limit " + err.Error())
		}
	}
	if soft > hard {
		return bad(fmt.Sprintf("soft limit %s is above the hard limit %s", softS, hardS))
	}
	return specs.POSIXRlimit{Type: "RLIMIT_" + strings.ToUpper(name), Soft: soft, Hard: hard}, nil
}

func parseRlimitValue(s string) (uint64, error) {
	if s == "unlimited" || s == "-1" {
		return unix.RLIM_INFINITY, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number or \"unlimited\"", s)
	}
	return v, nil
}

// ParseTimeout reads a Go duration (10s, 1m30s, 500ms) or, as timeout(1),
// a number of seconds.
func ParseTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, &hints.Error{What: "--timeout " + s, Why: errors.New("not a duration"), Hint: "use a duration such as 30s, 5m or 1h30m (a bare number is seconds)"}
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d <= 0 {
		return 0, &hints.Error{What: "--timeout " + s, Why: errors.New("must be more than zero"), Hint: "use a duration such as 30s, 5m or 1h30m"}
	}
	return d, nil
}

// ParseMemory reads docker's --memory: a number of bytes with an optional
// unit b, k, m or g (powers of 1024, either case).
func ParseMemory(s string) (int64, error) {
	bad := func(why string) (int64, error) {
		return 0, &hints.Error{What: "--memory " + s, Why: errors.New(why), Hint: "use a number with an optional unit b, k, m or g, e.g. --memory 512m"}
	}
	i := strings.IndexFunc(s, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.' || r == '-' || r == '+') })
	if i < 0 {
		i = len(s)
	}
	num, unit := s[:i], strings.ToLower(s[i:])
	mult := map[string]int64{"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit]
	if mult == 0 {
		return bad(fmt.Sprintf("unknown unit %q", s[i:]))
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" || math.IsNaN(v) || math.IsInf(v, 0) {
		return bad("not a size")
	}
	if v*float64(mult) > math.MaxInt64/2 {
		return bad("too large")
	}
	b := int64(v * float64(mult))
	if b <= 0 {
		return bad("must be more than zero")
	}
	return b, nil
}

// ParseCPUs reads --cpus: how many CPUs' worth of time, e.g. 1.5.
func ParseCPUs(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return 0, &hints.Error{What: "--cpus " + s, Why: errors.New("want a number of CPUs above zero"), Hint: "e.g. --cpus 1.5"}
	}
	return v, nil
}

// minMemory: below this the kernel's OOM killer ends the sandbox before
// its first program runs (docker refuses less than 6MB for the same reason).
const minMemory = 6 << 20

func (c *LimitsConfig) validate() error {
	for _, r := range c.Rlimits {
		if _, ok := rlimitResource(r.Type); !ok {
			return &hints.Error{What: "rlimit " + r.Type, Why: errors.New("unknown resource")}
		}
		if r.Soft > r.Hard {
			return &hints.Error{What: "rlimit " + r.Type, Why: errors.New("soft limit above the hard limit")}
		}
	}
	if c.Timeout < 0 {
		return &hints.Error{What: "--timeout", Why: errors.New("must be more than zero")}
	}
	if c.Memory != 0 && c.Memory < minMemory {
		return &hints.Error{What: fmt.Sprintf("--memory %d", c.Memory), Why: errors.New("less than 6m: the sandbox could not even start"), Hint: "use at least --memory 6m"}
	}
	if c.PidsLimit < 0 {
		return &hints.Error{What: fmt.Sprintf("--pids-limit %d", c.PidsLimit), Why: errors.New("must be more than zero")}
	}
	if c.CPUs < 0 || c.CPUs*float64(cgroups.CPUPeriod) > math.MaxInt64/2 {
		return &hints.Error{What: fmt.Sprintf("--cpus %g", c.CPUs), Why: errors.New("out of range")}
	}
	return nil
}

// wantsCgroup: some limit needs a cgroup.
func (c *LimitsConfig) wantsCgroup() bool {
	return c.Memory > 0 || c.PidsLimit > 0 || c.CPUs > 0
}
