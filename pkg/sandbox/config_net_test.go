package sandbox

import (
	"strings"
	"testing"

	"github.com/isolate-sandbox/isolate/pkg/slirpnet"
)

func TestNetConfigValidate(t *testing.T) {
	p8080, _ := slirpnet.ParsePort("8080:80")
	p8080b, _ := slirpnet.ParsePort("8080:81")
	cases := []struct {
		name string
		c    NetConfig
		want string // "" = valid
	}{
		{"default", NetConfig{}, ""},
		{"every mode", NetConfig{Mode: slirpnet.Pasta, AllowHostLoopback: true, Ports: []slirpnet.Port{p8080}, PortDriver: slirpnet.Implicit}, ""},
		{"unknown mode", NetConfig{Mode: "bridge"}, `--net: unknown network mode "bridge"`},
		{"unknown driver", NetConfig{PortDriver: "vpnkit"}, `--port-driver: unknown port driver "vpnkit"`},
		{"veth subnet for another mode", NetConfig{Mode: slirpnet.None, VethSubnet: "10.9.0.1/24"}, "--veth-subnet: only applies to --net veth"},
		{"bad veth subnet", NetConfig{Mode: slirpnet.Veth, VethSubnet: "10.9.0.255/24"}, "--veth-subnet 10.9.0.255/24: 10.9.0.255 and the next address"},
		{"host loopback without a user-mode network", NetConfig{Mode: slirpnet.Host, AllowHostLoopback: true}, "--allow-host-loopback: only applies to --net slirp4netns and --net pasta, not host"},
		{"one host port twice", NetConfig{Ports: []slirpnet.Port{p8080, p8080b}}, "--publish: 127.0.0.1:8080:81/tcp is published twice"},
	}
	for _, c := range cases {
		err := c.c.validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	c := NetConfig{}
	c.validate()
	if c.PortDriver != slirpnet.Builtin || c.VethSubnet != slirpnet.DefaultVethSubnet {
		t.Errorf("defaults not filled in: %+v", c)
	}
}

func TestHostModeKeepsTheHostsNetworkNamespace(t *testing.T) {
	if netCloneFlags(&Config{Net: NetConfig{Mode: slirpnet.Host}}) == 0 {
		t.Error("--net host still creates a network namespace")
	}
	for _, m := range []slirpnet.Mode{slirpnet.Slirp4netns, slirpnet.Pasta, slirpnet.None, slirpnet.Veth} {
		if netCloneFlags(&Config{Net: NetConfig{Mode: m}}) != 0 {
			t.Errorf("--net %s shares the host's network namespace", m)
		}
	}
}
