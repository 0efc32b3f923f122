package term

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns a pty pair, the slave standing in for the user's terminal.
func openPTY(t *testing.T) (master, slave int) {
	t.Helper()
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(m, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := unix.Open("/dev/pts/"+strconv.FormatUint(uint64(n), 10), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(m); unix.Close(s) })
	return m, s
}

func TestMakeRawAndRestore(t *testing.T) {
	_, tty := openPTY(t)
	saved, err := MakeRaw(tty)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := unix.IoctlGetTermios(tty, unix.TCGETS)
	if raw.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 || raw.Iflag&unix.ICRNL != 0 || raw.Oflag&unix.OPOST != 0 {
		t.Errorf("not raw: lflag %#x iflag %#x oflag %#x", raw.Lflag, raw.Iflag, raw.Oflag)
	}
	if saved.Lflag&unix.ICANON == 0 || saved.Lflag&unix.ECHO == 0 {
		t.Fatalf("a new pty should start cooked: %#x", saved.Lflag)
	}
	if err := Restore(tty, saved); err != nil {
		t.Fatal(err)
	}
	back, _ := unix.IoctlGetTermios(tty, unix.TCGETS)
	if back.Lflag != saved.Lflag || back.Iflag != saved.Iflag || back.Oflag != saved.Oflag {
		t.Errorf("not restored: %+v, want %+v", back, saved)
	}
	if Restore(tty, nil) != nil {
		t.Error("restoring nothing must be a no-op")
	}
}

func TestNotATerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(int(f.Fd())) {
		t.Error("a regular file is not a terminal")
	}
	if _, err := MakeRaw(int(f.Fd())); err == nil {
		t.Error("MakeRaw of a regular file must fail")
	}
}

func TestCopySizeReachesThePTY(t *testing.T) {
	user, _ := openPTY(t)
	master, slave := openPTY(t)
	unix.IoctlSetWinsize(user, unix.TIOCSWINSZ, &unix.Winsize{Row: 33, Col: 111})
	CopySize(user, master)
	ws, err := unix.IoctlGetWinsize(slave, unix.TIOCGWINSZ)
	if err != nil || ws.Row != 33 || ws.Col != 111 {
		t.Errorf("pty size = %+v, %v; want 33x111", ws, err)
	}
}
