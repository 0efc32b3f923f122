package oci

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseConfigNamesTheFieldOfATypeError(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"process":{"args":"sh"}}`, "f: process.args: want an array, found a JSON string"},
		{`{"process":{"user":{"uid":"0"}}}`, "f: process.user.uid: want a number (uint32), found a JSON string"},
		{`{"linux":{"namespaces":{"type":"pid"}}}`, "f: linux.namespaces: want an array, found a JSON object"},
		{`{"process":{"terminal":1}}`, "f: process.terminal: want true or false, found a JSON number"},
		{"{\n\"a\": ,}", "f:2:6: invalid JSON: invalid character ',' looking for beginning of value"},
		{`[]`, "f: (top level): want an object, found a JSON array"},
	} {
		_, err := ParseConfig("f", []byte(c.in))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.in, err, c.want)
		}
	}
}

func valid(t *testing.T) (*specs.Spec, string) {
	dir := t.TempDir()
	s := Example()
	s.Root.Path = dir
	return s, dir
}

func TestConvertRefusesAndNamesTheField(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*specs.Spec)
		want string
	}{
		{"no process", func(s *specs.Spec) { s.Process = nil }, "process: missing"},
		{"empty args", func(s *specs.Spec) { s.Process.Args = nil }, "process.args: must not be empty"},
		{"relative cwd", func(s *specs.Spec) { s.Process.Cwd = "x" }, "process.cwd"},
		{"bad env", func(s *specs.Spec) { s.Process.Env = []string{"A=1", "B"} }, "process.env[1]"},
		{"no root", func(s *specs.Spec) { s.Root = nil }, "root.path: missing"},
		{"root missing", func(s *specs.Spec) { s.Root.Path = "/nonexistent/x" }, "root.path: /nonexistent/x: no such file or directory"},
		{"version", func(s *specs.Spec) { s.Version = "1.4.0" }, "ociVersion: 1.4.0"},
		{"version text", func(s *specs.Spec) { s.Version = "one" }, `ociVersion: "one" is not a version`},
		{"twice", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace})
		}, "linux.namespaces[6].type: pid namespace given twice"},
		{"join user", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: "/proc/1/ns/user"})
		}, "linux.namespaces[6].path: joining an existing user namespace is not supported"},
		{"relative ns path", func(s *specs.Spec) { s.Linux.Namespaces[1].Path = "netns" }, "linux.namespaces[1].path"},
		{"maps without userns", func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
		}, "linux.uidMappings: given, but linux.namespaces has no user namespace"},
		{"overlapping maps", func(s *specs.Spec) {
			MakeRootless(s)
			s.Linux.UIDMappings = append(s.Linux.UIDMappings, specs.LinuxIDMapping{ContainerID: 0, HostID: 5000, Size: 2})
		}, "linux.uidMappings: ranges"},
		{"hostname without uts", func(s *specs.Spec) {
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.PIDNamespace}}
		}, "hostname: needs a new uts namespace"},
		{"no mount namespace", func(s *specs.Spec) {
			// The root would be pivoted in the caller's mount namespace.
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.PIDNamespace}}
		}, "linux.namespaces: isolate needs a mount namespace"},
		{"relative hook", func(s *specs.Spec) { s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "x"}}} }, "hooks.poststop[0].path"},
		{"zero timeout", func(s *specs.Spec) {
			z := 0
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/x", Timeout: &z}}}
		}, "hooks.prestart[0].timeout: must be greater than zero"},
		{"sysctl", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"../../x": "1"} }, "linux.sysctl"},
		{"no linux", func(s *specs.Spec) { s.Linux = nil }, "linux: missing"},
	} {
		s, dir := valid(t)
		c.edit(s)
		_, err := Convert(s, "config.json", dir, "id", 1000)
		if err == nil || !strings.HasPrefix(err.Error(), "config.json: "+c.want) {
			t.Errorf("%s: got %v, want config.json: %s...", c.name, err, c.want)
		}
	}
}

func TestConvertAddsAUserNamespaceForANormalUserOnly(t *testing.T) {
	s, dir := valid(t)
	c, err := Convert(s, "config.json", dir, "id", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Config.OCI.HasNew(specs.UserNamespace) || c.Config.UIDMappings != nil {
		t.Errorf("rootless: want a new user namespace with the default (subid) maps: %+v", c.Config.OCI.Namespaces)
	}
	c, err = Convert(s, "config.json", dir, "id", 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Config.OCI.HasNew(specs.UserNamespace) {
		t.Error("root: a config without a user namespace must get none")
	}
	if !c.Config.NoInit || c.Config.OCI.ID != "id" || c.Config.Hostname != "isolate" {
		t.Errorf("converted config: %+v", c.Config)
	}
}

func TestConvertWarnsForEveryFieldItDoesNotApply(t *testing.T) {
	s, dir := valid(t)
	s.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(10))}}
	s.Linux.CgroupsPath = "/x"
	s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}}
	c, err := Convert(s, "config.json", dir, "id", 1000)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(c.Warnings, "\n")
	for _, want := range []string{"linux.resources ignored", "linux.cgroupsPath \"/x\" ignored", "linux.devices ignored"} {
		if !strings.Contains(all, want) {
			t.Errorf("no warning %q in:\n%s", want, all)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestCheckIDKeepsIDsOnePathElement(t *testing.T) {
	for id, ok := range map[string]bool{"a": true, "a-b_c.d+1": true, "": false, ".": false, "..": false, "a/b": false, "a b": false, "x\n": false} {
		if (CheckID(id) == nil) != ok {
			t.Errorf("CheckID(%q) = %v, want ok=%v", id, CheckID(id), ok)
		}
	}
}

func TestMakeRootlessMapsTheCallerAndDropsGroupTty(t *testing.T) {
	s := Example()
	MakeRootless(s)
	if len(s.Linux.UIDMappings) != 1 || s.Linux.UIDMappings[0].Size != 1 {
		t.Errorf("maps: %+v", s.Linux.UIDMappings)
	}
	for _, m := range s.Mounts {
		for _, o := range m.Options {
			if o == "gid=5" {
				t.Errorf("%s keeps gid=5", m.Destination)
			}
		}
		if m.Destination == "/sys" && m.Type == "sysfs" {
			t.Error("/sys is still a new sysfs")
		}
	}
}

func TestAmbientCapabilitiesNeedPermittedAndInheritable(t *testing.T) {
	// `crun spec --rootless` lists ambient capabilities with an empty
	// inheritable set; the kernel would refuse to raise them.
	s, dir := valid(t)
	s.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding:    []string{"CAP_KILL", "CAP_CHOWN"},
		Permitted:   []string{"CAP_KILL", "CAP_CHOWN"},
		Inheritable: []string{"CAP_CHOWN"},
		Ambient:     []string{"CAP_KILL", "CAP_CHOWN"},
	}
	c, err := Convert(s, "config.json", dir, "id", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Config.Security.Caps.Ambient; len(got) != 1 || got[0] != "CAP_CHOWN" {
		t.Errorf("ambient = %v, want only CAP_CHOWN", got)
	}
	if w := strings.Join(c.Warnings, "\n"); !strings.Contains(w, "process.capabilities.ambient: [CAP_KILL] left out") {
		t.Errorf("warnings: %s", w)
	}
	if len(s.Process.Capabilities.Ambient) != 2 {
		t.Error("the caller's spec was changed")
	}
}

// linux.seccomp is compiled once, by Convert, where an error names the
// field; the sandbox's validation then keeps that filter.
func TestSeccompIsCompiledOnceByConvert(t *testing.T) {
	s, dir := valid(t)
	s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "write", "exit_group"}, Action: specs.ActAllow}}}
	c, err := Convert(s, "config.json", dir, "id", 1000)
	if err != nil {
		t.Fatal(err)
	}
	prog := c.Config.Security.SeccompFilter
	if prog == nil || len(prog.Insns) == 0 {
		t.Fatal("Convert left the filter for later")
	}
	if err := c.Config.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Config.Security.SeccompFilter != prog {
		t.Error("validation compiled the profile a second time")
	}
}
