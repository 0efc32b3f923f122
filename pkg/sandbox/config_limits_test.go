package sandbox

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/cgroups"
	"github.com/isolate-sandbox/isolate/pkg/hints"
)

func TestParseUlimit(t *testing.T) {
	inf := uint64(unix.RLIM_INFINITY)
	good := map[string]specs.POSIXRlimit{
		"nofile=1024":             {Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 1024},
		"nofile=1024:4096":        {Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096},
		"core=0":                  {Type: "RLIMIT_CORE", Soft: 0, Hard: 0},
		"as=unlimited":            {Type: "RLIMIT_AS", Soft: inf, Hard: inf},
		"cpu=10:-1":               {Type: "RLIMIT_CPU", Soft: 10, Hard: inf},
		"stack=8388608:unlimited": {Type: "RLIMIT_STACK", Soft: 8388608, Hard: inf},
	}
	for in, want := range good {
		got, err := ParseUlimit(in)
		if err != nil || got != want {
			t.Errorf("ParseUlimit(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"nofile":             "want NAME=SOFT[:HARD]",
		"=5":                 "want NAME=SOFT[:HARD]",
		"nofile=":            "want NAME=SOFT[:HARD]",
		"files=5":            `unknown limit "files"`,
		"NOFILE=5":           `unknown limit "NOFILE"`,
		"nofile=abc":         `soft limit "abc" is not a number`,
		"nofile=5:x":         `hard limit "x" is not a number`,
		"nofile=10:5":        "soft limit 10 is above the hard limit 5",
		"nofile=-5":          `soft limit "-5" is not a number`,
		"nofile=unlimited:5": "above the hard limit",
	}
	for in, want := range bad {
		_, err := ParseUlimit(in)
		if err == nil || !strings.Contains(err.Error(), want) || hints.Hint(err) == "" {
			t.Errorf("ParseUlimit(%q) = %v, want an error with %q and a hint", in, err, want)
		}
	}
}

func TestParseTimeout(t *testing.T) {
	for in, want := range map[string]time.Duration{"10s": 10 * time.Second, "1m30s": 90 * time.Second, "2": 2 * time.Second, "0.5": 500 * time.Millisecond, "250ms": 250 * time.Millisecond} {
		if got, err := ParseTimeout(in); err != nil || got != want {
			t.Errorf("ParseTimeout(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"-5s": "must be more than zero", "0": "must be more than zero", "-1": "must be more than zero", "soon": "not a duration", "NaN": "not a duration", "": "not a duration"} {
		if _, err := ParseTimeout(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTimeout(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestParseMemory(t *testing.T) {
	for in, want := range map[string]int64{"512m": 512 << 20, "1g": 1 << 30, "1G": 1 << 30, "100k": 100 << 10, "4096": 4096, "4096b": 4096, "1.5g": 3 << 29} {
		if got, err := ParseMemory(in); err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"512x": `unknown unit "x"`, "512mb": `unknown unit`, "1t": `unknown unit`, "m": "not a size", "-1m": "more than zero", "0": "more than zero", "lots": "unknown unit", "99999999999g": "too large"} {
		if _, err := ParseMemory(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMemory(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestParseCPUs(t *testing.T) {
	if v, err := ParseCPUs("1.5"); err != nil || v != 1.5 {
		t.Errorf("ParseCPUs(1.5) = %v, %v", v, err)
	}
	for _, in := range []string{"0", "-1", "x", "Inf", "NaN"} {
		if _, err := ParseCPUs(in); err == nil {
			t.Errorf("ParseCPUs(%q) accepted", in)
		}
	}
}

func TestLimitsValidate(t *testing.T) {
	for _, c := range []LimitsConfig{
		{Memory: 1 << 20},
		{PidsLimit: -1},
		{Timeout: -time.Second},
		{Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_BOGUS", Soft: 1, Hard: 1}}},
		{Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 2, Hard: 1}}},
	} {
		if err := c.validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestProgramStartsThroughTheTrampolineOnlyWithUlimits(t *testing.T) {
	cfg := &Config{Args: []string{"sh", "-c", "ulimit -n"}}
	if p, argv := programArgv(cfg, "/bin/sh"); p != "/bin/sh" || len(argv) != 3 {
		t.Errorf("without --ulimit: %s %q", p, argv)
	}
	r, _ := ParseUlimit("nofile=100:200")
	cfg.Limits.Rlimits = []specs.POSIXRlimit{r}
	p, argv := programArgv(cfg, "/bin/sh")
	want := []string{limitsArg0, "RLIMIT_NOFILE=100:200", "/bin/sh", "sh", "-c", "ulimit -n"}
	if p != "/proc/self/exe" || strings.Join(argv, "|") != strings.Join(want, "|") {
		t.Errorf("with --ulimit: %s %q, want /proc/self/exe %q", p, argv, want)
	}
}

// The host side of --memory/--pids-limit/--cpus against a faked delegated
// cgroup v2 host: the sandbox's cgroup is made before the sandbox exists,
// its first process is put in it, and Close leaves nothing.
func TestCgroupLimitsOnADelegatedHost(t *testing.T) {
	root := t.TempDir()
	own := "/user.slice/user-1000.slice/user@1000.service/app.slice/run-7.scope"
	put := func(p, s string) {
		os.MkdirAll(filepath.Dir(root+p), 0o755)
		os.WriteFile(root+p, []byte(s), 0o644)
	}
	put("/proc/self/mountinfo", "41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n")
	put("/proc/self/cgroup", "0::"+own+"\n")
	put("/sys/fs/cgroup/cgroup.controllers", "cpu memory pids\n")
	put("/sys/fs/cgroup"+own+"/cgroup.controllers", "cpu memory pids\n")
	put("/sys/fs/cgroup"+own+"/cgroup.subtree_control", "")
	put("/sys/fs/cgroup"+own+"/cgroup.procs", "")
	// Run as root the ownership check does not apply; as a normal user the
	// faked files are the user's own, which is what delegation means.
	CgroupRoot = root
	cgroups.RemoveDir = os.RemoveAll
	defer func() { CgroupRoot = "/"; cgroups.RemoveDir = os.Remove }()

	cfg := &Config{Limits: LimitsConfig{Memory: 64 << 20, PidsLimit: 32, CPUs: 0.5}}
	l, err := prepareLimits(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "sys/fs/cgroup", own, "isolate-"+itoa(os.Getpid()))
	if err := l.started(4321, func() {}); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{"memory.max": "67108864", "pids.max": "32", "cpu.max": "50000 100000", "cgroup.procs": "4321"} {
		if b, _ := os.ReadFile(filepath.Join(dir, f)); string(b) != want {
			t.Errorf("%s = %q, want %q", f, b, want)
		}
	}
	l.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("sandbox cgroup %s left behind", dir)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestTimeoutKillsAndReports124(t *testing.T) {
	cfg := &Config{Limits: LimitsConfig{Timeout: 10 * time.Millisecond}}
	l, _ := prepareLimits(cfg)
	killed := make(chan struct{})
	l.started(1, func() { close(killed) })
	select {
	case <-killed:
	case <-time.After(time.Minute):
		t.Fatal("the timer never killed the sandbox")
	}
	code, err := l.status(137, nil)
	if hints.ExitCode(err) != ExitTimeout || code != 0 || !strings.Contains(err.Error(), "--timeout 10ms: the sandbox ran longer and was killed") {
		t.Errorf("status = %d, %v (exit %d); want the timeout error with exit 124", code, err, hints.ExitCode(err))
	}
	// A sandbox that ends in time keeps its own status.
	l2, _ := prepareLimits(&Config{Limits: LimitsConfig{Timeout: time.Hour}})
	l2.started(1, func() { t.Error("killed before its time") })
	if code, err := l2.status(3, nil); code != 3 || err != nil {
		t.Errorf("status = %d, %v; want 3", code, err)
	}
}
