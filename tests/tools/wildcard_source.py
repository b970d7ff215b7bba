#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send, raw, an IPv6 packet from the unspecified address and port 0 ([::]:0) carrying the
type-31 option (CIP 2001:db8::66 port 4242, VIP 2001:db8:1::66 port 80): the tuple an
unconnected or listening socket has for its peer. Used by tests/guest/44-getname-scope.sh.

    wildcard_source.py udp|tcp DST DPORT
"""
import socket
import struct
import sys

from inet_csum import csum

CIP, VIP = "2001:db8::66", "2001:db8:1::66"


def main():
    proto, dst, dport = sys.argv[1], sys.argv[2], int(sys.argv[3])
    src_b = bytes(16)
    dst_b = socket.inet_pton(socket.AF_INET6, dst)
    if proto == "udp":
        nh = 17
        seg = struct.pack("!HHHH", 0, dport, 8 + 5, 0) + b"hello"
        off = 6
    else:
        nh = 6
        # An ACK: no SYN, so it opens no connection and forgets no record.
        seg = struct.pack("!HHIIBBHHH", 0, dport, 1, 1, 5 << 4, 0x10, 8192, 0, 0)
        off = 16
    pseudo = src_b + dst_b + struct.pack("!IxxxB", len(seg), nh)
    c = csum(pseudo + seg) or 0xFFFF
    seg = seg[:off] + struct.pack("!H", c) + seg[off + 2:]
    body = struct.pack("!HH", 4242, 80) + socket.inet_pton(socket.AF_INET6, CIP) + \
        socket.inet_pton(socket.AF_INET6, VIP)
    opt = bytes([31, len(body)]) + body                 # 38 bytes
    dstopts = bytes([nh, (2 + len(opt)) // 8 - 1]) + opt  # 40 bytes, no padding needed
    payload = dstopts + seg
    pkt = struct.pack("!IHBB16s16s", 6 << 28, len(payload), 60, 64, src_b, dst_b) + payload
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(pkt, (dst, 0))


if __name__ == "__main__":
    main()
