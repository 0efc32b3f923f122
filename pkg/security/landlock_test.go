package security

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestLandlockRightsGrowWithTheABI(t *testing.T) {
	const v1 = unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR |
		unix.LANDLOCK_ACCESS_FS_REMOVE_FILE | unix.LANDLOCK_ACCESS_FS_MAKE_CHAR |
		unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO |
		unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK | unix.LANDLOCK_ACCESS_FS_MAKE_SYM
	for _, tc := range []struct {
		abi                int
		handled, dir, file uint64
		scopes             uint64
	}{
		{0, 0, 0, 0, 0},
		{1, v1, v1, unix.LANDLOCK_ACCESS_FS_WRITE_FILE, 0},
		{2, v1 | unix.LANDLOCK_ACCESS_FS_REFER, v1 | unix.LANDLOCK_ACCESS_FS_REFER, unix.LANDLOCK_ACCESS_FS_WRITE_FILE, 0},
		{3, v1 | unix.LANDLOCK_ACCESS_FS_REFER | unix.LANDLOCK_ACCESS_FS_TRUNCATE, v1 | unix.LANDLOCK_ACCESS_FS_REFER | unix.LANDLOCK_ACCESS_FS_TRUNCATE,
			unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE, 0},
		{6, v1 | unix.LANDLOCK_ACCESS_FS_REFER | unix.LANDLOCK_ACCESS_FS_TRUNCATE, v1 | unix.LANDLOCK_ACCESS_FS_REFER | unix.LANDLOCK_ACCESS_FS_TRUNCATE,
			unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE, unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET},
	} {
		h, d, f := LandlockRights(tc.abi)
		if h != tc.handled || d != tc.dir || f != tc.file {
			t.Errorf("ABI %d: rights = %#x %#x %#x, want %#x %#x %#x", tc.abi, h, d, f, tc.handled, tc.dir, tc.file)
		}
		if s := LandlockScopes(tc.abi); s != tc.scopes {
			t.Errorf("ABI %d: scopes = %#x, want %#x", tc.abi, s, tc.scopes)
		}
		// Reading and executing are never restricted.
		if h&(unix.LANDLOCK_ACCESS_FS_READ_FILE|unix.LANDLOCK_ACCESS_FS_READ_DIR|unix.LANDLOCK_ACCESS_FS_EXECUTE) != 0 {
			t.Errorf("ABI %d handles read or execute", tc.abi)
		}
	}
}
