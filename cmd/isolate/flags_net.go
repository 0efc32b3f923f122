package main

import (
	"github.com/urfave/cli/v2"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/sandbox"
	"github.com/isolate-sandbox/isolate/pkg/slirpnet"
)

func netFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "net", Aliases: []string{"network"}, Usage: "network: slirp4netns, pasta, none (loopback only), host (the host's own, not isolated), veth (real root only) (default: slirp4netns, else pasta, else none)"},
		&cli.BoolFlag{Name: "allow-host-loopback", Usage: "let the sandbox reach the host's 127.0.0.1 through its gateway address (slirp4netns, pasta)"},
		&cli.StringSliceFlag{Name: "publish", Aliases: []string{"p"}, Usage: "publish a port: [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|/udp] (repeatable; HOSTIP defaults to " + slirpnet.DefaultHostIP + ", only this host)"},
		&cli.StringFlag{Name: "port-driver", Value: string(slirpnet.Builtin), Usage: "how -p forwards: builtin (rootlesskit's, any mode), slirp4netns (--net slirp4netns), implicit (pasta's own, --net pasta)"},
		&cli.StringFlag{Name: "veth-subnet", Value: slirpnet.DefaultVethSubnet, Usage: "--net veth: the host side's address/prefix; the sandbox gets the next address"},
	}
}

func applyNetFlags(c *cli.Context, cfg *sandbox.Config) error {
	n := &cfg.Net
	if s := c.String("net"); s != "" {
		m, err := slirpnet.ParseMode(s)
		if err != nil {
			return &hints.Error{What: "--net", Why: err}
		}
		n.Mode = m
	}
	n.AllowHostLoopback = c.Bool("allow-host-loopback")
	d, err := slirpnet.ParsePortDriver(c.String("port-driver"))
	if err != nil {
		return &hints.Error{What: "--port-driver", Why: err}
	}
	n.PortDriver = d
	n.VethSubnet = c.String("veth-subnet")
	for _, s := range c.StringSlice("publish") {
		p, err := slirpnet.ParsePort(s)
		if err != nil {
			return &hints.Error{What: "--publish " + s, Why: err}
		}
		n.Ports = append(n.Ports, p)
	}
	return nil
}
