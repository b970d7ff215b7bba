// SPDX-License-Identifier: GPL-2.0

//! What the getsockopt look-up ABI's two halves (v1 in `sockopt`, v0 in `compat_v0`) share:
//! why a look-up is refused, and reading and writing the callers' byte layouts without a
//! panic whatever their length.

// The rules this file promises (no unsafe, no panic, documented, crate-visible API as the
// kernel's -Wunreachable_pub wants), checked by clippy in the module build (CLIPPY=1) and in
// the host crate userspace/kcore, wherever it is compiled.
#![deny(
    unsafe_code,
    missing_docs,
    unreachable_pub,
    rust_2018_idioms,
    clippy::missing_docs_in_private_items,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    clippy::as_conversions,
    clippy::mut_mut,
    clippy::needless_continue
)]

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

/// The bytes `at..at + n` of `buf`, if it has them.
fn range(buf: &[u8], at: usize, n: usize) -> Option<&[u8]> {
    buf.get(at..at.checked_add(n)?)
}

/// Big-endian (network order) u16 at `at`; 0 if out of range (callers checked lengths).
pub(crate) fn get_be16(buf: &[u8], at: usize) -> u16 {
    match range(buf, at, 2) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => 0,
    }
}

/// Host-order u16 at `at`; 0 if out of range.
pub(crate) fn get_ne16(buf: &[u8], at: usize) -> u16 {
    match range(buf, at, 2) {
        Some(&[a, b]) => u16::from_ne_bytes([a, b]),
        _ => 0,
    }
}

/// `n` bytes from `at` into a zeroed 16-byte address; zeros if out of range.
pub(crate) fn get_addr(buf: &[u8], at: usize, n: usize) -> [u8; 16] {
    let mut a = [0u8; 16];
    if let (Some(src), Some(dst)) = (range(buf, at, n), a.get_mut(..n)) {
        dst.copy_from_slice(src);
    }
    a
}

/// Writes `src` at `at`; does nothing if it does not fit (callers sized `out`).
pub(crate) fn put(out: &mut [u8], at: usize, src: &[u8]) {
    let Some(end) = at.checked_add(src.len()) else {
        return;
    };
    if let Some(dst) = out.get_mut(at..end) {
        dst.copy_from_slice(src);
    }
}
