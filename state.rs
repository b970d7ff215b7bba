// SPDX-License-Identifier: GPL-2.0

//! A namespace's Rust state: the record table and the expiry sweep's place in it, which the
//! namespace's lock protects (ffi.rs takes it); and the traits through which the logic (`path`, `expiry`) sees a namespace, so that the
//! host tests can give it a fake one.

// The rules this file promises, checked by clippy in the module build (CLIPPY=1) and in the
// host crate userspace/kcore, wherever it is compiled.
#![deny(
    unsafe_code,
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::panic
)]

use core::cell::UnsafeCell;
use core::ops::DerefMut;

use crate::flow::Key;
use crate::option_codec::{Carried, Family, IPPROTO_TCP, IPPROTO_UDP};
use crate::records::Table;
use crate::stats::Counter;

/// A network namespace as the logic sees it: its state, which it has only from its first
/// option or look-up on, and what can be read without it.
pub(crate) trait Namespace {
    /// The namespace with its state.
    type State<'s>: NamespaceState
    where
        Self: 's;

    /// Its state, if it has one.
    fn state(&self) -> Option<Self::State<'_>>;

    /// Its state, made now if it has none; `None` if the memory is not there. Any context.
    fn activate(&self) -> Option<Self::State<'_>>;

    /// Whether the namespace is set up and not going away.
    fn live(&self) -> bool;

    /// Whether it holds records of TCP (`tcp`) or UDP, as last published; read without the
    /// lock, so possibly stale.
    fn has_records(&self, tcp: bool) -> bool;
    /// Whether options from `addr` are believed (`trusted_sources`, module-wide).
    fn trusted_source(&self, family: Family, addr: &[u8; 16]) -> bool;
}

/// A namespace that has its state: its lock, counters, clock and sockets.
pub(crate) trait NamespaceState {
    /// The lock, held, and what it protects.
    type Guard<'g>: DerefMut<Target = Locked>
    where
        Self: 'g;

    /// Takes the lock.
    fn lock(&self) -> Self::Guard<'_>;

    /// Adds one to counter number `idx`.
    fn count_index(&self, idx: u32);

    /// Adds one to `counter`.
    fn count(&self, counter: Counter) {
        self.count_index(counter.index());
    }

    /// Whether an option from source `addr` is believed (the trusted sources in force).
    fn trusted(&self, family: Family, addr: &[u8; 16]) -> bool;

    /// Whether a TCP socket with the tuple of `key` exists (a full socket, a TIME_WAIT one
    /// or a request socket); `full`: a full socket only.
    fn tcp_socket(&self, key: &Key, full: bool) -> bool;

    /// A TCP record was made for `key` by a packet after the handshake: the connection's
    /// socket, if it was accepted meanwhile and waits for a record ([`crate::path::Accepted`]),
    /// gives the answers of `carried` (the record's) from now on.
    fn record_arrived(&self, key: &Key, carried: &Carried);

    /// Has the expiry run now, to grow the table from its first small size.
    fn grow_soon(&self);

    /// The time, in jiffies.
    fn now(&self) -> u64;

    /// Adds one to each of two counters.
    fn count_two(&self, a: Counter, b: Counter) {
        self.count(a);
        self.count(b);
    }

    /// Adds one to each of three counters.
    fn count_three(&self, c: [Counter; 3]) {
        for c in c {
            self.count(c);
        }
    }

    /// The table's change count ([`crate::records::Table::changes`]) as last published:
    /// read without the lock, so possibly older than the table's.
    fn table_changes(&self) -> u64;

    /// The version of the trusted sources in force: it moves at every change of them.
    fn trust_version(&self) -> u64;

    /// `f` on this CPU's [`LastRefresh`] in the namespace; `None` where the context has none
    /// (only the packet path has one: nothing else on the CPU may run `f` meanwhile).
    fn with_last_refresh<R>(&self, f: impl FnOnce(&mut LastRefresh) -> R) -> Option<R>;

