package slirpnet

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rootless-containers/rootlesskit/v2/pkg/port"
	slirpport "github.com/rootless-containers/rootlesskit/v2/pkg/port/slirp4netns"
	"golang.org/x/sys/unix"

	"github.com/isolate-sandbox/isolate/pkg/hints"
)

// Options is the network of one sandbox, as the host side needs it.
type Options struct {
	Mode              Mode
	AllowHostLoopback bool
	Ports             []Port
	PortDriver        PortDriver
	VethSubnet        string
	// NoInit: the program replaces isolate's init, so nothing inside can
	// serve the builtin port driver.
	NoInit bool
}

// setupTimeout bounds each wait for a helper; it only keeps a broken host
// from hanging isolate.
const setupTimeout = 30 * time.Second

// Check refuses what cannot work, before any process starts: a helper that
// is not installed, an unusable /dev/net/tun, veth without root, a port
// driver that does not fit the mode, a host port that is taken.
func Check(o Options) error {
	if o.Mode == Host && len(o.Ports) > 0 {
		return &hints.Error{What: "--publish with --net host", Why: errors.New("the sandbox already uses the host's ports"), Hint: "drop --publish, or use --net slirp4netns or pasta"}
	}
	if len(o.Ports) > 0 {
		switch o.PortDriver {
		case Builtin:
			if o.NoInit {
				return &hints.Error{What: "--port-driver builtin with --no-init", Why: errors.New("the builtin driver runs in isolate's init, which --no-init replaces by the program"), Hint: "drop --no-init, or use --net slirp4netns --port-driver slirp4netns, or --net pasta --port-driver implicit"}
			}
		case SlirpPorts:
			if o.Mode != Slirp4netns {
				return &hints.Error{What: "--port-driver slirp4netns", Why: fmt.Errorf("needs --net slirp4netns, not %s", o.Mode), Hint: "use --port-driver builtin, which works with every private network mode"}
			}
			for _, p := range o.Ports {
				// libslirp sends the replies of a forwarded datagram from
				// the host's loopback, which --disable-host-loopback drops.
				if p.Proto == "udp" && !o.AllowHostLoopback {
					return &hints.Error{What: "--publish " + p.String() + " with --port-driver slirp4netns", Why: errors.New("slirp4netns forwards udp replies through the host's loopback, which the sandbox may not reach"), Hint: "use --port-driver builtin (the default), or add --allow-host-loopback"}
				}
			}
		case Implicit:
			if o.Mode != Pasta {
				return &hints.Error{What: "--port-driver implicit", Why: fmt.Errorf("means pasta's own forwarding and needs --net pasta, not %s", o.Mode), Hint: "use --port-driver builtin, which works with every private network mode"}
			}
			for _, p := range o.Ports {
				// pasta sees a datagram from the host itself as coming from
				// the gateway, and its reply reaches the host only through
				// the gateway mapping that --no-map-gw turns off.
				if p.Proto == "udp" && !o.AllowHostLoopback {
					return &hints.Error{What: "--publish " + p.String() + " with --port-driver implicit", Why: errors.New("pasta returns udp replies to senders on this host through its gateway mapping, which the sandbox may not use"), Hint: "use --port-driver builtin (the default), or add --allow-host-loopback"}
				}
			}
		}
	}
	switch o.Mode {
	case Slirp4netns, Pasta:
		if _, err := exec.LookPath(o.Mode.Binary()); err != nil {
			return &hints.Error{What: "--net " + string(o.Mode), Why: fmt.Errorf("%s not found in $PATH", o.Mode.Binary()), Hint: hints.InstallNetHelper(o.Mode.Binary())}
		}
		if err := CheckTun(); err != nil {
			return err
		}
	case Veth:
		if os.Geteuid() != 0 {
			return &hints.Error{What: "--net veth", Why: errors.New("creating a veth pair in the host's network namespace needs real root"), Hint: hints.VethNeedsRoot}
		}
		if _, err := exec.LookPath("ip"); err != nil {
			return &hints.Error{What: "--net veth", Why: errors.New("ip not found in $PATH"), Hint: hints.InstallNetHelper("ip")}
		}
		if _, _, err := VethAddrs(o.VethSubnet); err != nil {
			return &hints.Error{What: "--veth-subnet " + o.VethSubnet, Why: err}
		}
		if _, err := net.InterfaceByName(VethHost); err == nil {
			return &hints.Error{What: "--net veth", Why: fmt.Errorf("a link named %s already exists on the host", VethHost), Hint: "another sandbox with --net veth runs, or remove the link: sudo ip link del " + VethHost}
		}
	}
	// A taken host port is reported now, before the sandbox exists. The
	// drivers bind again later (and report a port taken in between).
	for _, p := range o.Ports {
		if err := probePort(p); err != nil {
			return PublishError(p, err)
		}
	}
	return nil
}

