// SPDX-License-Identifier: GPL-2.0

//! The `trusted_sources` setting: the balancer source prefixes whose options are believed.
//! Anyone who can send packets to the server can put an option in them; with this set,
//! options from other sources are ignored (and counted). Empty: every source is trusted.
//!
//! Syntax: a comma-separated list of `a.b.c.d[/len]` and `x:x::x[/len]` prefixes, at most
//! [`MAX_PREFIXES`], in at most [`MAX_TEXT`] bytes. Plain Rust, no allocation: parsed at load
//! and at each change (the parameter is writable), into a [`Setting`] that keeps its text.

// The rules this file promises, checked by clippy in the module build (CLIPPY=1) and in the
// host crate userspace/kcore, wherever it is compiled.
#![deny(
    unsafe_code,
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::panic
)]

use crate::option_codec::Family;

/// Most prefixes the setting holds.
pub(crate) const MAX_PREFIXES: usize = 16;
/// Longest setting, in bytes (white space around it not counted).
pub(crate) const MAX_TEXT: usize = 1024;

/// One prefix: the first `len` bits of `addr` (IPv4 in the first 4 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Prefix {
    /// Address family.
    pub(crate) family: Family,
    /// The address, zero beyond `len` bits.
    pub(crate) addr: [u8; 16],
    /// Prefix length in bits (0..=32 or 0..=128).
    pub(crate) len: u8,
}

/// Why the setting was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TrustError {
    /// An item is not an address (the byte offset of the item in the setting).
    BadAddress(usize),
    /// A prefix length is not a number in range for the family.
    BadLength(usize),
    /// More than [`MAX_PREFIXES`] items.
    TooMany,
    /// More than [`MAX_TEXT`] bytes.
    TooLong,
}

/// The parsed setting.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Trust {
    prefixes: [Prefix; MAX_PREFIXES],
    n: usize,
}

const EMPTY: Prefix = Prefix {
    family: Family::V4,
    addr: [0; 16],
    len: 0,
};

/// `s` without leading and trailing ASCII white space (`<[u8]>::trim_ascii` is newer than
/// the kernel's minimum Rust).
fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !first.is_ascii_whitespace() {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !last.is_ascii_whitespace() {
            break;
        }
        s = rest;
    }
    s
}

/// Parses a decimal number of at most `max`.
fn number(s: &[u8], max: u32) -> Option<u32> {
    if s.is_empty() || s.len() > 3 {
        return None;
    }
    let mut v: u32 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    (v <= max).then_some(v)
}

fn parse_v4(s: &[u8]) -> Option<[u8; 16]> {
    let mut out = [0u8; 16];
    let mut parts = s.split(|&c| c == b'.');
    for o in out.iter_mut().take(4) {
        *o = u8::try_from(number(parts.next()?, 255)?).ok()?;
    }
    parts.next().is_none().then_some(out)
}

fn hex16(s: &[u8]) -> Option<u16> {
    if s.is_empty() || s.len() > 4 {
        return None;
    }
    let mut v: u16 = 0;
    for &c in s {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        v = (v << 4) | u16::from(d);
    }
    Some(v)
}

/// Groups of one side of a `::` (or the whole address) into `out`; returns how many.
fn groups(s: &[u8], out: &mut [u16; 8]) -> Option<usize> {
    if s.is_empty() {
        return Some(0);
    }
    let mut n = 0;
    for g in s.split(|&c| c == b':') {
        *out.get_mut(n)? = hex16(g)?;
        n += 1;
    }
    Some(n)
}

fn parse_v6(s: &[u8]) -> Option<[u8; 16]> {
    let mut words = [0u16; 8];
    let (mut head, mut tail) = ([0u16; 8], [0u16; 8]);
    match s.windows(2).position(|w| w == b"::") {
        Some(at) => {
            let (h, t) = (s.get(..at)?, s.get(at + 2..)?);
            let nh = groups(h, &mut head)?;
            let nt = groups(t, &mut tail)?;
            // "::" stands for at least one zero group.
            if nh + nt > 7 {
                return None;
            }
            words.get_mut(..nh)?.copy_from_slice(head.get(..nh)?);
            words.get_mut(8 - nt..)?.copy_from_slice(tail.get(..nt)?);
        }
        None => {
            if groups(s, &mut words)? != 8 {
                return None;
            }
        }
    }
    let mut out = [0u8; 16];
    for (o, w) in out.chunks_exact_mut(2).zip(words) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    Some(out)
}

