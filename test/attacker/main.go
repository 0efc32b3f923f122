// Command attacker is run inside the sandbox by the escape tests: each
// subcommand tries one way out and prints "blocked: <errno>" when the
// kernel refused, or "ESCAPED: <what>" when it worked. It always exits 0
// unless its own arguments are wrong, so that the test reads the verdict.
package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "ptrace":
		pid := atoi(arg(args, 0))
		verdict(unix.PtraceAttach(pid), "attached to pid "+arg(args, 0))
	case "init-module":
		// An empty image: the kernel checks the capability before it
		// looks at the module.
		img := []byte{0}
		_, _, e := unix.Syscall(unix.SYS_INIT_MODULE, uintptr(unsafe.Pointer(&img[0])), 0, uintptr(unsafe.Pointer(&[]byte("\x00")[0])))
		verdict(errno(e), "init_module accepted")
	case "open-by-handle":
		// args: handle type, handle bytes in hex (from name_to_handle_at on the host)
		typ := atoi(arg(args, 0))
		b, err := hex.DecodeString(arg(args, 1))
		if err != nil {
			usage()
		}
		mnt, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			fmt.Println("setup:", err)
			return
		}
		fd, err := unix.OpenByHandleAt(mnt, unix.NewFileHandle(int32(typ), b), unix.O_RDONLY)
		if err == nil {
			buf := make([]byte, 64)
			n, _ := unix.Read(fd, buf)
			verdict(nil, fmt.Sprintf("opened the host file, read %q", buf[:n]))
			return
		}
		verdict(err, "")
	case "tiocsti":
		// Push the text into the terminal's input queue, byte by byte,
		// with and without a high bit in the request (CVE-2019-10063).
		for _, req := range []uint64{unix.TIOCSTI, 1<<32 | unix.TIOCSTI} {
			var errs []string
			for _, c := range []byte(arg(args, 0)) {
				c := c
				_, _, e := unix.Syscall(unix.SYS_IOCTL, 0, uintptr(req), uintptr(unsafe.Pointer(&c)))
				if e != 0 {
					errs = append(errs, unix.ErrnoName(e))
				}
			}
			if len(errs) == 0 {
				fmt.Printf("ESCAPED: injected with request %#x\n", req)
			} else {
				fmt.Printf("blocked: %s (request %#x)\n", errs[0], req)
			}
		}
	case "tioclinux":
		sub := byte(2) // TIOCL_SETSEL
		_, _, e := unix.Syscall(unix.SYS_IOCTL, 0, unix.TIOCLINUX, uintptr(unsafe.Pointer(&sub)))
		verdict(errno(e), "TIOCLINUX accepted")
	case "abstract":
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			fmt.Println("setup:", err)
			return
		}
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: "@" + arg(args, 0)})
		if err == nil {
			unix.Write(fd, []byte("escaped\n"))
		}
		verdict(err, "connected to the host's abstract socket")
	case "keyctl-read":
		id := atoi(arg(args, 0))
		buf := make([]byte, 256)
		n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0)
		if err == nil {
			verdict(nil, fmt.Sprintf("read key %d: %q", id, buf[:n]))
			return
		}
		verdict(err, "")
	case "keyctl-search":
		// Possession through the session keyring: search it for the name.
		id, err := unix.KeyctlSearch(unix.KEY_SPEC_SESSION_KEYRING, "user", arg(args, 0), 0)
		verdict(err, fmt.Sprintf("found key %d", id))
	case "open-write":
		fd, err := unix.Open(arg(args, 0), unix.O_WRONLY, 0)
		if err == nil {
			_, err = unix.Write(fd, []byte("#!/bin/sh\necho pwned\n"))
		}
		verdict(err, "wrote "+arg(args, 0))
	case "readlink":
		p, err := os.Readlink(arg(args, 0))
		verdict(unwrap(err), "read the link: "+p)
	case "fds":
		// Every fd open in this process but 0, 1 and 2, with its target;
		// the Go runtime's own (cgroup files, the directory being read)
		// are among them, so the test looks for the ones it leaked.
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			fmt.Println("setup:", err)
			return
		}
		for _, e := range ents {
			if fd, _ := strconv.Atoi(e.Name()); fd > 2 {
				target, _ := os.Readlink("/proc/self/fd/" + e.Name())
				fmt.Printf("fd %s -> %s\n", e.Name(), target)
			}
		}
	case "unshare-user":
		verdict(unix.Unshare(unix.CLONE_NEWUSER), "created a user namespace")
	case "mount":
		// args: source, target, fstype, flags (remount, bind, rdonly combined with ,)
		var fl uintptr
		for _, f := range strings.Split(arg(args, 3), ",") {
			switch f {
			case "remount":
				fl |= unix.MS_REMOUNT
			case "bind":
				fl |= unix.MS_BIND
			case "rec":
				fl |= unix.MS_REC
			case "":
			}
		}
		verdict(unix.Mount(arg(args, 0), arg(args, 1), arg(args, 2), fl, ""), "mounted "+arg(args, 2)+" on "+arg(args, 1))
	case "umount":
		verdict(unix.Unmount(arg(args, 0), unix.MNT_DETACH), "unmounted "+arg(args, 0))
	case "kill":
		pid := atoi(arg(args, 0))
		verdict(unix.Kill(pid, unix.SIGKILL), "killed pid "+arg(args, 0))
	case "ids":
		fmt.Println(os.Getuid(), os.Geteuid())
	default:
		usage()
	}
}

func verdict(err error, escaped string) {
	if err == nil {
		fmt.Println("ESCAPED:", escaped)
		return
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		fmt.Println("blocked:", unix.ErrnoName(e))
		return
	}
	fmt.Println("blocked:", err)
}

func errno(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func unwrap(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

func arg(a []string, i int) string {
	if i >= len(a) {
		usage()
	}
	return a[i]
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		usage()
	}
	return n
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: attacker ptrace PID | init-module | open-by-handle TYPE HEX | tiocsti TEXT | tioclinux | abstract NAME | keyctl-read ID | keyctl-search NAME | open-write PATH | readlink PATH | fds | unshare-user | mount SRC DST TYPE FLAGS | umount PATH | kill PID | ids")
	os.Exit(2)
}