func probePort(p Port) error {
	addr := net.JoinHostPort(p.HostIP, strconv.Itoa(p.HostPort))
	if p.Proto == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// CheckTun opens /dev/net/tun as the user: slirp4netns and pasta open it
// from inside the sandbox's user namespace, where a root-owned 0600 device
// is as closed as it is to the user.
func CheckTun() error {
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return &hints.Error{What: "open /dev/net/tun", Why: err, Hint: hints.Tun(err)}
	}
	return f.Close()
}

// Session is the host side of one sandbox's network; Close ends it.
type Session struct {
	cleanups  []func()
	apiSocket string // slirp4netns's, when it is the port driver
}

// Close stops helpers and removes links, in reverse order of creation.
func (s *Session) Close() error {
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
	s.cleanups = nil
	return nil
}

func (s *Session) defer_(f func()) { s.cleanups = append(s.cleanups, f) }

// EarlyLink reports whether StartLink may run as soon as the sandbox's
// namespaces exist, before its ids are mapped: pasta joins its user and
// network namespaces, which clone(2) made, and needs nothing else of it.
// slirp4netns (1.2.0) fails to join a user namespace that has no map yet
// ("parent failed"), so it starts once the ids are mapped, while the
// sandbox execs.
func EarlyLink(o Options) bool {
	return o.Mode == Pasta
}

