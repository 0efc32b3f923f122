package security

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// run interprets a seccomp program on one syscall, as the kernel's classic
// BPF does for the instructions Compile emits (32-bit loads from
// seccomp_data in the machine's byte order, AND, forward jumps, returns).
func run(t *testing.T, prog *Program, arch uint32, nr uint32, args ...uint64) uint32 {
	t.Helper()
	var data [64]byte
	binary.LittleEndian.PutUint32(data[offNr:], nr)
	binary.LittleEndian.PutUint32(data[offArch:], arch)
	for i, a := range args {
		binary.LittleEndian.PutUint64(data[offArgs+8*i:], a)
	}
	var acc uint32
	for pc := 0; pc < len(prog.Insns); pc++ {
		in := prog.Insns[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			acc = binary.LittleEndian.Uint32(data[in.K:])
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K:
			acc &= in.K
		case unix.BPF_JMP | unix.BPF_JA:
			pc += int(in.K)
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K:
			var ok bool
			switch in.Code & 0xf0 {
			case unix.BPF_JEQ:
				ok = acc == in.K
			case unix.BPF_JGT:
				ok = acc > in.K
			case unix.BPF_JGE:
				ok = acc >= in.K
			}
			if ok {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_RET | unix.BPF_K:
			return in.K
		default:
			t.Fatalf("unexpected instruction %#x at %d", in.Code, pc)
		}
	}
	t.Fatalf("program ran off its end")
	return 0
}

func compileDefault(t *testing.T, caps CapSet) *Program {
	t.Helper()
	prog, err := Compile(DefaultProfile().Resolve(caps, KernelVersion{6, 18}))
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

func nr(t *testing.T, name string) uint32 {
	t.Helper()
	n, ok := syscallNumber(name)
	if !ok {
		t.Fatalf("no syscall %s on %s", name, nativeArchName)
	}
	return n
}

const (
	allow = unix.SECCOMP_RET_ALLOW
	eperm = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
)

func TestDefaultProfileDecisions(t *testing.T) {
	prog := compileDefault(t, DefaultCaps)
	arch := uint32(nativeAuditArch)
	for _, tc := range []struct {
		what string
		nr   string
		args []uint64
		want uint32
	}{
		{"read", "read", nil, allow},
		{"execve", "execve", nil, allow},
		{"keyctl", "keyctl", nil, eperm},
		{"add_key", "add_key", nil, eperm},
		{"request_key", "request_key", nil, eperm},
		{"init_module", "init_module", nil, eperm},
		{"finit_module", "finit_module", nil, eperm},
		{"reboot", "reboot", nil, eperm},
		{"swapon", "swapon", nil, eperm},
		{"clock_settime", "clock_settime", nil, eperm},
		{"ptrace", "ptrace", nil, eperm},
		{"process_vm_readv", "process_vm_readv", nil, eperm},
		{"bpf", "bpf", nil, eperm},
		{"perf_event_open", "perf_event_open", nil, eperm},
		{"open_by_handle_at", "open_by_handle_at", nil, eperm},
		{"mount", "mount", nil, eperm},
		{"umount2", "umount2", nil, eperm},
		{"unshare", "unshare", []uint64{unix.CLONE_NEWUSER}, eperm},
		{"setns", "setns", nil, eperm},
		{"io_uring_setup", "io_uring_setup", nil, eperm},
		{"userfaultfd", "userfaultfd", nil, eperm},
		{"chroot with SYS_CHROOT", "chroot", nil, allow},
		{"clone of a thread", "clone", []uint64{unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD}, allow},
		{"clone of a process", "clone", []uint64{uint64(unix.SIGCHLD)}, allow},
		{"clone of a user namespace", "clone", []uint64{unix.CLONE_NEWUSER | uint64(unix.SIGCHLD)}, eperm},
		{"clone of a mount namespace", "clone", []uint64{unix.CLONE_NEWNS}, eperm},
		{"clone3 falls back", "clone3", nil, unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		{"ioctl TCGETS", "ioctl", []uint64{0, unix.TCGETS}, allow},
		{"ioctl TIOCSTI", "ioctl", []uint64{0, unix.TIOCSTI}, eperm},
		{"ioctl TIOCSTI with a high bit (CVE-2019-10063)", "ioctl", []uint64{0, 1<<32 | unix.TIOCSTI}, eperm},
		{"ioctl TIOCLINUX", "ioctl", []uint64{0, unix.TIOCLINUX}, eperm},
		{"ioctl TIOCLINUX with high bits", "ioctl", []uint64{0, 0xffffffff00000000 | unix.TIOCLINUX}, eperm},
		{"socket AF_INET", "socket", []uint64{unix.AF_INET}, allow},
		{"socket AF_UNIX", "socket", []uint64{unix.AF_UNIX}, allow},
		{"socket AF_ALG", "socket", []uint64{unix.AF_ALG}, eperm},
		{"socket AF_ALG with a high bit", "socket", []uint64{1<<32 | unix.AF_ALG}, eperm},
		{"socket AF_VSOCK", "socket", []uint64{unix.AF_VSOCK}, eperm},
		{"personality query", "personality", []uint64{0xffffffff}, allow},
		{"personality ADDR_NO_RANDOMIZE", "personality", []uint64{0x0040000}, eperm},
		{"unknown syscall number", "", []uint64{}, eperm},
	} {
		n := uint32(1000) // no syscall has it
		if tc.nr != "" {
			n = nr(t, tc.nr)
		}
		if got := run(t, prog, arch, n, tc.args...); got != tc.want {
			t.Errorf("%s: %#x, want %#x", tc.what, got, tc.want)
		}
	}
	if got := run(t, prog, unix.AUDIT_ARCH_I386, 0); got != unix.SECCOMP_RET_KILL_PROCESS {
		t.Errorf("another architecture's syscall: %#x, want kill", got)
	}
	if nativeArchName == "amd64" {
		if got := run(t, prog, arch, x32SyscallBit|nr(t, "read")); got != unix.SECCOMP_RET_KILL_PROCESS {
			t.Errorf("x32 syscall: %#x, want kill", got)
		}
	}
}

func TestCapabilitiesOpenTheirSyscalls(t *testing.T) {
	for _, tc := range []struct {
		cap, nr string
		args    []uint64
	}{
		{"SYS_ADMIN", "mount", nil},
		{"SYS_ADMIN", "unshare", []uint64{unix.CLONE_NEWUSER}},
		{"SYS_ADMIN", "clone", []uint64{unix.CLONE_NEWUSER}},
		{"SYS_ADMIN", "clone3", nil},
		{"SYS_PTRACE", "ptrace", nil},
		{"SYS_MODULE", "init_module", nil},
		{"SYS_TIME", "clock_settime", nil},
		{"DAC_READ_SEARCH", "open_by_handle_at", nil},
	} {
		with := compileDefault(t, DefaultCaps|mustCaps(tc.cap))
		if got := run(t, with, nativeAuditArch, nr(t, tc.nr), tc.args...); got != allow {
			t.Errorf("with %s, %s: %#x, want allow", tc.cap, tc.nr, got)
		}
	}
	without := compileDefault(t, DefaultCaps&^mustCaps("SYS_CHROOT"))
	if got := run(t, without, nativeAuditArch, nr(t, "chroot")); got != eperm {
		t.Errorf("without SYS_CHROOT, chroot: %#x, want EPERM", got)
	}
}

// TestArgumentComparisonsAre64Bit checks each operator against Go's own
// comparison on values around the 32-bit boundary.
func TestArgumentComparisonsAre64Bit(t *testing.T) {
	values := []uint64{0, 1, 0xffffffff, 1 << 32, 1<<32 | 1, 0xffffffff00000000, ^uint64(0), 0x5412, 0x1_00005412}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		values = append(values, rng.Uint64(), uint64(rng.Uint32()))
	}
	type op struct {
		op specs.LinuxSeccompOperator
		f  func(a, v, v2 uint64) bool
	}
	for _, o := range []op{
		{specs.OpEqualTo, func(a, v, _ uint64) bool { return a == v }},
		{specs.OpNotEqual, func(a, v, _ uint64) bool { return a != v }},
		{specs.OpLessThan, func(a, v, _ uint64) bool { return a < v }},
		{specs.OpLessEqual, func(a, v, _ uint64) bool { return a <= v }},
		{specs.OpGreaterThan, func(a, v, _ uint64) bool { return a > v }},
		{specs.OpGreaterEqual, func(a, v, _ uint64) bool { return a >= v }},
		{specs.OpMaskedEqual, func(a, m, v uint64) bool { return a&m == v }},
	} {
		for _, v := range values {
			v2 := v & 0xffff0000ffff
			prof := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
				{Names: []string{"write"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 2, Op: o.op, Value: v, ValueTwo: v2}}},
			}}
			prog, err := Compile(prof)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range values {
				want := uint32(eperm)
				if o.f(a, v, v2) {
					want = allow
				}
				if got := run(t, prog, nativeAuditArch, nr(t, "write"), 0, 0, a); got != want {
					t.Fatalf("%s %#x (two %#x) on %#x: %#x, want %#x", o.op, v, v2, a, got, want)
				}
			}
		}
	}
}

