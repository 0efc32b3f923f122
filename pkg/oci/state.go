package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// The state directory (--root) holds one directory per container:
//
//	ROOT/ID/state.json   the record below, replaced atomically (rename)
//	ROOT/ID/exec.fifo    exists while the container is created, not started
//
// Every command that reads or changes a container holds flock(2) on
// ROOT/ID for its whole run, so concurrent invocations on one ID are
// serialised; create makes ROOT/ID with mkdir(2), which only one of two
// racing creates can win.

const (
	stateFile = "state.json"
	fifoFile  = "exec.fifo"
)

// record is state.json: the runtime-spec state plus what later commands
// need.
type record struct {
	specs.State
	Created time.Time `json:"created"`
	// StartTime is field 22 of /proc/PID/stat when created: a pid that
	// was reused by another process has another start time.
	StartTime uint64 `json:"startTime"`
	// PidNS: the container has its own pid namespace, so the death of its
	// first process ends every process in it (pid_namespaces(7)).
	PidNS     bool         `json:"pidNS"`
	Rootfs    string       `json:"rootfs"`
	Owner     int          `json:"owner"`
	Poststart []specs.Hook `json:"poststart,omitempty"`
	Poststop  []specs.Hook `json:"poststop,omitempty"`
}

// DefaultRoot is runc's choice for isolate: /run/isolate for real root,
// $XDG_RUNTIME_DIR/isolate for a user (also for root inside a rootless
// engine's user namespace, as podman runs its runtime).
func DefaultRoot() string {
	xdg := os.Getenv("XDG_RUNTIME_DIR")
	if os.Geteuid() == 0 && (xdg == "" || inInitialUserNS()) {
		return "/run/isolate"
	}
	if xdg != "" {
		return filepath.Join(xdg, "isolate")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("isolate-%d", os.Geteuid()))
}

func inInitialUserNS() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return true
	}
	f := strings.Fields(string(b))
	return len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295"
}

// Store is a state directory.
type Store struct{ Root string }

// open makes sure the root exists, is a directory of ours and not a
// symlink someone planted (a shared /tmp fallback could be one).
func (s Store) open(create bool) error {
	if create {
		if err := os.MkdirAll(s.Root, 0o700); err != nil {
			return &hints.Error{What: "create state directory " + s.Root, Why: unwrapPath(err), Hint: "give a writable directory with --root DIR"}
		}
	}
	var st unix.Stat_t
	if err := unix.Lstat(s.Root, &st); err != nil {
		return &hints.Error{What: "state directory " + s.Root, Why: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return &hints.Error{What: "state directory " + s.Root, Why: errors.New("not a directory")}
	}
	if int(st.Uid) != os.Geteuid() {
		return &hints.Error{What: "state directory " + s.Root, Why: fmt.Errorf("owned by uid %d, not by you (%d)", st.Uid, os.Geteuid()), Hint: "give a directory of your own with --root DIR"}
	}
	return nil
}

var idRE = regexp.MustCompile(`^[\w+.-]+$`)

// CheckID allows what runc allows: letters, digits, _ + - . and not "."
// or "..", so an ID is always one path element.
func CheckID(id string) error {
	if id == "" {
		return &hints.Error{What: "container ID missing", Hint: "give the container's ID as the last argument"}
	}
	if !idRE.MatchString(id) || id == "." || id == ".." || len(id) > 1024 {
		return &hints.Error{What: fmt.Sprintf("container ID %q", id), Why: errors.New("use only letters, digits, '_', '+', '-' and '.'")}
	}
	return nil
}

// handle is one locked container directory.
type handle struct {
	store Store
	id    string
	dir   string
	fd    int
	rec   *record
}

func (h *handle) close() {
	if h.fd >= 0 {
		unix.Close(h.fd) // releases the flock
		h.fd = -1
	}
}

// reserve makes the directory of a new container and locks it. Nothing
// else exists until create writes state.json.
func (s Store) reserve(id string) (*handle, error) {
	if err := CheckID(id); err != nil {
		return nil, err
	}
	if err := s.open(true); err != nil {
		return nil, err
	}
	dir := filepath.Join(s.Root, id)
	if err := unix.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return nil, &hints.Error{What: fmt.Sprintf("container %q", id), Why: errors.New("already exists"), Hint: "pick another ID, or remove it with isolate delete --force " + id}
		}
		return nil, &hints.Error{What: "create state directory " + dir, Why: err, Hint: "give a writable directory with --root DIR"}
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err == nil {
		err = unix.Flock(fd, unix.LOCK_EX)
	}
	if err != nil {
		os.Remove(dir)
		return nil, &hints.Error{What: "lock " + dir, Why: err}
	}
	return &handle{store: s, id: id, dir: dir, fd: fd}, nil
}

