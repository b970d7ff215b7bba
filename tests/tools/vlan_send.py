#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send one VLAN-tagged (802.1Q) Ethernet frame holding an IPv4/UDP datagram that carries the
type-31 address option, through an AF_PACKET socket (needs root). The receiving side needs no
VLAN device: a capture on its link sees the tagged frame.

    vlan_send.py IFACE VLAN_ID SRC SPORT DST DPORT CIP CPORT VIP VPORT
"""
import argparse
import ipaddress
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inet_csum import csum  # noqa: E402
from uoa_send import ipv4_option  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    for a in ("iface", "vlan", "src", "sport", "dst", "dport", "cip", "cport", "vip", "vport"):
        p.add_argument(a, type=int if a in ("vlan", "sport", "dport", "cport", "vport") else str)
    a = p.parse_args()
    opt = ipv4_option(a.cip, a.cport, a.vip, a.vport)
    payload = b"hello"
    udp = struct.pack("!HHHH", a.sport, a.dport, 8 + len(payload), 0) + payload
    ihl = 5 + len(opt) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(udp), 0x1234, 0x4000, 64,
                      socket.IPPROTO_UDP, 0, ipaddress.ip_address(a.src).packed,
                      ipaddress.ip_address(a.dst).packed) + opt
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    # Broadcast destination: the peer takes it whatever its address; the tag, then IPv4.
    frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + struct.pack("!HHH", 0x8100, a.vlan, 0x0800)
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
        s.bind((a.iface, 0))
        s.send(frame + hdr + udp)


if __name__ == "__main__":
    main()
