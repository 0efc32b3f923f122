package slirpnet

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultHostIP is where -p listens when no HOSTIP is given. Not 0.0.0.0:
// docker's default of every interface publishes a developer's test server
// to the whole network (and past the host firewall, issue moby/moby#22054);
// a sandbox is for containing a program, so reaching it from elsewhere is
// something to ask for explicitly (-p 0.0.0.0:8080:80).
const DefaultHostIP = "127.0.0.1"

// Port is one -p/--publish: HostIP:HostPort on the host forwards to
// ContainerPort inside.
type Port struct {
	HostIP        string `json:"hostIP"`
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Proto         string `json:"proto"` // "tcp" or "udp"
}

func (p Port) String() string {
	return fmt.Sprintf("%s:%d:%d/%s", hostForPrint(p.HostIP), p.HostPort, p.ContainerPort, p.Proto)
}

func hostForPrint(ip string) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]"
	}
	return ip
}

// ParsePort reads [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]; an IPv6
// HOSTIP is written in brackets, as docker does: [::1]:8080:80.
func ParsePort(s string) (Port, error) {
	p := Port{Proto: "tcp", HostIP: DefaultHostIP}
	rest := s
	if i := strings.LastIndex(rest, "/"); i >= 0 {
		p.Proto = rest[i+1:]
		rest = rest[:i]
		if p.Proto != "tcp" && p.Proto != "udp" {
			return p, fmt.Errorf("protocol %q: want tcp or udp", p.Proto)
		}
	}
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]")
		if end < 0 || end+1 >= len(rest) || rest[end+1] != ':' {
			return p, fmt.Errorf("want [IPv6]:HOSTPORT:CONTAINERPORT")
		}
		p.HostIP = rest[1:end]
		rest = rest[end+2:]
		if a, err := netip.ParseAddr(p.HostIP); err != nil || !a.Is6() {
			return p, fmt.Errorf("%q is not an IPv6 address", p.HostIP)
		}
	} else {
		parts := strings.Split(rest, ":")
		switch len(parts) {
		case 2:
		case 3:
			p.HostIP = parts[0]
			rest = parts[1] + ":" + parts[2]
			a, err := netip.ParseAddr(p.HostIP)
			if err != nil || !a.Is4() {
				return p, fmt.Errorf("%q is not an IPv4 address (write IPv6 in brackets: [::1]:8080:80)", p.HostIP)
			}
		default:
			return p, fmt.Errorf("want [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|/udp], e.g. 8080:80")
		}
	}
	hp, cp, ok := strings.Cut(rest, ":")
	if !ok || strings.Contains(cp, ":") {
		return p, fmt.Errorf("want [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|/udp], e.g. 8080:80")
	}
	var err error
	if p.HostPort, err = parsePortNumber(hp); err != nil {
		return p, fmt.Errorf("host port %w", err)
	}
	if p.ContainerPort, err = parsePortNumber(cp); err != nil {
		return p, fmt.Errorf("container port %w", err)
	}
	return p, nil
}

func parsePortNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("%d is out of range (1-65535)", n)
	}
	return n, nil
}

// CheckDuplicates refuses two publications of one host address.
func CheckDuplicates(ports []Port) error {
	seen := map[string]bool{}
	for _, p := range ports {
		k := fmt.Sprintf("%s|%d|%s", p.HostIP, p.HostPort, p.Proto)
		if seen[k] {
			return fmt.Errorf("%s is published twice", p)
		}
		seen[k] = true
	}
	return nil
}

// PortDriver forwards published ports (--port-driver).
type PortDriver string

const (
	// Builtin is rootlesskit's builtin driver: isolate listens on the host
	// and asks a small server inside (in isolate's init) for a connected
	// socket per connection, received over SCM_RIGHTS. Fastest, any mode.
	Builtin PortDriver = "builtin"
	// SlirpPorts asks slirp4netns to listen (its API socket, add_hostfwd).
	SlirpPorts PortDriver = "slirp4netns"
	// Implicit is pasta's own forwarding (-t/-u on its command line).
	Implicit PortDriver = "implicit"
)

// ParsePortDriver reads a --port-driver value.
func ParsePortDriver(s string) (PortDriver, error) {
	switch d := PortDriver(s); d {
	case Builtin, SlirpPorts, Implicit:
		return d, nil
	}
	return "", fmt.Errorf("unknown port driver %q (want builtin, slirp4netns or implicit)", s)
}
