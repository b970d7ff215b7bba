// SPDX-License-Identifier: GPL-2.0

//! Encoding and decoding without the module: byte offsets as the kernel reads them
//! (src/sockopt.rs, src/compat_v0.rs), normalisation, errors.

use std::mem::offset_of;
use std::net::{IpAddr, SocketAddr};

use crate::abi::*;
use crate::Error;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn to_bytes_puts_every_field_at_its_offset() {
    let m = UoaParamMap {
        af: 0x0102,
        saddr: [3; 16],
        daddr: [4; 16],
        sport: [5, 6],
        dport: [7, 8],
        real_af: 0x090a,
        real_saddr: [11; 16],
        real_sport: [12, 13],
    };
    let b = m.to_bytes();
    assert_eq!(
        b[offset_of!(UoaParamMap, af)..][..2],
        0x0102u16.to_ne_bytes()
    );
    assert_eq!(b[offset_of!(UoaParamMap, saddr)..][..16], [3; 16]);
    assert_eq!(b[offset_of!(UoaParamMap, daddr)..][..16], [4; 16]);
    assert_eq!(b[offset_of!(UoaParamMap, sport)..][..2], [5, 6]);
    assert_eq!(b[offset_of!(UoaParamMap, dport)..][..2], [7, 8]);
    assert_eq!(
        b[offset_of!(UoaParamMap, real_af)..][..2],
        0x090au16.to_ne_bytes()
    );
    assert_eq!(b[offset_of!(UoaParamMap, real_saddr)..][..16], [11; 16]);
    assert_eq!(b[offset_of!(UoaParamMap, real_sport)..][..2], [12, 13]);
    assert_eq!(UoaParamMap::from_bytes(&b), m);

    let m = UoaParamMapNoRealAf {
        af: 0x0102,
        saddr: [3; 16],
        daddr: [4; 16],
        sport: [5, 6],
        dport: [7, 8],
        real_saddr: [11; 16],
        real_sport: [12, 13],
    };
    let b = m.to_bytes();
    assert_eq!(b[offset_of!(UoaParamMapNoRealAf, dport)..][..2], [7, 8]);
    assert_eq!(
        b[offset_of!(UoaParamMapNoRealAf, real_saddr)..][..16],
        [11; 16]
    );
    assert_eq!(
        b[offset_of!(UoaParamMapNoRealAf, real_sport)..][..2],
        [12, 13]
    );
    assert_eq!(UoaParamMapNoRealAf::from_bytes(&b), m);

    let m = UoaParamMapIpv4 {
        saddr: [1; 4],
        daddr: [2; 4],
        sport: [3, 4],
        dport: [5, 6],
        real_saddr: [7; 4],
        real_sport: [8, 9],
    };
    let b = m.to_bytes();
    assert_eq!(b[offset_of!(UoaParamMapIpv4, daddr)..][..4], [2; 4]);
    assert_eq!(b[offset_of!(UoaParamMapIpv4, real_saddr)..][..4], [7; 4]);
    assert_eq!(b[offset_of!(UoaParamMapIpv4, real_sport)..][..2], [8, 9]);
    assert_eq!(UoaParamMapIpv4::from_bytes(&b), m);

    let mut addrs = [0u8; 32];
    addrs.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
    let t = FourTuple {
        ty: 0x01020304,
        sport: [5, 6],
        dport: [7, 8],
        addrs,
    };
    let b = t.to_bytes();
    assert_eq!(
        b[offset_of!(FourTuple, ty)..][..4],
        0x01020304u32.to_ne_bytes()
    );
    assert_eq!(b[offset_of!(FourTuple, sport)..][..2], [5, 6]);
    assert_eq!(b[offset_of!(FourTuple, dport)..][..2], [7, 8]);
    assert_eq!(b[offset_of!(FourTuple, addrs)..][..32], addrs);
    assert_eq!(FourTuple::from_bytes(&b), t);
}