// StartLink starts what connects the sandbox whose init is pid to the
// host: slirp4netns, pasta or the veth pair (nothing for none and host).
// Helpers get the parent-death signal: the caller must start them from the
// OS thread that stays locked while the sandbox runs, since Pdeathsig
// belongs to the creating thread (golang/go#27505). On error everything
// started so far is stopped.
func StartLink(o Options, pid int) (s *Session, err error) {
	s = &Session{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	switch o.Mode {
	case Slirp4netns:
		if len(o.Ports) > 0 && o.PortDriver == SlirpPorts {
			// The API socket goes into the sandbox's own state directory,
			// so that it vanishes with the sandbox even when slirp4netns
			// is killed and cannot remove it.
			dir, err := waitStateDir(pid, processAlive(pid), setupTimeout)
			if err != nil {
				return s, &hints.Error{What: "slirp4netns port driver", Why: err}
			}
			s.apiSocket = dir + "/slirp4netns.sock"
		}
		return s, startSlirp4netns(s, o, pid, s.apiSocket)
	case Pasta:
		return s, startPasta(s, o, pid)
	case Veth:
		return s, startVeth(s, o, pid)
	}
	return s, nil
}

// Publish publishes the sandbox's ports through the port driver, once the
// sandbox has made its state directory (the builtin driver's child side
// and slirp4netns's API socket live there). On error the caller closes s.
func (s *Session) Publish(o Options, pid int) error {
	if len(o.Ports) == 0 || o.PortDriver == Implicit {
		return nil
	}
	var driver port.ParentDriver
	childIP := "127.0.0.1"
	if s.apiSocket != "" {
		var err error
		if driver, err = slirpport.NewParentDriver(driverLog{}, s.apiSocket); err != nil {
			return &hints.Error{What: "slirp4netns port driver", Why: err}
		}
		childIP = SlirpAddr.Addr().String()
	} else {
		d, stop, err := startBuiltinParent(pid, processAlive(pid), setupTimeout)
		if err != nil {
			return &hints.Error{What: "builtin port driver", Why: err}
		}
		s.defer_(stop)
		driver = d
	}
	if err := addPorts(driver, o.Ports, childIP); err != nil {
		return err
	}
	if s.apiSocket != "" {
		// Every port is added: nobody needs the API any more, and a
		// program inside that found it through /proc/1/fd could ask
		// slirp4netns to listen on any host address. Unlinked, it is
		// unreachable (slirp4netns keeps only its listening fd).
		if err := os.Remove(s.apiSocket); err != nil {
			return &hints.Error{What: "remove slirp4netns's API socket", Why: err}
		}
	}
	return nil
}

// helper is one host process that serves the sandbox.
type helper struct {
	name   string
	cmd    *exec.Cmd
	stderr syncBuffer
	done   chan struct{}
}

// syncBuffer is a helper's stderr, written by exec's copying goroutine
// while an error report may read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Only the last lines matter for an error; keep memory bounded for a
	// helper that chatters for the whole life of the sandbox.
	if s.b.Len() > 64<<10 {
		s.b.Reset()
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHelper(name string, args ...string) *helper {
	h := &helper{name: name, cmd: exec.Command(args[0], args[1:]...), done: make(chan struct{})}
	h.cmd.Stderr = &h.stderr
	h.cmd.SysProcAttr = &syscall.SysProcAttr{
		// Dies with isolate, however isolate dies.
		Pdeathsig: unix.SIGKILL,
		// Not in the terminal's process group: Ctrl-C goes to the program
		// through isolate, and the helper is stopped after it, in order.
		Setpgid: true,
	}
	return h
}

// start starts the helper; Close stops it. holdsPorts: the helper listens
// on published host ports itself (slirp4netns's port driver, pasta's
// implicit one), so Close waits until it is gone and the ports are free for
// the next run. Otherwise Close only tells it to end: slirp4netns then
// takes 15 to 30 ms to exit (its --enable-sandbox mount namespace and the
// tap device are torn down behind RCU grace periods), which isolate's exit
// need not wait for; it dies even if isolate is gone (exit-fd, Pdeathsig).
func (h *helper) start(s *Session, holdsPorts bool) error {
	if err := h.cmd.Start(); err != nil {
		return &hints.Error{What: "start " + h.name, Why: err}
	}
	go func() { h.cmd.Wait(); close(h.done) }()
	s.defer_(func() { h.stop(holdsPorts) })
	return nil
}

// stop asks the helper to end (both exit cleanly on SIGTERM) and, with
// wait, waits for it, killing it if it has not ended within a bound.
func (h *helper) stop(wait bool) {
	select {
	case <-h.done:
		return
	default:
	}
	h.cmd.Process.Signal(unix.SIGTERM)
	if !wait {
		return
	}
	select {
	case <-h.done:
		return
	case <-time.After(2 * time.Second):
	}
	h.cmd.Process.Signal(unix.SIGKILL)
	<-h.done
}

// failed describes a helper that did not become ready.
func (h *helper) failed(why error) error {
	msg := strings.TrimSpace(lastLine(h.stderr.String()))
	select {
	case <-h.done:
		if msg == "" {
			msg = h.cmd.ProcessState.String()
		}
		why = errors.New(msg)
	default:
	}
	return &hints.Error{What: h.name, Why: why}
}

func lastLine(s string) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	last := ""
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			last = t
		}
	}
	return last
}

// waitReady reads from r until one byte arrives (the helper is ready), the
// helper exits, or the bound passes.
func (h *helper) waitReady(r *os.File) error {
	got := make(chan error, 1)
	go func() {
		b := make([]byte, 1)
		_, err := r.Read(b)
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			<-h.doneOrTimeout()
			return h.failed(errors.New("exited before it was ready"))
		}
		return nil
	case <-h.done:
		return h.failed(errors.New("exited before it was ready"))
	case <-time.After(setupTimeout):
		return h.failed(errors.New("not ready in time"))
	}
}

func (h *helper) doneOrTimeout() <-chan struct{} {
	c := make(chan struct{})
	go func() {
		select {
		case <-h.done:
		case <-time.After(setupTimeout):
		}
		close(c)
	}()
	return c
}

