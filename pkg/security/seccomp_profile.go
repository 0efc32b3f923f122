package security

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Profile is a seccomp profile in docker's JSON format, which is a superset
// of the OCI runtime spec's linux.seccomp: rules may carry includes and
// excludes (by capability, architecture, kernel version) that Resolve
// evaluates for one sandbox, as dockerd does before it hands runc an OCI
// spec.
type Profile struct {
	DefaultAction    specs.LinuxSeccompAction `json:"defaultAction"`
	DefaultErrnoRet  *uint                    `json:"defaultErrnoRet,omitempty"`
	Architectures    []specs.Arch             `json:"architectures,omitempty"`
	ArchMap          []ArchMap                `json:"archMap,omitempty"`
	Flags            []specs.LinuxSeccompFlag `json:"flags,omitempty"`
	ListenerPath     string                   `json:"listenerPath,omitempty"`
	ListenerMetadata string                   `json:"listenerMetadata,omitempty"`
	Syscalls         []Rule                   `json:"syscalls,omitempty"`
}

// ArchMap is docker's architecture list entry.
type ArchMap struct {
	Arch      specs.Arch   `json:"architecture"`
	SubArches []specs.Arch `json:"subArchitectures"`
}

// Rule is one entry of "syscalls".
type Rule struct {
	Names    []string                 `json:"names,omitempty"`
	Name     string                   `json:"name,omitempty"` // docker's older one-name form
	Action   specs.LinuxSeccompAction `json:"action"`
	ErrnoRet *uint                    `json:"errnoRet,omitempty"`
	Args     []specs.LinuxSeccompArg  `json:"args,omitempty"`
	Comment  string                   `json:"comment,omitempty"`
	Includes *Filter                  `json:"includes,omitempty"`
	Excludes *Filter                  `json:"excludes,omitempty"`
}

// Filter selects rules by the sandbox's capabilities, the architecture
// (Go's names: amd64, arm64, ...) and the kernel version ("4.8").
type Filter struct {
	Caps      []string `json:"caps,omitempty"`
	Arches    []string `json:"arches,omitempty"`
	MinKernel string   `json:"minKernel,omitempty"`
}

var actions = map[specs.LinuxSeccompAction]bool{
	specs.ActKill: true, specs.ActKillProcess: true, specs.ActKillThread: true,
	specs.ActTrap: true, specs.ActErrno: true, specs.ActTrace: true,
	specs.ActAllow: true, specs.ActLog: true,
}

var ops = map[specs.LinuxSeccompOperator]bool{
	specs.OpNotEqual: true, specs.OpLessThan: true, specs.OpLessEqual: true,
	specs.OpEqualTo: true, specs.OpGreaterEqual: true, specs.OpGreaterThan: true,
	specs.OpMaskedEqual: true,
}

var flags = map[specs.LinuxSeccompFlag]bool{
	specs.LinuxSeccompFlagLog: true, specs.LinuxSeccompFlagSpecAllow: true,
}

// ParseProfile reads a docker or OCI seccomp profile. Errors name the line
// and column (syntax) or the rule (meaning).
func ParseProfile(data []byte) (*Profile, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	// A misspelt key would otherwise be ignored and the profile would not
	// say what its author meant.
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, jsonError(data, err)
	}
	if dec.More() {
		return nil, errors.New("trailing data after the profile's JSON object")
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	return &p, nil
}

