package security

import (
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The default profile has the semantics of moby's default seccomp profile
// (github.com/moby/profiles, seccomp/default.json): everything not listed
// fails with EPERM; syscalls that need a capability the sandbox lacks fail
// too (mount, unshare, setns, namespace flags of clone, bpf,
// perf_event_open, kernel modules, reboot, clock setting, ...). isolate's
// own differences, each stricter:
//
//   - ptrace, process_vm_readv and process_vm_writev need CAP_SYS_PTRACE
//     (moby allows them on kernels from 4.8 on);
//   - ioctl TIOCSTI and TIOCLINUX fail with EPERM, compared on the low 32
//     bits of the request, because the kernel reads the request as an
//     unsigned int (CVE-2017-5226, and CVE-2019-10063 for the 64-bit
//     comparison that a high bit slipped past);
//   - socket(AF_ALG) and socket(AF_VSOCK) are denied by comparing the low
//     32 bits of the family too, for the same reason (moby compares 64 bits).
//
// keyctl, add_key and request_key (the kernel keyring is not namespaced by
// every kernel), io_uring, userfaultfd, kexec, swapon/swapoff, pivot_root,
// open_by_handle_at (without CAP_DAC_READ_SEARCH) and the obsolete
// syscalls are not listed, so they fail with EPERM.

// allowed is the unconditional allow list, by topic.
const allowed = `
	read write readv writev pread64 preadv preadv2 pwrite64 pwritev pwritev2
	open openat openat2 creat close close_range dup dup2 dup3 fcntl fcntl64
	lseek _llseek sendfile sendfile64 copy_file_range splice tee vmsplice
	stat fstat lstat newfstatat stat64 fstat64 lstat64 fstatat64 statx
	statfs fstatfs statfs64 fstatfs64 access faccessat faccessat2
	getdents getdents64 getcwd chdir fchdir readlink readlinkat
	mkdir mkdirat rmdir unlink unlinkat rename renameat renameat2
	link linkat symlink symlinkat mknod mknodat umask
	chmod fchmod fchmodat fchmodat2 chown fchown lchown fchownat chown32 fchown32 lchown32
	truncate ftruncate truncate64 ftruncate64 fallocate fadvise64 fadvise64_64 readahead
	fsync fdatasync sync syncfs sync_file_range flock
	utime utimes utimensat utimensat_time64 futimesat
	getxattr lgetxattr fgetxattr getxattrat setxattr lsetxattr fsetxattr setxattrat
	listxattr llistxattr flistxattr listxattrat removexattr lremovexattr fremovexattr removexattrat
	inotify_init inotify_init1 inotify_add_watch inotify_rm_watch fanotify_mark
	name_to_handle_at cachestat statmount listmount
	ioctl

	mmap mmap2 munmap mremap mprotect pkey_mprotect pkey_alloc pkey_free madvise
	mincore msync mlock mlock2 mlockall munlock munlockall brk remap_file_pages
	membarrier memfd_create memfd_secret mseal map_shadow_stack process_mrelease

	execve execveat exit exit_group fork vfork wait4 waitid waitpid
	getpid getppid gettid getpgid getpgrp setpgid getsid setsid
	getuid geteuid getgid getegid getresuid getresgid getgroups
	getuid32 geteuid32 getgid32 getegid32 getresuid32 getresgid32 getgroups32
	setuid setgid setreuid setregid setresuid setresgid setfsuid setfsgid setgroups
	setuid32 setgid32 setreuid32 setregid32 setresuid32 setresgid32 setfsuid32 setfsgid32 setgroups32
	capget capset prctl seccomp landlock_create_ruleset landlock_add_rule landlock_restrict_self
	getrlimit setrlimit prlimit64 ugetrlimit getrusage getpriority setpriority
	ioprio_get ioprio_set sched_yield sched_getaffinity sched_setaffinity
	sched_getattr sched_setattr sched_getparam sched_setparam sched_getscheduler sched_setscheduler
	sched_get_priority_max sched_get_priority_min sched_rr_get_interval sched_rr_get_interval_time64
	getcpu uname sysinfo times time getrandom rseq restart_syscall
	set_tid_address set_robust_list get_robust_list get_thread_area set_thread_area
	futex futex_time64 futex_waitv futex_wait futex_wake futex_requeue
	pidfd_open pidfd_send_signal uretprobe riscv_hwprobe

	kill tkill tgkill rt_sigaction rt_sigprocmask rt_sigreturn rt_sigpending
	rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_sigqueueinfo rt_tgsigqueueinfo
	sigaltstack sigreturn sigprocmask signalfd signalfd4 pause alarm
	nanosleep clock_nanosleep clock_nanosleep_time64 clock_gettime clock_gettime64
	clock_getres clock_getres_time64 gettimeofday adjtimex clock_adjtime clock_adjtime64
	getitimer setitimer timer_create timer_delete timer_getoverrun timer_gettime
	timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime
	timerfd_gettime64 timerfd_settime timerfd_settime64

	pipe pipe2 eventfd eventfd2 poll ppoll ppoll_time64 select _newselect
	pselect6 pselect6_time64 epoll_create epoll_create1 epoll_ctl epoll_ctl_old
	epoll_wait epoll_wait_old epoll_pwait epoll_pwait2
	io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents io_pgetevents_time64

	socketpair bind connect listen accept accept4 getsockname getpeername
	getsockopt setsockopt shutdown send sendto sendmsg sendmmsg
	recv recvfrom recvmsg recvmmsg recvmmsg_time64 socketcall

	ipc msgget msgsnd msgrcv msgctl semget semop semtimedop semtimedop_time64 semctl
	shmget shmat shmdt shmctl mq_open mq_unlink mq_timedsend mq_timedsend_time64
	mq_timedreceive mq_timedreceive_time64 mq_notify mq_getsetattr
`

// byCap lists syscalls allowed only when the sandbox has the capability,
// because the kernel would let a holder of it do more than the program
// needs (moby's "includes caps" rules).
var byCap = []struct {
	caps  string
	names string
}{
	{"SYS_ADMIN", `bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick
		lookup_dcookie lsm_get_self_attr lsm_list_modules lsm_set_self_attr
		mount mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd
		setdomainname sethostname setns syslog umount umount2 unshare`},
	{"DAC_READ_SEARCH", "open_by_handle_at"},
	{"SYS_BOOT", "reboot"},
	{"SYS_CHROOT", "chroot"},
	{"SYS_MODULE", "init_module finit_module delete_module"},
	{"SYS_PACCT", "acct"},
	{"SYS_PTRACE", "ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd process_madvise"},
	{"SYS_RAWIO", "iopl ioperm"},
	{"SYS_TIME", "settimeofday stime clock_settime clock_settime64"},
	{"SYS_TTY_CONFIG", "vhangup"},
	{"SYS_NICE", "get_mempolicy mbind set_mempolicy set_mempolicy_home_node"},
	{"SYSLOG", "syslog"},
	{"BPF", "bpf"},
	{"PERFMON", "perf_event_open"},
}

// namespaceFlags are the clone flags that create namespaces.
const namespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// low32 compares only the low 32 bits of an argument the kernel reads as
// an int or unsigned int, so a value with high bits set cannot slip past.
func low32(index uint, value uint64) specs.LinuxSeccompArg {
	return specs.LinuxSeccompArg{Index: index, Op: specs.OpMaskedEqual, Value: 0xffffffff, ValueTwo: value}
}

// DefaultProfile is isolate's default seccomp profile.
func DefaultProfile() *Profile {
	eperm := uint(unix.EPERM)
	enosys := uint(unix.ENOSYS)
	p := &Profile{DefaultAction: specs.ActErrno, DefaultErrnoRet: &eperm}
	add := func(r Rule) { p.Syscalls = append(p.Syscalls, r) }
	add(Rule{Names: strings.Fields(allowed), Action: specs.ActAllow})
	for _, req := range []uint64{unix.TIOCSTI, unix.TIOCLINUX} {
		add(Rule{Names: []string{"ioctl"}, Action: specs.ActErrno, ErrnoRet: &eperm, Args: []specs.LinuxSeccompArg{low32(1, req)},
			Comment: "no keystroke injection into a terminal (CVE-2017-5226, CVE-2019-10063)"})
	}
	for _, family := range []uint64{unix.AF_ALG, unix.AF_VSOCK} {
		add(Rule{Names: []string{"socket"}, Action: specs.ActErrno, ErrnoRet: &eperm, Args: []specs.LinuxSeccompArg{low32(0, family)}})
	}
	add(Rule{Names: []string{"socket"}, Action: specs.ActAllow})
	for _, persona := range []uint64{0, 0x8, 0x20000, 0x20008, 0xffffffff} {
		// PER_LINUX, UNAME26, PER_LINUX32, both, and the query 0xffffffff.
		add(Rule{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo, Value: persona}}})
	}
	add(Rule{Names: []string{"arch_prctl", "modify_ldt"}, Action: specs.ActAllow, Includes: &Filter{Arches: []string{"amd64"}}})
	add(Rule{Names: []string{"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"},
		Action: specs.ActAllow, Includes: &Filter{Arches: []string{"arm64"}}})
	for _, c := range byCap {
		add(Rule{Names: strings.Fields(c.names), Action: specs.ActAllow, Includes: &Filter{Caps: []string{c.caps}}})
	}
	// Without CAP_SYS_ADMIN: threads and processes yes, new namespaces no.
	add(Rule{Names: []string{"clone"}, Action: specs.ActAllow, Excludes: &Filter{Caps: []string{"SYS_ADMIN"}},
		Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpMaskedEqual, Value: namespaceFlags, ValueTwo: 0}}})
	// clone3 passes its flags in memory, which seccomp cannot read: ENOSYS
	// makes glibc fall back to clone, whose flags it can (as moby does).
	add(Rule{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys, Excludes: &Filter{Caps: []string{"SYS_ADMIN"}}})
	return p
}
