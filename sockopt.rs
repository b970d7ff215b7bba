// SPDX-License-Identifier: GPL-2.0

//! getsockopt(IPPROTO_IP, UOA_SO_GET_LOOKUP1): the v1 look-up ABI, and the dispatch of
//! both optnames (v0 lives in `compat_v0`). Plain Rust over byte buffers: the user
//! memory copies and the table are the caller's, so a host crate tests all of this.

// The rules this file promises, checked by clippy in the module build (CLIPPY=1) and in the
// host crate userspace/kcore, wherever it is compiled.
#![deny(
    unsafe_code,
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::panic
)]

use crate::compat_v0;
use crate::option_codec::{Carried, Family};

/// UOA_SO_GET_LOOKUP: the v0 look-up (18, 56 or 58 bytes).
pub(crate) const UOA_SO_GET_LOOKUP: i32 = 2048;
/// UOA_SO_GET_LOOKUP1: the v1 look-up (40 bytes).
pub(crate) const UOA_SO_GET_LOOKUP1: i32 = 2049;
/// Linux's AF_INET.
pub(crate) const AF_INET: u16 = 2;
/// Linux's AF_INET6.
pub(crate) const AF_INET6: u16 = 10;
/// Size of `union uoa_sockopt_param` (v1).
pub(crate) const V1_LEN: usize = 40;
/// The largest structure served: what the caller copies in at most.
pub(crate) const MAX_LEN: usize = 58;

/// Why a look-up is refused; the kernel side turns it into an errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AbiError {
    /// EINVAL: optlen too small for the structure, or a family it does not know.
    Invalid,
    /// EAFNOSUPPORT: the answer cannot be said in the v0 layout asked for.
    FamilyNotSupported,
    /// ENOENT: no record for the tuple.
    NoRecord,
}

/// A look-up: the datagram's tuple as this server saw it (`saddr`/`sport` the
/// balancer's side, `daddr`/`dport` this server's), ports in host order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Query {
    /// Family of the tuple (that of the balancer-to-server leg).
    pub(crate) family: Family,
    /// Source address (IPv4 in the first 4 bytes).
    pub(crate) saddr: [u8; 16],
    /// Source port.
    pub(crate) sport: u16,
    /// Destination address, `None` for "any local address" (all-zero input).
    pub(crate) daddr: Option<[u8; 16]>,
    /// Destination port.
    pub(crate) dport: u16,
}

const V4_MAPPED_PREFIX: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it stands for.
fn unmap(addr: &[u8; 16]) -> Option<[u8; 16]> {
    if addr.get(..12) != Some(&V4_MAPPED_PREFIX[..]) {
        return None;
    }
    Some(get_addr(addr, 12, 4))
}

impl Query {
    /// A query from the addresses as the caller gave them. A dual-stack AF_INET6 socket
    /// receives IPv4 datagrams as ::ffff:a.b.c.d: those are looked up as the IPv4 tuple
    /// the record was made from. An all-zero (or ::ffff:0.0.0.0) daddr is the wildcard.
    pub(crate) fn new(
        family: Family,
        saddr: [u8; 16],
        sport: u16,
        daddr: [u8; 16],
        dport: u16,
    ) -> Query {
        let (family, saddr, daddr) = match (family, unmap(&saddr)) {
            (Family::V6, Some(s)) => (Family::V4, s, unmap(&daddr).unwrap_or(daddr)),
            _ => (family, saddr, daddr),
        };
        let daddr = if daddr.iter().all(|&b| b == 0) {
            None
        } else {
            Some(daddr)
        };
        Query {
            family,
            saddr,
            sport,
            daddr,
            dport,
        }
    }
}

/// Big-endian (network order) u16 at `at`; 0 if out of range (callers checked lengths).
pub(crate) fn get_be16(buf: &[u8], at: usize) -> u16 {
    match buf.get(at..at + 2) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => 0,
    }
}

/// Host-order u16 at `at`; 0 if out of range.
pub(crate) fn get_ne16(buf: &[u8], at: usize) -> u16 {
    match buf.get(at..at + 2) {
        Some(&[a, b]) => u16::from_ne_bytes([a, b]),
        _ => 0,
    }
}

