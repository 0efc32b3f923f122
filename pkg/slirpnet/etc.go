package slirpnet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// EtcFile is one file the sandbox sees in /etc instead of the host's.
type EtcFile struct {
	Name    string // under /etc
	Content string
}

// EtcFiles are the network files for mode: resolv.conf pointing at the
// user-mode DNS, hosts naming the sandbox, hostname. With the host's
// network the host's resolv.conf stays (its resolvers are reachable).
func EtcFiles(mode Mode, hostname string, sandboxAddr string) []EtcFile {
	if sandboxAddr == "" {
		// Debian's address for the machine's own name when it has no fixed one.
		sandboxAddr = "127.0.1.1"
	}
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
		sandboxAddr + "\t" + hostname + "\n"
	files := []EtcFile{{"hosts", hosts}, {"hostname", hostname + "\n"}}
	var resolv string
	switch mode {
	case Host:
		return files
	case Slirp4netns:
		resolv = "nameserver " + SlirpDNS.String() + "\n"
	case Pasta:
		resolv = "nameserver " + PastaDNS.String() + "\n"
	default:
		// No resolver is reachable; an empty file would make glibc try
		// 127.0.0.1, which is the sandbox's own loopback: say so instead.
		resolv = "# isolate --net " + string(mode) + ": no DNS server is reachable from this sandbox\n"
	}
	return append(files, EtcFile{"resolv.conf", resolv})
}

// BindEtcFiles shows files at root/etc/NAME, in the calling process's mount
// namespace only. The files live on a small tmpfs that is never attached
// anywhere (fsopen/fsmount): each file is cloned out of it as a bind mount
// (open_tree) and moved onto its target (move_mount). Nothing is written to
// the host and nothing is left behind: the tmpfs goes with the namespace.
// A target that does not exist (a host without /etc/hostname, a dangling
// resolv.conf symlink) is skipped: creating it would write to the host.
func BindEtcFiles(root string, files []EtcFile) error {
	mfd, err := detachedTmpfs("mode=0755,size=64k", unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(mfd)
	for _, f := range files {
		fd, err := unix.Openat(mfd, f.Name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return &hints.Error{What: "create /etc/" + f.Name + " on the sandbox's tmpfs", Why: err}
		}
		_, err = unix.Write(fd, []byte(f.Content))
		unix.Close(fd)
		if err != nil {
			return &hints.Error{What: "write /etc/" + f.Name + " on the sandbox's tmpfs", Why: err}
		}
	}
	// Read-only from here: the clones below inherit the flag.
	if err := unix.MountSetattr(mfd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
		return &hints.Error{What: "make the sandbox's /etc tmpfs read-only (mount_setattr)", Why: err}
	}
	for _, f := range files {
		target := filepath.Join(root, "etc", f.Name)
		if _, err := os.Stat(target); errors.Is(err, os.ErrNotExist) {
			continue
		}
		tfd, err := unix.OpenTree(mfd, f.Name, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			return &hints.Error{What: "clone /etc/" + f.Name + " (open_tree)", Why: err}
		}
		err = unix.MoveMount(tfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH)
		unix.Close(tfd)
		if err != nil {
			return &hints.Error{What: "bind the sandbox's " + f.Name + " on " + target + " (move_mount)", Why: err}
		}
	}
	return nil
}

// detachedTmpfs makes a tmpfs that is mounted nowhere and returns its
// mount fd (close-on-exec). options is "key=value,...".
func detachedTmpfs(options string, attrs int) (int, error) {
	fsfd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, &hints.Error{What: "fsopen tmpfs", Why: err}
	}
	defer unix.Close(fsfd)
	for _, kv := range splitOptions(options) {
		if err := unix.FsconfigSetString(fsfd, kv[0], kv[1]); err != nil {
			return -1, &hints.Error{What: fmt.Sprintf("fsconfig tmpfs %s=%s", kv[0], kv[1]), Why: err}
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, &hints.Error{What: "create tmpfs (fsconfig)", Why: err}
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return -1, &hints.Error{What: "fsmount tmpfs", Why: err}
	}
	return mfd, nil
}

func splitOptions(s string) [][2]string {
	var out [][2]string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			kv := s[start:i]
			start = i + 1
			for j := 0; j < len(kv); j++ {
				if kv[j] == '=' {
					out = append(out, [2]string{kv[:j], kv[j+1:]})
					break
				}
			}
		}
	}
	return out
}