func startSlirp4netns(s *Session, o Options, pid int, apiSocket string) error {
	bin, _ := exec.LookPath("slirp4netns")
	exitR, exitW, err := os.Pipe()
	if err != nil {
		return &hints.Error{What: "pipe for slirp4netns", Why: err}
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return &hints.Error{What: "pipe for slirp4netns", Why: err}
	}
	defer readyR.Close()
	args := []string{bin,
		"--configure", "--mtu=" + strconv.Itoa(SlirpMTU),
		// slirp4netns(1): its own mount namespace with an empty root,
		// and a seccomp filter, so a bug in its TCP/IP stack reached by a
		// hostile program inside is contained too.
		"--enable-sandbox", "--enable-seccomp",
		// It exits when this fd reaches EOF: when isolate closes it or dies.
		"--exit-fd=3", "--ready-fd=4",
	}
	if !o.AllowHostLoopback {
		// 10.0.2.2 would otherwise reach the host's 127.0.0.1.
		args = append(args, "--disable-host-loopback")
	}
	if apiSocket != "" {
		args = append(args, "--api-socket", apiSocket)
	}
	args = append(args, strconv.Itoa(pid), TapName)
	h := newHelper("slirp4netns", args...)
	h.cmd.ExtraFiles = []*os.File{exitR, readyW}
	err = h.start(s, apiSocket != "")
	exitR.Close()
	readyW.Close()
	if err != nil {
		exitW.Close()
		return err
	}
	// Registered after h.stop, so it runs before it: EOF first, then wait.
	s.defer_(func() { exitW.Close() })
	return h.waitReady(readyR)
}

func startPasta(s *Session, o Options, pid int) error {
	bin, _ := exec.LookPath("pasta")
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return &hints.Error{What: "pipe for pasta", Why: err}
	}
	defer readyR.Close()
	args := []string{bin,
		"--config-net", "--quiet", "--ns-ifname", TapName,
		// In the foreground pasta stays isolate's child, so the
		// parent-death signal reaches it.
		"--foreground",
		// pasta writes its pid once it is ready: here, into a pipe.
		"--pid", "/proc/self/fd/3",
		"--dns-forward", PastaDNS.String(),
		// No automatic forwarding from the sandbox's loopback to the
		// host's (-T/-U default to auto): that would open host loopback.
		"-T", "none", "-U", "none",
	}
	var tcp, udp []string
	if o.PortDriver == Implicit {
		for _, p := range o.Ports {
			spec := fmt.Sprintf("%s/%d:%d", p.HostIP, p.HostPort, p.ContainerPort)
			if p.Proto == "udp" {
				udp = append(udp, spec)
			} else {
				tcp = append(tcp, spec)
			}
		}
	}
	// -t/-u default to auto: every port bound inside would appear on all
	// host interfaces. Only what -p asks for is published.
	for _, f := range [][2]any{{"-t", tcp}, {"-u", udp}} {
		list := f[1].([]string)
		if len(list) == 0 {
			args = append(args, f[0].(string), "none")
		}
		for _, spec := range list {
			args = append(args, f[0].(string), spec)
		}
	}
	if !o.AllowHostLoopback {
		// pasta maps the gateway address to the host's loopback by default.
		args = append(args, "--no-map-gw")
	}
	args = append(args, strconv.Itoa(pid))
	h := newHelper("pasta", args...)
	h.cmd.ExtraFiles = []*os.File{readyW}
	err = h.start(s, o.PortDriver == Implicit && len(o.Ports) > 0)
	readyW.Close()
	if err != nil {
		return err
	}
	return h.waitReady(readyR)
}

func startVeth(s *Session, o Options, pid int) error {
	host, peer, err := VethAddrs(o.VethSubnet)
	if err != nil {
		return &hints.Error{What: "--veth-subnet " + o.VethSubnet, Why: err}
	}
	netns := fmt.Sprintf("--net=/proc/%d/ns/net", pid)
	steps := [][]string{
		{"ip", "link", "add", VethHost, "type", "veth", "peer", "name", VethPeer, "netns", strconv.Itoa(pid)},
		{"ip", "addr", "add", host.String(), "dev", VethHost},
		{"ip", "link", "set", VethHost, "up"},
		// Only the network namespace is entered: the sandbox's mounts may
		// be changing at this moment (DESIGN: network before pivot_root).
		{"nsenter", netns, "--", "ip", "addr", "add", peer.String(), "dev", VethPeer},
		{"nsenter", netns, "--", "ip", "link", "set", VethPeer, "up"},
	}
	for i, st := range steps {
		out, err := exec.Command(st[0], st[1:]...).CombinedOutput()
		if err != nil {
			return &hints.Error{What: strings.Join(st, " "), Why: fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))}
		}
		if i == 0 {
			// Deleting one end deletes both; the kernel also deletes the
			// pair when the sandbox's namespace goes (veth(4)).
			s.defer_(func() { exec.Command("ip", "link", "del", VethHost).Run() })
		}
	}
	return nil
}
