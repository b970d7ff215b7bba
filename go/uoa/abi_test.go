// SPDX-License-Identifier: GPL-2.0

package uoa

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"unsafe"
)

func udp(s string) *net.UDPAddr {
	a, err := net.ResolveUDPAddr("udp", s)
	if err != nil {
		panic(err)
	}
	return a
}

func host32(v uint32) []byte {
	b := make([]byte, 4)
	hostOrder.PutUint32(b, v)
	return b
}

func host16(v uint16) []byte {
	b := make([]byte, 2)
	hostOrder.PutUint16(b, v)
	return b
}

func cat(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}

func zeros(n int) []byte { return make([]byte, n) }

func TestHostOrder(t *testing.T) {
	x := uint32(0x01020304)
	raw := (*[4]byte)(unsafe.Pointer(&x))[:]
	if got := hostOrder.Uint32(raw); got != x {
		t.Fatalf("hostOrder reads the machine's own uint32 as %#x, want %#x", got, x)
	}
}

func TestEncodeV1(t *testing.T) {
	for _, c := range []struct {
		name     string
		from, to string
		want     []byte
	}{
		{"ipv4", "10.0.0.1:5555", "10.0.0.2:9000", cat(host32(2), []byte{0x15, 0xb3, 0x23, 0x28},
			[]byte{10, 0, 0, 1, 10, 0, 0, 2}, zeros(24))},
		{"ipv4 any", "10.0.0.1:5555", "0.0.0.0:9000", cat(host32(2), []byte{0x15, 0xb3, 0x23, 0x28},
			[]byte{10, 0, 0, 1}, zeros(28))},
		{"ipv4-mapped from a dual-stack socket", "[::ffff:10.0.0.1]:5555", "[::]:9000",
			cat(host32(2), []byte{0x15, 0xb3, 0x23, 0x28}, []byte{10, 0, 0, 1}, zeros(28))},
		{"ipv6", "[fd00::1]:5555", "[fd00::2]:9000", cat(host32(10), []byte{0x15, 0xb3, 0x23, 0x28},
			[]byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
			[]byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2})},
		{"ipv6 any", "[fd00::1]:5555", "[::]:9000", cat(host32(10), []byte{0x15, 0xb3, 0x23, 0x28},
			[]byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, zeros(16))},
	} {
		tu, err := makeTuple(udp(c.from), udp(c.to))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := encodeV1(tu); !bytes.Equal(got[:], c.want) {
			t.Errorf("%s:\n got % x\nwant % x", c.name, got, c.want)
		}
	}
}

func TestMakeTupleRefuses(t *testing.T) {
	for _, c := range []struct {
		name     string
		from, to *net.UDPAddr
	}{
		{"no source", nil, udp("10.0.0.2:1")},
		{"no destination", udp("10.0.0.1:1"), nil},
		{"ipv4 to ipv6", udp("10.0.0.1:1"), udp("[fd00::2]:1")},
		{"ipv6 to ipv4", udp("[fd00::1]:1"), udp("10.0.0.2:1")},
		{"source without an address", &net.UDPAddr{Port: 1}, udp("10.0.0.2:1")},
		{"port out of range", &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 65536}, udp("10.0.0.2:1")},
		{"negative port", &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1}, &net.UDPAddr{Port: -1}},
	} {
		if _, err := makeTuple(c.from, c.to); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", c.name, err)
		}
	}
	// No destination address (nil IP) is any local address, like an unspecified one.
	if tu, err := makeTuple(udp("10.0.0.1:1"), &net.UDPAddr{Port: 2}); err != nil || tu.daddr != [16]byte{} {
		t.Errorf("nil destination address: %v %v", tu, err)
	}
}

