// SPDX-License-Identifier: GPL-2.0

//! The crate's queries through the module's own ABI translation (sockopt.rs and
//! compat_v0.rs, included by path, as the module builds them), and the answers back
//! through the crate: the round trip the real getsockopt makes, without the kernel.

#[allow(dead_code, unreachable_pub)]
#[path = "../../../abi.rs"]
mod abi;
#[allow(dead_code, unreachable_pub)]
#[path = "../../../compat_v0.rs"]
mod compat_v0;
#[allow(dead_code, unreachable_pub)]
#[path = "../../../flow.rs"]
mod flow;
#[allow(dead_code, unreachable_pub)]
#[path = "../../../option_codec.rs"]
mod option_codec;
#[allow(dead_code, unreachable_pub)]
#[path = "../../../sockopt.rs"]
mod sockopt;

use std::net::{IpAddr, SocketAddr};

use abi::AbiError;
use flow::Query;
use option_codec::{Carried, Family};
use sockopt::{serve, MAX_LEN, UOA_SO_GET_LOOKUP, UOA_SO_GET_LOOKUP1};
use toa_uoa::abi::{FourTuple, UoaParamMap, UoaParamMapIpv4, UoaParamMapNoRealAf};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn bytes16(ip: IpAddr) -> [u8; 16] {
    let mut a = [0u8; 16];
    match ip {
        IpAddr::V4(v) => a[..4].copy_from_slice(&v.octets()),
        IpAddr::V6(v) => a = v.octets(),
    }
    a
}

fn carried(client: SocketAddr, service: SocketAddr) -> Carried {
    Carried {
        family: if client.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        },
        cip: bytes16(client.ip()),
        cport: client.port(),
        vip: bytes16(service.ip()),
        vport: service.port(),
    }
}

/// Serves `input` with a table holding one record, keyed by the tuple (peer, local).
fn kernel(
    optname: i32,
    input: &[u8],
    peer: SocketAddr,
    local: SocketAddr,
    record: Carried,
) -> Result<Vec<u8>, AbiError> {
    let mut out = [0u8; MAX_LEN];
    let n = serve(
        17,
        optname,
        input.len(),
        input,
        |q: &Query| {
            let k = &q.key;
            let same = k.saddr == bytes16(peer.ip())
                && k.sport == peer.port()
                && k.dport == local.port()
                && (q.any_local || k.daddr == bytes16(local.ip()));
            same.then_some(record)
        },
        &mut out,
    )?;
    Ok(out[..n].to_vec())
}

const CASES: [(&str, &str, &str, &str); 4] = [
    (
        "10.0.0.1:5555",
        "10.0.0.2:53",
        "192.0.2.10:40000",
        "198.51.100.1:80",
    ),
    (
        "[fd00::1]:5555",
        "[fd00::2]:53",
        "192.0.2.10:40000",
        "198.51.100.1:80",
    ),
    (
        "10.0.0.1:5555",
        "10.0.0.2:53",
        "[2001:db8::10]:40000",
        "[2001:db8:1::1]:443",
    ),
    (
        "[fd00::1]:5555",
        "[fd00::2]:53",
        "[2001:db8::10]:40000",
        "[2001:db8:1::1]:443",
    ),
];

#[test]
fn v1_round_trip_in_the_four_cases() {
    for (p, l, c, v) in CASES {
        let (peer, local, client, service) = (sa(p), sa(l), sa(c), sa(v));
        for local in [
            local,
            SocketAddr::new(IpAddr::from([0u8; 16]), local.port()),
        ] {
            let q = FourTuple::query(peer, local).unwrap().to_bytes();
            let out = kernel(
                UOA_SO_GET_LOOKUP1,
                &q,
                peer,
                local,
                carried(client, service),
            )
            .unwrap();
            let out: [u8; 40] = out.try_into().unwrap();
            assert_eq!(
                FourTuple::from_bytes(&out).answer().unwrap(),
                (client, service)
            );
        }
    }
}

#[test]
fn v0_round_trips() {
    for (p, l, c, v) in CASES {
        let (peer, local, client, service) = (sa(p), sa(l), sa(c), sa(v));
        let rec = carried(client, service);

        let q = UoaParamMap::query(peer, local).unwrap().to_bytes();
        let out = kernel(UOA_SO_GET_LOOKUP, &q, peer, local, rec).unwrap();
        let out: [u8; 58] = out.try_into().unwrap();
        assert_eq!(
            UoaParamMap::from_bytes(&out).answer().unwrap(),
            client,
            "58 {p} {c}"
        );

        let q = UoaParamMapNoRealAf::query(peer, local).unwrap().to_bytes();
        match kernel(UOA_SO_GET_LOOKUP, &q, peer, local, rec) {
            Ok(out) => {
                let out: [u8; 56] = out.try_into().unwrap();
                let got = UoaParamMapNoRealAf::from_bytes(&out).answer().unwrap();
                assert_eq!(got, client, "56 {p} {c}");
            }
            // The 64 case cannot be said without real_af.
            Err(e) => {
                assert!(peer.is_ipv4() && client.is_ipv6() && e == AbiError::FamilyNotSupported)
            }
        }

        match UoaParamMapIpv4::query(peer, local) {
            Ok(q) => match kernel(UOA_SO_GET_LOOKUP, &q.to_bytes(), peer, local, rec) {
                Ok(out) => {
                    let out: [u8; 18] = out.try_into().unwrap();
                    assert_eq!(UoaParamMapIpv4::from_bytes(&out).answer(), client);
                }
                Err(e) => assert!(client.is_ipv6() && e == AbiError::FamilyNotSupported),
            },
            Err(toa_uoa::Error::FamilyNotSupported) => assert!(peer.is_ipv6()),
            Err(e) => panic!("{e}"),
        }
    }
}
