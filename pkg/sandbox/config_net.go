package sandbox

import (
	"fmt"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/slirpnet"
)

// NetConfig is the network: the mode and published ports (package slirpnet).
type NetConfig struct {
	// Mode is --net; empty means the default, which the parent resolves
	// before the child sees the Config (slirpnet.DefaultMode).
	Mode slirpnet.Mode `json:"mode,omitempty"`
	// AllowHostLoopback lets the sandbox reach the host's 127.0.0.1
	// through the gateway address.
	AllowHostLoopback bool            `json:"allowHostLoopback,omitempty"`
	Ports             []slirpnet.Port `json:"ports,omitempty"`
	// PortDriver forwards Ports; empty means builtin.
	PortDriver slirpnet.PortDriver `json:"portDriver,omitempty"`
	// VethSubnet is the host side's address of --net veth; the sandbox
	// gets the next one.
	VethSubnet string `json:"vethSubnet,omitempty"`
}

func (c *NetConfig) validate() error {
	if c.Mode != "" {
		if _, err := slirpnet.ParseMode(string(c.Mode)); err != nil {
			return &hints.Error{What: "--net", Why: err}
		}
	}
	if c.PortDriver == "" {
		c.PortDriver = slirpnet.Builtin
	}
	if _, err := slirpnet.ParsePortDriver(string(c.PortDriver)); err != nil {
		return &hints.Error{What: "--port-driver", Why: err}
	}
	if c.VethSubnet == "" {
		c.VethSubnet = slirpnet.DefaultVethSubnet
	}
	if c.VethSubnet != slirpnet.DefaultVethSubnet && c.Mode != slirpnet.Veth {
		return &hints.Error{What: "--veth-subnet", Why: fmt.Errorf("only applies to --net veth")}
	}
	if _, _, err := slirpnet.VethAddrs(c.VethSubnet); err != nil {
		return &hints.Error{What: "--veth-subnet " + c.VethSubnet, Why: err}
	}
	if c.AllowHostLoopback && c.Mode != "" && !c.Mode.UserMode() {
		return &hints.Error{What: "--allow-host-loopback", Why: fmt.Errorf("only applies to --net slirp4netns and --net pasta, not %s", c.Mode)}
	}
	if err := slirpnet.CheckDuplicates(c.Ports); err != nil {
		return &hints.Error{What: "--publish", Why: err}
	}
	return nil
}

// sandboxAddr is the sandbox's own address for /etc/hosts, when the mode
// fixes one.
func (c *NetConfig) sandboxAddr() string {
	switch c.Mode {
	case slirpnet.Slirp4netns:
		return slirpnet.SlirpAddr.Addr().String()
	case slirpnet.Veth:
		if _, peer, err := slirpnet.VethAddrs(c.VethSubnet); err == nil {
			return peer.Addr().String()
		}
	}
	return ""
}
