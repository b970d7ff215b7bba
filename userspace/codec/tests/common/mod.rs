//! Packet builders shared by the codec's integration tests.
//!
//! The builders make real, well-formed IPv4/IPv6 packets (checksummed IPv4 header, correct
//! lengths) with TCP or UDP headers, so the tests parse what a balancer would send.
#![allow(dead_code)]

use toa_uoa_codec::{Carried, Family, IPPROTO_TCP, IPPROTO_UDP};

pub mod dpvs;

/// Outer (balancer -> real server leg) addresses and ports used by the tests: documentation
/// ranges (RFC 5737, RFC 3849), never sent anywhere.
pub const LIP4: [u8; 4] = [198, 51, 100, 7];
pub const RIP4: [u8; 4] = [198, 51, 100, 20];
pub const LIP6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
pub const RIP6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20,
];
pub const LPORT: u16 = 40123;
pub const RPORT: u16 = 8080;

/// A carried IPv4 client/virtual pair.
pub fn carried4() -> Carried {
    Carried::v4([203, 0, 113, 5], 51515, [192, 0, 2, 80], 80)
}

/// A carried IPv6 client/virtual pair.
pub fn carried6() -> Carried {
    Carried::v6(
        [
            0x20, 0x01, 0x0d, 0xb8, 0xc1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5,
        ],
        51516,
        [
            0x20, 0x01, 0x0d, 0xb8, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80,
        ],
        443,
    )
}

pub fn carried(family: Family) -> Carried {
    match family {
        Family::V4 => carried4(),
        Family::V6 => carried6(),
    }
}

/// A TCP (SYN, 20 bytes) or UDP (8 bytes + payload) header from LPORT to RPORT.
pub fn transport(protocol: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&LPORT.to_be_bytes());
    t.extend_from_slice(&RPORT.to_be_bytes());
    match protocol {
        IPPROTO_TCP => {
            t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
        }
        IPPROTO_UDP => {
            let len = u16::try_from(8 + payload.len()).unwrap();
            t.extend_from_slice(&len.to_be_bytes());
            t.extend_from_slice(&[0, 0]);
        }
        _ => {}
    }
    t.extend_from_slice(payload);
    t
}

fn checksum(hdr: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in hdr.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 packet LIP4 -> RIP4 with `options` (a multiple of 4 bytes, at most 40) and `rest`
/// (transport header and payload) after the header.
pub fn ipv4(options: &[u8], protocol: u8, rest: &[u8]) -> Vec<u8> {
    assert!(
        options.len() % 4 == 0 && options.len() <= 40,
        "bad test options"
    );
    let ihl = 5 + options.len() / 4;
    let total = u16::try_from(ihl * 4 + rest.len()).unwrap();
    let mut p = vec![0x40 | ihl as u8, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0x12, 0x34, 0x40, 0x00, 64, protocol, 0, 0]);
    p.extend_from_slice(&LIP4);
    p.extend_from_slice(&RIP4);
    p.extend_from_slice(options);
    let sum = checksum(&p);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p.extend_from_slice(rest);
    p
}

/// An IPv6 packet LIP6 -> RIP6 whose Next Header is `first_nh`, followed by `chain` (the
/// extension headers, already laid out) and `rest`.
pub fn ipv6(first_nh: u8, chain: &[u8], rest: &[u8]) -> Vec<u8> {
    let plen = u16::try_from(chain.len() + rest.len()).unwrap();
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&plen.to_be_bytes());
    p.push(first_nh);
    p.push(64);
    p.extend_from_slice(&LIP6);
    p.extend_from_slice(&RIP6);
    p.extend_from_slice(chain);
    p.extend_from_slice(rest);
    p
}

/// Encoded IPv4 option for `c` (16 or 40 bytes).
pub fn v4_option(c: &Carried) -> Vec<u8> {
    let mut buf = [0u8; 40];
    let n = toa_uoa_codec::encode_ipv4_option(c, &mut buf).unwrap();
    buf[..n].to_vec()
}

/// Encoded IPv6 Destination Options header for `c` (16 or 40 bytes).
pub fn v6_dstopt(c: &Carried, next_header: u8) -> Vec<u8> {
    let mut buf = [0u8; 40];
    let n = toa_uoa_codec::encode_ipv6_dstopt(c, next_header, &mut buf).unwrap();
    buf[..n].to_vec()
}

/// A generic extension header (Hop-by-Hop / Destination Options / Routing shape): next header,
/// hdrlen computed from `body` (which must make the total a multiple of 8), then `body`.
pub fn ext_header(next_header: u8, body: &[u8]) -> Vec<u8> {
    let total = 2 + body.len();
    assert!(
        total % 8 == 0,
        "extension header must be a multiple of 8 bytes"
    );
    let mut h = vec![next_header, u8::try_from(total / 8 - 1).unwrap()];
    h.extend_from_slice(body);
    h
}

/// A full packet carrying `c` in the outer `outer` family, for `protocol`.
pub fn packet_with_option(outer: Family, c: &Carried, protocol: u8) -> Vec<u8> {
    let rest = transport(protocol, b"hello");
    match outer {
        Family::V4 => ipv4(&v4_option(c), protocol, &rest),
        Family::V6 => {
            let mut chain = v6_dstopt(c, protocol);
            chain.extend_from_slice(&rest);
            ipv6(60, &chain, &[])
        }
    }
}
