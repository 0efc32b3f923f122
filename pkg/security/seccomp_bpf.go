package security

import (
	"fmt"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// isolate compiles seccomp profiles to classic BPF itself (a small
// assembler below) instead of linking libseccomp: the binary needs no C
// library, the filter is a pure function of the profile that unit tests can
// run, and a profile needs only what this file implements (compare the
// architecture, dispatch on the syscall number, compare 64-bit arguments).
// golang.org/x/net/bpf would give the instruction encoding but not the
// 64-bit argument comparisons or the jump layout, which are the real work.

// Offsets into struct seccomp_data (linux/seccomp.h).
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// maxInsns is BPF_MAXINSNS: the kernel refuses longer filters.
const maxInsns = 4096

// x32SyscallBit marks x32 syscalls on x86-64 (asm/unistd.h); they share
// AUDIT_ARCH_X86_64, so they must be refused by number.
const x32SyscallBit = 0x40000000

// foreignAction is returned for another architecture's syscalls (i386 via
// int 0x80, x32): their numbers mean other syscalls, so no rule applies.
// libseccomp's default for a bad architecture is to kill as well.
const foreignAction = unix.SECCOMP_RET_KILL_PROCESS

// Program is a compiled seccomp filter.
type Program struct {
	Insns []unix.SockFilter
	Flags uint
}

// ActionValue is the seccomp return value of an OCI action.
func ActionValue(a specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	data := uint32(unix.EPERM)
	if errnoRet != nil {
		if *errnoRet > 0xffff {
			return 0, fmt.Errorf("errnoRet %d does not fit in 16 bits", *errnoRet)
		}
		data = uint32(*errnoRet)
	}
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case specs.ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	case specs.ActTrap:
		return unix.SECCOMP_RET_TRAP, nil
	case specs.ActErrno:
		return unix.SECCOMP_RET_ERRNO | data, nil
	case specs.ActTrace:
		return unix.SECCOMP_RET_TRACE | data, nil
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW, nil
	case specs.ActLog:
		return unix.SECCOMP_RET_LOG, nil
	}
	return 0, checkAction(a)
}

// Compile turns an OCI seccomp profile into a BPF filter for this machine's
// architecture. For each syscall, rules with argument conditions are tried
// in the profile's order and the first that matches decides; otherwise the
// first rule without conditions decides; otherwise the default action.
// Names this architecture does not have are skipped, as runc does.
func Compile(s *specs.LinuxSeccomp) (*Program, error) {
	if nativeAuditArch == 0 {
		return nil, fmt.Errorf("seccomp filters are built for amd64 and arm64 only, not for this machine")
	}
	def, err := ActionValue(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("defaultAction: %w", err)
	}
	f := &Program{}
	for _, fl := range s.Flags {
		switch fl {
		case specs.LinuxSeccompFlagLog:
			f.Flags |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			f.Flags |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		default:
			return nil, fmt.Errorf("flag %q is not supported", fl)
		}
	}
	type condRule struct {
		args   []specs.LinuxSeccompArg
		action uint32
	}
	type entry struct {
		conds  []condRule
		uncond *uint32
	}
	perNr := map[uint32]*entry{}
	for i, sc := range s.Syscalls {
		act, err := ActionValue(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("syscalls[%d]: %w", i, err)
		}
		for _, a := range sc.Args {
			if a.Index > 5 || !ops[a.Op] {
				return nil, fmt.Errorf("syscalls[%d]: bad argument condition %+v", i, a)
			}
		}
		for _, name := range sc.Names {
			nr, ok := syscallNumber(name)
			if !ok {
				continue
			}
			e := perNr[nr]
			if e == nil {
				e = &entry{}
				perNr[nr] = e
			}
			if len(sc.Args) == 0 {
				if e.uncond == nil {
					a := act
					e.uncond = &a
				}
				continue
			}
			e.conds = append(e.conds, condRule{sc.Args, act})
		}
	}
	var keys []uint32
	for nr, e := range perNr {
		// A syscall whose only rule is the default needs no branch.
		if len(e.conds) == 0 && *e.uncond == def {
			continue
		}
		keys = append(keys, nr)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })

	a := newAsm()
	a.ld(offArch)
	a.jump(unix.BPF_JEQ, nativeAuditArch, a.skip(1), labelNext)
	a.ret(foreignAction)
	a.ld(offNr)
	if nativeArchName == "amd64" {
		a.jump(unix.BPF_JGE, x32SyscallBit, labelNext, a.skip(1))
		a.ret(foreignAction)
	}
	blocks := map[uint32]label{}
	for _, nr := range keys {
		e := perNr[nr]
		if len(e.conds) == 0 {
			blocks[nr] = a.retLabel(*e.uncond)
		} else {
			blocks[nr] = a.newLabel()
		}
	}
	a.tree(keys, blocks, a.retLabel(def))
	for _, nr := range keys {
		e := perNr[nr]
		if len(e.conds) == 0 {
			continue
		}
		a.bind(blocks[nr])
		for _, r := range e.conds {
			fail := a.newLabel()
			for _, c := range r.args {
				a.cond(c, fail)
			}
			a.ret(r.action)
			a.bind(fail)
		}
		if e.uncond != nil {
			a.ret(*e.uncond)
		} else {
			a.ret(def)
		}
	}
	insns, err := a.assemble()
	if err != nil {
		return nil, err
	}
	if len(insns) > maxInsns {
		return nil, fmt.Errorf("the filter has %d instructions, more than the kernel's limit of %d", len(insns), maxInsns)
	}
	f.Insns = insns
	return f, nil
}