    /// Tells the operator (ratelimited) that a malformed option of kind `kind` came from
    /// `saddr`.
    fn log_malformed(&self, kind: &str, family: Family, saddr: &[u8; 16]);

    /// Tells the operator (ratelimited) that an option from `saddr`, outside the trusted
    /// sources, was ignored.
    fn log_untrusted(&self, family: Family, saddr: &[u8; 16]);
}

/// The last option packet with which one CPU's packet path refreshed a record in a
/// namespace (under the lock), and when: the packet's first bytes up to its ports, but for
/// the fields that change from one packet of a flow to the next ([`V4_MASK`], [`V6_MASK`]),
/// with the jiffy, the table's change count and the trusted sources' version then. Whatever
/// the parser and the record depend on is in those bytes, and the record stays in the table
/// as the refresh left it while the change count stays ([`crate::records::Table::changes`]):
/// a packet with the same bytes, in the same jiffy, from the same trusted sources, would
/// only refresh that record in the jiffy it was last seen in, which changes nothing. So the
/// packet path counts it as a refresh, without parsing it or taking the lock (`path::rx`).
/// A new record's packet is kept only for TCP, whose handshake's ACK follows its SYN; a
/// UDP flow's first datagram is not (a flood of new flows would pay for it every time).
///
/// Only words, so that any bit pattern is a value (the kernel's per-CPU memory starts
/// zeroed); a `len` of 0 matches no packet.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LastRefresh {
    /// The packet's first `len` bytes as little-endian words, zero past `len` and where
    /// the masks ([`V4_MASK`], [`V6_MASK`]) leave out a field.
    pub(crate) packet: [u64; REFRESH_PACKET_WORDS],
    /// How many bytes of the packet: its IP header (with options or extension headers) and
    /// the ports; 0 for none.
    pub(crate) len: u64,
    /// The jiffy of the refresh.
    pub(crate) now: u64,
    /// [`crate::records::Table::changes`] right after it, under the lock.
    pub(crate) changes: u64,
    /// [`NamespaceState::trust_version`] before its source was checked.
    pub(crate) trust: u64,
}

/// Words of packet a [`LastRefresh`] keeps: 96 bytes, enough for an IPv6 header with the
/// option's 48-byte Destination Options header and the ports (92 bytes).
pub(crate) const REFRESH_PACKET_WORDS: usize = 12;
/// Words of a [`LastRefresh`]: the kernel keeps one per CPU after the counters.
pub(crate) const LAST_REFRESH_WORDS: usize = REFRESH_PACKET_WORDS + 4;
const _: () = assert!(core::mem::size_of::<LastRefresh>() == LAST_REFRESH_WORDS * 8);

/// The bytes of an IPv4 header's first two words that the parser and the record depend on
/// (as little-endian words: byte k is bits 8k..8k+8): the version and IHL, the fragment
/// field, the protocol, the source address's first half; not the TOS, total length, ID, TTL
/// or checksum, which a flow's packets do not share (the kernel checked the last two).
pub(crate) const V4_MASK: [u64; 2] = [0xffff_0000_0000_00ff, 0xffff_ffff_0000_ff00];
/// The same for IPv6: the version, the next header, the source address; not the traffic
/// class, flow label, payload length (the walk goes by the packet's own length) or hop limit.
pub(crate) const V6_MASK: [u64; 2] = [0x00ff_0000_0000_00f0, u64::MAX];