#[test]
fn sizes() {
    assert_eq!(std::mem::size_of::<UoaParamMap>(), UoaParamMap::LEN);
    assert_eq!(
        std::mem::size_of::<UoaParamMapNoRealAf>(),
        UoaParamMapNoRealAf::LEN
    );
    assert_eq!(std::mem::size_of::<UoaParamMapIpv4>(), UoaParamMapIpv4::LEN);
    assert_eq!(std::mem::size_of::<FourTuple>(), FourTuple::LEN);
    assert_eq!((UoaParamMap::LEN, UoaParamMapNoRealAf::LEN), (58, 56));
    assert_eq!((UoaParamMapIpv4::LEN, FourTuple::LEN), (18, 40));
}

#[test]
fn v1_query_ipv4() {
    let b = FourTuple::query(sa("10.0.0.1:5555"), sa("10.0.0.2:53"))
        .unwrap()
        .to_bytes();
    assert_eq!(b[..4], 2u32.to_ne_bytes());
    assert_eq!(b[4..8], [0x15, 0xb3, 0, 53]);
    assert_eq!(b[8..16], [10, 0, 0, 1, 10, 0, 0, 2]);
    assert!(b[16..].iter().all(|&x| x == 0));
}

#[test]
fn v1_query_ipv6_and_any() {
    let b = FourTuple::query(sa("[fd00::1]:5555"), sa("[::]:53"))
        .unwrap()
        .to_bytes();
    assert_eq!(b[..4], 10u32.to_ne_bytes());
    assert_eq!(b[8], 0xfd);
    assert_eq!(b[23], 1);
    assert!(
        b[24..].iter().all(|&x| x == 0),
        "any local address is all zero"
    );
}

#[test]
fn mapped_addresses_are_ipv4() {
    // A dual-stack AF_INET6 socket receives IPv4 datagrams from ::ffff:a.b.c.d.
    let q = FourTuple::query(sa("[::ffff:10.0.0.1]:5555"), sa("[::]:53")).unwrap();
    assert_eq!(q.ty, 2);
    assert_eq!(q.addrs[..8], [10, 0, 0, 1, 0, 0, 0, 0]);
    let q = UoaParamMap::query(sa("[::ffff:10.0.0.1]:5555"), sa("[::ffff:10.0.0.2]:53")).unwrap();
    assert_eq!({ q.af }, 2);
    assert_eq!(q.daddr[..4], [10, 0, 0, 2]);
}

#[test]
fn mixed_families_are_invalid() {
    let r = FourTuple::query(sa("10.0.0.1:1"), sa("[fd00::2]:2"));
    assert!(matches!(r, Err(Error::Invalid)));
    let r = UoaParamMapIpv4::query(sa("[fd00::1]:1"), sa("[fd00::2]:2"));
    assert!(matches!(r, Err(Error::FamilyNotSupported)));
}

