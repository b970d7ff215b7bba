// SPDX-License-Identifier: GPL-2.0

package uoa

import (
	"encoding/binary"
	"fmt"
	"net"
	"unsafe"
)

// The look-ups' socket options, at level IPPROTO_IP (UOA_SO_GET_LOOKUP and
// UOA_SO_GET_LOOKUP1 in include/uapi/linux/toa_uoa.h).
const (
	SoGetLookup  = 2048 // v0: the uoa_param_map structures
	SoGetLookup1 = 2049 // v1: union uoa_sockopt_param
)

// The sizes of the look-up structures (docs/PROTOCOL.md section 4).
const (
	SizeV1 = 40 // union uoa_sockopt_param
)

// V0Layout is a v0 look-up structure; its value is its size in bytes, the optlen that
// selects it.
type V0Layout int

// The three v0 structures the module serves.
const (
	// V0WithRealAF is DPVS's 58-byte struct uoa_param_map: answers every case.
	V0WithRealAF V0Layout = 58
	// V0NoRealAF is the 56-byte struct uoa_param_map_no_real_af: it cannot say the
	// client's family (an IPv6 client on an IPv4 tuple fails with EAFNOSUPPORT).
	V0NoRealAF V0Layout = 56
	// V0IPv4 is the 18-byte struct uoa_param_map_ipv4: IPv4 tuples and clients only.
	V0IPv4 V0Layout = 18
)

// The kernel ABI's address families are Linux's, whatever the build's GOOS.
const (
	afInet  = 2
	afInet6 = 10
)

// hostOrder is the machine's byte order: `type` (v1), `af` and `real_af` (v0) are plain
// host-order integers; ports and addresses are in network order.
var hostOrder binary.ByteOrder = func() binary.ByteOrder {
	x := uint16(1)
	if *(*byte)(unsafe.Pointer(&x)) == 1 {
		return binary.LittleEndian
	}
	return binary.BigEndian
}()

// Offsets inside the structures (checked against the C header's static asserts by the tests).
const (
	v1Sport    = 4
	v1Dport    = 6
	v1Addrs    = 8
	v1V4Daddr  = v1Addrs + 4
	v1V6Daddr  = v1Addrs + 16
	v0Saddr    = 2
	v0Daddr    = 18
	v0Sport    = 34
	v0Dport    = 36
	v0RealAF   = 38 // 58 bytes
	v0RealAddr = 40 // 58 bytes
	v0RealPort = 56 // 58 bytes
	v0NoAFAddr = 38 // 56 bytes
	v0NoAFPort = 54 // 56 bytes
	v0v4Sport  = 8  // 18 bytes
	v0v4Dport  = 10
	v0v4Real   = 12
	v0v4RPort  = 16
)

// tuple is a look-up's input: the datagram's source (the balancer's side) and
// destination (this server), one family, IPv4-mapped addresses taken as IPv4.
type tuple struct {
	v6           bool
	saddr, daddr [16]byte // an IPv4 address in the first 4 bytes; daddr all zero: any
	sport, dport uint16
}

func port16(p int) (uint16, bool) {
	return uint16(p), p >= 0 && p <= 0xffff
}

// makeTuple builds the tuple of a datagram received from `from` on a socket whose local
// address is `to`. An unspecified (or nil) to.IP means any local address. A dual-stack
// socket's IPv4-mapped source (::ffff:a.b.c.d) is looked up as the IPv4 tuple, as the
// module does (PROTOCOL.md, docs/APPLICATIONS.md); the families of from and to must agree
// otherwise.
func makeTuple(from, to *net.UDPAddr) (tuple, error) {
	var t tuple
	if from == nil || to == nil {
		return t, fmt.Errorf("%w: no source or destination address", ErrInvalid)
	}
	var ok1, ok2 bool
	t.sport, ok1 = port16(from.Port)
	t.dport, ok2 = port16(to.Port)
	if !ok1 || !ok2 {
		return t, fmt.Errorf("%w: port out of range", ErrInvalid)
	}
	if s4 := from.IP.To4(); s4 != nil {
		copy(t.saddr[:], s4)
	} else if s6 := from.IP.To16(); s6 != nil {
		t.v6 = true
		copy(t.saddr[:], s6)
	} else {
		return t, fmt.Errorf("%w: source address %v", ErrInvalid, from.IP)
	}
	switch {
	case to.IP == nil || to.IP.IsUnspecified():
		// all zero: any local address
	case to.IP.To4() != nil && !t.v6:
		copy(t.daddr[:], to.IP.To4())
	case to.IP.To4() == nil && len(to.IP) == net.IPv6len && t.v6:
		copy(t.daddr[:], to.IP)
	default:
		return t, fmt.Errorf("%w: source %v and destination %v are not of one family", ErrInvalid, from.IP, to.IP)
	}
	return t, nil
}

func (t *tuple) af() int {
	if t.v6 {
		return afInet6
	}
	return afInet
}

