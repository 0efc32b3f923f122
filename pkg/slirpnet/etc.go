package slirpnet

import (
	"fmt"

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
