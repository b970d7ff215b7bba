# SPDX-License-Identifier: GPL-2.0
"""Host unit tests of the toa_uoa package, no kernel module needed: the one system call of a
look-up (toa_uoa._getsockopt) is replaced by a fake module that decodes the query by the C
header's layouts (include/uapi/linux/toa_uoa.h), written here independently of the package,
and answers from a table of records. Real sockets on the loopback carry the datagrams.

    python3 -m unittest discover -s python/tests     (from the repository)
"""
import errno
import importlib.util
import io
import ipaddress
import os
import pathlib
import socket
import struct
import sys
import tempfile
import threading
import time
import unittest
from contextlib import redirect_stdout
from typing import Dict, List, Optional, Tuple
from unittest import mock

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import toa_uoa  # noqa: E402

AF4: int = socket.AF_INET
AF6: int = socket.AF_INET6
Key = Tuple[str, int, str, int]  # peer host, peer port, local host ('' = any), local port


def _packed(host: str) -> Tuple[int, bytes]:
    ip = ipaddress.ip_address(host)
    if ip.version == 4:
        return AF4, ip.packed
    return AF6, ip.packed


def _norm(family: int, raw: bytes) -> str:
    return str(ipaddress.ip_address(raw[:4] if family == AF4 else raw[:16]))


class FakeModule:
    """The kernel side of getsockopt(IPPROTO_IP, 2048/2049): decodes the query, answers
    from records {(peer, pport, local, lport): ((cip, cport), (vip, vport))}; absent=True
    answers ENOPROTOOPT like a kernel without the module. Records every call."""

    def __init__(self, records: Optional[Dict[Key, Tuple[Tuple[str, int], Tuple[str, int]]]] = None,
                 absent: bool = False) -> None:
        self.records = records or {}
        self.absent = absent
        self.calls: List[Tuple[int, int, bytes]] = []

    def find(self, fam: int, saddr: bytes, sport: int, daddr: bytes, dport: int):
        src = _norm(fam, saddr)
        dst = "" if not any(daddr[: 4 if fam == AF4 else 16]) else _norm(fam, daddr)
        for (p, pp, loc, lp), ans in self.records.items():
            if (p, pp, lp) == (src, sport, dport) and ("" in (loc, dst) or loc == dst):
                return ans
        raise OSError(errno.ENOENT, os.strerror(errno.ENOENT))

    def __call__(self, fd: int, optname: int, buf: bytes) -> bytes:
        self.calls.append((fd, optname, bytes(buf)))
        if self.absent:
            raise OSError(errno.ENOPROTOOPT, os.strerror(errno.ENOPROTOOPT))
        if optname == toa_uoa.UOA_SO_GET_LOOKUP1:
            assert len(buf) == 40, len(buf)
            fam, sport, dport = struct.unpack_from("=IHH", buf)
            sport, dport = socket.ntohs(sport), socket.ntohs(dport)
            if fam == AF4:
                saddr, daddr = buf[8:12], buf[12:16]
            elif fam == AF6:
                saddr, daddr = buf[8:24], buf[24:40]
            else:
                raise OSError(errno.EINVAL, "family")
            (cip, cport), (vip, vport) = self.find(fam, saddr, sport, daddr, dport)
            cf, c = _packed(cip)
            vf, v = _packed(vip)
            assert cf == vf
            addrs = (c + v + bytes(24)) if cf == AF4 else (c + v)
            return struct.pack("=IHH", cf, socket.htons(cport), socket.htons(vport)) + addrs
        assert optname == toa_uoa.UOA_SO_GET_LOOKUP
        if len(buf) == 18:
            saddr, daddr = buf[0:4], buf[4:8]
            sport, dport = struct.unpack_from("!HH", buf, 8)
            (cip, cport), _ = self.find(AF4, saddr, sport, daddr, dport)
            cf, c = _packed(cip)
            if cf != AF4:
                raise OSError(errno.EAFNOSUPPORT, "v4 only")
            return buf[:12] + c + struct.pack("!H", cport)
        fam = struct.unpack_from("=H", buf)[0]
        saddr, daddr = buf[2:18], buf[18:34]
        sport, dport = struct.unpack_from("!HH", buf, 34)
        (cip, cport), _ = self.find(fam, saddr, sport, daddr, dport)
        cf, c = _packed(cip)
        c16 = c + bytes(12) if cf == AF4 else c
        if len(buf) == 58:
            return buf[:38] + struct.pack("=H", cf) + c16 + struct.pack("!H", cport)
        assert len(buf) == 56, len(buf)
        if cf != fam:
            raise OSError(errno.EAFNOSUPPORT, "no real_af")
        return buf[:38] + c16 + struct.pack("!H", cport)


def fake(**kw) -> "mock._patch[FakeModule]":
    return mock.patch.object(toa_uoa, "_getsockopt", FakeModule(**kw))


