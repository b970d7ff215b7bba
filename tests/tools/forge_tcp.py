#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send one hand-made IPv4 TCP segment, raw (IP_HDRINCL), as an attacker on the path would:
any flags, any sequence number, with or without the type-31 option.

    forge_tcp.py SRC SPORT DST DPORT --flags syn|ack|rst [--option CIP CPORT VIP VPORT]
                 [--seq N]

Used by tests/guest/46-live-tcp.sh: a forged ACK or SYN for a live connection's tuple.
"""
import argparse
import socket
import struct

from inet_csum import csum

FLAGS = {"syn": 0x02, "ack": 0x10, "rst": 0x04}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("src")
    p.add_argument("sport", type=int)
    p.add_argument("dst")
    p.add_argument("dport", type=int)
    p.add_argument("--flags", choices=FLAGS, required=True)
    p.add_argument("--option", nargs=4, metavar=("CIP", "CPORT", "VIP", "VPORT"))
    p.add_argument("--seq", type=int, default=12345)
    a = p.parse_args()
    src, dst = socket.inet_aton(a.src), socket.inet_aton(a.dst)
    opt = b""
    if a.option:
        cip, cport, vip, vport = a.option
        opt = bytes([31, 16, 0, 0]) + struct.pack("!HH", int(cport), int(vport)) + \
            socket.inet_aton(cip) + socket.inet_aton(vip)
    ack = 1 if a.flags == "ack" else 0
    tcp = struct.pack("!HHIIBBHHH", a.sport, a.dport, a.seq, ack, 5 << 4, FLAGS[a.flags], 8192, 0, 0)
    c = csum(src + dst + struct.pack("!xBH", 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ihl = 5 + len(opt) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(tcp), 0x4242, 0, 64, 6, 0, src, dst) + opt
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(hdr + tcp, (a.dst, 0))


if __name__ == "__main__":
    main()
