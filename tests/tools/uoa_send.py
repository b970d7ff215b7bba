#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send UDP datagrams that carry the type-31 address option, as a FullNAT balancer
would: IP_OPTIONS (IPv4) or IPV6_DSTOPTS (IPv6) on an ordinary socket (needs root).

    uoa_send.py SRC SPORT DST DPORT CIP CPORT VIP VPORT [--count N] [--interval SECONDS]
                [--payload TEXT] [--no-option] [--raw-option HEX]

SRC/DST decide the outer family, CIP/VIP the carried one (the four cases 44 46 64 66).
--raw-option sends the given option bytes as they are (for malformed shapes).
"""
import argparse
import ipaddress
import socket
import struct
import time

IPV6_DSTOPTS = 59


def option_body(cip, cport, vip, vport):
    c, v = ipaddress.ip_address(cip), ipaddress.ip_address(vip)
    if c.version != v.version:
        raise SystemExit("CIP and VIP must be of one family")
    return c.version, struct.pack("!HH", cport, vport) + c.packed + v.packed


def ipv4_option(cip, cport, vip, vport):
    ver, body = option_body(cip, cport, vip, vport)
    # type 31, length 16|40, operation bit 0 = carried family, padding 0
    return bytes([31, 4 + len(body), 1 if ver == 6 else 0, 0]) + body


def ipv6_dstopt(cip, cport, vip, vport):
    _, body = option_body(cip, cport, vip, vport)
    opt = bytes([31, len(body)]) + body            # optlen 12 or 36
    hdr = bytes([0, (2 + len(opt)) // 8 - 1]) + opt  # nexthdr is filled in by the kernel
    assert len(hdr) % 8 == 0
    return hdr


def main():
    p = argparse.ArgumentParser()
    for a in ("src", "sport", "dst", "dport", "cip", "cport", "vip", "vport"):
        p.add_argument(a, type=int if "port" in a else str)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--interval", type=float, default=0.0,
                   help="pause between datagrams (lets other work run meanwhile)")
    p.add_argument("--payload", default="hello")
    p.add_argument("--no-option", action="store_true")
    p.add_argument("--raw-option")
    a = p.parse_args()
    fam = socket.AF_INET6 if ipaddress.ip_address(a.src).version == 6 else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.src, a.sport))
    if not a.no_option:
        if a.raw_option is not None:
            opt = bytes.fromhex(a.raw_option)
        elif fam == socket.AF_INET:
            opt = ipv4_option(a.cip, a.cport, a.vip, a.vport)
        else:
            opt = ipv6_dstopt(a.cip, a.cport, a.vip, a.vport)
        if fam == socket.AF_INET:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, opt)
        else:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_DSTOPTS, opt)
    for i in range(a.count):
        if i and a.interval:
            time.sleep(a.interval)
        s.sendto(a.payload.encode(), (a.dst, a.dport))


if __name__ == "__main__":
    main()