def have_ipv6() -> bool:
    try:
        with socket.socket(AF6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


REC = {
    ("10.0.0.1", 5555, "10.0.0.2", 9000): (("192.0.2.10", 40000), ("198.51.100.1", 80)),
    ("fd00::1", 5555, "fd00::2", 9000): (("2001:db8::7", 40000), ("2001:db8::1", 80)),
    ("10.0.0.1", 6666, "10.0.0.2", 9000): (("2001:db8::7", 40001), ("2001:db8::1", 80)),
}


class Lookup(unittest.TestCase):
    def setUp(self) -> None:
        self.sock = socket.socket(AF4, socket.SOCK_DGRAM)
        self.addCleanup(self.sock.close)

    def test_v1_ipv4(self) -> None:
        with fake(records=REC) as f:
            got = toa_uoa.lookup(self.sock, ("10.0.0.1", 5555), ("10.0.0.2", 9000))
        self.assertEqual(got, (("192.0.2.10", 40000), ("198.51.100.1", 80)))
        self.assertEqual([(c[0], c[1]) for c in f.calls], [(self.sock.fileno(), 2049)])

    def test_ipv6_socket_four_tuples(self) -> None:
        # What recvfrom and getsockname give on an AF_INET6 socket, passed as they are.
        with fake(records=REC):
            got = toa_uoa.lookup(self.sock, ("fd00::1", 5555, 0, 0), ("fd00::2", 9000, 0, 0))
        self.assertEqual(got, (("2001:db8::7", 40000), ("2001:db8::1", 80)))

    def test_dual_stack_mapped_peer_is_asked_as_ipv4(self) -> None:
        with fake(records=REC) as f:
            got = toa_uoa.lookup(self.sock, ("::ffff:10.0.0.1", 5555, 0, 0), ("::", 9000, 0, 0))
        self.assertEqual(got, (("192.0.2.10", 40000), ("198.51.100.1", 80)))
        self.assertEqual(struct.unpack_from("=I", f.calls[0][2])[0], AF4)

    def test_ipv6_client_behind_ipv4_leg(self) -> None:
        with fake(records=REC):
            got = toa_uoa.lookup(self.sock, ("10.0.0.1", 6666), ("10.0.0.2", 9000))
        self.assertEqual(got, (("2001:db8::7", 40001), ("2001:db8::1", 80)))

    def test_any_local_address(self) -> None:
        with fake(records={("10.0.0.1", 5555, "", 9000): REC[("10.0.0.1", 5555, "10.0.0.2", 9000)]}) as f:
            got = toa_uoa.lookup(self.sock, ("10.0.0.1", 5555), ("0.0.0.0", 9000))
        self.assertIsNotNone(got)
        self.assertEqual(f.calls[0][2][12:40], bytes(28))

    def test_no_record_is_none(self) -> None:
        with fake(records=REC) as f:
            self.assertIsNone(toa_uoa.lookup(self.sock, ("10.0.0.9", 1), ("10.0.0.2", 9000)))
            self.assertIsNone(toa_uoa.lookup(self.sock, ("10.0.0.9", 1), ("10.0.0.2", 9000), version=0))
        self.assertEqual([c[1] for c in f.calls], [2049, 2048])

    def test_one_version_calls_raise_norecord(self) -> None:
        with fake(records=REC):
            with self.assertRaises(toa_uoa.NoRecord) as cm:
                toa_uoa.lookup_v1(self.sock, ("10.0.0.9", 1), ("10.0.0.2", 9000))
            with self.assertRaises(toa_uoa.NoRecord):
                toa_uoa.lookup_v0(self.sock, ("10.0.0.9", 1), ("10.0.0.2", 9000))
        e = cm.exception
        self.assertIsInstance(e, toa_uoa.Error)
        self.assertIsInstance(e, OSError)
        self.assertNotIsInstance(e, FileNotFoundError)
        self.assertEqual(e.errno, errno.ENOENT)

    def test_module_not_loaded_one_call(self) -> None:
        for version, optname in ((1, 2049), (0, 2048)):
            with fake(absent=True) as f:
                with self.assertRaises(toa_uoa.ModuleNotLoaded) as cm:
                    toa_uoa.lookup(self.sock, ("10.0.0.1", 5555), ("10.0.0.2", 9000), version=version)
            self.assertEqual([c[1] for c in f.calls], [optname], "v1 is not retried as v0")
            self.assertEqual(cm.exception.errno, errno.ENOPROTOOPT)
            self.assertIsInstance(cm.exception, toa_uoa.Error)
            self.assertRegex(str(cm.exception), "toa_uoa.* loaded .*ENOPROTOOPT")

    def test_v0_layouts(self) -> None:
        with fake(records=REC) as f:
            self.assertEqual(toa_uoa.lookup(self.sock, ("10.0.0.1", 5555), ("10.0.0.2", 9000), version=0),
                             (("192.0.2.10", 40000), None))
            for size in (58, 56, 18):
                self.assertEqual(toa_uoa.lookup_v0(self.sock, ("10.0.0.1", 5555), ("10.0.0.2", 9000), size),
                                 ("192.0.2.10", 40000))
            self.assertEqual(toa_uoa.lookup_v0(self.sock, ("10.0.0.1", 6666), ("10.0.0.2", 9000), 58),
                             ("2001:db8::7", 40001))
            with self.assertRaises(OSError) as cm:
                toa_uoa.lookup_v0(self.sock, ("10.0.0.1", 6666), ("10.0.0.2", 9000), 56)
            self.assertEqual(cm.exception.errno, errno.EAFNOSUPPORT)
            self.assertNotIsInstance(cm.exception, toa_uoa.Error)
        self.assertEqual([len(c[2]) for c in f.calls], [58, 58, 56, 18, 58, 56])

    def test_default_local_is_getsockname(self) -> None:
        self.sock.bind(("127.0.0.1", 0))
        port = self.sock.getsockname()[1]
        rec = {("10.0.0.1", 5555, "127.0.0.1", port): (("192.0.2.10", 40000), ("198.51.100.1", 80))}
        with fake(records=rec):
            self.assertEqual(toa_uoa.lookup(self.sock, ("10.0.0.1", 5555)),
                             (("192.0.2.10", 40000), ("198.51.100.1", 80)))

    def test_bad_input(self) -> None:
        with fake(records=REC) as f:
            with self.assertRaises(ValueError):
                toa_uoa.lookup(self.sock, ("10.0.0.1", 5555), ("10.0.0.2", 9000), version=2)
            with self.assertRaises(ValueError):
                toa_uoa.lookup_v0(self.sock, ("10.0.0.1", 5555), ("10.0.0.2", 9000), 20)
            with self.assertRaises(TypeError):
                toa_uoa.lookup(self.sock, ("10.0.0.1", 5555, 0), ("10.0.0.2", 9000))
            with self.assertRaises(OSError) as cm:
                toa_uoa.lookup(self.sock, ("10.0.0.1", 5555), ("fd00::2", 9000))
            self.assertEqual(cm.exception.errno, errno.EINVAL)
        self.assertEqual(f.calls, [], "bad input makes no system call")

    def test_file_descriptor_and_fileno_objects(self) -> None:
        class Wrapped:
            def __init__(self, fd: int) -> None:
                self.fd = fd

            def fileno(self) -> int:
                return self.fd

        with fake(records=REC) as f:
            socks: List[toa_uoa.SocketLike] = [self.sock.fileno(), Wrapped(self.sock.fileno())]
            for s in socks:
                self.assertIsNotNone(toa_uoa.lookup(s, ("10.0.0.1", 5555), ("10.0.0.2", 9000)))
        self.assertEqual({c[0] for c in f.calls}, {self.sock.fileno()})


class RealSystemCall(unittest.TestCase):
    """The real libc path: on this host the module is not loaded."""

    def test_module_not_loaded(self) -> None:
        if os.path.exists("/proc/net/toa_uoa"):
            self.skipTest("toa_uoa is loaded on this machine")
        with socket.socket(AF4, socket.SOCK_DGRAM) as s:
            with self.assertRaises(toa_uoa.ModuleNotLoaded) as cm:
                toa_uoa.lookup(s, ("10.0.0.1", 5555), ("10.0.0.2", 9000))
            self.assertEqual(cm.exception.errno, errno.ENOPROTOOPT)

    def test_getname_tcp(self) -> None:
        families = [(AF4, "127.0.0.1")] + ([(AF6, "::1")] if have_ipv6() else [])
        for fam, host in families:
            with socket.socket(fam, socket.SOCK_STREAM) as lst:
                lst.bind((host, 0))
                lst.listen(1)
                with socket.create_connection(lst.getsockname()[:2]) as c:
                    a, _ = lst.accept()
                    with a:
                        self.assertEqual(toa_uoa.peer_addr(a), c.getsockname()[:2])
                        self.assertEqual(toa_uoa.local_addr(a), lst.getsockname()[:2])
                        self.assertEqual(toa_uoa.local_addr(c.fileno()), c.getsockname()[:2])


class RecvFrom(unittest.TestCase):
    def pair(self, fam: int, host: str) -> Tuple[socket.socket, socket.socket]:
        srv = socket.socket(fam, socket.SOCK_DGRAM)
        cli = socket.socket(fam, socket.SOCK_DGRAM)
        self.addCleanup(srv.close)
        self.addCleanup(cli.close)
        srv.bind((host, 0))
        cli.bind((host, 0))
        srv.settimeout(10)
        return srv, cli

    def cases(self) -> List[Tuple[int, str]]:
        return [(AF4, "127.0.0.1")] + ([(AF6, "::1")] if have_ipv6() else [])

    def test_record(self) -> None:
        for fam, host in self.cases():
            srv, cli = self.pair(fam, host)
            cport = cli.getsockname()[1]
            rec = {(host, cport, host, srv.getsockname()[1]): (("192.0.2.10", 40000), ("198.51.100.1", 53))}
            cli.sendto(b"q", srv.getsockname())
            with fake(records=rec) as f:
                d = toa_uoa.recvfrom(srv, local=srv.getsockname())
            self.assertEqual(d, (b"q", ("192.0.2.10", 40000), ("198.51.100.1", 53), d.peer))
            self.assertEqual(d.peer[:2], (host, cport))
            self.assertEqual(len(d.peer), 2 if fam == AF4 else 4)
            self.assertEqual(len(f.calls), 1)
            data, client, service, peer = d
            srv.sendto(b"r", peer)
            self.assertEqual(cli.recv(10), b"r")

    def test_no_record(self) -> None:
        for fam, host in self.cases():
            srv, cli = self.pair(fam, host)
            cli.sendto(b"q", srv.getsockname())
            with fake(records={}):
                d = toa_uoa.recvfrom(srv)
            self.assertEqual(d.data, b"q")
            self.assertEqual(d.client, cli.getsockname()[:2])
            self.assertIsNone(d.service)

    def test_module_not_loaded_keeps_the_datagram(self) -> None:
        for fam, host in self.cases():
            srv, cli = self.pair(fam, host)
            cli.sendto(b"q", srv.getsockname())
            with fake(absent=True) as f:
                with self.assertRaises(toa_uoa.ModuleNotLoaded) as cm:
                    toa_uoa.recvfrom(srv, local=srv.getsockname())
            self.assertEqual(len(f.calls), 1)
            self.assertEqual(cm.exception.data, b"q")
            assert cm.exception.peer is not None
            self.assertEqual(cm.exception.peer[:2], cli.getsockname()[:2])


def load_example(name: str):
    spec = importlib.util.spec_from_file_location("example_" + name, HERE.parent / "examples" / (name + ".py"))
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class AnyTuple(FakeModule):
    """Answers every tuple with one client: the examples' servers bind a fresh port."""

    def find(self, fam: int, saddr: bytes, sport: int, daddr: bytes, dport: int):
        return ("192.0.2.10", 40000), ("198.51.100.1", 53)


class Examples(unittest.TestCase):
    """The two example servers (python/examples), run here against the fake module."""

    def run_example(self, name: str, fam: int, host: str, module: FakeModule) -> str:
        with socket.socket(fam, socket.SOCK_DGRAM) as s:  # a free port
            s.bind((host, 0))
            port = s.getsockname()[1]
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        ready = pathlib.Path(tmp.name) / "ready"
        argv = [name, host, str(port), "--count", "1", "--ready", str(ready)]
        mod = load_example(name)
        out = io.StringIO()
        errors: List[BaseException] = []

        def run() -> None:
            try:
                with mock.patch.object(sys, "argv", argv), redirect_stdout(out):
                    mod.main()
            except BaseException as e:  # reported below
                errors.append(e)

        with mock.patch.object(toa_uoa, "_getsockopt", module):
            t = threading.Thread(target=run)
            t.start()
            for _ in range(500):
                if ready.exists() or not t.is_alive():
                    break
                time.sleep(0.01)
            with socket.socket(fam, socket.SOCK_DGRAM) as cli:
                cli.settimeout(10)
                cli.sendto(b"hello", (host, port))
                self.assertEqual(cli.recv(100), b"hello", "echoed")
            t.join(10)
        self.assertFalse(t.is_alive())
        self.assertEqual(errors, [])
        self.assertEqual(len(module.calls), 1)
        return out.getvalue()

    def test_examples(self) -> None:
        cases = [(AF4, "127.0.0.1")] + ([(AF6, "::1")] if have_ipv6() else [])
        for name in ("udp_server", "asyncio_udp_server"):
            for fam, host in cases:
                with self.subTest(name=name, host=host):
                    out = self.run_example(name, fam, host, AnyTuple())
                    self.assertEqual(out, "client 192.0.2.10 40000 service 198.51.100.1 53\n")
                    out = self.run_example(name, fam, host, FakeModule())
                    self.assertRegex(out, "^norecord %s [0-9]+\n$" % host)
                    out = self.run_example(name, fam, host, FakeModule(absent=True))
                    self.assertTrue(out.startswith("error ModuleNotLoaded ENOPROTOOPT: toa_uoa is not loaded"), out)


if __name__ == "__main__":
    unittest.main()