func jsonError(data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 {
		if errors.Is(err, io.EOF) {
			return errors.New("empty file, want a JSON object")
		}
		return err
	}
	line, col := 1, 1
	// Offset counts the bytes read up to and including the offending one.
	for _, b := range data[:max(0, min(int(off)-1, len(data)))] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

func (p *Profile) check() error {
	if p.DefaultAction == "" {
		return errors.New(`"defaultAction" is missing`)
	}
	if err := checkAction(p.DefaultAction); err != nil {
		return fmt.Errorf("defaultAction: %w", err)
	}
	if p.ListenerPath != "" {
		return errors.New(`"listenerPath": seccomp user notification is not supported`)
	}
	for _, f := range p.Flags {
		if !flags[f] {
			return fmt.Errorf("flags: %q is not supported (only SECCOMP_FILTER_FLAG_LOG and SECCOMP_FILTER_FLAG_SPEC_ALLOW)", f)
		}
	}
	for i, r := range p.Syscalls {
		where := fmt.Sprintf("syscalls[%d]", i)
		if len(r.Names) == 0 && r.Name == "" {
			return fmt.Errorf("%s: no syscall names", where)
		}
		if err := checkAction(r.Action); err != nil {
			return fmt.Errorf("%s (%s): %w", where, r.firstName(), err)
		}
		for _, a := range r.Args {
			if a.Index > 5 {
				return fmt.Errorf("%s (%s): argument index %d, want 0 to 5", where, r.firstName(), a.Index)
			}
			if !ops[a.Op] {
				return fmt.Errorf("%s (%s): unknown operator %q", where, r.firstName(), a.Op)
			}
		}
		for _, f := range []*Filter{r.Includes, r.Excludes} {
			if f == nil {
				continue
			}
			for _, c := range f.Caps {
				if _, err := CapByName(c); err != nil {
					return fmt.Errorf("%s (%s): %w", where, r.firstName(), err)
				}
			}
			if f.MinKernel != "" {
				if _, err := parseKernel(f.MinKernel); err != nil {
					return fmt.Errorf("%s (%s): minKernel: %w", where, r.firstName(), err)
				}
			}
		}
	}
	return nil
}

func (r Rule) firstName() string {
	if len(r.Names) > 0 {
		return r.Names[0]
	}
	return r.Name
}

func checkAction(a specs.LinuxSeccompAction) error {
	if a == specs.ActNotify {
		return errors.New("SCMP_ACT_NOTIFY needs a seccomp agent, which isolate does not run")
	}
	if !actions[a] {
		return fmt.Errorf("unknown action %q", a)
	}
	return nil
}

// KernelVersion is major, minor.
type KernelVersion [2]int

func parseKernel(s string) (KernelVersion, error) {
	var v KernelVersion
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 {
		return v, fmt.Errorf("%q: want MAJOR.MINOR", s)
	}
	for i := 0; i < 2; i++ {
		digits := parts[i]
		if i == 1 {
			// "4.8-rc1", "6.1.0-13-amd64": the minor ends at the first non-digit.
			end := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' })
			if end >= 0 {
				digits = digits[:end]
			}
		}
		n, err := strconv.Atoi(digits)
		if err != nil {
			return v, fmt.Errorf("%q: want MAJOR.MINOR", s)
		}
		v[i] = n
	}
	return v, nil
}

// ParseKernelRelease reads uname's release ("6.18.0-1-amd64").
func ParseKernelRelease(s string) (KernelVersion, error) { return parseKernel(s) }

func (v KernelVersion) atLeast(w KernelVersion) bool {
	return v[0] > w[0] || v[0] == w[0] && v[1] >= w[1]
}

// Resolve evaluates includes and excludes for a sandbox whose bounding set
// is caps, on this machine's architecture and kernel, and returns the OCI
// form that Compile takes.
func (p *Profile) Resolve(caps CapSet, kernel KernelVersion) *specs.LinuxSeccomp {
	out := &specs.LinuxSeccomp{
		DefaultAction:   p.DefaultAction,
		DefaultErrnoRet: p.DefaultErrnoRet,
		Flags:           p.Flags,
	}
	for _, r := range p.Syscalls {
		if !r.Includes.matches(caps, kernel, true) || r.Excludes.matches(caps, kernel, false) {
			continue
		}
		names := r.Names
		if r.Name != "" {
			names = append(append([]string{}, names...), r.Name)
		}
		out.Syscalls = append(out.Syscalls, specs.LinuxSyscall{Names: names, Action: r.Action, ErrnoRet: r.ErrnoRet, Args: r.Args})
	}
	return out
}

// matches: for includes every listed condition must hold (all caps present,
// this arch listed, kernel new enough); for excludes any one suffices.
func (f *Filter) matches(caps CapSet, kernel KernelVersion, include bool) bool {
	if f == nil {
		return include
	}
	hasCap := func(n string) bool { c, err := CapByName(n); return err == nil && caps.Has(c) }
	hasArch := func() bool {
		for _, a := range f.Arches {
			if a == nativeArchName {
				return true
			}
		}
		return false
	}
	if include {
		for _, c := range f.Caps {
			if !hasCap(c) {
				return false
			}
		}
		if len(f.Arches) > 0 && !hasArch() {
			return false
		}
		if f.MinKernel != "" {
			v, err := parseKernel(f.MinKernel)
			if err != nil || !kernel.atLeast(v) {
				return false
			}
		}
		return true
	}
	for _, c := range f.Caps {
		if hasCap(c) {
			return true
		}
	}
	return len(f.Arches) > 0 && hasArch()
}