#[test]
fn v1_answers() {
    // What src/sockopt.rs writes: type, CPORT, VPORT, CIP, VIP; the rest zero.
    let mut b = [0u8; 40];
    b[..4].copy_from_slice(&10u32.to_ne_bytes());
    b[4..8].copy_from_slice(&[0x9c, 0x40, 0x01, 0xbb]);
    b[8..24].copy_from_slice(
        &"2001:db8::10"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    b[24..40].copy_from_slice(
        &"2001:db8:1::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    let (c, v) = FourTuple::from_bytes(&b).answer().unwrap();
    assert_eq!(
        (c, v),
        (sa("[2001:db8::10]:40000"), sa("[2001:db8:1::1]:443"))
    );

    let mut b = [0u8; 40];
    b[..4].copy_from_slice(&0u32.to_ne_bytes()); // the option's 0/1 style
    b[4..8].copy_from_slice(&[0x9c, 0x40, 0, 80]);
    b[8..16].copy_from_slice(&[192, 0, 2, 10, 198, 51, 100, 1]);
    let (c, v) = FourTuple::from_bytes(&b).answer().unwrap();
    assert_eq!((c, v), (sa("192.0.2.10:40000"), sa("198.51.100.1:80")));

    b[..4].copy_from_slice(&7u32.to_ne_bytes());
    assert!(matches!(
        FourTuple::from_bytes(&b).answer(),
        Err(Error::Io(_))
    ));
}

#[test]
fn v0_answers() {
    // 58: real_af at 38 (host order), real_saddr at 40, real_sport at 56.
    let mut b = UoaParamMap::query(sa("10.0.0.1:5555"), sa("10.0.0.2:53"))
        .unwrap()
        .to_bytes();
    assert_eq!(b[..2], 2u16.to_ne_bytes());
    assert_eq!(b[2..6], [10, 0, 0, 1]);
    assert_eq!(b[18..22], [10, 0, 0, 2]);
    assert_eq!(b[34..38], [0x15, 0xb3, 0, 53]);
    b[38..40].copy_from_slice(&10u16.to_ne_bytes());
    b[40..56].copy_from_slice(
        &"2001:db8::10"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    b[56..58].copy_from_slice(&40000u16.to_be_bytes());
    let c = UoaParamMap::from_bytes(&b).answer().unwrap();
    assert_eq!(c, sa("[2001:db8::10]:40000"));

    // 56: an IPv4 client on an AF_INET6 query comes back mapped: given back as IPv4.
    let mut b = UoaParamMapNoRealAf::query(sa("[fd00::1]:5555"), sa("[fd00::2]:53"))
        .unwrap()
        .to_bytes();
    b[38..54].copy_from_slice(
        &"::ffff:192.0.2.10"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    b[54..56].copy_from_slice(&40000u16.to_be_bytes());
    let c = UoaParamMapNoRealAf::from_bytes(&b).answer().unwrap();
    assert_eq!(c, sa("192.0.2.10:40000"));

    // 18: real_saddr at 12, real_sport at 16.
    let mut b = UoaParamMapIpv4::query(sa("10.0.0.1:5555"), sa("10.0.0.2:53"))
        .unwrap()
        .to_bytes();
    assert_eq!(b[..12], [10, 0, 0, 1, 10, 0, 0, 2, 0x15, 0xb3, 0, 53]);
    b[12..18].copy_from_slice(&[192, 0, 2, 10, 0x9c, 0x40]);
    assert_eq!(
        UoaParamMapIpv4::from_bytes(&b).answer(),
        sa("192.0.2.10:40000")
    );
}

#[test]
fn errors_from_errno() {
    let e = |n| Error::from(std::io::Error::from_raw_os_error(n));
    assert!(matches!(e(libc::ENOENT), Error::NoRecord));
    assert!(matches!(e(libc::ENOPROTOOPT), Error::ModuleNotLoaded));
    assert!(matches!(e(libc::EINVAL), Error::Invalid));
    assert!(matches!(e(libc::EAFNOSUPPORT), Error::FamilyNotSupported));
    assert!(matches!(e(libc::EFAULT), Error::Io(_)));
    assert_eq!(e(libc::ENOPROTOOPT).raw_os_error(), Some(libc::ENOPROTOOPT));
    let io: std::io::Error = Error::NoRecord.into();
    assert_eq!(io.raw_os_error(), Some(libc::ENOENT));
}

#[test]
fn peer_and_local_of_a_real_socket() {
    // Without the module these are getpeername/getsockname as they always are.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, from) = l.accept().unwrap();
    assert_eq!(crate::peer_addr(&s).unwrap(), from);
    assert_eq!(crate::local_addr(&s).unwrap(), l.local_addr().unwrap());
    assert_eq!(crate::peer_addr(&c).unwrap(), l.local_addr().unwrap());
    assert_eq!(
        crate::local_addr(&l).unwrap().ip(),
        IpAddr::from([127, 0, 0, 1])
    );
    let u = std::net::UdpSocket::bind("[::1]:0").unwrap();
    assert_eq!(crate::local_addr(&u).unwrap(), u.local_addr().unwrap());
    assert!(
        matches!(crate::peer_addr(&u), Err(Error::Io(_))),
        "not connected"
    );
}
