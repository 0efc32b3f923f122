package test

// Networking (issue 3): the modes, published ports, host loopback, the
// sandbox's /etc files and the lifetime of the helpers, with the real
// slirp4netns, pasta and rootlesskit port drivers, run as the test user.
//
// Set-up: when the tests run as root, prepareNetworkHost gives
// /dev/net/tun its standard mode 0666 (Debian's udev rule; some hosts,
// this test machine among them, ship it 0600, which no user-mode network
// can use). It is not set back afterwards. scripts/test.sh does the same.

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func prepareNetworkHost() error {
	if os.Geteuid() != 0 {
		return nil
	}
	st, err := os.Stat("/dev/net/tun")
	if err != nil {
		return fmt.Errorf("/dev/net/tun: %w (sudo modprobe tun)", err)
	}
	if st.Mode().Perm() != 0o666 {
		fmt.Fprintf(os.Stderr, "test setup: chmod 0666 /dev/net/tun (was %04o), the standard mode that slirp4netns and pasta need\n", st.Mode().Perm())
		return os.Chmod("/dev/net/tun", 0o666)
	}
	return nil
}

// needUserModeNet skips (fails in CI) when slirp4netns or pasta cannot run.
func needUserModeNet(t *testing.T) {
	t.Helper()
	var missing []string
	for _, b := range []string{"slirp4netns", "pasta"} {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0); err != nil {
		missing = append(missing, "a usable /dev/net/tun ("+err.Error()+")")
	} else {
		f.Close()
	}
	if len(missing) == 0 {
		return
	}
	msg := "missing " + strings.Join(missing, ", ") + " (apt-get install slirp4netns passt; chmod 0666 /dev/net/tun)"
	if inCI {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// netsrv is the tests' tiny server/client (test/netsrv).
func netsrv(t *testing.T) string { return testProgram(t, "netsrv") }

// freePort is a port nothing listens on right now, for tcp and udp.
func freePort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 100; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			u.Close()
			return p
		}
	}
	t.Fatal("no free port")
	return 0
}

// background is isolate running while the test talks to it.
type background struct {
	cmd            *exec.Cmd
	stdout, stderr *lockedBuffer
	done           chan struct{}
}

func startIsolate(t *testing.T, o opts, args ...string) *background {
	t.Helper()
	return startCmd(t, command(o, args...))
}

func startCmd(t *testing.T, cmd *exec.Cmd) *background {
	t.Helper()
	b := &background{cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	b.cmd.Stdout, b.cmd.Stderr = b.stdout, b.stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.cmd.Wait(); close(b.done) }()
	t.Cleanup(func() {
		b.cmd.Process.Kill()
		<-b.done
	})
	return b
}

// waitReady waits for netsrv's "ready" (or isolate's early exit).
func (b *background) waitReady(t *testing.T) {
	t.Helper()
	eventually(t, "the server inside is ready", func() bool {
		select {
		case <-b.done:
			t.Fatalf("isolate exited early: %s\n%s", b.stdout.String(), b.stderr.String())
		default:
		}
		return strings.Contains(b.stdout.String(), "ready")
	})
}

func (b *background) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(60 * time.Second):
		t.Fatal("isolate did not exit")
	}
	return b.cmd.ProcessState.ExitCode()
}