// encodeV1 is the v1 query (union uoa_sockopt_param's input).
func encodeV1(t tuple) [SizeV1]byte {
	var b [SizeV1]byte
	hostOrder.PutUint32(b[0:], uint32(t.af()))
	binary.BigEndian.PutUint16(b[v1Sport:], t.sport)
	binary.BigEndian.PutUint16(b[v1Dport:], t.dport)
	if t.v6 {
		copy(b[v1Addrs:v1Addrs+16], t.saddr[:])
		copy(b[v1V6Daddr:v1V6Daddr+16], t.daddr[:])
	} else {
		copy(b[v1Addrs:v1Addrs+4], t.saddr[:4])
		copy(b[v1V4Daddr:v1V4Daddr+4], t.daddr[:4])
	}
	return b
}

func ipAt(b []byte, at, n int) net.IP {
	ip := make(net.IP, n)
	copy(ip, b[at:at+n])
	return ip
}

func addrAt(b []byte, at, n, portAt int) *net.UDPAddr {
	return &net.UDPAddr{IP: ipAt(b, at, n), Port: int(binary.BigEndian.Uint16(b[portAt:]))}
}

// decodeV1 reads the v1 answer: the client (CIP:CPORT) and the service (VIP:VPORT). The
// answer's type is the client's family, AF_INET/AF_INET6 or 0/1 (the option's convention).
func decodeV1(b []byte) (client, service *net.UDPAddr, err error) {
	if len(b) < SizeV1 {
		return nil, nil, fmt.Errorf("%w: v1 answer of %d bytes", ErrBadAnswer, len(b))
	}
	n := 0
	switch ty := hostOrder.Uint32(b[0:]); ty {
	case afInet, 0:
		n = net.IPv4len
	case afInet6, 1:
		n = net.IPv6len
	default:
		return nil, nil, fmt.Errorf("%w: v1 answer of type %d", ErrBadAnswer, ty)
	}
	client = &net.UDPAddr{IP: ipAt(b, v1Addrs, n), Port: int(binary.BigEndian.Uint16(b[v1Sport:]))}
	service = &net.UDPAddr{IP: ipAt(b, v1Addrs+n, n), Port: int(binary.BigEndian.Uint16(b[v1Dport:]))}
	return client, service, nil
}

// encodeV0 is the v0 query in one of the three layouts. The 18-byte one has no family:
// an IPv6 tuple cannot be asked in it.
func encodeV0(t tuple, layout V0Layout) ([]byte, error) {
	switch layout {
	case V0WithRealAF, V0NoRealAF:
		b := make([]byte, layout)
		hostOrder.PutUint16(b[0:], uint16(t.af()))
		n := net.IPv4len
		if t.v6 {
			n = net.IPv6len
		}
		copy(b[v0Saddr:v0Saddr+n], t.saddr[:n])
		copy(b[v0Daddr:v0Daddr+n], t.daddr[:n])
		binary.BigEndian.PutUint16(b[v0Sport:], t.sport)
		binary.BigEndian.PutUint16(b[v0Dport:], t.dport)
		return b, nil
	case V0IPv4:
		if t.v6 {
			return nil, fmt.Errorf("%w: the 18-byte v0 layout has no IPv6 tuples", ErrFamilyNotSupported)
		}
		b := make([]byte, V0IPv4)
		copy(b[0:4], t.saddr[:4])
		copy(b[4:8], t.daddr[:4])
		binary.BigEndian.PutUint16(b[v0v4Sport:], t.sport)
		binary.BigEndian.PutUint16(b[v0v4Dport:], t.dport)
		return b, nil
	}
	return nil, fmt.Errorf("%w: no v0 layout of %d bytes (58, 56 or 18)", ErrInvalid, int(layout))
}

// decodeV0 reads a v0 answer: the client. The layout is the one the module says it served
// (optlen after the call, `served`); the 56-byte one answers in the query's family (an
// IPv4 client on an IPv6 tuple comes back IPv4-mapped, which net.IP prints as IPv4).
func decodeV0(b []byte, served int, t tuple) (*net.UDPAddr, error) {
	if served > len(b) {
		return nil, fmt.Errorf("%w: v0 answer of %d bytes in a %d-byte buffer", ErrBadAnswer, served, len(b))
	}
	switch V0Layout(served) {
	case V0WithRealAF:
		switch af := hostOrder.Uint16(b[v0RealAF:]); af {
		case afInet:
			return addrAt(b, v0RealAddr, net.IPv4len, v0RealPort), nil
		case afInet6:
			return addrAt(b, v0RealAddr, net.IPv6len, v0RealPort), nil
		default:
			return nil, fmt.Errorf("%w: v0 answer with real_af %d", ErrBadAnswer, af)
		}
	case V0NoRealAF:
		if t.v6 {
			return addrAt(b, v0NoAFAddr, net.IPv6len, v0NoAFPort), nil
		}
		return addrAt(b, v0NoAFAddr, net.IPv4len, v0NoAFPort), nil
	case V0IPv4:
		return addrAt(b, v0v4Real, net.IPv4len, v0v4RPort), nil
	}
	return nil, fmt.Errorf("%w: v0 answer of %d bytes", ErrBadAnswer, served)
}
