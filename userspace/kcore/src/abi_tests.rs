//! The getsockopt ABI (PROTOCOL.md section 4) byte by byte: v1 in both `type` styles,
//! v0 in its 18, 56 and 58 byte layouts, the family rules, the wildcard, the errors.

use crate::abi::AbiError;
use crate::flow::{Query, AF_INET, AF_INET6};
use crate::option_codec::{Carried, Family};
use crate::sockopt::{serve, MAX_LEN, UOA_SO_GET_LOOKUP, UOA_SO_GET_LOOKUP1};
use std::vec::Vec;

/// The protocol of the socket the look-ups are made on.
const UDP: u8 = 17;

/// What the table was asked, with the wildcard as `None`.
#[derive(Clone, Copy, Debug)]
struct Asked {
    family: Family,
    saddr: [u8; 16],
    sport: u16,
    daddr: Option<[u8; 16]>,
    dport: u16,
}

impl From<&Query> for Asked {
    fn from(q: &Query) -> Asked {
        assert_eq!(q.key.proto, UDP, "the socket's protocol");
        if q.any_local {
            assert_eq!(q.key.daddr, [0; 16], "a wildcard query's daddr");
        }
        Asked {
            family: q.key.family,
            saddr: q.key.saddr,
            sport: q.key.sport,
            daddr: (!q.any_local).then_some(q.key.daddr),
            dport: q.key.dport,
        }
    }
}

fn v4(a: [u8; 4]) -> [u8; 16] {
    let mut x = [0u8; 16];
    x[..4].copy_from_slice(&a);
    x
}

fn v6(last: u8) -> [u8; 16] {
    let mut x = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    x[15] = last;
    x
}

fn carried_v4() -> Carried {
    Carried::v4([192, 0, 2, 10], 40000, [198, 51, 100, 1], 80)
}

fn carried_v6() -> Carried {
    Carried::v6(v6(0x10), 40000, v6(0x01), 443)
}

/// Serves with a table of one record; returns the answer bytes or the error, and the
/// query the table was asked.
fn call(
    optname: i32,
    optlen: usize,
    input: &[u8],
    record: Carried,
) -> (Result<Vec<u8>, AbiError>, Option<Asked>) {
    let mut asked = None;
    let mut out = [0xAAu8; MAX_LEN];
    let n = optlen.min(MAX_LEN).min(input.len());
    let r = serve(
        UDP,
        optname,
        optlen,
        &input[..n],
        |q| {
            asked = Some(Asked::from(q));
            Some(record)
        },
        &mut out,
    );
    (r.map(|len| out[..len].to_vec()), asked)
}

fn v1_input(ty: u32, sport: u16, dport: u16, saddr: &[u8], daddr: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&ty.to_ne_bytes());
    b.extend_from_slice(&sport.to_be_bytes());
    b.extend_from_slice(&dport.to_be_bytes());
    b.extend_from_slice(saddr);
    b.extend_from_slice(daddr);
    b.resize(40, 0);
    b
}

#[test]
fn v1_44_answer_layout() {
    let input = v1_input(AF_INET.into(), 5555, 9000, &[10, 0, 0, 1], &[10, 0, 0, 2]);
    let (r, q) = call(UOA_SO_GET_LOOKUP1, 40, &input, carried_v4());
    let q = q.unwrap();
    assert_eq!(q.family, Family::V4);
    assert_eq!(q.saddr, v4([10, 0, 0, 1]));
    assert_eq!(q.daddr, Some(v4([10, 0, 0, 2])));
    assert_eq!((q.sport, q.dport), (5555, 9000));
    let out = r.unwrap();
    assert_eq!(out.len(), 40);
    assert_eq!(
        u32::from_ne_bytes(out[0..4].try_into().unwrap()),
        u32::from(AF_INET)
    );
    assert_eq!(&out[4..6], &40000u16.to_be_bytes());
    assert_eq!(&out[6..8], &80u16.to_be_bytes());
    assert_eq!(&out[8..12], &[192, 0, 2, 10]);
    assert_eq!(&out[12..16], &[198, 51, 100, 1]);
    assert!(out[16..].iter().all(|&b| b == 0), "rest zero-filled");
}

#[test]
fn v1_type_style_is_kept() {
    // 0/1 in, 0/1 out; the carried family decides the value.
    let input = v1_input(0, 1, 2, &[10, 0, 0, 1], &[10, 0, 0, 2]);
    let out = call(UOA_SO_GET_LOOKUP1, 40, &input, carried_v6())
        .0
        .unwrap();
    assert_eq!(u32::from_ne_bytes(out[0..4].try_into().unwrap()), 1);
    assert_eq!(&out[8..24], &v6(0x10));
    assert_eq!(&out[24..40], &v6(0x01));
    let input = v1_input(AF_INET6.into(), 1, 2, &v6(1), &v6(2));
    let out = call(UOA_SO_GET_LOOKUP1, 40, &input, carried_v4())
        .0
        .unwrap();
    assert_eq!(
        u32::from_ne_bytes(out[0..4].try_into().unwrap()),
        u32::from(AF_INET)
    );
    assert_eq!(&out[8..12], &[192, 0, 2, 10]);
}

