package userns

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Range is one line of /etc/subuid or /etc/subgid: Count ids starting at Start.
type Range struct {
	Start uint32
	Count uint32
}

// ParseSubIDs returns the ranges that belong to the user, who may be named by
// login name or by numeric id (subuid(5) allows both). Malformed lines are
// skipped, as shadow's own tools skip them.
func ParseSubIDs(r io.Reader, name string, id uint32) ([]Range, error) {
	idStr := strconv.FormatUint(uint64(id), 10)
	var out []Range
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 3 || (f[0] != name && f[0] != idStr) {
			continue
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		count, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil || count == 0 || start+count > 1<<32 {
			continue
		}
		out = append(out, Range{Start: uint32(start), Count: uint32(count)})
	}
	return out, sc.Err()
}

// ReadSubIDs reads the ranges of a user from a subid file. A missing file is
// not an error: it means no ranges.
func ReadSubIDs(path, name string, id uint32) ([]Range, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rs, err := ParseSubIDs(f, name, id)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return rs, nil
}
