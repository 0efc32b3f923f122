package security

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// SealedExecutable copies the running binary into a sealed memfd, so that
// the sandbox's processes run isolate from a file nobody can write: not
// through /proc/PID/exe, not by its path (CVE-2019-5736, where a container
// overwrote the runtime's binary through /proc/self/exe; runc answers it
// the same way). The caller execs /proc/self/fd/N of the returned file and
// closes it after the exec.
func SealedExecutable() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	defer src.Close()
	// MFD_EXEC (Linux 6.3) states that the memfd will be executed, which a
	// vm.memfd_noexec=1 host requires; older kernels reject the flag.
	fd, err := unix.MemfdCreate("isolate", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate("isolate", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "isolate (sealed copy)")
	if err := copyFile(f, src); err != nil {
		f.Close()
		return nil, fmt.Errorf("copy the executable into a memfd: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal the memfd: %w", err)
	}
	return f, nil
}

// copyFile copies in the kernel: copy_file_range refuses to go from the
// binary's filesystem to tmpfs (EXDEV), and io.Copy then falls back to a
// read/write loop through user space; sendfile(2) to a regular file works
// since Linux 2.6.33.
func copyFile(dst, src *os.File) error {
	st, err := src.Stat()
	if err != nil {
		return err
	}
	left := st.Size()
	for left > 0 {
		n, err := unix.Sendfile(int(dst.Fd()), int(src.Fd()), nil, int(min(left, 1<<30)))
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
				_, err = io.Copy(dst, src)
				return err
			}
			return err
		}
		if n == 0 {
			return io.ErrUnexpectedEOF
		}
		left -= int64(n)
	}
	return nil
}