#[test]
fn v1_ipv6_query_and_wildcard() {
    let input = v1_input(AF_INET6.into(), 7, 8, &v6(1), &[0; 16]);
    let (_, q) = call(UOA_SO_GET_LOOKUP1, 40, &input, carried_v6());
    let q = q.unwrap();
    assert_eq!(q.family, Family::V6);
    assert_eq!(q.saddr, v6(1));
    assert_eq!(q.daddr, None, "all-zero daddr is the wildcard");
}

#[test]
fn v1_mapped_query_is_ipv4() {
    let mut s = [0u8; 16];
    s[10] = 0xff;
    s[11] = 0xff;
    s[12..].copy_from_slice(&[10, 0, 0, 1]);
    let mut d = s;
    d[15] = 2;
    let input = v1_input(AF_INET6.into(), 7, 8, &s, &d);
    let q = call(UOA_SO_GET_LOOKUP1, 40, &input, carried_v4())
        .1
        .unwrap();
    assert_eq!(q.family, Family::V4);
    assert_eq!(q.saddr, v4([10, 0, 0, 1]));
    assert_eq!(q.daddr, Some(v4([10, 0, 0, 2])));
}

#[test]
fn v1_errors() {
    let input = v1_input(AF_INET.into(), 1, 2, &[10, 0, 0, 1], &[10, 0, 0, 2]);
    for optlen in 0..40 {
        assert_eq!(
            call(UOA_SO_GET_LOOKUP1, optlen, &input, carried_v4()).0,
            Err(AbiError::Invalid)
        );
    }
    for ty in [3u32, 9, 11, 0xffff_ffff] {
        let input = v1_input(ty, 1, 2, &[10, 0, 0, 1], &[10, 0, 0, 2]);
        assert_eq!(
            call(UOA_SO_GET_LOOKUP1, 40, &input, carried_v4()).0,
            Err(AbiError::Invalid)
        );
    }
    let mut out = [0u8; MAX_LEN];
    assert_eq!(
        serve(UDP, UOA_SO_GET_LOOKUP1, 40, &input, |_| None, &mut out),
        Err(AbiError::NoRecord)
    );
    assert_eq!(
        serve(UDP, 2050, 40, &input, |_| None, &mut out),
        Err(AbiError::Invalid)
    );
    // A bigger buffer is fine; 40 bytes are served.
    assert_eq!(
        call(UOA_SO_GET_LOOKUP1, 64, &input, carried_v4())
            .0
            .unwrap()
            .len(),
        40
    );
}

fn v0_input(af: u16, saddr: &[u8], daddr: &[u8], sport: u16, dport: u16, len: usize) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&af.to_ne_bytes());
    let mut s = [0u8; 16];
    s[..saddr.len()].copy_from_slice(saddr);
    let mut d = [0u8; 16];
    d[..daddr.len()].copy_from_slice(daddr);
    b.extend_from_slice(&s);
    b.extend_from_slice(&d);
    b.extend_from_slice(&sport.to_be_bytes());
    b.extend_from_slice(&dport.to_be_bytes());
    b.resize(len, 0x55); // the caller's garbage in the output fields
    b
}

#[test]
fn v0_58_dpvs_layout() {
    let input = v0_input(AF_INET, &[10, 0, 0, 1], &[10, 0, 0, 2], 5555, 9000, 58);
    let (r, q) = call(UOA_SO_GET_LOOKUP, 58, &input, carried_v6());
    let q = q.unwrap();
    assert_eq!((q.family, q.sport, q.dport), (Family::V4, 5555, 9000));
    let out = r.unwrap();
    assert_eq!(out.len(), 58);
    assert_eq!(&out[..38], &input[..38], "input echoed");
    assert_eq!(u16::from_ne_bytes([out[38], out[39]]), AF_INET6, "real_af");
    assert_eq!(&out[40..56], &v6(0x10));
    assert_eq!(&out[56..58], &40000u16.to_be_bytes());
    // IPv4 client: real_af AF_INET, address in the first 4 bytes, the rest zero.
    let out = call(UOA_SO_GET_LOOKUP, 58, &input, carried_v4()).0.unwrap();
    assert_eq!(u16::from_ne_bytes([out[38], out[39]]), AF_INET);
    assert_eq!(&out[40..44], &[192, 0, 2, 10]);
    assert!(out[44..56].iter().all(|&b| b == 0));
}

