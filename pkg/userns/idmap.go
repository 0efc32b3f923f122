package userns

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// maxMapLines is the kernel's limit on lines in uid_map/gid_map since Linux
// 4.15 (user_namespaces(7)).
const maxMapLines = 340

// SubIDMap builds the map podman and rootlesskit use: container id 0 is the
// caller's own id, and container ids 1.. are the subordinate ranges in order.
func SubIDMap(own uint32, ranges []Range) []specs.LinuxIDMapping {
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: own, Size: 1}}
	next := uint32(1)
	for _, r := range ranges {
		if uint64(next)+uint64(r.Count) > 1<<32-1 {
			break
		}
		m = append(m, specs.LinuxIDMapping{ContainerID: next, HostID: r.Start, Size: r.Count})
		next += r.Count
	}
	return m
}

// SingleMap maps container id 0 to one host id: what an unprivileged process
// may write itself, without a helper.
func SingleMap(own uint32) []specs.LinuxIDMapping {
	return []specs.LinuxIDMapping{{ContainerID: 0, HostID: own, Size: 1}}
}

// ParseMapping parses the CLI form CONTAINER:HOST:SIZE (podman's --uidmap).
func ParseMapping(s string) (specs.LinuxIDMapping, error) {
	f := strings.Split(s, ":")
	if len(f) != 3 {
		return specs.LinuxIDMapping{}, fmt.Errorf("%q: want CONTAINER:HOST:SIZE", s)
	}
	var n [3]uint32
	for i, p := range f {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return specs.LinuxIDMapping{}, fmt.Errorf("%q: %q is not a number from 0 to 4294967295", s, p)
		}
		n[i] = uint32(v)
	}
	if n[2] == 0 {
		return specs.LinuxIDMapping{}, fmt.Errorf("%q: size must be at least 1", s)
	}
	return specs.LinuxIDMapping{ContainerID: n[0], HostID: n[1], Size: n[2]}, nil
}

// ValidateMap checks what the kernel would refuse with a bare EINVAL, so the
// user gets a reason: ranges must not overflow, must not overlap on either
// side, and there may be at most 340 of them.
func ValidateMap(m []specs.LinuxIDMapping) error {
	if len(m) == 0 {
		return fmt.Errorf("empty id map")
	}
	if len(m) > maxMapLines {
		return fmt.Errorf("%d ranges: the kernel accepts at most %d", len(m), maxMapLines)
	}
	for i, a := range m {
		if uint64(a.ContainerID)+uint64(a.Size) > 1<<32-1 || uint64(a.HostID)+uint64(a.Size) > 1<<32-1 {
			return fmt.Errorf("range %s overflows 32-bit ids", FormatMapping(a))
		}
		for _, b := range m[i+1:] {
			if overlap(a.ContainerID, a.Size, b.ContainerID, b.Size) {
				return fmt.Errorf("ranges %s and %s overlap inside the sandbox", FormatMapping(a), FormatMapping(b))
			}
			if overlap(a.HostID, a.Size, b.HostID, b.Size) {
				return fmt.Errorf("ranges %s and %s overlap on the host", FormatMapping(a), FormatMapping(b))
			}
		}
	}
	return nil
}

func overlap(a, an, b, bn uint32) bool {
	return uint64(a) < uint64(b)+uint64(bn) && uint64(b) < uint64(a)+uint64(an)
}

// Contains reports whether container id id is mapped by m.
func Contains(m []specs.LinuxIDMapping, id uint32) bool {
	for _, r := range m {
		if id >= r.ContainerID && uint64(id) < uint64(r.ContainerID)+uint64(r.Size) {
			return true
		}
	}
	return false
}

// FormatMapping is the CLI form of one range.
func FormatMapping(r specs.LinuxIDMapping) string {
	return fmt.Sprintf("%d:%d:%d", r.ContainerID, r.HostID, r.Size)
}

// HelperArgs are the arguments of newuidmap/newgidmap after the pid:
// triples "container host size" (newuidmap(1)).
func HelperArgs(m []specs.LinuxIDMapping) []string {
	args := make([]string, 0, 3*len(m))
	for _, r := range m {
		args = append(args,
			strconv.FormatUint(uint64(r.ContainerID), 10),
			strconv.FormatUint(uint64(r.HostID), 10),
			strconv.FormatUint(uint64(r.Size), 10))
	}
	return args
}

// ParseMapFile parses the content of /proc/PID/uid_map.
func ParseMapFile(s string) ([]specs.LinuxIDMapping, error) {
	var m []specs.LinuxIDMapping
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("bad id map line %q", line)
		}
		r, err := ParseMapping(strings.Join(f, ":"))
		if err != nil {
			return nil, err
		}
		m = append(m, r)
	}
	return m, nil
}

// IsInitial reports whether a namespace's own map is the initial user
// namespace's: all 2^32-1 ids mapped to themselves.
func IsInitial(m []specs.LinuxIDMapping) bool {
	return len(m) == 1 && m[0].ContainerID == 0 && m[0].HostID == 0 && m[0].Size == 1<<32-1
}
