// SPDX-License-Identifier: GPL-2.0

package uoa

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

// call is one getsockopt the fake kernel saw.
type call struct {
	name int
	in   []byte
}

// answer stands in for the kernel: it may write into buf and returns what getsockopt would.
type answer func(name int, buf []byte) (int, error)

// fakeKernel replaces getsockopt with answers given in turn (a call beyond them fails the
// test) for the duration of the test; the calls it saw are returned.
func fakeKernel(t *testing.T, answers ...answer) *[]call {
	t.Helper()
	calls := &[]call{}
	saved := getsockopt
	t.Cleanup(func() { getsockopt = saved })
	getsockopt = func(c syscall.RawConn, name int, buf []byte) (int, error) {
		*calls = append(*calls, call{name, append([]byte(nil), buf...)})
		if len(*calls) > len(answers) {
			t.Errorf("getsockopt call %d (optname %d): more than the %d expected", len(*calls), name, len(answers))
			return 0, syscall.EIO
		}
		return answers[len(*calls)-1](name, buf)
	}
	return calls
}

func fails(errno syscall.Errno) answer {
	return func(int, []byte) (int, error) { return 0, errno }
}

// v1Answers writes a v1 answer of the client and service.
func v1Answers(ty uint32, client, service string) answer {
	return func(_ int, b []byte) (int, error) {
		c, s := udp(client), udp(service)
		ip, sip := c.IP.To4(), s.IP.To4()
		if ty == afInet6 {
			ip, sip = c.IP.To16(), s.IP.To16()
		}
		hostOrder.PutUint32(b, ty)
		b[4], b[5] = byte(c.Port>>8), byte(c.Port)
		b[6], b[7] = byte(s.Port>>8), byte(s.Port)
		copy(b[8:], ip)
		copy(b[8+len(ip):], sip)
		return SizeV1, nil
	}
}

// v0Answers writes a 58-byte v0 answer of an IPv4 client.
func v0Answers(client string) answer {
	return func(_ int, b []byte) (int, error) {
		c := udp(client)
		hostOrder.PutUint16(b[38:], afInet)
		copy(b[40:], c.IP.To4())
		b[56], b[57] = byte(c.Port>>8), byte(c.Port)
		return 58, nil
	}
}

