package security

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// A compiled filter crosses from isolate to its sandbox child as struct
// sock_filter's own 8 bytes per instruction, in a datagram of its own: the
// default filter is about a thousand instructions, and inside the JSON
// configuration it cost the child's cold encoding/json about 0.5 ms to
// decode; as bytes it is a copy.

// MarshalBinary is the instructions as struct sock_filter[] (linux/filter.h),
// little-endian. The flags are not part of it.
func (p *Program) MarshalBinary() ([]byte, error) {
	b := make([]byte, 8*len(p.Insns))
	for i, in := range p.Insns {
		binary.LittleEndian.PutUint16(b[8*i:], in.Code)
		b[8*i+2], b[8*i+3] = in.Jt, in.Jf
		binary.LittleEndian.PutUint32(b[8*i+4:], in.K)
	}
	return b, nil
}

// UnmarshalBinary decodes MarshalBinary's form.
func (p *Program) UnmarshalBinary(b []byte) error {
	if len(b)%8 != 0 || len(b) == 0 || len(b)/8 > maxInsns {
		return fmt.Errorf("seccomp filter: %d bytes is not 1 to %d instructions", len(b), maxInsns)
	}
	p.Insns = make([]unix.SockFilter, len(b)/8)
	for i := range p.Insns {
		in := b[8*i:]
		p.Insns[i] = unix.SockFilter{Code: binary.LittleEndian.Uint16(in), Jt: in[2], Jf: in[3], K: binary.LittleEndian.Uint32(in[4:])}
	}
	return nil
}
