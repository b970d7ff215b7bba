#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A TCP client playing the balancer's side: connects SRC:SPORT -> DST:DPORT and puts the
type-31 option (carrying CIP:CPORT, VIP:VPORT) on its packets: on all of them from the SYN
on (--when syn), from the handshake-completing ACK on (--when ack), on that ACK only
(--when ack-only, as DPVS sends it), only from the first data packet on (--when data), or on
none (--when never). Sends one line, then waits for
the server to close.

--when ack needs nft and runs in its own network namespace (it adds a table there): the
SYN goes out without the option while the server's SYN-ACK is held back; then the option is
set, the client's SYN retransmissions are dropped, and the server's retransmitted SYN-ACK
is let through, so the first packet with the option is the ACK that completes the
handshake.

    toa_connect.py SRC SPORT DST DPORT CIP CPORT VIP VPORT [--when syn|data|never] [--send TEXT]
"""
import argparse
import ipaddress
import os
import socket
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from uoa_send import ipv4_option, ipv6_dstopt, IPV6_DSTOPTS  # noqa: E402


def nft(cmd):
    subprocess.run(["nft", cmd], check=True)


def main():
    p = argparse.ArgumentParser()
    for a in ("src", "sport", "dst", "dport", "cip", "cport", "vip", "vport"):
        p.add_argument(a, type=int if "port" in a else str)
    p.add_argument("--when", choices=("syn", "ack", "ack-only", "data", "never"), default="syn")
    p.add_argument("--send", default="GET / HTTP/1.0\r\n\r\n")
    a = p.parse_args()
    fam = socket.AF_INET6 if ipaddress.ip_address(a.src).version == 6 else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.src, a.sport))

    def put_option():
        if fam == socket.AF_INET:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, ipv4_option(a.cip, a.cport, a.vip, a.vport))
        else:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_DSTOPTS, ipv6_dstopt(a.cip, a.cport, a.vip, a.vport))

    if a.when == "syn":
        put_option()
    if a.when in ("ack", "ack-only"):
        nft("add table inet toa_ack")
        nft("add chain inet toa_ack in { type filter hook input priority 0; }")
        nft("add chain inet toa_ack out { type filter hook output priority 0; }")
        nft("add rule inet toa_ack in tcp flags & (syn | ack) == syn | ack drop")
        s.setblocking(False)
        s.connect_ex((a.dst, a.dport))
        time.sleep(0.3)
        nft("add rule inet toa_ack out tcp flags & (syn | ack) == syn drop")
        put_option()
        nft("flush chain inet toa_ack in")
        s.setblocking(True)
        s.settimeout(30)
        select.select([], [s], [], 30)
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        nft("delete table inet toa_ack")
        if err:
            raise OSError(err, os.strerror(err))
        if a.when == "ack-only":
            # As DPVS sends it: on the handshake-completing ACK, never again.
            if fam == socket.AF_INET:
                s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b"")
            else:
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_DSTOPTS, b"")
    else:
        s.settimeout(30)
        s.connect((a.dst, a.dport))
    if a.when == "data":
        # Let the server's accept() return before the option shows up at all.
        time.sleep(1)
        put_option()
    s.sendall(a.send.encode())
    while s.recv(4096):
        pass
    s.close()


if __name__ == "__main__":
    main()
