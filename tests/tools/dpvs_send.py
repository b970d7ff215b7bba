#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send UDP datagrams in DPVS's UOA formats, as a DPVS balancer would, from raw sockets
(IP_HDRINCL for IPv4, an IPPROTO_RAW IPv6 socket; needs root):

    dpvs_send.py ipo|opp SRC SPORT DST DPORT CIP CPORT [--count N] [--interval SECONDS]
                 [--payload TEXT] [--print] [malformed-shape options]

ipo: the UOA option in the IPv4 header (IPv4 only: type 31, length 8, or 20 for an IPv6
     client, which DPVS itself sends only IPv4-in-IPv4); the UDP checksum is computed.
opp: DPVS's private protocol 248 header between the IP header (IPv4 or IPv6) and UDP, holding
     the UOA option; IPv4 UDP checksum 0, IPv6 UDP checksum computed as for plain UDP (both as
     DPVS's udp_send_csum does).
SRC:SPORT -> DST:DPORT is the outer datagram (balancer -> real server), CIP:CPORT the client
it carries (either family). --print writes each packet as one hex line instead of sending it
(no root needed; 'toa-uoa decode' reads that). --payload '' sends an empty datagram, as
DPVS's send_standalone_uoa does.

Malformed shapes (for the receiver's checks): --uoa-len N (the option's length byte),
--opp-version N, --opp-protocol N, --opp-length N (the opp header's fields),
--raw-options HEX (the whole option area: the IPv4 options for ipo, the opp options for opp).

Written from DPVS's definitions (repository iqiyi/dpvs, include/uoa.h: IPOPT_UOA = 31,
IPOLEN_UOA_IPV4 = 8, IPOLEN_UOA_IPV6 = 20, struct ipopt_uoa { __u8 op_code; __u8 op_len;
__be16 op_port; __u8 op_addr[0]; }, IPPROTO_OPT = 248, OPPHDR_IPV4 = 1, OPPHDR_IPV6 = 2,
struct opphdr { version:4 (high nibble), rsvd0:4; __u8 protocol; __be16 length; options };
the senders in src/ipvs/ip_vs_proto_udp.c), not from toa_uoa's parser.
"""
import argparse
import ipaddress
import socket
import struct
import time

from inet_csum import csum

IPOPT_UOA = 31            # 31 | IPOPT_CONTROL (class 0)
SIZEOF_IPOPT_UOA = 4      # op_code, op_len, op_port (op_addr[0] takes no room)
IPPROTO_OPT = 248
OPPHDR_IPV4, OPPHDR_IPV6 = 1, 2
SIZEOF_OPPHDR = 4
IPPROTO_UDP = 17


def ipopt_uoa(cip, cport, op_len=None):
    addr = cip.packed
    length = SIZEOF_IPOPT_UOA + len(addr) if op_len is None else op_len
    return struct.pack("!BBH", IPOPT_UOA, length, cport) + addr


def opphdr(options, version, protocol=IPPROTO_UDP, length=None):
    if length is None:
        length = SIZEOF_OPPHDR + len(options)
    return struct.pack("!BBH", (version << 4) & 0xF0, protocol, length) + options


def udp(src, dst, sport, dport, payload, checksum):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    if not checksum:
        return seg
    if src.version == 4:
        pseudo = src.packed + dst.packed + struct.pack("!xBH", IPPROTO_UDP, len(seg))
    else:
        pseudo = src.packed + dst.packed + struct.pack("!I3xB", len(seg), IPPROTO_UDP)
    c = csum(pseudo + seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def ipv4(src, dst, proto, options, body):
    options += b"\0" * (-len(options) % 4)   # EOL padding to a multiple of 4
    ihl = 5 + len(options) // 4
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(body), 0x5a5a, 0, 64, proto, 0,
                    src.packed, dst.packed) + options
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + body


def ipv6(src, dst, nh, body):
    return struct.pack("!IHBB16s16s", 6 << 28, len(body), nh, 64, src.packed, dst.packed) + body


def build(a):
    src, dst = ipaddress.ip_address(a.src), ipaddress.ip_address(a.dst)
    cip = ipaddress.ip_address(a.cip)
    if src.version != dst.version:
        raise SystemExit("SRC and DST must be of one family")
    payload = a.payload.encode()
    if a.raw_options is not None:
        options = bytes.fromhex(a.raw_options)
    else:
        options = ipopt_uoa(cip, a.cport, a.uoa_len)
    if a.mode == "ipo":
        if src.version != 4:
            raise SystemExit("ipo is an IPv4 option: SRC and DST must be IPv4")
        return ipv4(src, dst, IPPROTO_UDP, options, udp(src, dst, a.sport, a.dport, payload, True))
    version = a.opp_version if a.opp_version is not None else (OPPHDR_IPV4 if cip.version == 4 else OPPHDR_IPV6)
    protocol = a.opp_protocol if a.opp_protocol is not None else IPPROTO_UDP
    opp = opphdr(options, version, protocol, a.opp_length)
    if src.version == 4:
        return ipv4(src, dst, IPPROTO_OPT, b"", opp + udp(src, dst, a.sport, a.dport, payload, False))
    return ipv6(src, dst, IPPROTO_OPT, opp + udp(src, dst, a.sport, a.dport, payload, True))


def main():
    p = argparse.ArgumentParser(description="Send DPVS-format UOA datagrams (ipo, opp).")
    p.add_argument("mode", choices=("ipo", "opp"))
    for name in ("src", "sport", "dst", "dport", "cip", "cport"):
        p.add_argument(name, type=int if "port" in name else str)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--interval", type=float, default=0.0)
    p.add_argument("--payload", default="hello")
    p.add_argument("--print", action="store_true", help="print hex lines, send nothing")
    p.add_argument("--uoa-len", type=int)
    p.add_argument("--opp-version", type=int)
    p.add_argument("--opp-protocol", type=int)
    p.add_argument("--opp-length", type=int)
    p.add_argument("--raw-options")
    a = p.parse_args()
    pkt = build(a)
    if a.print:
        for _ in range(a.count):
            print(pkt.hex())
        return
    if pkt[0] >> 4 == 4:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    else:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for i in range(a.count):
        if i and a.interval:
            time.sleep(a.interval)
        s.sendto(pkt, (a.dst, 0))


if __name__ == "__main__":
    main()
