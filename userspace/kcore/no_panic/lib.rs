// SPDX-License-Identifier: GPL-2.0

//! records.rs as the kernel crate sees it: core only.
#![no_std]
#![deny(unsafe_code)]

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../../option_codec.rs"]
mod option_codec;

// (Its AF_* constants are for the ABI files, not built here.)
#[allow(dead_code)]
#[path = "../../../flow.rs"]
mod flow;

#[path = "../../../records.rs"]
mod records;

/// Core-only stand-in for the kernel's allocation shim.
mod mem {
    use core::ops::{Deref, DerefMut};
    /// An owning pointer, as KBox is (so `mut` is needed to change through it).
    pub(crate) struct Own<T: ?Sized + 'static>(&'static mut T);
    impl<T: ?Sized> Deref for Own<T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.0
        }
    }
    impl<T: ?Sized> DerefMut for Own<T> {
        fn deref_mut(&mut self) -> &mut T {
            self.0
        }
    }
    // Dropping runs the contents' drop (so that Node's iterative drop is in the object too).
    #[allow(unsafe_code)]
    impl<T: ?Sized> Drop for Own<T> {
        fn drop(&mut self) {
            // SAFETY: never run; this crate is only compiled, to inspect its object.
            unsafe { core::ptr::drop_in_place(&raw mut *self.0) }
        }
    }
    /// Owning pointer.
    pub(crate) type Boxed<T> = Own<T>;
    /// Bucket array.
    pub(crate) type Slots<T> = Own<[T]>;
    /// Fails, as an atomic allocation may.
    pub(crate) fn try_box<T>(_v: T) -> Option<Boxed<T>> {
        None
    }
    /// Fails, as an allocation may.
    pub(crate) fn try_slots<T>(_n: usize, _f: impl FnMut() -> T) -> Option<Slots<T>> {
        None
    }
    /// Fails, as an atomic allocation may.
    pub(crate) fn try_slots_atomic<T>(_n: usize, _f: impl FnMut() -> T) -> Option<Slots<T>> {
        None
    }
}

use option_codec::{Carried, Family};
use flow::{Key, Query};
use records::{Buckets, Table};

/// Makes a table.
pub fn new(max: u32, seed: u64) -> Option<Table> {
    Table::new(max, seed)
}
/// Makes a small table.
pub fn new_small(max: u32, seed: u64) -> Option<Table> {
    Table::new_small(max, seed)
}
/// Grows.
pub fn grow(t: &mut Table, n: usize) -> Option<usize> {
    let b = Buckets::new(n)?;
    let old = t.grow(b);
    Some(t.buckets() + t.buckets_wanted() + core::mem::size_of_val(&old))
}
/// Inserts.
pub fn insert(t: &mut Table, k: &Key, c: &Carried, now: u64) -> u32 {
    t.insert(k, c, now) as u32
}
/// Looks up.
pub fn lookup(t: &mut Table, k: &Key, any: bool, now: u64) -> Option<Carried> {
    let q = Query {
        key: *k,
        any_local: any,
    };
    t.lookup(&q, now)
}
/// A caller's look-up (the unmapping and wildcard rules).
pub fn query(family: Family, s: [u8; 16], sp: u16, d: [u8; 16], dp: u16) -> Query {
    Query::from_caller(17, family, s, sp, d, dp)
}
/// A connected socket's look-up.
pub fn exact(k: &Key) -> Query {
    Query::exact(*k)
}
/// Removes.
pub fn remove(t: &mut Table, k: &Key) -> bool {
    t.remove(k)
}
/// Inserts, keeping a conflicting record.
pub fn insert_keep(t: &mut Table, k: &Key, c: &Carried, now: u64) -> u32 {
    t.insert_with(k, c, now, records::OnConflict::Keep) as u32
}
/// Has a record.
pub fn contains(t: &Table, k: &Key) -> bool {
    t.contains(k)
}
/// Removes if untouched.
pub fn remove_if_untouched(t: &mut Table, k: &Key, stamp: u64) -> bool {
    t.remove_if_untouched(k, stamp)
}
/// Expires.
pub fn expire(
    t: &mut Table,
    now: u64,
    idle: u64,
    cursor: &mut usize,
    budget: usize,
) -> (u32, bool) {
    let e = t.expire(now, idle, cursor, budget, |k| k.sport == 7);
    (e.expired, e.done)
}
/// Clears and reports.
pub fn clear(t: &mut Table) -> (u32, u32, u32) {
    (t.len(), t.max_records(), t.clear())
}
/// Records per protocol.
pub fn len_of(t: &Table, proto: u8) -> u32 {
    t.len_of(proto)
}

/// The change count.
pub fn changes(t: &Table) -> u64 {
    t.changes()
}
/// Drops.
pub fn drop_table(t: Table) {
    core::mem::drop(t);
}
/// A key.
pub fn key(p: u8) -> Key {
    Key {
        proto: p,
        family: Family::V4,
        saddr: [0; 16],
        sport: 1,
        daddr: [0; 16],
        dport: 2,
    }
}
