package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/isolate-sandbox/isolate/pkg/hints"
	"github.com/isolate-sandbox/isolate/pkg/sandbox"
	"github.com/isolate-sandbox/isolate/pkg/userns"
)

// Versions of the runtime-spec that config.json may declare.
const (
	MinVersion = "1.0.0"
	MaxVersion = "1.3.0"
)

// fieldError names the config.json field at fault, so the one-line error
// says where to look: "config.json: process.args: must not be empty".
func fieldError(file, field string, format string, a ...any) error {
	return &hints.Error{What: file + ": " + field, Why: fmt.Errorf(format, a...)}
}

// LoadBundle reads DIR/config.json.
func LoadBundle(bundle string) (*specs.Spec, string, error) {
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return nil, "", &hints.Error{What: "bundle " + bundle, Why: err}
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, "", &hints.Error{What: "bundle " + bundle, Why: unwrapPath(err), Hint: "give the bundle directory with --bundle DIR (it holds config.json and the root filesystem); isolate spec writes a starter config.json"}
	}
	if !st.IsDir() {
		return nil, "", &hints.Error{What: "bundle " + bundle, Why: errors.New("not a directory")}
	}
	file := filepath.Join(abs, "config.json")
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, "", &hints.Error{What: "read " + file, Why: unwrapPath(err), Hint: "isolate spec writes a starter config.json"}
	}
	s, err := ParseConfig(file, b)
	return s, abs, err
}

// ParseConfig decodes config.json, naming the field of a type error and
// the line of a syntax error.
func ParseConfig(file string, b []byte) (*specs.Spec, error) {
	var s specs.Spec
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&s); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			field := te.Field
			if field == "" {
				field = "(top level)"
			}
			return nil, fieldError(file, field, "want %s, found a JSON %s", jsonType(te.Type.String()), te.Value)
		case errors.As(err, &se):
			line, col := position(b, se.Offset)
			return nil, &hints.Error{What: fmt.Sprintf("%s:%d:%d", file, line, col), Why: fmt.Errorf("invalid JSON: %s", se.Error())}
		}
		return nil, &hints.Error{What: file, Why: fmt.Errorf("invalid JSON: %w", err)}
	}
	return &s, nil
}

func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["), strings.Contains(goType, "."):
		return "an object"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	}
	return "a number (" + goType + ")"
}

// position turns a SyntaxError's offset (the bytes read up to and
// including the bad one) into the bad byte's line and column.
func position(b []byte, off int64) (line, col int) {
	i := int(off) - 1
	if i > len(b) {
		i = len(b)
	}
	if i < 0 {
		i = 0
	}
	line = 1 + bytes.Count(b[:i], []byte("\n"))
	col = i - bytes.LastIndexByte(b[:i], '\n')
	return line, col
}

// Converted is a config.json turned into a sandbox, plus what isolate did
// not apply (each becomes a warning line; nothing is ignored silently).
type Converted struct {
	Config   *sandbox.Config
	Rootfs   string // absolute root.path
	Hooks    specs.Hooks
	Warnings []string
}