// dialHost talks to addr from the host like netsrv dial does, and closes
// (tcp) or says "done" (udp) so that netsrv exits.
func dialHost(proto, addr string) (string, error) {
	c, err := net.DialTimeout(proto, addr, 10*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if proto == "udp" {
		if _, err := c.Write([]byte("x")); err != nil {
			return "", err
		}
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if proto == "udp" && err == nil {
		c.Write([]byte("done")) // netsrv waits for it
	}
	return line, err
}

// hostServer is a TCP server on the host that counts its connections.
type hostServer struct {
	l     net.Listener
	mu    sync.Mutex
	count int
}

func startHostServer(t *testing.T, addr string) *hostServer {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &hostServer{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.count++
			s.mu.Unlock()
			c.Write([]byte("hello from the host\n"))
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return s
}

func (s *hostServer) port() int { return s.l.Addr().(*net.TCPAddr).Port }

func (s *hostServer) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// hostAddr is a non-loopback IPv4 address of the host.
func hostAddr(t *testing.T) string {
	t.Helper()
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	if inCI {
		t.Fatal("the host has no non-loopback IPv4 address")
	}
	t.Skip("the host has no non-loopback IPv4 address")
	return ""
}

// gatewayCmd prints what netsrv dial gets from the default gateway's PORT.
func gatewayCmd(t *testing.T, port int) string {
	return fmt.Sprintf(`gw=$(ip route show default | awk '{print $3; exit}'); timeout 5 %s dial tcp "$gw:%d"`, netsrv(t), port)
}

func TestSandboxReachesTheHostButNotItsLoopbackUnlessAllowed(t *testing.T) {
	t.Parallel()
	needUserModeNet(t)
	lo := startHostServer(t, "127.0.0.1:0")
	for _, mode := range []string{"slirp4netns", "pasta"} {
		t.Run(mode, func(t *testing.T) {
			before := lo.connections()
			r := run(t, opts{}, "--net", mode, "sh", "-c", gatewayCmd(t, lo.port()))
			if r.Code == 0 || strings.Contains(r.Stdout, "hello") || lo.connections() != before {
				t.Errorf("without --allow-host-loopback the sandbox reached the host's 127.0.0.1: %s", r)
			}
			r = run(t, opts{}, "--net", mode, "--allow-host-loopback", "sh", "-c", gatewayCmd(t, lo.port()))
			if r.Code != 0 || r.Stdout != "hello from the host\n" {
				t.Errorf("with --allow-host-loopback, the host's 127.0.0.1 through the gateway: %s", r)
			}
		})
	}
	t.Run("outbound to a host address", func(t *testing.T) {
		ext := startHostServer(t, "0.0.0.0:0")
		addr := net.JoinHostPort(hostAddr(t), strconv.Itoa(ext.port()))
		r := run(t, opts{}, "--net", "slirp4netns", netsrv(t), "dial", "tcp", addr)
		if r.Code != 0 || r.Stdout != "hello from the host\n" {
			t.Errorf("--net slirp4netns: outbound TCP to %s: %s", addr, r)
		}
		// pasta gives the sandbox the host's own address, so the host's
		// address is the sandbox itself there; its outbound path is shown
		// by a name lookup through pasta's DNS forwarder to the host's
		// resolver (the same name CI's apt-get just resolved).
		for _, mode := range []string{"slirp4netns", "pasta"} {
			r = run(t, opts{}, "--net", mode, "getent", "hosts", "deb.debian.org")
			if r.Code != 0 || !strings.Contains(r.Stdout, "deb.debian.org") {
				t.Errorf("--net %s: DNS lookup through the sandbox's resolver: %s", mode, r)
			}
		}
	})
}

func TestPublishedPortsReachTheProgram(t *testing.T) {
	t.Parallel()
	needUserModeNet(t)
	cases := []struct {
		args  []string
		proto string
	}{
		{[]string{"--net", "slirp4netns"}, "tcp"},
		{[]string{"--net", "slirp4netns"}, "udp"},
		{[]string{"--net", "pasta"}, "tcp"},
		{[]string{"--net", "pasta"}, "udp"},
		{[]string{"--net", "none"}, "tcp"},
		{[]string{"--net", "none"}, "udp"},
		{[]string{"--net", "slirp4netns", "--port-driver", "slirp4netns"}, "tcp"},
		{[]string{"--net", "slirp4netns", "--port-driver", "slirp4netns", "--allow-host-loopback"}, "udp"},
		{[]string{"--net", "pasta", "--port-driver", "implicit"}, "tcp"},
	}
	for _, c := range cases {
		c := c
		t.Run(strings.Join(c.args, " ")+" "+c.proto, func(t *testing.T) {
			t.Parallel()
			hp := freePort(t)
			args := append(append([]string{}, c.args...), "-p", fmt.Sprintf("%d:8000/%s", hp, c.proto), netsrv(t), "listen", c.proto, "8000")
			b := startIsolate(t, opts{}, args...)
			b.waitReady(t)
			got, err := dialHost(c.proto, fmt.Sprintf("127.0.0.1:%d", hp))
			if err != nil || got != "hello "+c.proto+"\n" {
				code := b.exitCode(t)
				t.Fatalf("from the host to 127.0.0.1:%d: %q, %v; isolate exited %d:\n%s\n%s", hp, got, err, code, b.stdout.String(), b.stderr.String())
			}
			if code := b.exitCode(t); code != 0 {
				t.Errorf("isolate exited %d: %s", code, b.stderr.String())
			}
		})
	}
}

// pasta's implicit UDP forwarding returns replies to a sender on this host
// only through its gateway mapping (so isolate asks for
// --allow-host-loopback), and drops replies to a sender on the host's
// loopback in the passt of Debian 12 (2023-03-09). From a host address it
// works, and that is what is tested here.
func TestPastaImplicitForwardsUDPFromAHostAddress(t *testing.T) {
	t.Parallel()
	needUserModeNet(t)
	addr := hostAddr(t)
	hp := freePort(t)
	b := startIsolate(t, opts{}, "--net", "pasta", "--port-driver", "implicit", "--allow-host-loopback", "-p", fmt.Sprintf("%s:%d:8000/udp", addr, hp), netsrv(t), "listen", "udp", "8000")
	b.waitReady(t)
	got, err := dialHost("udp", net.JoinHostPort(addr, strconv.Itoa(hp)))
	if err != nil || got != "hello udp\n" {
		t.Fatalf("udp to %s:%d: %q, %v\n%s", addr, hp, got, err, b.stderr.String())
	}
}

func TestPublishedPortListensOnlyOnLoopbackByDefault(t *testing.T) {
	t.Parallel()
	needUserModeNet(t)
	addr := hostAddr(t)
	hp := freePort(t)
	b := startIsolate(t, opts{}, "-p", fmt.Sprintf("%d:8000", hp), netsrv(t), "listen", "tcp", "8000")
	b.waitReady(t)
	if _, err := dialHost("tcp", net.JoinHostPort(addr, strconv.Itoa(hp))); err == nil {
		t.Errorf("-p %d:8000 is reachable on the host's address %s: want 127.0.0.1 only", hp, addr)
	}
	if got, err := dialHost("tcp", fmt.Sprintf("127.0.0.1:%d", hp)); err != nil || got != "hello tcp\n" {
		t.Errorf("127.0.0.1:%d: %q, %v", hp, got, err)
	}
}

func TestPortInUseIsAnErrorBeforeTheProgramStarts(t *testing.T) {
	t.Parallel()
	needUserModeNet(t)
	busy := startHostServer(t, "127.0.0.1:0")
	for _, args := range [][]string{{"--net", "slirp4netns"}, {"--net", "slirp4netns", "--port-driver", "slirp4netns"}, {"--net", "pasta", "--port-driver", "implicit"}} {
		m := marker()
		args = append(args, "-p", fmt.Sprintf("%d:80", busy.port()), "sh", "-c", "echo started; sleep "+m)
		r := run(t, opts{}, args...)
		want := fmt.Sprintf("isolate: --publish 127.0.0.1:%d:80/tcp: address already in use", busy.port())
		if r.Code != 125 || withoutNotices(r.Stderr)[0] != want || strings.Contains(r.Stdout, "started") {
			t.Errorf("%q: want exit 125, %q, and the program not started: %s", args, want, r)
		}
		if left := hostProcesses(m); len(left) != 0 {
			t.Errorf("processes left behind: %v", left)
		}
	}
}

func TestEachModeGivesItsNetwork(t *testing.T) {
	t.Parallel()
	needUserModeNet(t)
	show := "ip -o -4 addr show scope global | awk '{print $2, $4}'; ip link show tap0 2>/dev/null | grep -o 'mtu [0-9]*'"
	r := run(t, opts{}, "--net", "slirp4netns", "sh", "-c", show)
	if r.Code != 0 || r.Stdout != "tap0 10.0.2.100/24\nmtu 65520\n" {
		t.Errorf("slirp4netns: want tap0 10.0.2.100/24 with mtu 65520: %s", r)
	}
	r = run(t, opts{}, "--net", "pasta", "sh", "-c", show)
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "tap0 ") {
		t.Errorf("pasta: want an address on tap0: %s", r)
	}
	r = run(t, opts{}, "--net", "none", "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
	if r.Code != 0 || r.Stdout != "lo\n" {
		t.Errorf("none: want lo only: %s", r)
	}
	hostNet, _ := os.Readlink("/proc/self/ns/net")
	r = run(t, opts{}, "--net", "host", "readlink", "/proc/self/ns/net")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != hostNet {
		t.Errorf("host: want the host's network namespace %s: %s", hostNet, r)
	}
	def := run(t, opts{}, "sh", "-c", show)
	if def.Code != 0 || def.Stdout != "tap0 10.0.2.100/24\nmtu 65520\n" {
		t.Errorf("default with slirp4netns installed: want slirp4netns: %s", def)
	}
}

func TestVethPairForRealRootIsRemovedAtExit(t *testing.T) {
	// Not parallel with itself: the host side is always named veth0.
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("tier 3: needs real root")
	}
	// The assignment's addresses, and the pair carries traffic: the host
	// reaches a server inside on peer0's address.
	b := startIsolate(t, opts{root: true}, "-q", "--net", "veth", "sh", "-c", "ip -o -4 addr show peer0 | awk '{print $4}'; exec "+netsrv(t)+" listen tcp 8000")
	b.waitReady(t)
	if !strings.HasPrefix(b.stdout.String(), "10.11.12.14/24\n") {
		t.Errorf("inside: want peer0 10.11.12.14/24, got %q", b.stdout.String())
	}
	out, err := exec.Command("ip", "-o", "-4", "addr", "show", "veth0").Output()
	if err != nil || !strings.Contains(string(out), "10.11.12.13/24") || !strings.Contains(string(out), "veth0") {
		t.Errorf("host: want veth0 10.11.12.13/24: %q %v", out, err)
	}
	if got, err := dialHost("tcp", "10.11.12.14:8000"); err != nil || got != "hello tcp\n" {
		t.Errorf("host to 10.11.12.14:8000 over the pair: %q %v", got, err)
	}
	if code := b.exitCode(t); code != 0 {
		t.Errorf("exit %d: %s", code, b.stderr.String())
	}
	if exec.Command("ip", "link", "show", "veth0").Run() == nil {
		t.Error("veth0 left behind after a normal exit")
	}
	r := run(t, opts{root: true}, "-q", "--net", "veth", "sh", "-c", "exit 3")
	if r.Code != 3 || exec.Command("ip", "link", "show", "veth0").Run() == nil {
		t.Errorf("program fails: want its status 3 and veth0 removed: %s", r)
	}
	m := marker()
	b = startIsolate(t, opts{root: true}, "-q", "--net", "veth", "--veth-subnet", "10.9.0.1/30", "sh", "-c", "ip -o -4 addr show peer0 | awk '{print $4}'; echo ready; sleep "+m)
	b.waitReady(t)
	if !strings.HasPrefix(b.stdout.String(), "10.9.0.2/30\n") {
		t.Errorf("--veth-subnet 10.9.0.1/30: want peer0 10.9.0.2/30, got %q", b.stdout.String())
	}
	b.cmd.Process.Signal(syscall.SIGKILL)
	<-b.done
	eventually(t, "veth0 removed after SIGKILL of isolate", func() bool {
		return exec.Command("ip", "link", "show", "veth0").Run() != nil
	})
	eventually(t, "sandbox gone", func() bool { return len(hostProcesses(m)) == 0 })
}

func TestVethNeedsRealRoot(t *testing.T) {
	t.Parallel()
	m := marker()
	r := run(t, opts{}, "--net", "veth", "sleep", m)
	if r.Code != 125 || !strings.HasPrefix(withoutNotices(r.Stderr)[0], "isolate: --net veth: creating a veth pair in the host's network namespace needs real root") ||
		!strings.Contains(r.Stderr, "hint: use --net slirp4netns or --net pasta") {
		t.Errorf("want the veth error with a hint: %s", r)
	}
	if left := hostProcesses(m); len(left) != 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

func TestSandboxGetsItsOwnResolvConfHostsAndHostname(t *testing.T) {
	t.Parallel()
	needUserModeNet(t)
	hostResolv := fileHash(t, "/etc/resolv.conf")
	cat := "cat /etc/resolv.conf; echo --; cat /etc/hosts; echo --; cat /etc/hostname"
	for mode, ns := range map[string]string{"slirp4netns": "nameserver 10.0.2.3\n", "pasta": "nameserver 169.254.1.1\n"} {
		r := run(t, opts{}, "--net", mode, "--hostname", "box", "sh", "-c", cat)
		parts := strings.Split(r.Stdout, "--\n")
		if r.Code != 0 || len(parts) != 3 {
			t.Fatalf("%s: %s", mode, r)
		}
		if parts[0] != ns {
			t.Errorf("%s: resolv.conf = %q, want %q", mode, parts[0], ns)
		}
		if !strings.Contains(parts[1], "127.0.0.1\tlocalhost\n") || !strings.Contains(parts[1], "\tbox\n") {
			t.Errorf("%s: hosts = %q, want localhost and box", mode, parts[1])
		}
		if parts[2] != "box\n" {
			t.Errorf("%s: hostname = %q", mode, parts[2])
		}
	}
	// The program may try to change them: it writes on its own read-only
	// copy, never on the host's file.
	r := run(t, opts{}, "--net", "slirp4netns", "sh", "-c", "echo nameserver 6.6.6.6 > /etc/resolv.conf")
	if r.Code == 0 {
		t.Errorf("writing the sandbox's resolv.conf succeeded: %s", r)
	}
	if fileHash(t, "/etc/resolv.conf") != hostResolv {
		t.Error("the host's /etc/resolv.conf changed")
	}
}

func fileHash(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// helperPids lists the host processes whose parent is pid and whose name
// is a network helper.
func helperPids(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		close := strings.LastIndexByte(s, ')')
		if close < 0 {
			continue
		}
		f := strings.Fields(s[close+2:])
		// By argv[0]: Debian's pasta runs as passt.avx2 on AVX2 CPUs.
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		name := filepath.Base(strings.SplitN(string(cmdline), "\x00", 2)[0])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) && (name == "slirp4netns" || name == "pasta") {
			out = append(out, p)
		}
	}
	return out
}

func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}

func TestNetworkHelpersEndWithTheSandbox(t *testing.T) {
	t.Parallel()
	needUserModeNet(t)
	setups := [][]string{
		{"--net", "slirp4netns"}, // the builtin port driver, inside isolate and its init
		{"--net", "slirp4netns", "--port-driver", "slirp4netns"},
		{"--net", "pasta", "--port-driver", "implicit"},
		{"--net", "pasta"},
	}
	ends := []string{"normal exit", "program fails", "SIGKILL of isolate"}
	for _, setup := range setups {
		for _, end := range ends {
			setup, end := setup, end
			t.Run(strings.Join(setup, " ")+"/"+end, func(t *testing.T) {
				t.Parallel()
				hp := freePort(t)
				m := marker()
				status := map[string]int{"normal exit": 0, "program fails": 3, "SIGKILL of isolate": 0}[end]
				// The program waits for a line on stdin, so the helpers are
				// seen while it runs and it then ends by itself.
				args := append(append([]string{}, setup...), "-p", fmt.Sprintf("%d:80", hp), "sh", "-c", fmt.Sprintf("sleep %s & echo ready; read x; exit %d", m, status))
				cmd := command(opts{}, args...)
				stdin, err := cmd.StdinPipe()
				if err != nil {
					t.Fatal(err)
				}
				defer stdin.Close()
				b := startCmd(t, cmd)
				b.waitReady(t)
				helpers := helperPids(b.cmd.Process.Pid)
				if len(helpers) != 1 {
					t.Fatalf("want one network helper of isolate, found %v", helpers)
				}
				if end == "SIGKILL of isolate" {
					b.cmd.Process.Signal(syscall.SIGKILL)
					<-b.done
				} else {
					stdin.Write([]byte("\n"))
					if code := b.exitCode(t); code != status {
						t.Errorf("exit %d, want %d: %s", code, status, b.stderr.String())
					}
				}
				eventually(t, "network helper gone", func() bool { return !running(helpers[0]) })
				eventually(t, "sandbox processes gone", func() bool { return len(hostProcesses(m)) == 0 })
				eventually(t, "host port free again", func() bool {
					l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", hp))
					if err == nil {
						l.Close()
					}
					return err == nil
				})
			})
		}
	}
}

// A program inside runs as root in the sandbox and can reach the builtin
// port driver's directory through /proc/1/fd. If it could write there, it
// could plant a symlink that isolate, on the host, would follow when it
// dials the driver's socket. The directory is read-only and mounted
// nowhere, so neither writing nor remounting it works.
func TestProgramCannotRedirectThePortDriverOnTheHost(t *testing.T) {
	t.Parallel()
	needUserModeNet(t)
	// The driver's directory is the init's fd 101. By default the init is
	// out of the program's reach altogether (non-dumpable, no
	// CAP_SYS_PTRACE); with CAP_SYS_PTRACE the program reaches the
	// directory (Landlock off: it keeps a sandboxed process from the
	// init's /proc entries too), and it must still be read-only.
	script := `d=/proc/1/fd/101; test -S $d/.bp.sock || { echo "no driver socket"; exit 0; }
echo reached
ln -s /run $d/evil 2>/dev/null && echo "wrote a symlink"
rm -f $d/.bp.sock 2>/dev/null && echo "removed the socket"
mount -o remount,rw $d 2>/dev/null && echo "remounted"
mount -o remount,rw /proc/1/fd/101 2>/dev/null && echo "remounted"
exit 0`
	for extra, want := range map[string]string{"": "no driver socket\n", "--cap-add=SYS_PTRACE --landlock=off": "reached\n"} {
		args := []string{"--net", "slirp4netns", "-p", fmt.Sprintf("%d:80", freePort(t))}
		args = append(args, strings.Fields(extra)...)
		r := run(t, opts{}, append(args, "sh", "-c", script)...)
		if r.Code != 0 || r.Stdout != want {
			t.Errorf("%s: want %q: %s", extra, want, r)
		}
	}
}

func TestProgramCannotReachTheSlirp4netnsAPI(t *testing.T) {
	t.Parallel()
	needUserModeNet(t)
	// Even where the program can see the state directory (CAP_SYS_PTRACE
	// lets it read the init's fds), the API socket is gone once the ports
	// are published.
	r := run(t, opts{}, "--net", "slirp4netns", "--port-driver", "slirp4netns", "-p", fmt.Sprintf("%d:80", freePort(t)),
		"--cap-add=SYS_PTRACE", "--landlock=off", "sh", "-c", "ls -A /proc/1/fd/101/")
	if r.Code != 0 || r.Stdout != "" {
		t.Errorf("want an empty state directory once the ports are published: %s", r)
	}
	r = run(t, opts{}, "--net", "slirp4netns", "--port-driver", "slirp4netns", "-p", fmt.Sprintf("%d:80", freePort(t)),
		"sh", "-c", "ls -A /proc/1/fd/101/")
	if r.Code == 0 || !strings.Contains(r.Stderr, "Permission denied") {
		t.Errorf("by default the init's fds are out of reach: %s", r)
	}
}

func netPath(t *testing.T, hide ...string) string {
	t.Helper()
	// Under workDir: the test user cannot enter t.TempDir().
	dir, err := os.MkdirTemp(workDir, "path-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	skip := map[string]bool{}
	for _, h := range hide {
		skip[h] = true
	}
	base := defaultPath
	if fallback {
		base = hiddenPath
	}
	for _, d := range filepath.SplitList(base) {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if !skip[e.Name()] {
				os.Symlink(filepath.Join(d, e.Name()), filepath.Join(dir, e.Name()))
			}
		}
	}
	return dir
}

func TestBadNetworkInputIsOneLineAndExit125(t *testing.T) {
	t.Parallel()
	needUserModeNet(t)
	busy := startHostServer(t, "127.0.0.1:0")
	noHelpers := netPath(t, "slirp4netns", "pasta")
	cases := []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"--net", "bridge"}, nil, `isolate: --net: unknown network mode "bridge" (want slirp4netns, pasta, none, host, veth)`},
		{[]string{"-p", "80"}, nil, "isolate: --publish 80: want [HOSTIP:]HOSTPORT:CONTAINERPORT"},
		{[]string{"-p", "8080:80/sctp"}, nil, `isolate: --publish 8080:80/sctp: protocol "sctp": want tcp or udp`},
		{[]string{"-p", "localhost:8080:80"}, nil, `isolate: --publish localhost:8080:80: "localhost" is not an IPv4 address`},
		{[]string{"-p", "70000:80"}, nil, "isolate: --publish 70000:80: host port 70000 is out of range (1-65535)"},
		{[]string{"-p", "8080:0"}, nil, "isolate: --publish 8080:0: container port 0 is out of range (1-65535)"},
		{[]string{"-p", "8080:80", "-p", "8080:81"}, nil, "isolate: --publish: 127.0.0.1:8080:81/tcp is published twice"},
		{[]string{"-p", fmt.Sprintf("%d:80", busy.port())}, nil, fmt.Sprintf("isolate: --publish 127.0.0.1:%d:80/tcp: address already in use", busy.port())},
		{[]string{"-p", "198.51.100.7:8080:80"}, nil, "isolate: --publish 198.51.100.7:8080:80/tcp: cannot assign requested address"},
		{[]string{"--port-driver", "vpnkit"}, nil, `isolate: --port-driver: unknown port driver "vpnkit"`},
		{[]string{"--net", "pasta", "--port-driver", "slirp4netns", "-p", "8080:80"}, nil, "isolate: --port-driver slirp4netns: needs --net slirp4netns, not pasta"},
		{[]string{"--net", "slirp4netns", "--port-driver", "implicit", "-p", "8080:80"}, nil, "isolate: --port-driver implicit: means pasta's own forwarding and needs --net pasta, not slirp4netns"},
		{[]string{"--net", "pasta", "--port-driver", "implicit", "-p", "8080:80/udp"}, nil, "isolate: --publish 127.0.0.1:8080:80/udp with --port-driver implicit: pasta returns udp replies to senders on this host through its gateway mapping"},
		{[]string{"--net", "slirp4netns", "--port-driver", "slirp4netns", "-p", "8080:80/udp"}, nil, "isolate: --publish 127.0.0.1:8080:80/udp with --port-driver slirp4netns: slirp4netns forwards udp replies through the host's loopback"},
		{[]string{"--no-init", "-p", "8080:80"}, nil, "isolate: --port-driver builtin with --no-init: the builtin driver runs in isolate's init"},
		{[]string{"--net", "host", "-p", "8080:80"}, nil, "isolate: --publish with --net host: the sandbox already uses the host's ports"},
		{[]string{"--net", "none", "--allow-host-loopback"}, nil, "isolate: --allow-host-loopback: only applies to --net slirp4netns and --net pasta, not none"},
		{[]string{"--net", "veth", "--veth-subnet", "10.0.0.0/24"}, nil, "isolate: --veth-subnet 10.0.0.0/24: 10.0.0.0 and the next address must both be hosts of 10.0.0.0/24"},
		{[]string{"--net", "slirp4netns", "--veth-subnet", "10.9.0.1/24"}, nil, "isolate: --veth-subnet: only applies to --net veth"},
		{[]string{"--net", "slirp4netns"}, []string{"PATH=" + noHelpers}, "isolate: --net slirp4netns: slirp4netns not found in $PATH"},
		{[]string{"--net", "pasta"}, []string{"PATH=" + noHelpers}, "isolate: --net pasta: pasta not found in $PATH"},
	}
	// Port 80 is privileged unless the host lowered the limit.
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); err == nil && atoi(strings.TrimSpace(string(b))) > 80 {
		cases = append(cases, struct {
			args []string
			env  []string
			want string
		}{[]string{"-p", "80:80"}, nil, "isolate: --publish 127.0.0.1:80:80/tcp: permission denied"})
	}
	for _, c := range cases {
		c := c
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Parallel()
			m := marker()
			r := run(t, opts{env: c.env}, append(append([]string{}, c.args...), "sleep", m)...)
			checkOneLineError(t, r, c.want, m)
		})
	}
	t.Run("missing helper falls back to loopback with a notice by default", func(t *testing.T) {
		r := run(t, opts{env: []string{"PATH=" + noHelpers}}, "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
		if r.Code != 0 || r.Stdout != "lo\n" || strings.Count(r.Stderr, "isolate: notice: neither slirp4netns nor pasta is installed") != 1 || withoutNotices(r.Stderr)[0] != "" {
			t.Errorf("want loopback only and one notice: %s", r)
		}
	})
}