func TestRulesOrder(t *testing.T) {
	eacces := uint(unix.EACCES)
	prof := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"openat"}, Action: specs.ActErrno, ErrnoRet: &eacces},
		{Names: []string{"openat"}, Action: specs.ActKillProcess}, // a second unconditional rule does not override
		{Names: []string{"write"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo, Value: 2}}},
		{Names: []string{"write"}, Action: specs.ActLog, Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpGreaterEqual, Value: 2}}},
		{Names: []string{"no_such_syscall"}, Action: specs.ActKill},
	}}
	prog, err := Compile(prof)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		nr   string
		args []uint64
		want uint32
	}{
		{"openat", nil, unix.SECCOMP_RET_ERRNO | uint32(unix.EACCES)},
		{"write", []uint64{2}, eperm},
		{"write", []uint64{3}, unix.SECCOMP_RET_LOG},
		{"write", []uint64{1}, allow},
		{"read", nil, allow},
	} {
		if got := run(t, prog, nativeAuditArch, nr(t, tc.nr), tc.args...); got != tc.want {
			t.Errorf("%s %v: %#x, want %#x", tc.nr, tc.args, got, tc.want)
		}
	}
}

func TestEverySyscallOfTheTableDispatches(t *testing.T) {
	// A profile that gives every syscall its own errno exercises every
	// branch of the dispatch tree.
	prof := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
	for _, s := range syscallTable {
		e := uint(s.nr%4000 + 1)
		prof.Syscalls = append(prof.Syscalls, specs.LinuxSyscall{Names: []string{s.name}, Action: specs.ActErrno, ErrnoRet: &e})
	}
	prog, err := Compile(prof)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syscallTable {
		n := s.nr
		if got, want := run(t, prog, nativeAuditArch, n), unix.SECCOMP_RET_ERRNO|(n%4000+1); got != want {
			t.Fatalf("syscall %d: %#x, want %#x", n, got, want)
		}
	}
	if len(prog.Insns) > maxInsns {
		t.Fatalf("%d instructions", len(prog.Insns))
	}
}

