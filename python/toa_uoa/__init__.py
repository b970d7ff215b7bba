# SPDX-License-Identifier: GPL-2.0
"""UOA look-ups for Python applications on a server running the toa_uoa kernel module.

Behind a FullNAT balancer every datagram comes from the balancer; the module knows the
real client and the virtual service address the client sent to. Ask it once per datagram,
with the address recvfrom() gave (a 2-tuple, or on an IPv6 socket a 4-tuple: both are
taken as they are):

    import socket, toa_uoa
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.bind(("::", 5353))
    local = sock.getsockname()             # once: where the datagrams are sent to
    while True:
        data, peer = sock.recvfrom(65535)  # peer: the balancer
        found = toa_uoa.lookup(sock, peer, local)
        if found is None:                  # no record: the datagram carried no option
            client, service = peer[:2], None
        else:                              # ('198.51.100.7', 40000), ('203.0.113.1', 53)
            client, service = found

or, the same in one call (peer: where a reply goes, back through the balancer):

        data, client, service, peer = toa_uoa.recvfrom(sock, local=local)

No record for the datagram (it carried no option): lookup() returns None, recvfrom() gives
the address the datagram came from as the client and None as the service; the one-version
calls lookup_v1 and lookup_v0 raise NoRecord. A module that is not loaded raises
ModuleNotLoaded, after one getsockopt call. Both exceptions are toa_uoa.Error, an OSError, with the
kernel's errno (ENOENT, ENOPROTOOPT); other failures are plain OSError: EINVAL (bad input),
EAFNOSUPPORT (the v0 layout asked for cannot say the client's family).

socket.getsockopt() cannot pass an input structure, which the look-ups need (the
datagram's tuple goes in, the answer comes out in the same buffer), so this module calls
libc's getsockopt through ctypes. Pure Python, no build step, no dependencies.
"""

import ctypes
import errno
import ipaddress
import os
import socket
import struct
from typing import Any, NamedTuple, Optional, Protocol, Tuple, Union

__version__ = "0.1.0"  # dkms.conf's PACKAGE_VERSION (python/tests/test_package.py checks)

__all__ = [
    "Address",
    "Datagram",
    "Error",
    "ModuleNotLoaded",
    "NoRecord",
    "SocketLike",
    "UOA_SO_GET_LOOKUP",
    "UOA_SO_GET_LOOKUP1",
    "local_addr",
    "lookup",
    "lookup_v0",
    "lookup_v1",
    "peer_addr",
    "recvfrom",
]

UOA_SO_GET_LOOKUP = 2048  # v0: 18, 56 or 58 byte structures
UOA_SO_GET_LOOKUP1 = 2049  # v1: 40 byte structure

#: (host, port): what the look-ups answer. The host is an IPv4 or IPv6 address string
#: (IPv4-mapped IPv6 addresses spelt ::ffff:a.b.c.d).
Address = Tuple[str, int]


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


#: A socket: a socket.socket, anything with fileno() (asyncio's TransportSocket), or a
#: file descriptor.
SocketLike = Union[int, _HasFileno]


class Error(OSError):
    """The exceptions of toa_uoa's own; OSError, with the kernel's errno."""


class NoRecord(Error):
    """errno ENOENT: no record for the datagram's tuple. The datagram carried no option
    (it came straight from a client, or through a balancer that adds none), or its record
    expired (the module's idle_timeout). The address recvfrom() gave is all there is.
    Raised by lookup_v1 and lookup_v0; lookup() returns None instead, and recvfrom()
    gives the address the datagram came from as the client."""


class ModuleNotLoaded(Error):
    """errno ENOPROTOOPT: nothing serves the look-up's getsockopt. toa_uoa is not loaded
    (in v0 look-ups: neither toa_uoa nor DPVS's uoa.ko). Raised after one getsockopt call.

    Raised by recvfrom() with the datagram it had received in `data` and `peer`, so that a
    server can still answer it."""

    data: Optional[bytes] = None
    peer: Optional[Tuple[Any, ...]] = None


_NOT_LOADED = {
    UOA_SO_GET_LOOKUP1: "toa_uoa is not loaded (getsockopt UOA_SO_GET_LOOKUP1: ENOPROTOOPT); "
    "under DPVS's uoa.ko, which serves v0 only, ask with version=0",
    UOA_SO_GET_LOOKUP: "neither toa_uoa nor DPVS's uoa.ko is loaded "
    "(getsockopt UOA_SO_GET_LOOKUP: ENOPROTOOPT)",
}

# The C library the interpreter itself is linked with (dlopen(NULL)): no search for it with
# ctypes.util.find_library, which runs ldconfig and a compiler in subprocesses.
_libc = ctypes.CDLL(None, use_errno=True)
_libc.getsockopt.argtypes = [
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_uint32),
]
_libc.getsockopt.restype = ctypes.c_int