// Convert checks s and turns it into a sandbox.Config. euid says who runs
// isolate: a normal user gets a user namespace even when the config has
// none, mapped to the caller's subordinate ids (crun does the same).
func Convert(s *specs.Spec, file, bundle, id string, euid int) (*Converted, error) {
	if err := checkVersion(file, s.Version); err != nil {
		return nil, err
	}
	if s.Process == nil {
		return nil, fieldError(file, "process", "missing: it says what runs in the container")
	}
	p := s.Process
	if len(p.Args) == 0 || p.Args[0] == "" {
		return nil, fieldError(file, "process.args", "must not be empty")
	}
	if !filepath.IsAbs(p.Cwd) {
		return nil, fieldError(file, "process.cwd", "%q must be an absolute path", p.Cwd)
	}
	for i, e := range p.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return nil, fieldError(file, fmt.Sprintf("process.env[%d]", i), "%q is not KEY=VALUE", e)
		}
	}
	if s.Root == nil || s.Root.Path == "" {
		return nil, fieldError(file, "root.path", "missing: it names the container's root filesystem")
	}
	rootfs := s.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(bundle, rootfs)
	}
	if st, err := os.Stat(rootfs); err != nil {
		return nil, fieldError(file, "root.path", "%s: %v", rootfs, unwrapPath(err))
	} else if !st.IsDir() {
		return nil, fieldError(file, "root.path", "%s is not a directory", rootfs)
	}

	out := &Converted{Rootfs: rootfs}
	if s.Hooks != nil {
		out.Hooks = *s.Hooks
	}
	cfg := &sandbox.Config{
		Args:     p.Args,
		Env:      p.Env,
		Cwd:      p.Cwd,
		User:     p.User,
		Hostname: s.Hostname,
		// The program is the container's PID 1, as runc and crun run it;
		// engines that want an init add one (podman --init).
		NoInit: true,
		Quiet:  true,
		OCI: &sandbox.OCIConfig{
			ID:          id,
			Bundle:      bundle,
			Terminal:    p.Terminal,
			ConsoleSize: p.ConsoleSize,
			OOMScoreAdj: p.OOMScoreAdj,
		},
	}
	if err := convertHooks(file, s.Hooks, cfg.OCI); err != nil {
		return nil, err
	}
	if s.Linux == nil {
		return nil, fieldError(file, "linux", "missing: isolate runs Linux containers and needs linux.namespaces")
	}
	if err := convertLinux(file, s.Linux, cfg, euid, out); err != nil {
		return nil, err
	}
	if err := convertFS(file, bundle, s, cfg, out); err != nil {
		return nil, err
	}
	if err := convertSecurity(file, s, cfg, out); err != nil {
		return nil, err
	}
	// Set by the trampoline of `isolate --ulimit` (package sandbox).
	cfg.Limits.Rlimits = p.Rlimits
	for i, r := range p.Rlimits {
		if r.Soft > r.Hard {
			return nil, fieldError(file, fmt.Sprintf("process.rlimits[%d]", i), "%s: soft limit %d above the hard limit %d", r.Type, r.Soft, r.Hard)
		}
	}
	if s.Hostname != "" && !cfg.OCI.HasNew(specs.UTSNamespace) {
		return nil, fieldError(file, "hostname", "needs a new uts namespace in linux.namespaces")
	}
	unapplied(s, out)
	out.Config = cfg
	return out, nil
}

func (c *Converted) warn(format string, a ...any) {
	c.Warnings = append(c.Warnings, fmt.Sprintf(format, a...))
}

