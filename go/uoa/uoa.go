// SPDX-License-Identifier: GPL-2.0

// Package uoa gives UDP servers on a real server running the toa_uoa kernel module, behind
// a FullNAT balancer, the real client of each datagram: the balancer carries the client's
// address in an IP option, the module keeps it per tuple, and one getsockopt call (the UOA
// look-up, docs/PROTOCOL.md section 4) asks for it.
//
//	conn, _ := net.ListenUDP("udp", &net.UDPAddr{Port: 5353})
//	buf := make([]byte, 65536)
//	for {
//		n, client, service, err := uoa.ReadFrom(conn, buf)
//		var lerr *uoa.LookupError
//		if errors.As(err, &lerr) {
//			// read, but not looked up (errors.Is(err, uoa.ErrNoRecord): the datagram
//			// carried no option); client is the address it came from
//		} else if err != nil {
//			return err // the read failed
//		}
//		...
//	}
//
// TCP needs nothing of this package: with the module loaded, the address net.Conn's
// RemoteAddr gives (taken at accept) is the client's and LocalAddr the service's.
//
// The look-ups run through syscall.RawConn.Control, with the byte layouts of
// include/uapi/linux/toa_uoa.h; standard library only.
package uoa

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// Version is toa_uoa's version (dkms.conf's PACKAGE_VERSION; scripts/test.sh checks it).
const Version = "0.1.0"

// getsockopt(fd, IPPROTO_IP, name, buf, &len) on the connection: the length the kernel
// answered, or the errno (a syscall.Errno), or the error of RawConn.Control. A variable,
// so that the tests can stand in for the kernel.
var getsockopt = getsockoptIP

// prepare: the raw connection and the tuple of a datagram from `from` to `to` (nil: the
// connection's local address).
func prepare(conn *net.UDPConn, from, to *net.UDPAddr, op string) (syscall.RawConn, tuple, error) {
	if conn == nil {
		return nil, tuple{}, &LookupError{Op: op, Err: fmt.Errorf("%w: no connection", ErrInvalid)}
	}
	if to == nil {
		local, ok := conn.LocalAddr().(*net.UDPAddr)
		if !ok {
			return nil, tuple{}, &LookupError{Op: op, Err: fmt.Errorf("%w: no local address", ErrInvalid)}
		}
		to = local
	}
	t, err := makeTuple(from, to)
	if err != nil {
		return nil, t, &LookupError{Op: op, Err: err}
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, t, &LookupError{Op: op, Err: err}
	}
	return rc, t, nil
}

// callError is the LookupError of a failed getsockopt call.
func callError(op string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errnoError(op, errno)
	}
	return &LookupError{Op: op, Err: err}
}

// Lookup asks the module who sent a datagram that conn received: from is the address it
// came from (what ReadFromUDP returned: the balancer), to the address it was sent to
// (nil: conn's local address; an unspecified address means any local address). It
// returns the client (CIP:CPORT) and the service the client addressed (VIP:VPORT).
//
// It asks v1. Where v1 is refused as an unknown option (EOPNOTSUPP) it asks the 58-byte
// v0, which knows the client only: service is then nil. Where the kernel says that
// nothing serves the option (ENOPROTOOPT: the module is not loaded) it returns
// ErrModuleNotLoaded at once, without a second call: DPVS's own uoa.ko, which serves v0
// only, answers v1 that way too; its users call LookupV0.
//
// On a dual-stack socket an IPv4 datagram comes from ::ffff:a.b.c.d: it is looked up as
// the IPv4 tuple. Errors are *LookupError, to be tested with errors.Is against ErrNoRecord,
// ErrModuleNotLoaded, ErrInvalid, ErrFamilyNotSupported, ErrBadAnswer.
func Lookup(conn *net.UDPConn, from, to *net.UDPAddr) (client, service *net.UDPAddr, err error) {
	rc, t, err := prepare(conn, from, to, "v1")
	if err != nil {
		return nil, nil, err
	}
	client, service, err = lookupV1(rc, t)
	var lerr *LookupError
	if errors.As(err, &lerr) && lerr.Errno == syscall.EOPNOTSUPP {
		client, err = lookupV0(rc, t, V0WithRealAF)
		return client, nil, err
	}
	return client, service, err
}

// LookupV1 is the v1 look-up alone: the client and the service.
func LookupV1(conn *net.UDPConn, from, to *net.UDPAddr) (client, service *net.UDPAddr, err error) {
	rc, t, err := prepare(conn, from, to, "v1")
	if err != nil {
		return nil, nil, err
	}
	return lookupV1(rc, t)
}

// LookupV0 is the v0 look-up in the layout of one's choice (V0WithRealAF answers every
// case): the client. It is the look-up DPVS's own uoa.ko serves.
func LookupV0(conn *net.UDPConn, from, to *net.UDPAddr, layout V0Layout) (client *net.UDPAddr, err error) {
	op := fmt.Sprintf("v0 (%d bytes)", int(layout))
	rc, t, err := prepare(conn, from, to, op)
	if err != nil {
		return nil, err
	}
	return lookupV0(rc, t, layout)
}

func lookupV1(rc syscall.RawConn, t tuple) (client, service *net.UDPAddr, err error) {
	b := encodeV1(t)
	if _, err := getsockopt(rc, SoGetLookup1, b[:]); err != nil {
		return nil, nil, callError("v1", err)
	}
	client, service, err = decodeV1(b[:])
	if err != nil {
		return nil, nil, &LookupError{Op: "v1", Err: err}
	}
	return client, service, nil
}

func lookupV0(rc syscall.RawConn, t tuple, layout V0Layout) (*net.UDPAddr, error) {
	op := fmt.Sprintf("v0 (%d bytes)", int(layout))
	b, err := encodeV0(t, layout)
	if err != nil {
		return nil, &LookupError{Op: op, Err: err}
	}
	served, err := getsockopt(rc, SoGetLookup, b)
	if err != nil {
		return nil, callError(op, err)
	}
	client, err := decodeV0(b, served, t)
	if err != nil {
		return nil, &LookupError{Op: op, Err: err}
	}
	return client, nil
}

// ReadFrom reads one datagram into b and looks its client up (Lookup, with conn's local
// address as the destination). It returns the datagram's length, the client and the
// service (nil after a v0 fall-back).
//
// A read error is returned as ReadFromUDP gave it, with n and nothing else. If the
// datagram was read but the look-up failed, err is a *LookupError (errors.As; errors.Is
// with ErrNoRecord, ErrModuleNotLoaded...), n is the datagram's length and client the
// address it came from, as received (the balancer's, unless no balancer is involved).
func ReadFrom(conn *net.UDPConn, b []byte) (n int, client, service *net.UDPAddr, err error) {
	n, from, err := conn.ReadFromUDP(b)
	if err != nil {
		return n, nil, nil, err
	}
	client, service, err = Lookup(conn, from, nil)
	if err != nil {
		return n, from, nil, err
	}
	return n, client, service, nil
}
