package slirpnet

import (
	"fmt"
	"net/netip"
	"os/exec"
	"strings"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// Mode is how the sandbox reaches the network (--net).
type Mode string

const (
	// Slirp4netns: a tap device served by slirp4netns, a user-mode TCP/IP
	// stack that runs as the calling user on the host.
	Slirp4netns Mode = "slirp4netns"
	// Pasta: the same through pasta (package passt), which splices TCP
	// between sockets instead of running a TCP/IP stack: faster in bulk.
	Pasta Mode = "pasta"
	// None: a private network namespace with loopback only.
	None Mode = "none"
	// Host: no network namespace; the sandbox shares the host's network.
	Host Mode = "host"
	// Veth: the assignment's veth pair between the host and the sandbox;
	// creating links in the host's namespace needs real root.
	Veth Mode = "veth"
)

// Modes lists every mode, in the order the help text gives them.
var Modes = []Mode{Slirp4netns, Pasta, None, Host, Veth}

// ParseMode reads a --net value.
func ParseMode(s string) (Mode, error) {
	for _, m := range Modes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown network mode %q (want %s)", s, joinModes())
}

func joinModes() string {
	var s []string
	for _, m := range Modes {
		s = append(s, string(m))
	}
	return strings.Join(s, ", ")
}

// Private reports whether the sandbox has its own network namespace.
func (m Mode) Private() bool { return m != Host }

// UserMode reports whether a user-mode helper (slirp4netns, pasta) gives
// the sandbox its outbound connectivity.
func (m Mode) UserMode() bool { return m == Slirp4netns || m == Pasta }

// Binary is the helper program a mode runs on the host, if any.
func (m Mode) Binary() string {
	switch m {
	case Slirp4netns:
		return "slirp4netns"
	case Pasta:
		return "pasta"
	}
	return ""
}

// Package is the Debian/Ubuntu/Fedora package that ships a mode's helper.
func (m Mode) Package() string {
	switch m {
	case Slirp4netns:
		return "slirp4netns"
	case Pasta:
		return "passt"
	}
	return ""
}

// DefaultMode picks the mode when --net is not given: slirp4netns when
// installed, else pasta, else loopback only. Both need /dev/net/tun; when
// it is not usable the sandbox also gets loopback only. notice is
// non-empty when the sandbox ends up without outbound access: a fallback
// that changes what the program can do is said in one line.
func DefaultMode(lookPath func(string) (string, error), tun func() error) (m Mode, notice string) {
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	if tun == nil {
		tun = CheckTun
	}
	for _, m := range []Mode{Slirp4netns, Pasta} {
		if _, err := lookPath(m.Binary()); err == nil {
			if err := tun(); err != nil {
				return None, fmt.Sprintf("%s: the sandbox has loopback only (%s)", err, hints.Tun(err))
			}
			return m, ""
		}
	}
	return None, "neither slirp4netns nor pasta is installed: the sandbox has loopback only (install the slirp4netns or passt package, or pass --net none to silence this)"
}

// The slirp4netns network (slirp4netns(1), "--configure"): the sandbox is
// 10.0.2.100/24, the gateway 10.0.2.2 is the host, 10.0.2.3 is its DNS.
var (
	SlirpAddr    = netip.MustParsePrefix("10.0.2.100/24")
	SlirpGateway = netip.MustParseAddr("10.0.2.2")
	SlirpDNS     = netip.MustParseAddr("10.0.2.3")
)

// SlirpMTU is slirp4netns's largest MTU; the default 1500 costs several
// times the throughput on loopback-bound traffic (rootlesskit uses it too).
const SlirpMTU = 65520

// PastaDNS is the address pasta forwards to the host's first resolver
// (--dns-forward); a link-local address that no real network uses, as
// podman does.
var PastaDNS = netip.MustParseAddr("169.254.1.1")

// TapName is the interface name inside for slirp4netns and pasta.
const TapName = "tap0"

// Veth names: the assignment's, host side and sandbox side.
const (
	VethHost = "veth0"
	VethPeer = "peer0"
)

// DefaultVethSubnet holds the assignment's addresses: the host side is
// 10.11.12.13, the sandbox side 10.11.12.14.
const DefaultVethSubnet = "10.11.12.13/24"

// VethAddrs reads --veth-subnet HOSTADDR/LEN: the host side gets HOSTADDR,
// the sandbox the next address; both must be usable hosts of the subnet.
func VethAddrs(s string) (host, peer netip.Prefix, err error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return host, peer, fmt.Errorf("want an IPv4 address with prefix length, like %s", DefaultVethSubnet)
	}
	if !p.Addr().Is4() {
		return host, peer, fmt.Errorf("only IPv4 is supported")
	}
	if p.Bits() > 30 || p.Bits() < 8 {
		return host, peer, fmt.Errorf("prefix length /%d leaves no room for two hosts (want /8 to /30)", p.Bits())
	}
	next := p.Addr().Next()
	masked := p.Masked()
	last := lastAddr(masked)
	if p.Addr() == masked.Addr() || next == last || !masked.Contains(next) {
		return host, peer, fmt.Errorf("%s and the next address must both be hosts of %s (not its network or broadcast address)", p.Addr(), masked)
	}
	return p, netip.PrefixFrom(next, p.Bits()), nil
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	hostBits := 32 - p.Bits()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= (1 << hostBits) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
