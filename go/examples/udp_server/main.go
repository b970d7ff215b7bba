// SPDX-License-Identifier: GPL-2.0

// Command udp_server is a UDP server behind a FullNAT balancer: for each datagram it asks
// toa_uoa who really sent it (uoa.ReadFrom) and prints that. (A server that answers
// replies to the address the datagram came from, the balancer's: it reads with
// conn.ReadFromUDP and asks uoa.Lookup, docs/APPLICATIONS.md.)
//
//	udp_server BIND_ADDR PORT [--count N] [--ready FILE]
//
// --count N: exit after N datagrams; --ready FILE: made once the socket is bound. The
// socket's family follows BIND_ADDR; "::" gives a dual-stack socket (IPv4 datagrams then
// come from ::ffff:a.b.c.d, looked up as IPv4). One line per datagram:
//
//	client CIP CPORT service VIP VPORT    (v1)
//	client CIP CPORT service -            (v0 fall-back: no service address)
//	error NAME ERRNO from IP PORT: MESSAGE (e.g. error ErrNoRecord ENOENT from 10.0.0.1 5555: ...)
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"

	"toa_uoa/uoa"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: udp_server BIND_ADDR PORT [--count N] [--ready FILE]")
	os.Exit(2)
}

// hostPort is an address as the tests read it: "IP PORT".
func hostPort(a *net.UDPAddr) string {
	return a.IP.String() + " " + strconv.Itoa(a.Port)
}

// errName: which of the package's errors, and the errno the kernel gave.
func errName(err error) string {
	name := "other"
	for _, e := range []struct {
		name string
		err  error
	}{
		{"ErrNoRecord", uoa.ErrNoRecord},
		{"ErrModuleNotLoaded", uoa.ErrModuleNotLoaded},
		{"ErrInvalid", uoa.ErrInvalid},
		{"ErrFamilyNotSupported", uoa.ErrFamilyNotSupported},
		{"ErrBadAnswer", uoa.ErrBadAnswer},
	} {
		if errors.Is(err, e.err) {
			name = e.name
			break
		}
	}
	errno := "-"
	var lerr *uoa.LookupError
	if errors.As(err, &lerr) && lerr.Errno != 0 {
		errno = errnoName(lerr.Errno)
	}
	return name + " " + errno
}

func errnoName(e syscall.Errno) string {
	switch e {
	case syscall.ENOENT:
		return "ENOENT"
	case syscall.ENOPROTOOPT:
		return "ENOPROTOOPT"
	case syscall.EINVAL:
		return "EINVAL"
	case syscall.EAFNOSUPPORT:
		return "EAFNOSUPPORT"
	case syscall.EOPNOTSUPP:
		return "EOPNOTSUPP"
	}
	return "errno" + strconv.Itoa(int(e))
}

func main() {
	args := os.Args[1:]
	if len(args) < 2 {
		usage()
	}
	ip := net.ParseIP(args[0])
	port, err := strconv.Atoi(args[1])
	if ip == nil || err != nil || port < 0 || port > 0xffff {
		usage()
	}
	count, ready := -1, ""
	for rest := args[2:]; len(rest) > 0; rest = rest[2:] {
		if len(rest) < 2 {
			usage()
		}
		switch rest[0] {
		case "--count":
			if count, err = strconv.Atoi(rest[1]); err != nil || count < 0 {
				usage()
			}
		case "--ready":
			ready = rest[1]
		default:
			usage()
		}
	}

	network := "udp6"
	switch {
	case ip.To4() != nil:
		network = "udp4"
	case ip.Equal(net.IPv6unspecified):
		network = "udp" // dual-stack
	}
	conn, err := net.ListenUDP(network, &net.UDPAddr{IP: ip, Port: port})
	if err != nil {
		fmt.Fprintln(os.Stderr, "udp_server:", err)
		os.Exit(1)
	}
	if ready != "" {
		if err := os.WriteFile(ready, nil, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "udp_server:", err)
			os.Exit(1)
		}
	}
	buf := make([]byte, 65536)
	for ; count != 0; count-- {
		_, client, service, err := uoa.ReadFrom(conn, buf)
		var lerr *uoa.LookupError
		switch {
		case errors.As(err, &lerr):
			// Read, but not looked up: client is the address the datagram came from.
			fmt.Printf("error %s from %s: %v\n", errName(err), hostPort(client), err)
		case err != nil:
			fmt.Fprintln(os.Stderr, "udp_server:", err)
			os.Exit(1)
		case service == nil:
			fmt.Printf("client %s service -\n", hostPort(client))
		default:
			fmt.Printf("client %s service %s\n", hostPort(client), hostPort(service))
		}
	}
}
