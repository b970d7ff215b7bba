#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The UDP echo server of udp_server.py with asyncio: a DatagramProtocol asks toa_uoa
for each datagram's client in datagram_received. The look-up is one getsockopt call that
never blocks, so it is made right there, in the event loop.

    python3 asyncio_udp_server.py BIND_ADDR PORT [--count N] [--ready FILE]

Prints the lines udp_server.py prints.
"""
import argparse
import asyncio
import pathlib
import socket
from typing import Any, Optional, Tuple, cast

import toa_uoa


class Echo(asyncio.DatagramProtocol):
    def __init__(self, count: Optional[int], done: "asyncio.Future[None]") -> None:
        self.count = count
        self.done = done
        self.transport: Optional[asyncio.DatagramTransport] = None
        self.sock: Any = None
        self.local: Tuple[Any, ...] = ()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        # asyncio's TransportSocket: fileno() and getsockname() are all the look-up needs.
        self.sock = transport.get_extra_info("socket")
        self.local = self.sock.getsockname()

    def datagram_received(self, data: bytes, addr: Tuple[Any, ...]) -> None:
        # addr: the balancer's address, a 4-tuple on an IPv6 socket; passed as it is.
        try:
            found = toa_uoa.lookup(self.sock, addr, self.local)
            if found is None:
                print("norecord", *addr[:2], flush=True)
            else:
                client, service = found
                print("client", *client, "service", *(service or ("-",)), flush=True)
        except toa_uoa.ModuleNotLoaded as e:
            print("error ModuleNotLoaded ENOPROTOOPT:", e.strerror, flush=True)
        assert self.transport is not None
        self.transport.sendto(data, addr)  # back through the balancer
        if self.count is not None:
            self.count -= 1
            if self.count <= 0 and not self.done.done():
                self.done.set_result(None)


async def serve(addr: str, port: int, count: Optional[int], ready: Optional[str]) -> None:
    loop = asyncio.get_running_loop()
    done: "asyncio.Future[None]" = loop.create_future()
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    transport, _ = await loop.create_datagram_endpoint(
        lambda: Echo(count, done), local_addr=(addr, port), family=family
    )
    if ready:
        pathlib.Path(ready).touch()
    try:
        await done
    finally:
        transport.close()


def main() -> None:
    p = argparse.ArgumentParser(description="An asyncio UDP echo server printing each datagram's client.")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, help="stop after N datagrams")
    p.add_argument("--ready", help="a file to create once the socket is bound")
    args = p.parse_args()
    asyncio.run(serve(args.addr, args.port, args.count, args.ready))


if __name__ == "__main__":
    main()
