// SPDX-License-Identifier: GPL-2.0

//! A namespace's Rust state: the record table and the expiry sweep's place in it, which the
//! namespace's lock protects (ffi.rs takes it), and the trusted sources beside it (read-only).

use core::cell::UnsafeCell;

use crate::option_codec::{IPPROTO_TCP, IPPROTO_UDP};
use crate::records::Table;
use crate::trust::Trust;

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
    /// The sources whose options are believed.
    pub(crate) trust: Trust,
}

impl NetState {
    /// Wraps the state.
    pub(crate) fn new(locked: Locked, trust: Trust) -> Self {
        NetState {
            locked: UnsafeCell::new(locked),
            trust,
        }
    }
}