var versionRE = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.+-]+)?$`)

func checkVersion(file, v string) error {
	m := versionRE.FindStringSubmatch(v)
	if m == nil {
		return fieldError(file, "ociVersion", "%q is not a version like %q", v, specs.Version)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	if major != 1 || minor > 3 {
		return fieldError(file, "ociVersion", "%s: isolate supports runtime-spec %s to %s", v, MinVersion, MaxVersion)
	}
	return nil
}

func convertHooks(file string, h *specs.Hooks, o *sandbox.OCIConfig) error {
	if h == nil {
		return nil
	}
	lists := []struct {
		name string
		l    []specs.Hook
	}{
		{"prestart", h.Prestart}, {"createRuntime", h.CreateRuntime}, {"createContainer", h.CreateContainer},
		{"startContainer", h.StartContainer}, {"poststart", h.Poststart}, {"poststop", h.Poststop},
	}
	for _, l := range lists {
		for i, hk := range l.l {
			if !filepath.IsAbs(hk.Path) {
				return fieldError(file, fmt.Sprintf("hooks.%s[%d].path", l.name, i), "%q must be an absolute path", hk.Path)
			}
			if hk.Timeout != nil && *hk.Timeout <= 0 {
				return fieldError(file, fmt.Sprintf("hooks.%s[%d].timeout", l.name, i), "must be greater than zero")
			}
		}
	}
	o.CreateContainer, o.StartContainer = h.CreateContainer, h.StartContainer
	return nil
}

var sysctlRE = regexp.MustCompile(`^[a-zA-Z0-9_]+([./][a-zA-Z0-9_-]+)*$`)

func convertLinux(file string, l *specs.Linux, cfg *sandbox.Config, euid int, out *Converted) error {
	seen := map[specs.LinuxNamespaceType]bool{}
	for i, ns := range l.Namespaces {
		field := fmt.Sprintf("linux.namespaces[%d]", i)
		if !sandbox.KnownNamespace(ns.Type) {
			return fieldError(file, field+".type", "%q is not a namespace type (user, mount, pid, network, uts, ipc, cgroup, time)", ns.Type)
		}
		if seen[ns.Type] {
			return fieldError(file, field+".type", "%s namespace given twice", ns.Type)
		}
		seen[ns.Type] = true
		if ns.Path != "" {
			if !filepath.IsAbs(ns.Path) {
				return fieldError(file, field+".path", "%q must be an absolute path", ns.Path)
			}
			if !sandbox.JoinableNamespaces[ns.Type] {
				return fieldError(file, field+".path", "joining an existing %s namespace is not supported by isolate (only network, ipc, uts and cgroup namespaces can be joined)", ns.Type)
			}
		}
	}
	// The root filesystem is built with mounts and pivot_root: without a
	// mount namespace of its own that would happen to the caller's.
	if !seen[specs.MountNamespace] {
		return fieldError(file, "linux.namespaces", "isolate needs a mount namespace (type \"mount\") to build the container's root filesystem")
	}
	for i, ns := range l.Namespaces {
		if ns.Type == specs.MountNamespace && ns.Path != "" {
			return fieldError(file, fmt.Sprintf("linux.namespaces[%d].path", i), "joining an existing mount namespace is not supported by isolate (only network, ipc, uts and cgroup namespaces can be joined)")
		}
	}
	nss := append([]specs.LinuxNamespace(nil), l.Namespaces...)
	if !seen[specs.UserNamespace] {
		if len(l.UIDMappings) > 0 || len(l.GIDMappings) > 0 {
			return fieldError(file, "linux.uidMappings", "given, but linux.namespaces has no user namespace")
		}
		if euid != 0 {
			// Rootless, as crun does it: without a user namespace a normal
			// user could do nothing; create one mapped to the caller's
			// subordinate ids (or to the caller alone, with a notice).
			nss = append(nss, specs.LinuxNamespace{Type: specs.UserNamespace})
		}
	} else {
		if (len(l.UIDMappings) == 0) != (len(l.GIDMappings) == 0) {
			return fieldError(file, "linux.uidMappings", "linux.uidMappings and linux.gidMappings must be given together")
		}
		cfg.UIDMappings, cfg.GIDMappings = l.UIDMappings, l.GIDMappings
	}
	if len(l.UIDMappings) > 0 {
		for _, m := range []struct {
			f string
			v []specs.LinuxIDMapping
		}{{"linux.uidMappings", l.UIDMappings}, {"linux.gidMappings", l.GIDMappings}} {
			if err := userns.ValidateMap(m.v); err != nil {
				return fieldError(file, m.f, "%v", err)
			}
		}
	}
	cfg.OCI.Namespaces = nss
	for k := range l.Sysctl {
		if !sysctlRE.MatchString(k) {
			return fieldError(file, "linux.sysctl", "%q is not a sysctl name", k)
		}
	}
	cfg.OCI.Sysctl = l.Sysctl
	for i, d := range l.Devices {
		if !filepath.IsAbs(d.Path) || !strings.HasPrefix(filepath.Clean(d.Path), "/dev/") {
			return fieldError(file, fmt.Sprintf("linux.devices[%d].path", i), "%q must be an absolute path under /dev", d.Path)
		}
		if d.Type != "c" && d.Type != "b" && d.Type != "u" && d.Type != "p" {
			return fieldError(file, fmt.Sprintf("linux.devices[%d].type", i), "%q: want c, b, u or p", d.Type)
		}
	}
	// mknod(2) needs CAP_MKNOD in the initial user namespace: only real
	// root running the container without a user namespace has it.
	if len(l.Devices) > 0 {
		if euid == 0 && inInitialUserNS() && !seen[specs.UserNamespace] {
			cfg.OCI.Devices = l.Devices
		} else {
			out.warn("linux.devices ignored (%d entries): creating device nodes needs real root and no user namespace", len(l.Devices))
		}
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
