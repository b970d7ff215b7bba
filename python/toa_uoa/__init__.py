# SPDX-License-Identifier: GPL-2.0
"""UOA look-ups for Python applications on a server running the toa_uoa kernel module.

socket.getsockopt() cannot pass an input structure, which the UOA look-ups need (the
datagram's tuple goes in, the client's address comes out in the same buffer), so this
module calls libc's getsockopt through ctypes. Pure Python, no build step.

    import socket, toa_uoa
    data, (src, sport) = sock.recvfrom(2048)
    client, service = toa_uoa.lookup(sock, (src, sport), sock.getsockname())
    # client == ('198.51.100.7', 40000), service == ('203.0.113.1', 53)

Errors are OSError with the kernel's errno: ENOENT (no record for the tuple),
ENOPROTOOPT (the module is not loaded), EINVAL (bad input), EAFNOSUPPORT (the answer
cannot be given in the v0 layout asked for).
"""

import ctypes
import ctypes.util
import errno
import ipaddress
import os
import socket
import struct

__version__ = "0.1.0"  # dkms.conf's PACKAGE_VERSION (scripts/test.sh checks that they agree)

UOA_SO_GET_LOOKUP = 2048   # v0: 18, 56 or 58 byte structures
UOA_SO_GET_LOOKUP1 = 2049  # v1: 40 byte structure

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.getsockopt.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int,
                             ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32)]
_libc.getsockopt.restype = ctypes.c_int


def _getsockopt_inout(fd, optname, buf):
    """getsockopt(fd, IPPROTO_IP, optname) with buf as input and output; returns the
    bytes the kernel reported (its optlen)."""
    cbuf = ctypes.create_string_buffer(bytes(buf), len(buf))
    optlen = ctypes.c_uint32(len(buf))
    if _libc.getsockopt(fd, socket.IPPROTO_IP, optname, cbuf, ctypes.byref(optlen)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return cbuf.raw[:optlen.value]


def _addr(host):
    """(family, 16-byte packed address) of an address string; IPv4-mapped IPv6
    addresses count as IPv4, as the module keys them."""
    ip = ipaddress.ip_address(host.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.version == 4:
        return socket.AF_INET, ip.packed + bytes(12)
    return socket.AF_INET6, ip.packed


def _host(family, raw):
    if family == socket.AF_INET:
        return str(ipaddress.IPv4Address(raw[:4]))
    a = ipaddress.IPv6Address(raw[:16])
    if a.ipv4_mapped is not None:
        return "::ffff:" + str(a.ipv4_mapped)  # the usual spelling, not ::ffff:c000:20a
    return str(a)


def _fileno(sock):
    return sock if isinstance(sock, int) else sock.fileno()


def lookup_v1(sock, peer, local):
    """v1 look-up. peer = (host, port) the datagram came from (the balancer's side),
    local = (host, port) it was sent to (this server; host '0.0.0.0' or '::' means
    any local address). Returns ((client_host, client_port), (vip_host, vip_port))."""
    fam, saddr = _addr(peer[0])
    dfam, daddr = _addr(local[0])
    if not any(daddr):
        daddr = bytes(16)
    elif dfam != fam:
        raise OSError(errno.EINVAL, "peer and local address families differ")
    if fam == socket.AF_INET:
        addrs = saddr[:4] + daddr[:4] + bytes(24)
    else:
        addrs = saddr + daddr
    buf = struct.pack("=IHH", fam, socket.htons(peer[1]), socket.htons(local[1])) + addrs
    out = _getsockopt_inout(_fileno(sock), UOA_SO_GET_LOOKUP1, buf)
    rtype, cport, vport = struct.unpack_from("=IHH", out)
    cport, vport = socket.ntohs(cport), socket.ntohs(vport)
    if rtype == socket.AF_INET:
        return (_host(rtype, out[8:12]), cport), (_host(rtype, out[12:16]), vport)
    return (_host(rtype, out[8:24]), cport), (_host(rtype, out[24:40]), vport)


def lookup_v0(sock, peer, local, size=58):
    """v0 look-up in the 58-byte (DPVS uoa.h, with real_af), 56-byte or 18-byte
    (IPv4 only) layout. Returns (client_host, client_port)."""
    fam, saddr = _addr(peer[0])
    _, daddr = _addr(local[0])
    sport, dport = socket.htons(peer[1]), socket.htons(local[1])
    if size == 18:
        buf = saddr[:4] + daddr[:4] + struct.pack("=HH", sport, dport) + bytes(6)
        out = _getsockopt_inout(_fileno(sock), UOA_SO_GET_LOOKUP, buf)
        return _host(socket.AF_INET, out[12:16]), socket.ntohs(struct.unpack_from("=H", out, 16)[0])
    head = struct.pack("=H", fam) + saddr + daddr + struct.pack("=HH", sport, dport)
    if size == 56:
        out = _getsockopt_inout(_fileno(sock), UOA_SO_GET_LOOKUP, head + bytes(18))
        real = out[38:54]
        port = struct.unpack_from("=H", out, 54)[0]
        return _host(fam, real), socket.ntohs(port)
    if size == 58:
        out = _getsockopt_inout(_fileno(sock), UOA_SO_GET_LOOKUP, head + bytes(20))
        real_af = struct.unpack_from("=H", out, 38)[0]
        port = struct.unpack_from("=H", out, 56)[0]
        return _host(real_af, out[40:56]), socket.ntohs(port)
    raise ValueError("v0 size must be 18, 56 or 58")


def lookup(sock, peer, local):
    """The client and service address of a datagram: v1, falling back to the 58-byte
    v0 (client only; service None) where v1 is refused."""
    try:
        return lookup_v1(sock, peer, local)
    except OSError as e:
        if e.errno not in (errno.ENOPROTOOPT, errno.EOPNOTSUPP):
            raise
    return lookup_v0(sock, peer, local, 58), None


# getpeername/getsockname through libc with a sockaddr_storage-sized buffer: Python's own
# socket.getpeername() passes an AF_INET socket a 16-byte buffer, which truncates the
# sockaddr_in6 the module answers with for an IPv6 client behind an IPv4 balancer leg
# (the "64" case) and then decodes the truncated bytes as an IPv6 address.
_SOCKADDR_STORAGE = 128
for _f in (_libc.getpeername, _libc.getsockname):
    _f.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32)]
    _f.restype = ctypes.c_int


def _getname(fn, sock):
    buf = ctypes.create_string_buffer(_SOCKADDR_STORAGE)
    length = ctypes.c_uint32(_SOCKADDR_STORAGE)
    if fn(_fileno(sock), buf, ctypes.byref(length)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    raw = buf.raw[:length.value]
    family = struct.unpack_from("=H", raw)[0]
    port = struct.unpack_from("!H", raw, 2)[0]
    if family == socket.AF_INET and len(raw) >= 16:
        return _host(family, raw[4:8]), port
    if family == socket.AF_INET6 and len(raw) >= 28:
        return _host(family, raw[8:24]), port
    raise OSError(errno.EAFNOSUPPORT, "address family %d" % family)


def peer_addr(sock):
    """(host, port) of the socket's peer: on a TCP connection that carried the option,
    the client (CIP, CPORT), of either family whatever the socket's."""
    return _getname(_libc.getpeername, sock)


def local_addr(sock):
    """(host, port) of the socket's own side: on a TCP connection that carried the
    option, the service (VIP, VPORT)."""
    return _getname(_libc.getsockname, sock)
