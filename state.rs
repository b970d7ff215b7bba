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

    /// Tells the operator (ratelimited) that a malformed option of kind `kind` came from
    /// `saddr`.
    fn log_malformed(&self, kind: &str, family: Family, saddr: &[u8; 16]);

    /// Tells the operator (ratelimited) that an option from `saddr`, outside the trusted
    /// sources, was ignored.
    fn log_untrusted(&self, family: Family, saddr: &[u8; 16]);
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