func TestDecodeV1(t *testing.T) {
	ports := []byte{0x9c, 0x40, 0, 80} // 40000, 80
	v4 := []byte{192, 0, 2, 10, 198, 51, 100, 1}
	v6 := cat(net.ParseIP("2001:db8::10"), net.ParseIP("2001:db8:1::1"))
	for _, c := range []struct {
		name            string
		in              []byte
		client, service string
	}{
		{"AF_INET", cat(host32(2), ports, v4, zeros(24)), "192.0.2.10:40000", "198.51.100.1:80"},
		{"type 0 (the option's convention)", cat(host32(0), ports, v4, zeros(24)), "192.0.2.10:40000", "198.51.100.1:80"},
		{"AF_INET6", cat(host32(10), ports, v6), "[2001:db8::10]:40000", "[2001:db8:1::1]:80"},
		{"type 1", cat(host32(1), ports, v6), "[2001:db8::10]:40000", "[2001:db8:1::1]:80"},
	} {
		cl, sv, err := decodeV1(c.in)
		if err != nil || cl.String() != c.client || sv.String() != c.service {
			t.Errorf("%s: got %v %v %v, want %s %s", c.name, cl, sv, err, c.client, c.service)
		}
	}
	if _, _, err := decodeV1(cat(host32(3), zeros(36))); !errors.Is(err, ErrBadAnswer) {
		t.Errorf("type 3: got %v, want ErrBadAnswer", err)
	}
	if _, _, err := decodeV1(zeros(39)); !errors.Is(err, ErrBadAnswer) {
		t.Errorf("39 bytes: got %v, want ErrBadAnswer", err)
	}
	// The answer does not alias the buffer.
	b := cat(host32(2), ports, v4, zeros(24))
	cl, _, _ := decodeV1(b)
	b[8] = 1
	if cl.IP.String() != "192.0.2.10" {
		t.Errorf("the client's address changed with the buffer: %v", cl.IP)
	}
}

func TestEncodeV0(t *testing.T) {
	ports := []byte{0x15, 0xb3, 0x23, 0x28}
	tu4, _ := makeTuple(udp("10.0.0.1:5555"), udp("10.0.0.2:9000"))
	tu6, _ := makeTuple(udp("[fd00::1]:5555"), udp("[::]:9000"))
	s6 := net.ParseIP("fd00::1")
	for _, c := range []struct {
		name   string
		tu     tuple
		layout V0Layout
		want   []byte
	}{
		{"58 ipv4", tu4, V0WithRealAF, cat(host16(2), []byte{10, 0, 0, 1}, zeros(12), []byte{10, 0, 0, 2}, zeros(12), ports, zeros(20))},
		{"56 ipv4", tu4, V0NoRealAF, cat(host16(2), []byte{10, 0, 0, 1}, zeros(12), []byte{10, 0, 0, 2}, zeros(12), ports, zeros(18))},
		{"18 ipv4", tu4, V0IPv4, cat([]byte{10, 0, 0, 1, 10, 0, 0, 2}, ports, zeros(6))},
		{"58 ipv6", tu6, V0WithRealAF, cat(host16(10), s6, zeros(16), ports, zeros(20))},
		{"56 ipv6", tu6, V0NoRealAF, cat(host16(10), s6, zeros(16), ports, zeros(18))},
	} {
		got, err := encodeV0(c.tu, c.layout)
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("%s: %v\n got % x\nwant % x", c.name, err, got, c.want)
		}
	}
	if _, err := encodeV0(tu6, V0IPv4); !errors.Is(err, ErrFamilyNotSupported) {
		t.Errorf("18 bytes, ipv6: got %v, want ErrFamilyNotSupported", err)
	}
	if _, err := encodeV0(tu4, 40); !errors.Is(err, ErrInvalid) {
		t.Errorf("40-byte v0: got %v, want ErrInvalid", err)
	}
}

func TestDecodeV0(t *testing.T) {
	tu4, _ := makeTuple(udp("10.0.0.1:5555"), udp("10.0.0.2:9000"))
	tu6, _ := makeTuple(udp("[fd00::1]:5555"), udp("[fd00::2]:9000"))
	head := zeros(38)
	c6 := net.ParseIP("2001:db8::10")
	port := []byte{0x9c, 0x40}
	for _, c := range []struct {
		name   string
		tu     tuple
		in     []byte
		served int
		want   string
	}{
		{"58, IPv4 client", tu6, cat(head, host16(2), []byte{192, 0, 2, 10}, zeros(12), port), 58, "192.0.2.10:40000"},
		{"58, IPv6 client", tu4, cat(head, host16(10), c6, port), 58, "[2001:db8::10]:40000"},
		{"56, IPv4 tuple", tu4, cat(head, []byte{192, 0, 2, 10}, zeros(12), port, zeros(2)), 56, "192.0.2.10:40000"},
		{"56, IPv6 tuple", tu6, cat(head, c6, port, zeros(2)), 56, "[2001:db8::10]:40000"},
		{"56, IPv4 client on an IPv6 tuple: mapped", tu6, cat(head, net.ParseIP("::ffff:192.0.2.10"), port, zeros(2)), 56, "192.0.2.10:40000"},
		{"18", tu4, cat(zeros(12), []byte{192, 0, 2, 10}, port, zeros(40)), 18, "192.0.2.10:40000"},
	} {
		got, err := decodeV0(c.in, c.served, c.tu)
		if err != nil || got.String() != c.want {
			t.Errorf("%s: got %v %v, want %s", c.name, got, err, c.want)
		}
	}
	for _, c := range []struct {
		name   string
		in     []byte
		served int
	}{
		{"58, real_af 3", cat(head, host16(3), zeros(18)), 58},
		{"an answer of 40 bytes", zeros(58), 40},
		{"an answer longer than the buffer", zeros(56), 58},
	} {
		if _, err := decodeV0(c.in, c.served, tu4); !errors.Is(err, ErrBadAnswer) {
			t.Errorf("%s: got %v, want ErrBadAnswer", c.name, err)
		}
	}
}