/// `n` bytes from `at` into a zeroed 16-byte address; zeros if out of range.
pub(crate) fn get_addr(buf: &[u8], at: usize, n: usize) -> [u8; 16] {
    let mut a = [0u8; 16];
    if let (Some(src), Some(dst)) = (buf.get(at..at + n), a.get_mut(..n)) {
        dst.copy_from_slice(src);
    }
    a
}

/// Writes `src` at `at`; does nothing if it does not fit (callers sized `out`).
pub(crate) fn put(out: &mut [u8], at: usize, src: &[u8]) {
    if let Some(dst) = out.get_mut(at..at + src.len()) {
        dst.copy_from_slice(src);
    }
}

/// How the caller named the family in v1's `type`: AF_* values or the option's 0/1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TypeStyle {
    AddressFamily,
    OperationBit,
}

/// Decodes a v1 input (`union uoa_sockopt_param`, at least [`V1_LEN`] bytes).
fn v1_query(input: &[u8]) -> Result<(Query, TypeStyle), AbiError> {
    let ty = match input.get(..4) {
        Some(&[a, b, c, d]) => u32::from_ne_bytes([a, b, c, d]),
        _ => return Err(AbiError::Invalid),
    };
    let (family, style) = match ty {
        t if t == u32::from(AF_INET) => (Family::V4, TypeStyle::AddressFamily),
        t if t == u32::from(AF_INET6) => (Family::V6, TypeStyle::AddressFamily),
        0 => (Family::V4, TypeStyle::OperationBit),
        1 => (Family::V6, TypeStyle::OperationBit),
        _ => return Err(AbiError::Invalid),
    };
    // `union two_addr`: saddr then daddr, 4 bytes each for IPv4, 16 for IPv6.
    let n = family.addr_len();
    let saddr = get_addr(input, 8, n);
    let daddr = get_addr(input, 8 + n, n);
    let q = Query::new(family, saddr, get_be16(input, 4), daddr, get_be16(input, 6));
    Ok((q, style))
}

/// Encodes the v1 answer: the carried family (in the caller's `type` style), CPORT,
/// VPORT, CIP, VIP; every other byte zero.
fn v1_answer(style: TypeStyle, c: &Carried, out: &mut [u8]) {
    out.iter_mut().for_each(|b| *b = 0);
    let ty: u32 = match (style, c.family) {
        (TypeStyle::AddressFamily, Family::V4) => AF_INET.into(),
        (TypeStyle::AddressFamily, Family::V6) => AF_INET6.into(),
        (TypeStyle::OperationBit, Family::V4) => 0,
        (TypeStyle::OperationBit, Family::V6) => 1,
    };
    put(out, 0, &ty.to_ne_bytes());
    put(out, 4, &c.cport.to_be_bytes());
    put(out, 6, &c.vport.to_be_bytes());
    let n = c.family.addr_len();
    put(out, 8, c.cip.get(..n).unwrap_or(&[]));
    put(out, 8 + n, c.vip.get(..n).unwrap_or(&[]));
}

/// Serves one getsockopt call. `optlen` is what the caller passed, `input` the first
/// `min(optlen, MAX_LEN)` bytes of its buffer, `lookup` finds the record. On success the
/// answer is in `out[..n]` and `n` is the length to report back.
pub(crate) fn serve(
    optname: i32,
    optlen: usize,
    input: &[u8],
    lookup: impl FnOnce(&Query) -> Option<Carried>,
    out: &mut [u8; MAX_LEN],
) -> Result<usize, AbiError> {
    match optname {
        UOA_SO_GET_LOOKUP1 => {
            if optlen < V1_LEN {
                return Err(AbiError::Invalid);
            }
            let input = input.get(..V1_LEN).ok_or(AbiError::Invalid)?;
            let (q, style) = v1_query(input)?;
            let c = lookup(&q).ok_or(AbiError::NoRecord)?;
            v1_answer(style, &c, out.get_mut(..V1_LEN).ok_or(AbiError::Invalid)?);
            Ok(V1_LEN)
        }
        UOA_SO_GET_LOOKUP => {
            let layout = compat_v0::Layout::for_optlen(optlen).ok_or(AbiError::Invalid)?;
            let input = input.get(..layout.len()).ok_or(AbiError::Invalid)?;
            let q = compat_v0::query(layout, input)?;
            let c = lookup(&q).ok_or(AbiError::NoRecord)?;
            compat_v0::answer(layout, input, &c, out)
        }
        _ => Err(AbiError::Invalid),
    }
}
