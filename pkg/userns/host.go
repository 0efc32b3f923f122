package userns

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"os"
	"os/exec"
	"os/user"
	"strconv"

	"golang.org/x/sys/unix"
)

// DetectHost reads the caller's ids, subid ranges and helpers.
func DetectHost() (Host, error) {
	h := Host{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
	if u, err := user.LookupId(strconv.Itoa(int(h.UID))); err == nil {
		h.User = u.Username
	}
	var err error
	if h.SubUIDs, err = ReadSubIDs("/etc/subuid", h.User, h.UID); err != nil {
		return h, err
	}
	if h.SubGIDs, err = ReadSubIDs("/etc/subgid", h.User, h.UID); err != nil {
		return h, err
	}
	if h.UID == 0 {
		if h.OuterUIDs, err = readOwnMap("/proc/self/uid_map"); err != nil {
			return h, err
		}
		if h.OuterGIDs, err = readOwnMap("/proc/self/gid_map"); err != nil {
			return h, err
		}
	}
	h.NewUIDMap, _ = exec.LookPath("newuidmap")
	h.NewGIDMap, _ = exec.LookPath("newgidmap")
	h.HelpersSetID = h.NewUIDMap != "" && h.NewGIDMap != "" &&
		PrivilegedHelper(h.NewUIDMap) && PrivilegedHelper(h.NewGIDMap)
	return h, nil
}

// readOwnMap reads the map of the user namespace isolate itself runs in.
func readOwnMap(path string) ([]specs.LinuxIDMapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseMapFile(string(b))
}

// PrivilegedHelper: shadow installs the helpers setuid root, some
// distributions give them file capabilities (CAP_SETUID/CAP_SETGID) instead.
func PrivilegedHelper(path string) bool {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return false
	}
	if st.Mode&unix.S_ISUID != 0 && st.Uid == 0 {
		return true
	}
	sz, err := unix.Getxattr(path, "security.capability", nil)
	return err == nil && sz > 0
}
