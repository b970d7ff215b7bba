#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Hostile getsockopt calls against the toa_uoa module, in the server namespace of the
guest tests, with a UDP record for 10.0.0.1:5555 -> 10.0.0.2:9000 carrying
192.0.2.10:40000 / 198.51.100.1:80. Every buffer is filled with a pattern first: on an
error nothing may be written, on success exactly the answer and nothing past it.
Prints one line per check; exits non-zero if any failed."""
import ctypes
import ctypes.util
import errno
import mmap
import socket
import struct
import sys

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.getsockopt.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
PAT = 0xA5
LB, RS, SPORT, DPORT = "10.0.0.1", "10.0.0.2", 5555, 9000
CIP, VIP = socket.inet_aton("192.0.2.10"), socket.inet_aton("198.51.100.1")
failed = 0


def report(name, ok, detail=""):
    global failed
    failed += not ok
    print(("ok   " if ok else "FAIL ") + name + (": " + detail if detail else ""))


def call(fd, optname, buf_addr, optlen, optlen_ptr=None):
    n = ctypes.c_uint32(optlen)
    p = optlen_ptr if optlen_ptr is not None else ctypes.addressof(n)
    r = libc.getsockopt(fd, socket.IPPROTO_IP, optname, buf_addr, p)
    return ("ok" if r == 0 else errno.errorcode[ctypes.get_errno()]), n.value


def v1_query(sport=SPORT):
    return struct.pack("=IHH", socket.AF_INET, socket.htons(sport), socket.htons(DPORT)) + \
        socket.inet_aton(LB) + socket.inet_aton(RS) + bytes(24)


def v0_query(layout, sport=SPORT, af=socket.AF_INET):
    if layout == 18:
        return socket.inet_aton(LB) + socket.inet_aton(RS) + struct.pack("!HH", sport, DPORT) + bytes(6)
    head = struct.pack("=H", af) + socket.inet_aton(LB) + bytes(12) + socket.inet_aton(RS) + bytes(12) + \
        struct.pack("!HH", sport, DPORT)
    return head + bytes(layout - len(head))


def v0_layout(optlen):
    return 58 if optlen >= 58 else 56 if optlen >= 56 else 18 if optlen >= 18 else None


def expected(optname, layout):
    if optname == 2049:
        return struct.pack("=IHH", socket.AF_INET, socket.htons(40000), socket.htons(80)) + CIP + VIP + bytes(24)
    q = v0_query(layout)
    if layout == 18:
        return q[:12] + CIP + struct.pack("!H", 40000)
    if layout == 56:
        return q[:38] + CIP + bytes(12) + struct.pack("!H", 40000)
    return q[:38] + struct.pack("=H", socket.AF_INET) + CIP + bytes(12) + struct.pack("!H", 40000)


udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
fd = udp.fileno()

# Every optlen from 0 to 64 on both optnames.
for optname in (2048, 2049):
    for optlen in range(65):
        layout = 40 if optname == 2049 else v0_layout(optlen)
        q = v1_query() if optname == 2049 else v0_query(layout or 18)
        buf = ctypes.create_string_buffer(bytes([PAT]) * 80, 80)
        ctypes.memmove(buf, q, min(len(q), optlen))
        before = buf.raw
        res, outlen = call(fd, optname, ctypes.addressof(buf), optlen)
        name = "optname %d optlen %d" % (optname, optlen)
        size = 40 if optname == 2049 else layout
        if size is None or optlen < size:
            report(name, res == "EINVAL" and buf.raw == before, "%s, buffer %s" % (res, "unchanged" if buf.raw == before else "WRITTEN"))
        else:
            exp = expected(optname, layout)
            good = res == "ok" and outlen == size and buf.raw[:size] == exp and buf.raw[size:] == before[size:]
            report(name, good, "%s len %d%s" % (res, outlen, "" if good else " got " + buf.raw[:size].hex()))

# Bad pointers.
res, _ = call(fd, 2049, None, 40)
report("v1 NULL buffer", res == "EFAULT", res)
res, _ = call(fd, 2049, 0x10, 40)
report("v1 unmapped buffer", res == "EFAULT", res)
res, _ = call(fd, 2048, 0xFFFFFFFF81000000, 58)
report("v0 kernel address", res == "EFAULT", res)
r = libc.getsockopt(fd, socket.IPPROTO_IP, 2049, ctypes.addressof(ctypes.create_string_buffer(v1_query(), 40)), None)
report("NULL optlen pointer", r != 0 and ctypes.get_errno() == errno.EFAULT, errno.errorcode.get(ctypes.get_errno(), "?"))
ro = mmap.mmap(-1, 4096)
ro.write(v1_query())
ro_addr = ctypes.addressof(ctypes.c_char.from_buffer(ro))
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.mprotect(ro_addr, 4096, mmap.PROT_READ)
res, _ = call(fd, 2049, ro_addr, 40)
report("v1 read-only buffer, record exists", res == "EFAULT", res)
libc.mprotect(ro_addr, 4096, mmap.PROT_READ | mmap.PROT_WRITE)
ro.seek(0)
ro.write(v1_query(sport=1))
libc.mprotect(ro_addr, 4096, mmap.PROT_READ)
res, _ = call(fd, 2049, ro_addr, 40)
report("v1 read-only buffer, no record", res == "ENOENT", res)

# Bad families.
for ty in (0xFF, 3, 11, socket.htons(socket.AF_INET)):
    b = ctypes.create_string_buffer(struct.pack("=I", ty) + v1_query()[4:], 40)
    res, _ = call(fd, 2049, ctypes.addressof(b), 40)
    report("v1 type %d" % ty, res == "EINVAL", res)
for af in (0, 3, socket.htons(socket.AF_INET)):
    b = ctypes.create_string_buffer(v0_query(58, af=af), 58)
    res, _ = call(fd, 2048, ctypes.addressof(b), 58)
    report("v0 af %d" % af, res == "EINVAL", res)

# Wrong socket types: the record is for UDP; the socket's own protocol is the key's.
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
b = ctypes.create_string_buffer(v1_query(), 40)
res, _ = call(tcp.fileno(), 2049, ctypes.addressof(b), 40)
report("TCP socket, UDP record", res == "ENOENT", res)
lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
lst.bind((RS, 9001)); lst.listen(1)
res, _ = call(lst.fileno(), 2049, ctypes.addressof(b), 40)
report("listening TCP socket", res == "ENOENT", res)
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
res, _ = call(raw.fileno(), 2049, ctypes.addressof(b), 40)
report("raw ICMP socket", res == "ENOENT", res)
unix = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
res, _ = call(unix.fileno(), 2049, ctypes.addressof(b), 40)
report("unix socket (the kernel answers, not the module)", res in ("EOPNOTSUPP", "ENOTSUP", "ENOPROTOOPT"), res)
udp6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
res, _ = call(udp6.fileno(), 2049, ctypes.addressof(b), 40)
report("AF_INET6 UDP socket, IPv4 query", res == "ok", res)

print("%d failed" % failed)
sys.exit(1 if failed else 0)