func TestDefaultProfileNamesExist(t *testing.T) {
	// Every name is a syscall of amd64 or arm64 or of an architecture
	// isolate does not build for; a typo would silently deny a syscall.
	other := map[string]bool{}
	for _, n := range strings.Fields(`_llseek _newselect chown32 clock_adjtime64 clock_getres_time64
		clock_gettime64 clock_nanosleep_time64 fadvise64_64 fchown32 fcntl64 fstat64 fstatat64 fstatfs64
		ftruncate64 futex_time64 getegid32 geteuid32 getgid32 getgroups32 getresgid32 getresuid32 getuid32
		io_pgetevents_time64 ipc lchown32 lstat64 mmap2 mq_timedreceive_time64 mq_timedsend_time64
		ppoll_time64 pselect6_time64 recv recvmmsg_time64 rt_sigtimedwait_time64 sched_rr_get_interval_time64
		semtimedop_time64 send sendfile64 setfsgid32 setfsuid32 setgid32 setgroups32 setregid32 setresgid32
		setresuid32 setreuid32 setuid32 sigprocmask sigreturn socketcall stat64 statfs64 timer_gettime64
		timer_settime64 timerfd_gettime64 timerfd_settime64 truncate64 ugetrlimit utimensat_time64
		waitpid riscv_hwprobe uretprobe epoll_ctl_old epoll_wait_old stime umount lookup_dcookie
		arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls
		futex_wait futex_wake futex_requeue clock_settime64`) {
		other[n] = true
	}
	for _, r := range DefaultProfile().Syscalls {
		for _, n := range r.Names {
			if _, ok := syscallNumber(n); !ok && !other[n] {
				t.Errorf("%s: not a syscall on %s", n, nativeArchName)
			}
		}
	}
}

func TestParseProfileErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, "empty file"},
		{`{"defaultAction": "SCMP_ACT_ERRNO",` + "\n" + `  "syscalls": [}`, "line 2, column 16: invalid character '}'"},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "sycalls": []}`, `unknown field "sycalls"`},
		{`{"syscalls": []}`, `"defaultAction" is missing`},
		{`{"defaultAction": "SCMP_ACT_MAYBE"}`, `defaultAction: unknown action "SCMP_ACT_MAYBE"`},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}`, "needs a seccomp agent"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock"}`, "user notification is not supported"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO"}]}`, "syscalls[0]: no syscall names"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}`, "argument index 6"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LIKE"}]}]}`, `unknown operator "SCMP_CMP_LIKE"`},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_FLY"]}}]}`, `unknown capability "CAP_FLY"`},
		{`{"defaultAction": "SCMP_ACT_ALLOW"} {}`, "trailing data"},
		{`{"defaultAction": 1}`, "line 1, column 19"},
	} {
		_, err := ParseProfile([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseProfile(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("error spans lines: %q", err)
		}
	}
}

func TestDockerProfileIncludesAndExcludes(t *testing.T) {
	in := `{
	"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
	"archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
	"syscalls": [
		{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "always"},
		{"name": "getpid", "action": "SCMP_ACT_ALLOW"},
		{"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
		{"names": ["kcmp"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "99.1"}},
		{"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
		{"names": ["clone"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
		{"names": ["uname"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["s390x"]}},
		{"names": ["sysinfo"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["` + nativeArchName + `"]}}
	]}`
	p, err := ParseProfile([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	names := func(s *specs.LinuxSeccomp) string {
		var out []string
		for _, r := range s.Syscalls {
			out = append(out, strings.Join(r.Names, "+"))
		}
		return strings.Join(out, " ")
	}
	if got := names(p.Resolve(DefaultCaps, KernelVersion{6, 1})); got != "read+write getpid ptrace clone" {
		t.Errorf("without SYS_ADMIN: %s", got)
	}
	if got := names(p.Resolve(DefaultCaps|mustCaps("SYS_ADMIN"), KernelVersion{4, 7})); got != "read+write getpid mount" {
		t.Errorf("with SYS_ADMIN on 4.7: %s", got)
	}
}

func TestParseKernelRelease(t *testing.T) {
	for in, want := range map[string]KernelVersion{"6.18.0-1-amd64": {6, 18}, "4.8": {4, 8}, "5.10-rc1": {5, 10}} {
		if got, err := ParseKernelRelease(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := ParseKernelRelease("six"); err == nil {
		t.Error("six parsed")
	}
}

func ExampleCompile() {
	prog, _ := Compile(DefaultProfile().Resolve(DefaultCaps, KernelVersion{6, 18}))
	fmt.Println(len(prog.Insns) < maxInsns)
	// Output: true
}

func TestProgramSurvivesItsWireForm(t *testing.T) {
	prog, err := Compile(DefaultProfile().Resolve(DefaultCaps, KernelVersion{6, 1}))
	if err != nil {
		t.Fatal(err)
	}
	data, err := prog.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back := &Program{Flags: prog.Flags}
	if err := back.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, prog) {
		t.Errorf("decoded filter differs: %d instructions, want %d", len(back.Insns), len(prog.Insns))
	}
	for _, bad := range [][]byte{nil, make([]byte, 12), make([]byte, 8*(maxInsns+1))} {
		if err := back.UnmarshalBinary(bad); err == nil {
			t.Errorf("%d bytes decoded without error", len(bad))
		}
	}
}

var update = flag.Bool("update", false, "rewrite the prebuilt default seccomp filter")

// The prebuilt filter is exactly what compiling the default profile gives
// now: a change to the profile, the compiler or the syscall table makes
// this fail until the file is regenerated with -update.
func TestPrebuiltDefaultFilterIsCurrent(t *testing.T) {
	fresh, err := Compile(DefaultProfile().Resolve(DefaultCaps, KernelVersion{6, 1}))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Compile(DefaultProfile().Resolve(DefaultCaps, KernelVersion{4, 0}))
	if !reflect.DeepEqual(fresh, again) {
		t.Fatal("the default filter depends on the kernel version or is not deterministic: it cannot be prebuilt")
	}
	want, _ := fresh.MarshalBinary()
	if runtime.GOARCH != "amd64" {
		if _, ok := DefaultFilter(DefaultCaps); ok {
			t.Errorf("a prebuilt filter on %s, which has none", runtime.GOARCH)
		}
		return
	}
	if *update {
		if err := os.WriteFile("seccomp_default_amd64.bin", want, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Skip("seccomp_default_amd64.bin written; the binary embeds it from the next build on")
	}
	got, ok := DefaultFilter(DefaultCaps)
	if !ok || !reflect.DeepEqual(got, fresh) {
		t.Fatalf("seccomp_default_amd64.bin is stale: go test ./pkg/security -run PrebuiltDefaultFilter -update")
	}
	if _, ok := DefaultFilter(DefaultCaps | 1<<unix.CAP_SYS_ADMIN); ok {
		t.Error("the prebuilt filter was used for another capability set")
	}
}

func TestSyscallTableIsSortedForItsLookup(t *testing.T) {
	for i := 1; i < len(syscallTable); i++ {
		if syscallTable[i-1].name >= syscallTable[i].name {
			t.Fatalf("not sorted at %s, %s: run go generate ./pkg/security", syscallTable[i-1].name, syscallTable[i].name)
		}
	}
	for _, s := range syscallTable {
		if n, ok := syscallNumber(s.name); !ok || n != s.nr {
			t.Errorf("syscallNumber(%s) = %d, %v; want %d", s.name, n, ok, s.nr)
		}
	}
	if _, ok := syscallNumber("no_such_syscall"); ok {
		t.Error("an unknown name was found")
	}
}
