#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Hostile packets, sent raw (IP_HDRINCL / IPv6 raw) from the balancer namespace so that
no kernel check on the sending side stands between a malformed option and the wire.
(Shapes the sending kernel itself refuses, such as an IHL below 5 or past the packet, and
a wrong total length, which it rewrites, cannot be sent this way and are covered by the
host tests of the parser.)

    hostile_packets.py shapes          list the corpus: "NAME FAMILY" per line
    hostile_packets.py send NAME       send one shape (lb 10.0.0.1/fd00::1 -> rs .2)
    hostile_packets.py random SECONDS  random option areas on valid headers for SECONDS
"""
import os
import random
import socket
import struct
import sys
import time

from inet_csum import csum

SRC4, DST4 = "10.0.0.1", "10.0.0.2"
SRC6, DST6 = "fd00::1", "fd00::2"
BODY4 = struct.pack("!HH", 40000, 80) + socket.inet_aton("192.0.2.10") + socket.inet_aton("198.51.100.1")
BODY6 = struct.pack("!HH", 40000, 80) + bytes(15) + b"\x10" + bytes(15) + b"\x01"


def udp(sport=6000, dport=9999, payload=b"hostile"):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def ipv4(options, proto=17, payload=None, ihl=None, tot=None):
    if payload is None:
        payload = udp()
    options += b"\0" * (-len(options) % 4)
    ihl = ihl if ihl is not None else 5 + len(options) // 4
    tot = tot if tot is not None else 20 + len(options) + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot, 0x1234, 0, 64, proto, 0,
                    socket.inet_aton(SRC4), socket.inet_aton(DST4)) + options
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ipv6(ext, first_nh, payload=None):
    """ext: bytes of the extension headers (their next-header fields set by the caller)."""
    if payload is None:
        payload = udp()
    body = ext + payload
    return struct.pack("!IHBB16s16s", 6 << 28, len(body), first_nh, 64,
                       socket.inet_pton(socket.AF_INET6, SRC6), socket.inet_pton(socket.AF_INET6, DST6)) + body


def dst(nh, opts):
    """A Destination Options (or Hop-by-Hop) header holding the TLVs opts, padded."""
    raw = bytes([nh, 0]) + opts
    raw += b"\0" * (-len(raw) % 8)
    return bytes([nh, len(raw) // 8 - 1]) + raw[2:]


def opt31(body):
    return bytes([31, len(body)]) + body


SHAPES = {
    # IPv4 header options
    "v4_len16_says_ipv6": (4, lambda: ipv4(bytes([31, 16, 1, 0]) + BODY4)),
    "v4_len40_says_ipv4": (4, lambda: ipv4(bytes([31, 40, 0, 0]) + BODY6)),
    "v4_len20": (4, lambda: ipv4(bytes([31, 20, 0, 0]) + BODY4 + bytes(4))),
    "v4_len12": (4, lambda: ipv4(bytes([31, 12, 0, 0]) + BODY4[:8])),
    "v4_past_header": (4, lambda: ipv4(bytes([1, 1, 1, 1, 31, 16, 0, 0]) + BODY4[:8])),
    "v4_option_len0": (4, lambda: ipv4(bytes([30, 0, 0, 0]))),
    "v4_option_len1": (4, lambda: ipv4(bytes([30, 1, 0, 0]))),
    "v4_duplicate": (4, lambda: ipv4(bytes([31, 16, 0, 0]) + BODY4 + bytes([31, 16, 0, 0]) + BODY4)),
    "v4_after_eol": (4, lambda: ipv4(bytes([0, 0, 0, 0, 31, 16, 0, 0]) + BODY4)),
    "v4_no_transport_header": (4, lambda: ipv4(bytes([31, 16, 0, 0]) + BODY4, payload=b"")),
    "v4_icmp": (4, lambda: ipv4(bytes([31, 16, 0, 0]) + BODY4, proto=1, payload=b"\x08\0\0\0\0\0\0\0")),
    "v4_len40_in_16_bytes": (4, lambda: ipv4(bytes([31, 40, 1, 0]) + BODY4)),
    "v4_nop_then_len1": (4, lambda: ipv4(bytes([1, 1, 31, 1]))),
    # IPv6 extension headers
    "v6_optlen13": (6, lambda: ipv6(dst(17, opt31(BODY4 + b"\0")), 60)),
    "v6_optlen36_in_short_header": (6, lambda: ipv6(bytes([17, 1, 31, 36]) + BODY4, 60)),
    "v6_hdrlen_past_packet": (6, lambda: ipv6(bytes([17, 9, 31, 12]) + BODY4, 60, payload=b"")),
    "v6_option_in_hop_by_hop": (6, lambda: ipv6(dst(17, opt31(BODY4)), 0)),
    "v6_hop_by_hop_not_first": (6, lambda: ipv6(dst(0, opt31(BODY4)) + dst(17, b""), 60)),
    "v6_chain_too_long": (6, lambda: ipv6(b"".join(dst(60, b"") for _ in range(9)) + dst(17, opt31(BODY4)), 60)),
    "v6_too_much_padding": (6, lambda: ipv6(dst(17, b"\0" * 8 + opt31(BODY4)), 60)),
    "v6_too_many_options": (6, lambda: ipv6(dst(17, b"\x01\x00" * 9 + opt31(BODY4)), 60)),
    "v6_duplicate": (6, lambda: ipv6(dst(17, opt31(BODY4) + opt31(BODY4)), 60)),
    "v6_icmp": (6, lambda: ipv6(dst(58, opt31(BODY4)), 60, payload=b"\x80\0\0\0\0\0\0\0")),
    "v6_no_transport_header": (6, lambda: ipv6(dst(17, opt31(BODY4)), 60, payload=b"")),
}


def sender(family):
    if family == 4:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        return s, (DST4, 0)
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    return s, (DST6, 0)


def main():
    if sys.argv[1] == "shapes":
        for name, (fam, _) in SHAPES.items():
            print(name, fam)
    elif sys.argv[1] == "send":
        fam, make = SHAPES[sys.argv[2]]
        s, dst_addr = sender(fam)
        s.sendto(make(), dst_addr)
    elif sys.argv[1] == "random":
        rnd = random.Random(int(os.environ.get("SEED", "1")))
        end = time.time() + float(sys.argv[2])
        s4, d4 = sender(4)
        s6, d6 = sender(6)
        n = 0
        while time.time() < end:
            k = rnd.randrange(4)
            junk = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 40)))
            try:
                if k == 0:
                    s4.sendto(ipv4(junk), d4)
                elif k == 1:  # a type-31 start, then junk
                    s4.sendto(ipv4(bytes([31, rnd.choice((16, 40, rnd.randrange(256))), rnd.randrange(256), 0]) + junk), d4)
                elif k == 2:
                    s6.sendto(ipv6(dst(17, junk[:30]), 60), d6)
                else:
                    s6.sendto(ipv6(bytes([17, rnd.randrange(8)]) + junk, rnd.choice((0, 60, 43))), d6)
                n += 1
            except OSError:
                pass
        print("random packets sent", n)


if __name__ == "__main__":
    main()
