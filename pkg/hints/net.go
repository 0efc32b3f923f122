package hints

import (
	"errors"
	"fmt"
	"syscall"
)

// Fix-it texts of the network (package slirpnet); the host-wide ones are
// shared with `isolate doctor` (host.go).

// InstallNetHelper names the package of a missing network helper.
func InstallNetHelper(binary string) string {
	switch binary {
	case "slirp4netns":
		return InstallSlirp4netns + ", or choose another --net mode"
	case "pasta":
		return InstallPasta + ", or choose another --net mode"
	case "ip":
		return "sudo apt-get install iproute2"
	}
	return ""
}

// Tun explains a /dev/net/tun that slirp4netns and pasta cannot open.
func Tun(err error) string {
	switch {
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ENODEV), errors.Is(err, syscall.ENXIO):
		return TunMissing + "; or use --net none"
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return TunMode + "; or use --net none"
	}
	return ""
}

// VethNeedsRoot says why --net veth is for root and what to use instead.
const VethNeedsRoot = "use --net slirp4netns or --net pasta, which give the sandbox a network without root (run isolate as real root for the veth pair)"

// PrivilegedPort explains a host port below net.ipv4.ip_unprivileged_port_start.
func PrivilegedPort(port int) string {
	return fmt.Sprintf("ports below 1024 need privileges: publish a higher host port (-p 8080:%d), or lower the limit: sudo sysctl -w net.ipv4.ip_unprivileged_port_start=%d", port, port)
}
