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

/// The last record one CPU's packet path refreshed or made in a namespace, and when: its
/// key and carried addresses as words ([`LastRefresh::words`]), the jiffy, the table's change
/// count and the trusted sources' version then. While neither count has moved, that record is
/// still in the table with those addresses, last seen in that jiffy or later
/// ([`crate::records::Table::changes`]): the same option for the same tuple, from the same
/// sources, in the same jiffy, would leave the table as it is, so the packet path counts it
/// without taking the lock (`path::record`).
///
/// Only words, so that any bit pattern is a value (the kernel's per-CPU memory starts
/// zeroed); the key's first word is never 0, so a zeroed one matches no packet.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LastRefresh {
    /// The record's key and carried addresses.
    pub(crate) words: [u64; REFRESH_KEY_WORDS],
    /// The jiffy of the refresh.
    pub(crate) now: u64,
    /// [`crate::records::Table::changes`] right after it, under the lock.
    pub(crate) changes: u64,
    /// [`NamespaceState::trust_version`] before its source was checked.
    pub(crate) trust: u64,
}

/// Words of a record's key and carried addresses in a [`LastRefresh`].
pub(crate) const REFRESH_KEY_WORDS: usize = 10;
/// Words of a [`LastRefresh`]: the kernel keeps one per CPU after the counters.
pub(crate) const LAST_REFRESH_WORDS: usize = REFRESH_KEY_WORDS + 3;
const _: () = assert!(core::mem::size_of::<LastRefresh>() == LAST_REFRESH_WORDS * 8);

impl LastRefresh {
    /// `key` and `carried` as words: every field, each at a place of its own, and a first
    /// word that is never 0.
    pub(crate) fn words(key: &Key, carried: &Carried) -> [u64; REFRESH_KEY_WORDS] {
        let family = |f: Family| match f {
            Family::V4 => 4u64,
            Family::V6 => 6u64,
        };
        let halves = |a: &[u8; 16]| {
            let [a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15] = *a;
            (
                u64::from_ne_bytes([a0, a1, a2, a3, a4, a5, a6, a7]),
                u64::from_ne_bytes([a8, a9, a10, a11, a12, a13, a14, a15]),
            )
        };
        let first = u64::from(key.proto)
            | (family(key.family) << 8)
            | (family(carried.family) << 16)
            | (u64::from(key.sport) << 24)
            | (u64::from(key.dport) << 40);
        let (s0, s1) = halves(&key.saddr);
        let (d0, d1) = halves(&key.daddr);
        let (c0, c1) = halves(&carried.cip);
        let (v0, v1) = halves(&carried.vip);
        let ports = u64::from(carried.cport) | (u64::from(carried.vport) << 16);
        [first, s0, s1, d0, d1, c0, c1, v0, v1, ports]
    }

    /// Whether a packet whose record's key and carried addresses are `words`, at `now`, with
    /// the counts `changes` and `trust`, would only refresh this record in its own jiffy.
    pub(crate) fn covers(
        &self,
        words: &[u64; REFRESH_KEY_WORDS],
        now: u64,
        changes: u64,
        trust: u64,
    ) -> bool {
        // Word by word, without branches or a memcmp call (the kernel's compares bytes).
        let differ = self.words.iter().zip(words).fold(
            (self.now ^ now) | (self.changes ^ changes) | (self.trust ^ trust),
            |d, (a, b)| d | (a ^ b),
        );
        differ == 0
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
