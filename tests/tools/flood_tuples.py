#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Floods the server with option-carrying UDP datagrams, one new tuple per datagram (the
source port and then the source address's last byte change), sent raw as fast as Python
goes. Run in the balancer namespace of the guest tests (lb 10.0.0.1 -> rs 10.0.0.2).

    flood_tuples.py COUNT [DPORT]     prints the tuples' source ports range
"""
import socket
import struct
import sys

sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
from hostile_packets import ipv4, udp  # noqa: E402
from uoa_send import ipv4_option  # noqa: E402

count = int(sys.argv[1])
dport = int(sys.argv[2]) if len(sys.argv) > 2 else 9999
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
opt = ipv4_option("192.0.2.77", 40000, "198.51.100.1", 80)
for i in range(count):
    sport = 10000 + i
    s.sendto(ipv4(opt, payload=udp(sport, dport, b"f")), ("10.0.0.2", 0))
print("sent", count, "tuples, source ports", 10000, "to", 10000 + count - 1)
