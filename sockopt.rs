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

use crate::abi::{get_addr, get_be16, put, AbiError};
use crate::compat_v0;
use crate::flow::{Query, AF_INET, AF_INET6};
use crate::option_codec::{Carried, Family};

/// UOA_SO_GET_LOOKUP: the v0 look-up (18, 56 or 58 bytes).
pub(crate) const UOA_SO_GET_LOOKUP: i32 = 2048;
/// UOA_SO_GET_LOOKUP1: the v1 look-up (40 bytes).
pub(crate) const UOA_SO_GET_LOOKUP1: i32 = 2049;
/// Size of `union uoa_sockopt_param` (v1).
pub(crate) const V1_LEN: usize = 40;
/// The largest structure served: what the caller copies in at most.
pub(crate) const MAX_LEN: usize = 58;

/// How the caller named the family in v1's `type`: AF_* values or the option's 0/1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TypeStyle {
    AddressFamily,
    OperationBit,
}

/// Decodes a v1 input (`union uoa_sockopt_param`, at least [`V1_LEN`] bytes) asked on a
/// socket of `proto`.
fn v1_query(proto: u8, input: &[u8]) -> Result<(Query, TypeStyle), AbiError> {
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
    let q = Query::from_caller(
        proto,
        family,
        saddr,
        get_be16(input, 4),
        daddr,
        get_be16(input, 6),
    );
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

/// Serves one getsockopt call on a socket of `proto` (records are per transport). `optlen`
/// is what the caller passed, `input` the first `min(optlen, MAX_LEN)` bytes of its buffer,
/// `lookup` finds the record. On success the answer is in `out[..n]` and `n` is the length to
/// report back.
pub(crate) fn serve(
    proto: u8,
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
            let (q, style) = v1_query(proto, input)?;
            let c = lookup(&q).ok_or(AbiError::NoRecord)?;
            v1_answer(style, &c, out.get_mut(..V1_LEN).ok_or(AbiError::Invalid)?);
            Ok(V1_LEN)
        }
        UOA_SO_GET_LOOKUP => {
            let layout = compat_v0::Layout::for_optlen(optlen).ok_or(AbiError::Invalid)?;
            let input = input.get(..layout.len()).ok_or(AbiError::Invalid)?;
            let q = compat_v0::query(proto, layout, input)?;
            let c = lookup(&q).ok_or(AbiError::NoRecord)?;
            compat_v0::answer(layout, input, &c, out)
        }
        _ => Err(AbiError::Invalid),
    }
}
