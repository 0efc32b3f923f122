package hints

import (
	"errors"
	"fmt"
	"syscall"
)

// Fix-it texts of the network (package slirpnet).

// InstallNetHelper names the package of a missing network helper.
func InstallNetHelper(binary, pkg string) string {
	return fmt.Sprintf("install the %s package (apt-get install %s / dnf install %s), or choose another --net mode", pkg, pkg, pkg)
}

// Tun explains a /dev/net/tun that slirp4netns and pasta cannot open.
func Tun(err error) string {
	switch {
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ENODEV), errors.Is(err, syscall.ENXIO):
		return "load the tun module (sudo modprobe tun), or create the device: sudo mkdir -p /dev/net && sudo mknod -m 0666 /dev/net/tun c 10 200; or use --net none"
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return "/dev/net/tun must be usable by every user, its standard mode: sudo chmod 0666 /dev/net/tun (a udev rule KERNEL==\"tun\", MODE=\"0666\" keeps it); or use --net none"
	}
	return ""
}

// VethNeedsRoot says why --net veth is for root and what to use instead.
const VethNeedsRoot = "use --net slirp4netns or --net pasta, which give the sandbox a network without root (run isolate as real root for the veth pair)"

// PrivilegedPort explains a host port below net.ipv4.ip_unprivileged_port_start.
func PrivilegedPort(port int) string {
	return fmt.Sprintf("ports below 1024 need privileges: publish a higher host port (-p 8080:%d), or lower the limit: sudo sysctl -w net.ipv4.ip_unprivileged_port_start=%d", port, port)
}