def _getsockopt(fd: int, optname: int, buf: bytes) -> bytes:
    """getsockopt(fd, IPPROTO_IP, optname) with buf as input and output: the one system
    call of a look-up. Returns the bytes the kernel reported (its optlen); OSError with the
    kernel's errno on failure. (The unit tests replace this function.)"""
    cbuf = ctypes.create_string_buffer(bytes(buf), len(buf))
    optlen = ctypes.c_uint32(len(buf))
    if _libc.getsockopt(fd, socket.IPPROTO_IP, optname, cbuf, ctypes.byref(optlen)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return cbuf.raw[: optlen.value]


def _ask(sock: SocketLike, optname: int, buf: bytes) -> bytes:
    try:
        return _getsockopt(_fileno(sock), optname, buf)
    except OSError as e:
        if e.errno == errno.ENOENT:
            raise NoRecord(errno.ENOENT, "no toa_uoa record for this tuple") from None
        if e.errno == errno.ENOPROTOOPT:
            raise ModuleNotLoaded(errno.ENOPROTOOPT, _NOT_LOADED[optname]) from None
        raise


def _addr(host: str) -> Tuple[int, bytes]:
    """(family, 16-byte packed address) of an address string; IPv4-mapped IPv6
    addresses count as IPv4, as the module keys them."""
    ip = ipaddress.ip_address(host.split("%")[0])  # ValueError if not an address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.version == 4:
        return socket.AF_INET, ip.packed + bytes(12)
    return socket.AF_INET6, ip.packed


def _host(family: int, raw: bytes) -> str:
    if family == socket.AF_INET:
        return str(ipaddress.IPv4Address(raw[:4]))
    a = ipaddress.IPv6Address(raw[:16])
    if a.ipv4_mapped is not None:
        return "::ffff:" + str(a.ipv4_mapped)  # the usual spelling, not ::ffff:c000:20a
    return str(a)


def _fileno(sock: SocketLike) -> int:
    return sock if isinstance(sock, int) else sock.fileno()


def _host_port(addr: Tuple[Any, ...]) -> Tuple[str, int]:
    """(host, port) of a socket address tuple: (host, port) or IPv6's (host, port,
    flowinfo, scope_id)."""
    if len(addr) not in (2, 4):
        raise TypeError("an address is (host, port) or (host, port, flowinfo, scope_id), not %r" % (addr,))
    return str(addr[0]), int(addr[1])


def lookup_v1(sock: SocketLike, peer: Tuple[Any, ...], local: Tuple[Any, ...]) -> Tuple[Address, Address]:
    """The v1 look-up (UOA_SO_GET_LOOKUP1). peer: the address the datagram came from (the
    balancer's side), as recvfrom() gave it; local: where it was sent to (this server,
    e.g. sock.getsockname(); host '0.0.0.0' or '::' means any local address).

    Returns ((client_host, client_port), (vip_host, vip_port)); the client's family may
    differ from the socket's. Raises NoRecord, ModuleNotLoaded (after this one call), or
    OSError (EINVAL: peer and local of different families)."""
    src, sport = _host_port(peer)
    dst, dport = _host_port(local)
    fam, saddr = _addr(src)
    dfam, daddr = _addr(dst)
    if not any(daddr):
        daddr = bytes(16)
    elif dfam != fam:
        raise OSError(errno.EINVAL, "peer and local address families differ")
    if fam == socket.AF_INET:
        addrs = saddr[:4] + daddr[:4] + bytes(24)
    else:
        addrs = saddr + daddr
    buf = struct.pack("=IHH", fam, socket.htons(sport), socket.htons(dport)) + addrs
    out = _ask(sock, UOA_SO_GET_LOOKUP1, buf)
    rtype, cport, vport = struct.unpack_from("=IHH", out)
    cport, vport = socket.ntohs(cport), socket.ntohs(vport)
    if rtype == socket.AF_INET:
        return (_host(rtype, out[8:12]), cport), (_host(rtype, out[12:16]), vport)
    return (_host(rtype, out[8:24]), cport), (_host(rtype, out[24:40]), vport)


def lookup_v0(sock: SocketLike, peer: Tuple[Any, ...], local: Tuple[Any, ...], size: int = 58) -> Address:
    """The v0 look-up (UOA_SO_GET_LOOKUP, DPVS's interface) in the 58-byte (DPVS uoa.h,
    with real_af), 56-byte or 18-byte (IPv4 only) layout. Returns (client_host,
    client_port). Raises NoRecord, ModuleNotLoaded (after this one call), or OSError
    (EAFNOSUPPORT: the layout cannot say the client's family)."""
    if size not in (18, 56, 58):
        raise ValueError("v0 size must be 18, 56 or 58")
    src, sport_h = _host_port(peer)
    dst, dport_h = _host_port(local)
    fam, saddr = _addr(src)
    _, daddr = _addr(dst)
    sport, dport = socket.htons(sport_h), socket.htons(dport_h)
    if size == 18:
        buf = saddr[:4] + daddr[:4] + struct.pack("=HH", sport, dport) + bytes(6)
        out = _ask(sock, UOA_SO_GET_LOOKUP, buf)
        return _host(socket.AF_INET, out[12:16]), socket.ntohs(struct.unpack_from("=H", out, 16)[0])
    head = struct.pack("=H", fam) + saddr + daddr + struct.pack("=HH", sport, dport)
    if size == 56:
        out = _ask(sock, UOA_SO_GET_LOOKUP, head + bytes(18))
        port = struct.unpack_from("=H", out, 54)[0]
        return _host(fam, out[38:54]), socket.ntohs(port)
    out = _ask(sock, UOA_SO_GET_LOOKUP, head + bytes(20))
    real_af = struct.unpack_from("=H", out, 38)[0]
    port = struct.unpack_from("=H", out, 56)[0]
    return _host(real_af, out[40:56]), socket.ntohs(port)


def lookup(
    sock: SocketLike,
    peer: Tuple[Any, ...],
    local: Optional[Tuple[Any, ...]] = None,
    *,
    version: int = 1,
) -> Optional[Tuple[Address, Optional[Address]]]:
    """The client and the service of a datagram: ((client_host, client_port),
    (vip_host, vip_port)), or None if the module has no record for it.

    peer: the address recvfrom() gave (2- or 4-tuple, as it is); local: where the datagram
    was sent to, e.g. sock.getsockname() (default: asked with getsockname() on every call:
    pass it to save that system call).

    One getsockopt call, the version asked: v1 (toa_uoa's) by default; version=0 asks the
    58-byte v0 instead, for DPVS's uoa.ko (v0 only), and the service is then None. Raises
    ModuleNotLoaded if nothing serves that version: v1 is not retried as v0."""
    if version not in (0, 1):
        raise ValueError("version must be 1 or 0")
    if local is None:
        local = local_addr(sock)
    try:
        if version == 1:
            return lookup_v1(sock, peer, local)
        return lookup_v0(sock, peer, local, 58), None
    except NoRecord:
        return None


class Datagram(NamedTuple):
    """What recvfrom() returns."""

    data: bytes
    #: the real client (host, port) when the module has a record for the datagram, else
    #: the address recvfrom gave, as (host, port)
    client: Address
    #: the (vip_host, vip_port) the client sent to, or None (no record, or version=0)
    service: Optional[Address]
    #: the address the datagram came from, as socket.recvfrom gave it (the balancer's
    #: side): where a reply goes
    peer: Tuple[Any, ...]


def recvfrom(
    sock: socket.socket,
    bufsize: int = 65535,
    flags: int = 0,
    *,
    local: Optional[Tuple[Any, ...]] = None,
    version: int = 1,
) -> Datagram:
    """sock.recvfrom(bufsize, flags), then lookup(): Datagram(data, client, service, peer).

        data, client, service, peer = toa_uoa.recvfrom(sock, local=local)
        sock.sendto(reply, peer)   # replies go back through the balancer

    local and version: as lookup's. ModuleNotLoaded carries the datagram received:
    e.data, e.peer."""
    data, peer = sock.recvfrom(bufsize, flags)
    try:
        found = lookup(sock, peer, local, version=version)
    except ModuleNotLoaded as e:
        e.data, e.peer = data, peer
        raise
    if found is None:
        return Datagram(data, _host_port(peer), None, peer)
    return Datagram(data, found[0], found[1], peer)


# getpeername/getsockname through libc with a sockaddr_storage-sized buffer: Python's own
# socket.getpeername() passes an AF_INET socket a 16-byte buffer, which truncates the
# sockaddr_in6 the module answers with for an IPv6 client behind an IPv4 balancer leg
# (the "64" case) and then decodes the truncated bytes as an IPv6 address.
_SOCKADDR_STORAGE = 128
for _f in (_libc.getpeername, _libc.getsockname):
    _f.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32)]
    _f.restype = ctypes.c_int


def _getname(fn: Any, sock: SocketLike) -> Address:
    buf = ctypes.create_string_buffer(_SOCKADDR_STORAGE)
    length = ctypes.c_uint32(_SOCKADDR_STORAGE)
    if fn(_fileno(sock), buf, ctypes.byref(length)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    raw = buf.raw[: length.value]
    family = struct.unpack_from("=H", raw)[0]
    port = struct.unpack_from("!H", raw, 2)[0]
    if family == socket.AF_INET and len(raw) >= 16:
        return _host(family, raw[4:8]), port
    if family == socket.AF_INET6 and len(raw) >= 28:
        return _host(family, raw[8:24]), port
    raise OSError(errno.EAFNOSUPPORT, "address family %d" % family)


def peer_addr(sock: SocketLike) -> Address:
    """(host, port) of the socket's peer: on a TCP connection that carried the option,
    the client (CIP, CPORT), of either family whatever the socket's."""
    return _getname(_libc.getpeername, sock)


def local_addr(sock: SocketLike) -> Address:
    """(host, port) of the socket's own side: on a TCP connection that carried the
    option, the service (VIP, VPORT)."""
    return _getname(_libc.getsockname, sock)
