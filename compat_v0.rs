// SPDX-License-Identifier: GPL-2.0

//! getsockopt(IPPROTO_IP, UOA_SO_GET_LOOKUP): the v0 look-up ABI that existing UDP
//! servers are compiled against, in its three sizes, told apart by optlen:
//!
//! - 18 bytes, the oldest: `__be32 saddr, daddr; __be16 sport, dport; __be32 real_saddr;
//!   __be16 real_sport;` IPv4 only.
//! - 56 bytes, the design note's layout (`struct uoa_param_map_no_real_af` in the header):
//!   `__be16 af` (a plain AF_* value, as callers set it), `union inet_addr saddr, daddr`,
//!   `__be16 sport, dport`,
//!   `union inet_addr real_saddr`, `__be16 real_sport`. No client family: an IPv4 client
//!   on an AF_INET6 query comes back IPv4-mapped, an IPv6 client on AF_INET is refused.
//! - 58 bytes, DPVS's uoa.h: the same with `__u16 real_af` after `dport`, so every case
//!   is answered. This is the layout that must keep working unchanged.

// The rules this file promises, checked by clippy in the module build (CLIPPY=1) and in the
// host crate userspace/kcore, wherever it is compiled.
#![deny(
    unsafe_code,
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::panic
)]

use crate::abi::{get_addr, get_be16, get_ne16, put, AbiError};
use crate::flow::{Query, AF_INET, AF_INET6};
use crate::option_codec::{Carried, Family};

/// One of the three v0 structure layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// 18 bytes, IPv4 only.
    Ipv4Only,
    /// 56 bytes, no client family.
    NoRealAf,
    /// 58 bytes, with `real_af` (DPVS).
    WithRealAf,
}

impl Layout {
    /// The largest layout that fits in `optlen`, or `None` below 18 bytes.
    pub(crate) fn for_optlen(optlen: usize) -> Option<Layout> {
        match optlen {
            58.. => Some(Layout::WithRealAf),
            56..=57 => Some(Layout::NoRealAf),
            18..=55 => Some(Layout::Ipv4Only),
            _ => None,
        }
    }

    /// Size of the structure.
    pub(crate) fn len(self) -> usize {
        match self {
            Layout::Ipv4Only => 18,
            Layout::NoRealAf => 56,
            Layout::WithRealAf => 58,
        }
    }

    /// Offset of `real_saddr`.
    fn real_saddr_at(self) -> usize {
        match self {
            Layout::Ipv4Only => 12,
            Layout::NoRealAf => 38,
            Layout::WithRealAf => 40,
        }
    }
}

/// Offsets shared by the 56- and 58-byte layouts.
const AF_AT: usize = 0;
const SADDR_AT: usize = 2;
const DADDR_AT: usize = 18;
const SPORT_AT: usize = 34;
const DPORT_AT: usize = 36;
const REAL_AF_AT: usize = 38;

/// The family `af` names (56/58 bytes), or `Invalid`.
fn query_family(input: &[u8]) -> Result<Family, AbiError> {
    match get_ne16(input, AF_AT) {
        AF_INET => Ok(Family::V4),
        AF_INET6 => Ok(Family::V6),
        _ => Err(AbiError::Invalid),
    }
}

/// Decodes a v0 input of `layout` (`input` is exactly `layout.len()` bytes) asked on a
/// socket of `proto`.
pub(crate) fn query(proto: u8, layout: Layout, input: &[u8]) -> Result<Query, AbiError> {
    match layout {
        Layout::Ipv4Only => Ok(Query::from_caller(
            proto,
            Family::V4,
            get_addr(input, 0, 4),
            get_be16(input, 8),
            get_addr(input, 4, 4),
            get_be16(input, 10),
        )),
        Layout::NoRealAf | Layout::WithRealAf => {
            let family = query_family(input)?;
            let n = family.addr_len();
            Ok(Query::from_caller(
                proto,
                family,
                get_addr(input, SADDR_AT, n),
                get_be16(input, SPORT_AT),
                get_addr(input, DADDR_AT, n),
                get_be16(input, DPORT_AT),
            ))
        }
    }
}

/// Encodes the v0 answer into `out`: the caller's input echoed, the output fields set,
/// nothing else. Returns the length to report (the layout's size).
pub(crate) fn answer(
    layout: Layout,
    input: &[u8],
    c: &Carried,
    out: &mut [u8],
) -> Result<usize, AbiError> {
    let len = layout.len();
    let out = out.get_mut(..len).ok_or(AbiError::Invalid)?;
    out.copy_from_slice(input.get(..len).ok_or(AbiError::Invalid)?);
    let at = layout.real_saddr_at();
    // real_saddr (16 bytes but 4 in the oldest layout) and real_sport, zeroed first: the
    // caller's bytes there are not echoed back.
    let real_len = if layout == Layout::Ipv4Only { 4 } else { 16 };
    out.get_mut(at..at + real_len + 2)
        .into_iter()
        .flatten()
        .for_each(|b| *b = 0);
    let real: [u8; 16] = match (layout, c.family) {
        (Layout::Ipv4Only, Family::V6) => return Err(AbiError::FamilyNotSupported),
        (Layout::NoRealAf, Family::V6) if query_family(input)? == Family::V4 => {
            return Err(AbiError::FamilyNotSupported)
        }
        (Layout::NoRealAf, Family::V4) if query_family(input)? == Family::V6 => {
            // ::ffff:a.b.c.d
            let mut m = get_addr(&c.cip, 0, 4);
            m.rotate_right(12);
            put(&mut m, 10, &[0xff, 0xff]);
            m
        }
        _ => c.cip,
    };
    put(out, at, &real[..real_len]);
    put(out, at + real_len, &c.cport.to_be_bytes());
    if layout == Layout::WithRealAf {
        let af = match c.family {
            Family::V4 => AF_INET,
            Family::V6 => AF_INET6,
        };
        put(out, REAL_AF_AT, &af.to_ne_bytes());
    }
    Ok(len)
}
