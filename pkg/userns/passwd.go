package userns

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
)

// UserName finds the name of uid in r, a passwd(5) file. It replaces
// os/user, which links the C library through cgo: that makes isolate a
// dynamically linked binary, and the loader and libc's start-up then cost
// about 2 ms of CPU at each of isolate's execs (the parent and the child). Users known only to NSS (LDAP, systemd-homed) are
// not found; the subid files are then matched by uid, which shadow's own
// tools accept as well (subuid(5)).
func UserName(r io.Reader, uid uint32) string {
	want := strconv.FormatUint(uint64(uid), 10)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), ":", 4)
		if len(f) == 4 && f[2] == want && f[0] != "" && !strings.HasPrefix(f[0], "#") {
			return f[0]
		}
	}
	return ""
}

// LookupUserName is UserName of /etc/passwd.
func LookupUserName(uid uint32) string {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return ""
	}
	defer f.Close()
	return UserName(f, uid)
}
