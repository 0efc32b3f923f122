// Package slirpnet gives the sandbox its network: loopback always, and the
// user-mode network modes on top.
package slirpnet

import (
	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// LoopbackUp brings lo up in the current network namespace: a new network
// namespace has lo, down (the assignment's `ip link set lo up`).
func LoopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return &hints.Error{What: "socket for lo", Why: err}
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return &hints.Error{What: "ifreq lo", Why: err}
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return &hints.Error{What: "get flags of lo (SIOCGIFFLAGS)", Why: err}
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return &hints.Error{What: "bring lo up (SIOCSIFFLAGS)", Why: err}
	}
	return nil
}