// load locks an existing container and reads its record.
func (s Store) load(id string) (*handle, error) {
	if err := CheckID(id); err != nil {
		return nil, err
	}
	if err := s.open(false); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, notExist(id)
		}
		return nil, err
	}
	dir := filepath.Join(s.Root, id)
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, notExist(id)
	}
	if err != nil {
		return nil, &hints.Error{What: "open " + dir, Why: err}
	}
	for {
		if err = unix.Flock(fd, unix.LOCK_EX); !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, &hints.Error{What: "lock " + dir, Why: err}
	}
	h := &handle{store: s, id: id, dir: dir, fd: fd}
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		// The creator removed it after a failure, while we waited.
		h.close()
		return nil, notExist(id)
	}
	h.rec = &record{}
	if err := json.Unmarshal(b, h.rec); err != nil {
		h.close()
		return nil, &hints.Error{What: "read " + filepath.Join(dir, stateFile), Why: err}
	}
	return h, nil
}

// ErrNotExist is the cause of every "container does not exist" error.
var ErrNotExist = errors.New("does not exist")

func notExist(id string) error {
	return &hints.Error{What: fmt.Sprintf("container %q", id), Why: ErrNotExist, Hint: "isolate list shows the containers of this --root"}
}

// save replaces state.json atomically.
func (h *handle) save() error {
	b, err := json.MarshalIndent(h.rec, "", "\t")
	if err != nil {
		return err
	}
	tmp := filepath.Join(h.dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return &hints.Error{What: "write " + tmp, Why: unwrapPath(err)}
	}
	if err := os.Rename(tmp, filepath.Join(h.dir, stateFile)); err != nil {
		os.Remove(tmp)
		return &hints.Error{What: "write state of " + h.id, Why: err}
	}
	return nil
}

// remove deletes every trace of the container, then unlocks.
func (h *handle) remove() {
	os.RemoveAll(h.dir)
	h.close()
}

// status is the container's status now: stopped once its first process
// is gone (or a zombie, or another process with the same pid), created
// while the exec fifo exists, running after that.
func (h *handle) status() specs.ContainerState {
	if !alive(h.rec.Pid, h.rec.StartTime) {
		return specs.StateStopped
	}
	if _, err := os.Lstat(filepath.Join(h.dir, fifoFile)); err == nil {
		return specs.StateCreated
	}
	return specs.StateRunning
}

// state is the runtime-spec state to print or hand to hooks.
func (h *handle) state() specs.State {
	st := h.rec.State
	st.Status = h.status()
	if st.Status == specs.StateStopped {
		st.Pid = 0
	}
	return st
}

// procStat returns the state letter and start time of pid (proc(5)).
func procStat(pid int) (byte, uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// comm (field 2) may hold spaces and parentheses: parse after the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, errors.New("malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, 0, errors.New("malformed stat")
	}
	start, err := strconv.ParseUint(f[19], 10, 64) // field 22
	return f[0][0], start, err
}

func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st, t, err := procStat(pid)
	return err == nil && t == start && st != 'Z' && st != 'X'
}

// list returns the IDs in the store.
func (s Store) list() ([]string, error) {
	ents, err := os.ReadDir(s.Root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &hints.Error{What: "read state directory " + s.Root, Why: unwrapPath(err)}
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && CheckID(e.Name()) == nil {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}
