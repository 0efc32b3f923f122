package sandbox

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/isolate-sandbox/isolate/pkg/security"

	"github.com/isolate-sandbox/isolate/pkg/mounts"
)

func TestSecurityPlanCapabilities(t *testing.T) {
	netAdmin := security.DefaultCaps | 1<<12
	for _, tc := range []struct {
		name              string
		cfg               Config
		bnd, prm, inh, am security.CapSet
		user              bool
	}{
		{"root gets the default set", Config{}, security.DefaultCaps, security.DefaultCaps, security.DefaultCaps, 0, false},
		{"--cap-add", Config{Security: SecurityConfig{CapAdd: []string{"NET_ADMIN"}}}, netAdmin, netAdmin, netAdmin, 0, false},
		{"another user keeps the bounding set only", Config{User: specs.User{UID: 1000, GID: 1000}}, security.DefaultCaps, 0, 0, 0, true},
		{"root uid with another gid is still root", Config{User: specs.User{GID: 5}}, security.DefaultCaps, security.DefaultCaps, security.DefaultCaps, 0, true},
		{"OCI sets are taken as given", Config{User: specs.User{UID: 7}, Security: SecurityConfig{Caps: &specs.LinuxCapabilities{
			Bounding: []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"}, Permitted: []string{"CAP_NET_BIND_SERVICE"}, Effective: []string{"CAP_NET_BIND_SERVICE"},
			Inheritable: []string{"CAP_NET_BIND_SERVICE"}, Ambient: []string{"CAP_NET_BIND_SERVICE"}}}},
			1<<5 | 1<<10, 1 << 10, 1 << 10, 1 << 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Security.Seccomp = SeccompUnconfined
			if err := cfg.Security.validate(); err != nil {
				t.Fatal(err)
			}
			p, err := securityPlan(&cfg)
			if err != nil {
				t.Fatal(err)
			}
			if p.Bounding != tc.bnd || p.Permitted != tc.prm || p.Effective != tc.prm || p.Inheritable != tc.inh || p.Ambient != tc.am {
				t.Errorf("sets bnd %v prm %v eff %v inh %v amb %v", p.Bounding.Names(), p.Permitted.Names(), p.Effective.Names(), p.Inheritable.Names(), p.Ambient.Names())
			}
			if (p.User != nil) != tc.user {
				t.Errorf("user switch = %v, want %v", p.User, tc.user)
			}
			if p.Seccomp != nil {
				t.Error("unconfined has a filter")
			}
		})
	}
}

func TestSecurityPlanLandlockAndSeccomp(t *testing.T) {
	cfg := Config{Cwd: "/work/here"}
	cfg.FS.WritableDir = "/work/here" // isolate's directory stays writable
	if err := cfg.Security.validate(); err != nil {
		t.Fatal(err)
	}
	// The filter is compiled by the parent and reaches the child in a
	// datagram of its own: through a real socket pair, as in a run.
	parent, child, err := newSocketPair()
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	defer child.Close()
	conf, err := encodeConfig(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.sendAll(conf); err != nil {
		t.Fatal(err)
	}
	got, err := child.recvConfig()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := securityPlan(&Config{Cwd: "/"}); err == nil {
		t.Error("a confined configuration without a filter was accepted")
	}
	p, err := securityPlan(got)
	if err != nil {
		t.Fatal(err)
	}
	if p.Seccomp == nil || len(p.Seccomp.Insns) == 0 || !slices.Equal(p.Seccomp.Insns, cfg.Security.SeccompFilter.Insns) {
		t.Error("the default profile's filter did not arrive whole")
	}
	if security.LandlockABI() > 0 && !slices.Contains(p.Writable, "/work/here") {
		t.Errorf("writable %v lacks the working directory", p.Writable)
	}
	for _, mode := range []string{"off", "auto"} {
		c := Config{Cwd: "/", Security: SecurityConfig{Landlock: mode, CapAdd: []string{"SYS_ADMIN"}}}
		if err := c.Security.validate(); err != nil {
			t.Fatal(err)
		}
		if err := c.Security.compileFilter(); err != nil {
			t.Fatal(err)
		}
		if p, _ := securityPlan(&c); p.LandlockABI != 0 {
			t.Errorf("--landlock %s with CAP_SYS_ADMIN: Landlock on", mode)
		}
	}
}

func TestLandlockWritableDefault(t *testing.T) {
	c := &Config{Cwd: "/"}
	c.FS.WritableDir = "/home/u/project"
	paths, all := landlockWritable(c)
	if all {
		t.Fatal("default view restricts writes")
	}
	for _, want := range []string{"/home/u/project", "/tmp", "/dev/shm", "/dev/null", "/dev/pts"} {
		if !slices.Contains(paths, want) {
			t.Errorf("%s not writable in %v", want, paths)
		}
	}
	for _, no := range []string{"/", "/home", "/etc", "/proc"} {
		if slices.Contains(paths, no) {
			t.Errorf("%s writable", no)
		}
	}
}

func TestLandlockWritableFollowsTheFilesystemOptions(t *testing.T) {
	rw := &Config{}
	rw.FS.RW = true
	if _, all := landlockWritable(rw); !all {
		t.Error("--rw: writes restricted")
	}
	vol := &Config{}
	vol.FS.Volumes = []mounts.Volume{{Source: "/a", Dest: "/data"}, {Source: "/b", Dest: "/ro", ReadOnly: true}}
	vol.FS.Tmpfs = []mounts.Tmpfs{{Dest: "/scratch"}}
	paths, _ := landlockWritable(vol)
	if !slices.Contains(paths, "/data") || !slices.Contains(paths, "/scratch") || slices.Contains(paths, "/ro") {
		t.Errorf("volumes and tmpfs: %v", paths)
	}
	ro := &Config{}
	ro.FS.Rootfs, ro.FS.ReadOnly = "/r", true
	if _, all := landlockWritable(ro); all {
		t.Error("--rootfs --read-only: writes not restricted")
	}
}

func TestSecurityValidate(t *testing.T) {
	for _, tc := range []struct {
		c    SecurityConfig
		want string
	}{
		{SecurityConfig{Landlock: "yes"}, "--landlock yes: want auto, on or off"},
		{SecurityConfig{CapAdd: []string{"X"}}, "--cap-add X: unknown capability"},
		{SecurityConfig{Seccomp: "/nonexistent/p.json"}, "--seccomp /nonexistent/p.json: no such file or directory"},
		{SecurityConfig{Caps: &specs.LinuxCapabilities{Bounding: []string{"CAP_NOPE"}}}, "capabilities.bounding"},
	} {
		err := tc.c.validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.c, err, tc.want)
		}
	}
}