func checkOneLineError(t *testing.T, r result, want, m string) {
	t.Helper()
	if r.Code != 125 {
		t.Fatalf("exit = %d, want 125\n%s", r.Code, r)
	}
	lines := withoutNotices(r.Stderr)
	if !strings.HasPrefix(lines[0], want) {
		t.Errorf("first line = %q, want it to start with %q", lines[0], want)
	}
	if len(lines) > 2 || (len(lines) == 2 && !strings.HasPrefix(lines[1], "  hint: ")) {
		t.Errorf("want one error line and at most one hint line, got %q", r.Stderr)
	}
	if left := hostProcesses(m); len(left) != 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

// /dev/net/tun missing or root-only is named with its fix. As root the
// test hides the real device in a private mount namespace and runs
// isolate there as the test user.
func TestUnusableDevNetTunIsNamedWithItsFix(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to hide /dev/net/tun in a private mount namespace")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	tun := filepath.Join(dir, "tun")
	if err := syscall.Mknod(tun, syscall.S_IFCHR|0o600, 10<<8|200); err != nil {
		t.Fatal(err)
	}
	os.Chmod(tun, 0o600)
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	path := defaultPath
	if fallback {
		path = hiddenPath
	}
	cases := []struct{ hide, want, hint string }{
		{"mount --bind " + tun + " /dev/net/tun", "isolate: open /dev/net/tun: permission denied", "sudo chmod 0666 /dev/net/tun"},
		{"mount --bind " + empty + " /dev/net", "isolate: open /dev/net/tun: no such file or directory", "sudo modprobe tun"},
	}
	for _, c := range cases {
		for _, mode := range []string{"slirp4netns", "pasta"} {
			m := marker()
			script := fmt.Sprintf("%s && exec setpriv --reuid=%d --regid=%d --clear-groups env -i PATH=%s HOME=%s %s --net %s sleep %s",
				c.hide, testUser.UID, testUser.GID, path, testUser.Home, isolateBin, mode, m)
			cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script)
			cmd.Dir = workDir
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			cmd.Run()
			r := result{Stdout: stdout.String(), Stderr: stderr.String(), Code: cmd.ProcessState.ExitCode()}
			checkOneLineError(t, r, c.want, m)
			if !strings.Contains(r.Stderr, c.hint) {
				t.Errorf("--net %s: want the hint %q: %s", mode, c.hint, r)
			}
		}
		// The default mode falls back to loopback only, with one notice.
		script := fmt.Sprintf("%s && exec setpriv --reuid=%d --regid=%d --clear-groups env -i PATH=%s HOME=%s %s sh -c 'tail -n +3 /proc/net/dev | wc -l'",
			c.hide, testUser.UID, testUser.GID, path, testUser.Home, isolateBin)
		cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script)
		cmd.Dir = workDir
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "isolate: notice: open /dev/net/tun") || !strings.HasSuffix(string(out), "1\n") {
			t.Errorf("default mode with an unusable /dev/net/tun: want loopback only and a notice, got %q", out)
		}
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