impl Prefix {
    /// Whether `addr` of `family` is inside the prefix: its whole bytes compared at once and
    /// the last, partial one under a mask (on every option packet when `trusted_sources` is
    /// set, for each prefix until one covers it).
    fn covers(&self, family: Family, addr: &[u8; 16]) -> bool {
        let whole = usize::from(self.len / 8);
        if self.family != family || addr.get(..whole) != self.addr.get(..whole) {
            return false;
        }
        let bits = self.len % 8;
        bits == 0
            || matches!((addr.get(whole), self.addr.get(whole)),
                (Some(a), Some(p)) if a & !(0xffu8 >> bits) == *p)
    }
}

/// Zeroes the bits of `addr` beyond the first `len`.
fn mask(addr: &mut [u8; 16], len: u8) {
    for (i, b) in addr.iter_mut().enumerate() {
        let start = i * 8;
        let keep = usize::from(len).saturating_sub(start).min(8);
        *b &= if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
    }
}

impl Trust {
    /// Every source trusted (the empty setting).
    pub(crate) const ANY: Trust = Trust {
        prefixes: [EMPTY; MAX_PREFIXES],
        n: 0,
    };

    /// Parses the setting (its bytes, without a terminating NUL).
    pub(crate) fn parse(s: &[u8]) -> Result<Trust, TrustError> {
        let mut t = Trust {
            prefixes: [EMPTY; MAX_PREFIXES],
            n: 0,
        };
        let mut offset = 0;
        for item in s.split(|&c| c == b',') {
            let at = offset;
            offset += item.len() + 1;
            let item = trim(item);
            if item.is_empty() {
                continue;
            }
            let (addr, len) = match item.iter().position(|&c| c == b'/') {
                Some(p) => (
                    item.get(..p).unwrap_or(&[]),
                    Some(item.get(p + 1..).unwrap_or(&[])),
                ),
                None => (item, None),
            };
            let (family, mut a) = if addr.contains(&b':') {
                (
                    Family::V6,
                    parse_v6(addr).ok_or(TrustError::BadAddress(at))?,
                )
            } else {
                (
                    Family::V4,
                    parse_v4(addr).ok_or(TrustError::BadAddress(at))?,
                )
            };
            let max = family.addr_len() as u32 * 8;
            let len = match len {
                Some(l) => number(l, max).ok_or(TrustError::BadLength(at))?,
                None => max,
            };
            // len <= 128: fits.
            let len = len as u8;
            mask(&mut a, len);
            *t.prefixes.get_mut(t.n).ok_or(TrustError::TooMany)? = Prefix {
                family,
                addr: a,
                len,
            };
            t.n += 1;
        }
        Ok(t)
    }

    /// The prefixes set.
    pub(crate) fn prefixes(&self) -> &[Prefix] {
        self.prefixes.get(..self.n).unwrap_or(&[])
    }

    /// Whether an option from source `addr` is believed: always when nothing is set.
    pub(crate) fn allows(&self, family: Family, addr: &[u8; 16]) -> bool {
        if self.n == 0 {
            return true;
        }
        self.prefixes().iter().any(|p| p.covers(family, addr))
    }
}

/// The setting in force: parsed, with its text as given (white space around it trimmed), for
/// reading back and for the log.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Setting {
    /// The parsed prefixes.
    pub(crate) trust: Trust,
    text: [u8; MAX_TEXT],
    len: usize,
}

impl Setting {
    /// The empty setting: every source trusted.
    pub(crate) const ANY: Setting = Setting {
        trust: Trust::ANY,
        text: [0; MAX_TEXT],
        len: 0,
    };

    /// Becomes the value given for the parameter (a write to it may end in a newline), in
    /// place (a setting is too big for a kernel stack frame); refused, it is left as the
    /// empty setting.
    pub(crate) fn set(&mut self, s: &[u8]) -> Result<(), TrustError> {
        *self = Setting::ANY;
        let s = trim(s);
        self.text
            .get_mut(..s.len())
            .ok_or(TrustError::TooLong)?
            .copy_from_slice(s);
        self.trust = Trust::parse(s)?;
        self.len = s.len();
        Ok(())
    }

    /// The text, as given; empty for every source.
    pub(crate) fn text(&self) -> &[u8] {
        self.text.get(..self.len).unwrap_or(&[])
    }

    /// The text for people: `any` when every source is trusted.
    pub(crate) fn describe(&self) -> &str {
        match core::str::from_utf8(self.text()) {
            _ if self.trust.prefixes().is_empty() => "any",
            Ok(s) => s,
            Err(_) => "(not UTF-8)",
        }
    }
}