func listen(t *testing.T, network, addr string) *net.UDPConn {
	t.Helper()
	conn, err := net.ListenUDP(network, udp(addr))
	if err != nil {
		t.Skipf("no %s socket on %s here: %v", network, addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestLookupV1Answers(t *testing.T) {
	conn := listen(t, "udp4", "127.0.0.1:0")
	calls := fakeKernel(t, v1Answers(afInet6, "[2001:db8::10]:40000", "[2001:db8:1::1]:80"))
	client, service, err := Lookup(conn, udp("127.0.0.2:5555"), nil)
	if err != nil || client.String() != "[2001:db8::10]:40000" || service.String() != "[2001:db8:1::1]:80" {
		t.Fatalf("got %v %v %v", client, service, err)
	}
	if len(*calls) != 1 || (*calls)[0].name != SoGetLookup1 || len((*calls)[0].in) != SizeV1 {
		t.Fatalf("calls: %v", *calls)
	}
	// The query: the datagram's source, and the connection's local address as destination.
	local := conn.LocalAddr().(*net.UDPAddr)
	tu, _ := makeTuple(udp("127.0.0.2:5555"), local)
	if want := encodeV1(tu); string((*calls)[0].in) != string(want[:]) {
		t.Errorf("query % x, want % x", (*calls)[0].in, want)
	}
}

func TestLookupErrnos(t *testing.T) {
	conn := listen(t, "udp4", "127.0.0.1:0")
	for _, c := range []struct {
		errno syscall.Errno
		want  error
	}{
		{syscall.ENOENT, ErrNoRecord},
		{syscall.ENOPROTOOPT, ErrModuleNotLoaded}, // one call: no v0 after it
		{syscall.EINVAL, ErrInvalid},
		{syscall.EAFNOSUPPORT, ErrFamilyNotSupported},
		{syscall.EFAULT, syscall.EFAULT},
	} {
		calls := fakeKernel(t, fails(c.errno))
		client, service, err := Lookup(conn, udp("127.0.0.2:5555"), nil)
		if !errors.Is(err, c.want) || !errors.Is(err, c.errno) || client != nil || service != nil {
			t.Errorf("%v: got %v %v %v, want %v", c.errno, client, service, err, c.want)
		}
		var lerr *LookupError
		if !errors.As(err, &lerr) || lerr.Errno != c.errno || lerr.Op != "v1" {
			t.Errorf("%v: not a v1 LookupError with the errno: %#v", c.errno, err)
		}
		if len(*calls) != 1 {
			t.Errorf("%v: %d calls, want 1", c.errno, len(*calls))
		}
	}
	// Each sentinel is only itself.
	calls := fakeKernel(t, fails(syscall.ENOENT))
	_, _, err := Lookup(conn, udp("127.0.0.2:5555"), nil)
	if errors.Is(err, ErrModuleNotLoaded) || errors.Is(err, syscall.ENOPROTOOPT) || len(*calls) != 1 {
		t.Errorf("ENOENT matches ErrModuleNotLoaded: %v", err)
	}
}

func TestLookupFallsBackToV0OnlyWhereV1IsUnknown(t *testing.T) {
	conn := listen(t, "udp4", "127.0.0.1:0")
	calls := fakeKernel(t, fails(syscall.EOPNOTSUPP), v0Answers("192.0.2.10:40000"))
	client, service, err := Lookup(conn, udp("127.0.0.2:5555"), udp("127.0.0.1:9000"))
	if err != nil || client.String() != "192.0.2.10:40000" || service != nil {
		t.Fatalf("got %v %v %v", client, service, err)
	}
	if len(*calls) != 2 || (*calls)[1].name != SoGetLookup || len((*calls)[1].in) != 58 {
		t.Fatalf("calls: %v", *calls)
	}
	tu, _ := makeTuple(udp("127.0.0.2:5555"), udp("127.0.0.1:9000"))
	want, _ := encodeV0(tu, V0WithRealAF)
	if string((*calls)[1].in) != string(want) {
		t.Errorf("v0 query % x, want % x", (*calls)[1].in, want)
	}

	// The v0 call's own error is the one returned.
	fakeKernel(t, fails(syscall.EOPNOTSUPP), fails(syscall.ENOENT))
	_, _, err = Lookup(conn, udp("127.0.0.2:5555"), nil)
	var lerr *LookupError
	if !errors.Is(err, ErrNoRecord) || !errors.As(err, &lerr) || lerr.Op != "v0 (58 bytes)" {
		t.Errorf("v0 after v1: got %v", err)
	}
}

func TestLookupDualStack(t *testing.T) {
	conn := listen(t, "udp", "[::]:0")
	calls := fakeKernel(t, v1Answers(afInet, "192.0.2.10:40000", "198.51.100.1:80"))
	client, service, err := Lookup(conn, udp("[::ffff:10.0.0.1]:5555"), nil)
	if err != nil || client.String() != "192.0.2.10:40000" || service.String() != "198.51.100.1:80" {
		t.Fatalf("got %v %v %v", client, service, err)
	}
	// Asked as the IPv4 tuple, to any local address.
	in := (*calls)[0].in
	if hostOrder.Uint32(in) != afInet || string(in[8:12]) != "\x0a\x00\x00\x01" || string(in[12:40]) != string(zeros(28)) {
		t.Errorf("query % x", in)
	}
}

func TestLookupRefusedWithoutACall(t *testing.T) {
	conn := listen(t, "udp4", "127.0.0.1:0")
	calls := fakeKernel(t)
	if _, _, err := Lookup(conn, nil, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("no source: %v", err)
	}
	if _, _, err := Lookup(conn, udp("[fd00::1]:1"), nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("IPv6 source on an IPv4 address: %v", err)
	}
	if _, _, err := Lookup(nil, udp("10.0.0.1:1"), nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("no connection: %v", err)
	}
	if _, err := LookupV0(conn, udp("[fd00::1]:1"), udp("[fd00::2]:1"), V0IPv4); !errors.Is(err, ErrFamilyNotSupported) {
		t.Errorf("18-byte v0 of an IPv6 tuple: %v", err)
	}
	if len(*calls) != 0 {
		t.Errorf("calls: %v", *calls)
	}
}

func TestLookupBadAnswer(t *testing.T) {
	conn := listen(t, "udp4", "127.0.0.1:0")
	fakeKernel(t, v1Answers(7, "192.0.2.10:1", "192.0.2.11:2"))
	if _, _, err := Lookup(conn, udp("127.0.0.2:5555"), nil); !errors.Is(err, ErrBadAnswer) {
		t.Errorf("type 7: %v", err)
	}
}

func TestLookupV0Layouts(t *testing.T) {
	conn := listen(t, "udp4", "127.0.0.1:0")
	for _, layout := range []V0Layout{V0WithRealAF, V0NoRealAF, V0IPv4} {
		layout := layout
		calls := fakeKernel(t, func(_ int, b []byte) (int, error) {
			switch len(b) {
			case 58:
				return v0Answers("192.0.2.10:40000")(0, b)
			case 56:
				copy(b[38:], []byte{192, 0, 2, 10})
				b[54], b[55] = 0x9c, 0x40
			case 18:
				copy(b[12:], []byte{192, 0, 2, 10})
				b[16], b[17] = 0x9c, 0x40
			}
			return len(b), nil
		})
		client, err := LookupV0(conn, udp("127.0.0.2:5555"), nil, layout)
		if err != nil || client.String() != "192.0.2.10:40000" {
			t.Errorf("%d bytes: got %v %v", layout, client, err)
		}
		if len(*calls) != 1 || (*calls)[0].name != SoGetLookup || len((*calls)[0].in) != int(layout) {
			t.Errorf("%d bytes: calls %v", layout, *calls)
		}
	}
}

func TestReadFrom(t *testing.T) {
	conn := listen(t, "udp4", "127.0.0.1:0")
	sender := listen(t, "udp4", "127.0.0.1:0")
	send := func() {
		if _, err := sender.WriteToUDP([]byte("hello"), conn.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 100)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))

	fakeKernel(t, v1Answers(afInet, "192.0.2.10:40000", "198.51.100.1:80"))
	send()
	n, client, service, err := ReadFrom(conn, buf)
	if err != nil || n != 5 || string(buf[:n]) != "hello" || client.String() != "192.0.2.10:40000" || service.String() != "198.51.100.1:80" {
		t.Errorf("got %d %v %v %v", n, client, service, err)
	}

	// Read, not looked up: the length and the address it came from, and the LookupError.
	fakeKernel(t, fails(syscall.ENOENT))
	send()
	n, client, service, err = ReadFrom(conn, buf)
	var lerr *LookupError
	if n != 5 || client.String() != sender.LocalAddr().String() || service != nil || !errors.As(err, &lerr) || !errors.Is(err, ErrNoRecord) {
		t.Errorf("no record: got %d %v %v %v", n, client, service, err)
	}

	// A read error is the read's, not a LookupError; no look-up is made.
	fakeKernel(t)
	conn.SetReadDeadline(time.Now().Add(-time.Second))
	n, client, service, err = ReadFrom(conn, buf)
	if err == nil || errors.As(err, &lerr) || n != 0 || client != nil || service != nil {
		t.Errorf("read error: got %d %v %v %v", n, client, service, err)
	}
}

// The real getsockopt, without a balancer: the kernel answers ENOPROTOOPT (no module) or,
// where toa_uoa is loaded, ENOENT (no record for this tuple). Either way one call, a
// sentinel, no crash.
func TestRealKernel(t *testing.T) {
	conn := listen(t, "udp4", "127.0.0.1:0")
	_, _, err := Lookup(conn, udp("127.0.0.2:5555"), nil)
	switch {
	case errors.Is(err, ErrModuleNotLoaded):
		t.Logf("toa_uoa not loaded here: %v", err)
	case errors.Is(err, ErrNoRecord):
		t.Logf("toa_uoa loaded here: %v", err)
	default:
		t.Errorf("got %v, want ErrModuleNotLoaded or ErrNoRecord", err)
	}
	conn.Close()
	if _, _, err := Lookup(conn, udp("127.0.0.2:5555"), nil); err == nil {
		t.Error("a look-up on a closed connection succeeded")
	}
}