/// The 8 bytes of `pkt` from `at`, as a little-endian word (0 if they are not all there).
fn load(pkt: &[u8], at: usize) -> u64 {
    pkt.get(at..at.saturating_add(8))
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// The masks of a packet's first two words by its IP version (byte 0's high nibble).
fn masks(pkt: &[u8]) -> Option<[u64; 2]> {
    match pkt.first().map(|b| b >> 4) {
        Some(4) => Some(V4_MASK),
        Some(6) => Some(V6_MASK),
        _ => None,
    }
}

/// Calls `f(i, word)` for each word of the identity of `pkt`'s first `len` bytes
/// (`16 <= len <= pkt.len()`) under `masks`: little-endian words, zero past `len`; a last
/// word of fewer than 8 bytes is read as the 8 bytes that end at `len`, shifted down, so
/// that every word is one load. Returns the number of words, `None` if the bytes are not
/// there.
fn identity_words(
    pkt: &[u8],
    len: usize,
    masks: [u64; 2],
    mut f: impl FnMut(usize, u64),
) -> Option<usize> {
    let chunks = pkt.get(..len)?.chunks_exact(8);
    let tail = chunks.remainder().len();
    let mut n = 0;
    for c in chunks {
        let w = u64::from_le_bytes(c.try_into().ok()?);
        f(n, w & masks.get(n).copied().unwrap_or(u64::MAX));
        n += 1;
    }
    if tail != 0 {
        f(n, load(pkt, len.checked_sub(8)?) >> (8 * (8 - tail)));
        n += 1;
    }
    Some(n)
}

impl LastRefresh {
    /// This refresh: of `pkt`'s first `len` bytes (its IP header and ports, as the parser
    /// found them), at `now`, under `changes` and `trust`. A packet too long for the words
    /// kept (or not IP) leaves none (`len` 0).
    pub(crate) fn set(&mut self, pkt: &[u8], len: usize, now: u64, changes: u64, trust: u64) {
        self.len = 0;
        let Some(masks) = masks(pkt) else { return };
        if !(16..=REFRESH_PACKET_WORDS * 8).contains(&len) {
            return;
        }
        let packet = &mut self.packet;
        // Only the words up to `len` are ever compared.
        let words = identity_words(pkt, len, masks, |i, w| {
            if let Some(p) = packet.get_mut(i) {
                *p = w;
            }
        });
        if words.is_none() {
            return;
        }
        self.len = len as u64;
        self.now = now;
        self.changes = changes;
        self.trust = trust;
    }

    /// Whether `pkt`, at `now`, with the counts `changes` and `trust`, is this refresh
    /// again: the same bytes where they matter, in the same jiffy, nothing changed since.
    pub(crate) fn covers(&self, pkt: &[u8], now: u64, changes: u64, trust: u64) -> bool {
        let Ok(len) = usize::try_from(self.len) else {
            return false;
        };
        // A flood of new UDP flows finds none kept (only a refresh is), or another jiffy's.
        if len == 0 || self.now != now || self.changes != changes || self.trust != trust {
            return false;
        }
        let Some(masks) = masks(pkt) else {
            return false;
        };
        // Every word, without a branch per word: the common case is a match.
        let mut differ = 0u64;
        let words = identity_words(pkt, len, masks, |i, w| {
            differ |= w ^ self.packet.get(i).copied().unwrap_or(!w);
        });
        words.is_some() && differ == 0
    }
}

/// What the namespace's lock protects.
pub(crate) struct Locked {
    /// The records.
    pub(crate) table: Table,
    /// Where the expiry sweep goes on from.
    pub(crate) gc_cursor: usize,
    /// Whether the expiry work was asked to grow the table (once: it tries again at every
    /// sweep until it has).
    pub(crate) grow_asked: bool,
}

impl Locked {
    /// A fresh state around `table`.
    pub(crate) fn new(table: Table) -> Self {
        Locked {
            table,
            gc_cursor: 0,
            grow_asked: false,
        }
    }

    /// Records held per transport (TCP, UDP): published at every unlock, so that a getname
    /// or a plain SYN in a namespace without records of its protocol leaves without the lock.
    pub(crate) fn records_per_protocol(&self) -> (u32, u32) {
        (
            self.table.len_of(IPPROTO_TCP),
            self.table.len_of(IPPROTO_UDP),
        )
    }
}

/// A namespace's Rust state, made at its first option or look-up.
pub(crate) struct NetState {
    /// Reached only through the namespace's lock (`ffi::NetCtx::lock`).
    pub(crate) locked: UnsafeCell<Locked>,
}

impl NetState {
    /// Wraps the state.
    pub(crate) fn new(locked: Locked) -> Self {
        NetState {
            locked: UnsafeCell::new(locked),
        }
    }
}