// The assembler: forward jumps to labels, resolved at the end. Conditional
// jumps reach at most 255 instructions, so the code is laid out to keep
// them short and far targets are reached through BPF_JA (32-bit offset).

type label int

// labelNext is the next instruction (a jump offset of 0).
const labelNext label = -1

type fixup struct {
	pc     int
	jt, jf label // conditional jumps
	ja     label // unconditional jumps
	isJA   bool
}

type asm struct {
	insns  []unix.SockFilter
	fixups []fixup
	pcs    []int // label → pc, -1 until bound
	rets   map[uint32]label
}

func newAsm() *asm { return &asm{rets: map[uint32]label{}} }

func (a *asm) newLabel() label {
	a.pcs = append(a.pcs, -1)
	return label(len(a.pcs) - 1)
}

func (a *asm) bind(l label) { a.pcs[l] = len(a.insns) }

// retLabel is a shared "return v" placed at the end of the program.
func (a *asm) retLabel(v uint32) label {
	l, ok := a.rets[v]
	if !ok {
		l = a.newLabel()
		a.rets[v] = l
	}
	return l
}

func (a *asm) emit(code uint16, k uint32) {
	a.insns = append(a.insns, unix.SockFilter{Code: code, K: k})
}

func (a *asm) ld(off uint32) { a.emit(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, off) }
func (a *asm) and(k uint32)  { a.emit(unix.BPF_ALU|unix.BPF_AND|unix.BPF_K, k) }
func (a *asm) ret(k uint32)  { a.emit(unix.BPF_RET|unix.BPF_K, k) }

func (a *asm) jump(op uint16, k uint32, jt, jf label) {
	a.fixups = append(a.fixups, fixup{pc: len(a.insns), jt: jt, jf: jf, ja: labelNext})
	a.emit(unix.BPF_JMP|op|unix.BPF_K, k)
}

func (a *asm) ja(l label) {
	a.fixups = append(a.fixups, fixup{pc: len(a.insns), ja: l, isJA: true})
	a.emit(unix.BPF_JMP|unix.BPF_JA, 0)
}

// tree dispatches on the syscall number in A by binary search over keys.
func (a *asm) tree(keys []uint32, blocks map[uint32]label, def label) {
	if len(keys) <= 4 {
		for _, k := range keys {
			a.jump(unix.BPF_JEQ, k, labelNext, a.skip(1))
			a.ja(blocks[k])
		}
		a.ja(def)
		return
	}
	mid := len(keys) / 2
	right := a.newLabel()
	a.jump(unix.BPF_JGE, keys[mid], labelNext, a.skip(1))
	a.ja(right)
	a.tree(keys[:mid], blocks, def)
	a.bind(right)
	a.tree(keys[mid:], blocks, def)
}