#[test]
fn v0_56_family_rules() {
    // Same family: as is.
    let input = v0_input(AF_INET, &[10, 0, 0, 1], &[10, 0, 0, 2], 1, 2, 56);
    let out = call(UOA_SO_GET_LOOKUP, 56, &input, carried_v4()).0.unwrap();
    assert_eq!(out.len(), 56);
    assert_eq!(&out[38..42], &[192, 0, 2, 10]);
    assert!(out[42..54].iter().all(|&b| b == 0));
    assert_eq!(&out[54..56], &40000u16.to_be_bytes());
    // IPv4 client, AF_INET6 query: mapped.
    let input6 = v0_input(AF_INET6, &v6(1), &v6(2), 1, 2, 56);
    let out = call(UOA_SO_GET_LOOKUP, 56, &input6, carried_v4())
        .0
        .unwrap();
    assert_eq!(
        &out[38..54],
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 10]
    );
    // IPv6 client, AF_INET query: cannot be said.
    assert_eq!(
        call(UOA_SO_GET_LOOKUP, 56, &input, carried_v6()).0,
        Err(AbiError::FamilyNotSupported)
    );
    // IPv6 client, AF_INET6 query.
    let out = call(UOA_SO_GET_LOOKUP, 57, &input6, carried_v6())
        .0
        .unwrap();
    assert_eq!(out.len(), 56, "57 bytes serve the 56 layout");
    assert_eq!(&out[38..54], &v6(0x10));
}

#[test]
fn v0_18_ipv4_only() {
    let mut input = Vec::new();
    input.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
    input.extend_from_slice(&5555u16.to_be_bytes());
    input.extend_from_slice(&9000u16.to_be_bytes());
    input.extend_from_slice(&[0x55; 6]);
    let (r, q) = call(UOA_SO_GET_LOOKUP, 18, &input, carried_v4());
    let q = q.unwrap();
    assert_eq!(
        (q.family, q.saddr, q.daddr, q.sport, q.dport),
        (
            Family::V4,
            v4([10, 0, 0, 1]),
            Some(v4([10, 0, 0, 2])),
            5555,
            9000
        )
    );
    let out = r.unwrap();
    assert_eq!(out.len(), 18);
    assert_eq!(&out[12..16], &[192, 0, 2, 10]);
    assert_eq!(&out[16..18], &40000u16.to_be_bytes());
    assert_eq!(
        call(UOA_SO_GET_LOOKUP, 18, &input, carried_v6()).0,
        Err(AbiError::FamilyNotSupported)
    );
    // 18..=55 all serve 18 bytes.
    for optlen in 18..56 {
        let mut long = input.clone();
        long.resize(optlen, 0);
        assert_eq!(
            call(UOA_SO_GET_LOOKUP, optlen, &long, carried_v4())
                .0
                .unwrap()
                .len(),
            18
        );
    }
}

#[test]
fn v0_errors() {
    let input = v0_input(AF_INET, &[10, 0, 0, 1], &[10, 0, 0, 2], 1, 2, 58);
    for optlen in 0..18 {
        assert_eq!(
            call(UOA_SO_GET_LOOKUP, optlen, &input, carried_v4()).0,
            Err(AbiError::Invalid)
        );
    }
    for af in [0u16, 1, 3, 2u16.to_be(), 0xffff] {
        let input = v0_input(af, &[10, 0, 0, 1], &[10, 0, 0, 2], 1, 2, 58);
        assert_eq!(
            call(UOA_SO_GET_LOOKUP, 58, &input, carried_v4()).0,
            Err(AbiError::Invalid),
            "af {af}"
        );
        assert_eq!(
            call(UOA_SO_GET_LOOKUP, 56, &input[..56], carried_v4()).0,
            Err(AbiError::Invalid)
        );
    }
    let mut out = [0u8; MAX_LEN];
    assert_eq!(
        serve(UDP, UOA_SO_GET_LOOKUP, 58, &input, |_| None, &mut out),
        Err(AbiError::NoRecord)
    );
}

#[test]
fn random_inputs_never_panic() {
    // A cheap deterministic generator: every optname, optlen 0..=70, random bytes.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        let mut input = [0u8; MAX_LEN];
        for b in input.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        let optlen = (x % 71) as usize;
        let optname = 2046 + (x >> 8) as i32 % 6;
        let mut out = [0u8; MAX_LEN];
        let rec = if x & 1 == 0 {
            carried_v4()
        } else {
            carried_v6()
        };
        let _ = serve(
            UDP,
            optname,
            optlen,
            &input[..optlen.min(MAX_LEN)],
            |_| Some(rec),
            &mut out,
        );
    }
}
