package slirpnet

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestParsePort(t *testing.T) {
	ok := []struct {
		in   string
		want Port
	}{
		{"8080:80", Port{"127.0.0.1", 8080, 80, "tcp"}},
		{"8080:80/tcp", Port{"127.0.0.1", 8080, 80, "tcp"}},
		{"53:5353/udp", Port{"127.0.0.1", 53, 5353, "udp"}},
		{"0.0.0.0:1:65535", Port{"0.0.0.0", 1, 65535, "tcp"}},
		{"192.0.2.7:9000:90/udp", Port{"192.0.2.7", 9000, 90, "udp"}},
		{"[::1]:8080:80", Port{"::1", 8080, 80, "tcp"}},
	}
	for _, c := range ok {
		got, err := ParsePort(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParsePort(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	bad := map[string]string{
		"":                   "want [HOSTIP:]HOSTPORT:CONTAINERPORT",
		"80":                 "want [HOSTIP:]HOSTPORT:CONTAINERPORT",
		"a:b:c:d":            "want [HOSTIP:]HOSTPORT:CONTAINERPORT",
		"8080:80/sctp":       `protocol "sctp"`,
		"0:80":               "host port 0 is out of range",
		"8080:65536":         "container port 65536 is out of range",
		"x:80":               `host port "x" is not a number`,
		"localhost:8080:80":  `"localhost" is not an IPv4 address`,
		"::1:8080:80":        "want [HOSTIP:]HOSTPORT:CONTAINERPORT",
		"[1.2.3.4]:8080:80":  "is not an IPv6 address",
		"[::1]8080:80":       "want [IPv6]:HOSTPORT:CONTAINERPORT",
		"1.2.3.4:8080:80:90": "want [HOSTIP:]HOSTPORT:CONTAINERPORT",
	}
	for in, want := range bad {
		if _, err := ParsePort(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePort(%q) error = %v, want it to contain %q", in, err, want)
		}
	}
}

func TestPortStringRoundTrips(t *testing.T) {
	for _, s := range []string{"127.0.0.1:8080:80/tcp", "[::1]:53:53/udp"} {
		p, err := ParsePort(s)
		if err != nil || p.String() != s {
			t.Errorf("%q → %+v → %q (%v)", s, p, p.String(), err)
		}
	}
}

func TestCheckDuplicates(t *testing.T) {
	a, _ := ParsePort("8080:80")
	b, _ := ParsePort("8080:81")
	u, _ := ParsePort("8080:80/udp")
	if err := CheckDuplicates([]Port{a, u}); err != nil {
		t.Errorf("tcp and udp on one port: %v", err)
	}
	if err := CheckDuplicates([]Port{a, b}); err == nil {
		t.Error("one host port published twice: no error")
	}
}

func TestParseModeAndDriver(t *testing.T) {
	for _, m := range Modes {
		if got, err := ParseMode(string(m)); err != nil || got != m {
			t.Errorf("ParseMode(%q) = %q, %v", m, got, err)
		}
	}
	if _, err := ParseMode("bridge"); err == nil || !strings.Contains(err.Error(), "want slirp4netns, pasta, none, host, veth") {
		t.Errorf("ParseMode(bridge) = %v", err)
	}
	if _, err := ParsePortDriver("rootlesskit"); err == nil {
		t.Error("ParsePortDriver(rootlesskit): no error")
	}
}

func TestVethAddrs(t *testing.T) {
	h, p, err := VethAddrs(DefaultVethSubnet)
	if err != nil || h.String() != "10.11.12.13/24" || p.String() != "10.11.12.14/24" {
		t.Errorf("default: %v %v %v", h, p, err)
	}
	if h, p, err := VethAddrs("10.9.0.1/30"); err != nil || p.String() != "10.9.0.2/30" {
		t.Errorf("/30: %v %v %v", h, p, err)
	}
	for _, bad := range []string{"10.0.0.0/24", "10.0.0.254/24", "10.0.0.2/30", "10.0.0.1/31", "fd00::1/64", "10.0.0.1", "x"} {
		if _, _, err := VethAddrs(bad); err == nil {
			t.Errorf("VethAddrs(%q): no error", bad)
		}
	}
}

func TestDefaultModePrefersSlirp4netnsThenPastaThenLoopback(t *testing.T) {
	have := func(names ...string) func(string) (string, error) {
		return func(n string) (string, error) {
			for _, h := range names {
				if h == n {
					return "/usr/bin/" + n, nil
				}
			}
			return "", errors.New("not found")
		}
	}
	tunOK := func() error { return nil }
	cases := []struct {
		bins   []string
		want   Mode
		notice bool
	}{
		{[]string{"slirp4netns", "pasta"}, Slirp4netns, false},
		{[]string{"pasta"}, Pasta, false},
		{nil, None, true},
	}
	for _, c := range cases {
		m, n := DefaultMode(have(c.bins...), tunOK)
		if m != c.want || (n != "") != c.notice {
			t.Errorf("with %v: %q, notice %q", c.bins, m, n)
		}
	}
	m, n := DefaultMode(have("slirp4netns"), func() error {
		return &os.PathError{Op: "open", Path: "/dev/net/tun", Err: syscall.EACCES}
	})
	if m != None || !strings.Contains(n, "chmod 0666 /dev/net/tun") {
		t.Errorf("tun 0600: %q, notice %q", m, n)
	}
}

func TestEtcFilesPointAtTheModesResolver(t *testing.T) {
	find := func(files []EtcFile, name string) (string, bool) {
		for _, f := range files {
			if f.Name == name {
				return f.Content, true
			}
		}
		return "", false
	}
	cases := map[Mode]string{Slirp4netns: "nameserver 10.0.2.3\n", Pasta: "nameserver 169.254.1.1\n", None: "# isolate --net none"}
	for m, want := range cases {
		files := EtcFiles(m, "box", "")
		if r, _ := find(files, "resolv.conf"); !strings.HasPrefix(r, want) {
			t.Errorf("%s: resolv.conf = %q, want %q", m, r, want)
		}
		if h, _ := find(files, "hosts"); !strings.Contains(h, "127.0.0.1\tlocalhost\n") || !strings.Contains(h, "127.0.1.1\tbox\n") {
			t.Errorf("%s: hosts = %q", m, h)
		}
		if h, _ := find(files, "hostname"); h != "box\n" {
			t.Errorf("%s: hostname = %q", m, h)
		}
	}
	if _, ok := find(EtcFiles(Host, "box", ""), "resolv.conf"); ok {
		t.Error("--net host replaces the host's resolv.conf, whose resolvers it can reach")
	}
	if h, _ := find(EtcFiles(Slirp4netns, "box", "10.0.2.100"), "hosts"); !strings.Contains(h, "10.0.2.100\tbox\n") {
		t.Errorf("hosts with the sandbox's address: %q", h)
	}
}
