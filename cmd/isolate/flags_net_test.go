package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/sandbox"
	"github.com/isolate-sandbox/isolate/pkg/slirpnet"
)

func TestNetFlagsBuildTheNetConfig(t *testing.T) {
	cfg, err := parse(t, "--net", "pasta", "--allow-host-loopback", "-p", "8080:80", "-p", "0.0.0.0:53:5353/udp", "--port-driver", "implicit", "true")
	if err != nil {
		t.Fatal(err)
	}
	want := sandbox.NetConfig{
		Mode: slirpnet.Pasta, AllowHostLoopback: true, PortDriver: slirpnet.Implicit, VethSubnet: slirpnet.DefaultVethSubnet,
		Ports: []slirpnet.Port{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Proto: "tcp"}, {HostIP: "0.0.0.0", HostPort: 53, ContainerPort: 5353, Proto: "udp"}},
	}
	if !reflect.DeepEqual(cfg.Net, want) {
		t.Errorf("got %+v\nwant %+v", cfg.Net, want)
	}
	cfg, err = parse(t, "true")
	if err != nil || cfg.Net.Mode != "" || cfg.Net.PortDriver != slirpnet.Builtin {
		t.Errorf("defaults: %+v, %v (want the mode left to the parent, builtin driver)", cfg.Net, err)
	}
}

func TestNetFlagErrorsSayWhichFlag(t *testing.T) {
	for args, want := range map[string]string{
		"--net bridge true":         `--net: unknown network mode "bridge"`,
		"-p 1:2:3:4 true":           "--publish 1:2:3:4: want [HOSTIP:]HOSTPORT:CONTAINERPORT",
		"--port-driver vpnkit true": `--port-driver: unknown port driver "vpnkit"`,
	} {
		_, err := parse(t, strings.Fields(args)...)
		if err == nil || !strings.HasPrefix(err.Error(), want) || hints.ExitCode(err) != hints.ExitSetup {
			t.Errorf("%s: %v, want %q and exit 125", args, err, want)
		}
	}
}
