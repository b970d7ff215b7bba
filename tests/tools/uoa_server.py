#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A UDP server written the way UOA users write theirs: recvfrom(), then look the
datagram's tuple up through the toa_uoa module. Prints one line per look-up method:

    METHOD HOST PORT [VIP VPORT]     or     METHOD ERRNO_NAME

    uoa_server.py BIND_ADDR PORT [--count N] [--ready FILE] [--methods v1,v0_58,...]
"""
import argparse
import errno
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import toa_uoa  # noqa: E402

METHODS = ("v1", "v1_any", "v0_58", "v0_56", "v0_18")


def look(sock, method, peer, local):
    try:
        if method == "v1":
            c, v = toa_uoa.lookup_v1(sock, peer, local)
            return f"{c[0]} {c[1]} {v[0]} {v[1]}"
        if method == "v1_any":
            any_addr = "::" if ":" in local[0] else "0.0.0.0"
            c, v = toa_uoa.lookup_v1(sock, peer, (any_addr, local[1]))
            return f"{c[0]} {c[1]} {v[0]} {v[1]}"
        size = int(method.split("_")[1])
        c = toa_uoa.lookup_v0(sock, peer, local, size)
        return f"{c[0]} {c[1]}"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--ready")
    p.add_argument("--methods", default=",".join(METHODS))
    a = p.parse_args()
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((a.addr, a.port))
    if a.ready:
        open(a.ready, "w").close()
    for _ in range(a.count):
        data, peer = s.recvfrom(65535)
        local = s.getsockname()
        print(f"# got {data!r} from {peer[0]} {peer[1]}", flush=True)
        for m in a.methods.split(","):
            print(m, look(s, m, peer[:2], (a.addr, local[1])), flush=True)


if __name__ == "__main__":
    main()