func TestPublishOnIPv6Loopback(t *testing.T) {
	t.Parallel()
	needUserModeNet(t)
	hp := freePort(t)
	b := startIsolate(t, opts{}, "-p", fmt.Sprintf("[::1]:%d:8000", hp), netsrv(t), "listen", "tcp", "8000")
	b.waitReady(t)
	got, err := dialHost("tcp", fmt.Sprintf("[::1]:%d", hp))
	if err != nil || got != "hello tcp\n" {
		t.Fatalf("from the host to [::1]:%d: %q, %v\n%s", hp, got, err, b.stderr.String())
	}
}

func TestRootfsGetsTheNetworksEtcFiles(t *testing.T) {
	t.Parallel()
	needUserModeNet(t)
	root := busyboxRoot(t) // owned by the test user: mount points can be made
	r := run(t, opts{}, "-q", "--net", "slirp4netns", "--hostname", "box", "--rootfs", root, "/bin/sh", "-c",
		"cat /etc/resolv.conf /etc/hostname; grep -c box /etc/hosts")
	if r.Code != 0 || r.Stdout != "nameserver 10.0.2.3\nbox\n1\n" {
		t.Fatalf("the rootfs must see the sandbox's network files: %s", r)
	}
	// The mount points are left empty in the user's own tree, as docker
	// leaves them; the contents never reach it.
	if b, _ := os.ReadFile(filepath.Join(root, "etc/resolv.conf")); len(b) != 0 {
		t.Errorf("the rootfs's resolv.conf on disk holds %q", b)
	}
}