// The sizes and offsets above against the C header's own static asserts: every assert on
// a look-up structure must agree with this package, and every value this package relies
// on must be asserted there.
func TestLayoutMatchesHeader(t *testing.T) {
	path := filepath.Join("..", "..", "include", "uapi", "linux", "toa_uoa.h")
	src, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("no %s (not in the toa_uoa tree)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	ours := map[string]int{
		"sizeof(union uoa_sockopt_param)":                       SizeV1,
		"sizeof(struct four_tuple)":                             SizeV1,
		"offsetof(struct four_tuple, sport)":                    v1Sport,
		"offsetof(struct four_tuple, dport)":                    v1Dport,
		"offsetof(struct four_tuple, addrs)":                    v1Addrs,
		"sizeof(union two_addr)":                                32,
		"sizeof(union inet_addr)":                               16,
		"sizeof(struct uoa_param_map)":                          int(V0WithRealAF),
		"offsetof(struct uoa_param_map, saddr)":                 v0Saddr,
		"offsetof(struct uoa_param_map, daddr)":                 v0Daddr,
		"offsetof(struct uoa_param_map, sport)":                 v0Sport,
		"offsetof(struct uoa_param_map, dport)":                 v0Dport,
		"offsetof(struct uoa_param_map, real_af)":               v0RealAF,
		"offsetof(struct uoa_param_map, real_saddr)":            v0RealAddr,
		"offsetof(struct uoa_param_map, real_sport)":            v0RealPort,
		"sizeof(struct uoa_param_map_no_real_af)":               int(V0NoRealAF),
		"offsetof(struct uoa_param_map_no_real_af, sport)":      v0Sport,
		"offsetof(struct uoa_param_map_no_real_af, real_saddr)": v0NoAFAddr,
		"offsetof(struct uoa_param_map_no_real_af, real_sport)": v0NoAFPort,
		"sizeof(struct uoa_param_map_ipv4)":                     int(V0IPv4),
		"offsetof(struct uoa_param_map_ipv4, sport)":            v0v4Sport,
		"offsetof(struct uoa_param_map_ipv4, real_saddr)":       v0v4Real,
		"offsetof(struct uoa_param_map_ipv4, real_sport)":       v0v4RPort,
	}
	re := regexp.MustCompile(`TOA_UOA_STATIC_ASSERT\(((?:sizeof|offsetof)\([^)]*\)) == (\d+)\);`)
	seen := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		want, ok := ours[m[1]]
		if !ok {
			continue // the wire option's structures: not this package's
		}
		seen[m[1]] = true
		if got, _ := strconv.Atoi(m[2]); got != want {
			t.Errorf("%s: the header says %d, this package %d", m[1], got, want)
		}
	}
	for k := range ours {
		if !seen[k] {
			t.Errorf("%s: not asserted in %s", k, path)
		}
	}
	for _, want := range []string{`UOA_SO_BASE\s*= 2048,`, `UOA_SO_GET_LOOKUP\s*= UOA_SO_BASE,`, `UOA_SO_GET_LOOKUP1\s*= UOA_SO_BASE \+ 1,`} {
		if !regexp.MustCompile(want).Match(src) {
			t.Errorf("the header has no %q", want)
		}
	}
	if SoGetLookup != 2048 || SoGetLookup1 != 2049 {
		t.Errorf("optnames %d %d", SoGetLookup, SoGetLookup1)
	}
}