// skip is a label n instructions after the next one; for "jump over the
// following JA" without naming it.
func (a *asm) skip(n int) label {
	l := a.newLabel()
	a.pcs[l] = -2 - n // resolved relative to the jump in assemble
	return l
}

// cond falls through when argument condition c holds and jumps to fail
// otherwise. Arguments are 64 bits; seccomp_data holds them in the
// machine's byte order, low word first on the little-endian machines this
// package supports (amd64, arm64).
func (a *asm) cond(c specs.LinuxSeccompArg, fail label) {
	lo := offArgs + 8*uint32(c.Index)
	hi := lo + 4
	v := c.Value
	vHi, vLo := uint32(v>>32), uint32(v)
	pass := a.newLabel()
	switch c.Op {
	case specs.OpEqualTo:
		a.ld(hi)
		a.jump(unix.BPF_JEQ, vHi, labelNext, fail)
		a.ld(lo)
		a.jump(unix.BPF_JEQ, vLo, labelNext, fail)
	case specs.OpNotEqual:
		a.ld(hi)
		a.jump(unix.BPF_JEQ, vHi, labelNext, pass)
		a.ld(lo)
		a.jump(unix.BPF_JEQ, vLo, fail, labelNext)
	case specs.OpMaskedEqual:
		// OCI: Value is the mask, ValueTwo the value to compare with.
		m, d := c.Value, c.ValueTwo
		if m>>32 != 0 || d>>32 != 0 {
			a.ld(hi)
			a.and(uint32(m >> 32))
			a.jump(unix.BPF_JEQ, uint32(d>>32), labelNext, fail)
		}
		a.ld(lo)
		a.and(uint32(m))
		a.jump(unix.BPF_JEQ, uint32(d), labelNext, fail)
	case specs.OpGreaterThan, specs.OpGreaterEqual:
		a.ld(hi)
		a.jump(unix.BPF_JGT, vHi, pass, labelNext)
		a.jump(unix.BPF_JEQ, vHi, labelNext, fail)
		a.ld(lo)
		op := uint16(unix.BPF_JGT)
		if c.Op == specs.OpGreaterEqual {
			op = unix.BPF_JGE
		}
		a.jump(op, vLo, labelNext, fail)
	case specs.OpLessThan, specs.OpLessEqual:
		a.ld(hi)
		a.jump(unix.BPF_JGT, vHi, fail, labelNext)
		a.jump(unix.BPF_JEQ, vHi, labelNext, pass)
		a.ld(lo)
		op := uint16(unix.BPF_JGE)
		if c.Op == specs.OpLessEqual {
			op = unix.BPF_JGT
		}
		a.jump(op, vLo, fail, labelNext)
	}
	a.bind(pass)
}

func (a *asm) assemble() ([]unix.SockFilter, error) {
	// The shared returns go last, in a fixed order.
	vals := make([]uint32, 0, len(a.rets))
	for v := range a.rets {
		vals = append(vals, v)
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	for _, v := range vals {
		a.bind(a.rets[v])
		a.ret(v)
	}
	target := func(pc int, l label) (int, error) {
		if l == labelNext {
			return 0, nil
		}
		t := a.pcs[l]
		if t <= -2 {
			return -2 - t, nil
		}
		if t < 0 {
			return 0, fmt.Errorf("seccomp assembler: label %d never bound", l)
		}
		off := t - (pc + 1)
		if off < 0 {
			return 0, fmt.Errorf("seccomp assembler: backward jump at %d", pc)
		}
		return off, nil
	}
	for _, fx := range a.fixups {
		in := &a.insns[fx.pc]
		if fx.isJA {
			off, err := target(fx.pc, fx.ja)
			if err != nil {
				return nil, err
			}
			in.K = uint32(off)
			continue
		}
		jt, err := target(fx.pc, fx.jt)
		if err != nil {
			return nil, err
		}
		jf, err := target(fx.pc, fx.jf)
		if err != nil {
			return nil, err
		}
		if jt > 255 || jf > 255 {
			return nil, fmt.Errorf("seccomp assembler: conditional jump at %d spans %d/%d instructions", fx.pc, jt, jf)
		}
		in.Jt, in.Jf = uint8(jt), uint8(jf)
	}
	return a.insns, nil
}
