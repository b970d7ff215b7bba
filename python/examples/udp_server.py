#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A UDP echo server behind a FullNAT balancer: for each datagram, asks toa_uoa who really
sent it, prints that, and echoes the datagram back (to the balancer, which forwards it).

    python3 udp_server.py BIND_ADDR PORT [--count N] [--ready FILE]

One line per datagram:

    client CIP CPORT service VIP VPORT    the module's answer
    norecord HOST PORT                    no record (no option): the address it came from
    error ModuleNotLoaded ENOPROTOOPT: …  toa_uoa is not loaded (the datagram is answered)
"""
import argparse
import pathlib
import socket
from typing import Any, Optional, Tuple

import toa_uoa


def main() -> None:
    p = argparse.ArgumentParser(description="A UDP echo server printing each datagram's client.")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, help="stop after N datagrams")
    p.add_argument("--ready", help="a file to create once the socket is bound")
    args = p.parse_args()

    family = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.bind((args.addr, args.port))
        # Where the datagrams are sent to, asked once (the any-address if bound to it).
        local = sock.getsockname()
        if args.ready:
            pathlib.Path(args.ready).touch()
        serve(sock, local, args.count)


def serve(sock: socket.socket, local: Tuple[Any, ...], count: Optional[int]) -> None:
    while count is None or count > 0:
        try:
            data, client, service, peer = toa_uoa.recvfrom(sock, local=local)
            if service is None:
                print("norecord", *client, flush=True)
            else:
                print("client", *client, "service", *service, flush=True)
        except toa_uoa.ModuleNotLoaded as e:
            # The datagram came in all the same: answer it.
            print("error ModuleNotLoaded ENOPROTOOPT:", e.strerror, flush=True)
            assert e.data is not None and e.peer is not None
            data, peer = e.data, e.peer
        # The reply goes where the datagram came from: the balancer, which forwards it.
        sock.sendto(data, peer)
        if count is not None:
            count -= 1


if __name__ == "__main__":
    main()
