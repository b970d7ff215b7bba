// SPDX-License-Identifier: GPL-2.0

//! A namespace's expiry run, over the [`NamespaceState`] trait (the kernel's in the module, a
//! fake in the host tests): growing the table from its first small size, then sweeping idle
//! records out, a chunk per lock hold, keeping those of TCP connections that still exist.

// The rules this file promises, checked by clippy in the module build (CLIPPY=1) and in the
// host crate userspace/kcore, wherever it is compiled.
#![deny(
    unsafe_code,
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::panic
)]

use crate::flow::Key;
use crate::option_codec::IPPROTO_TCP;
use crate::records::Buckets;
use crate::state::{Locked, NamespaceState};
use crate::stats::Counter;

/// Buckets swept per lock hold: keeps interrupts-off time short on a big table.
const GC_CHUNK: usize = 256;
/// Idle TCP records collected per chunk, to be checked against the sockets without the lock.
/// More in one chunk are kept, unchecked, for one more idle period.
const GC_TCP_CHECKS: usize = 32;

/// One expiry sweep over the whole table, a chunk per lock hold.
///
/// A TCP connection that still exists keeps its record however long it is quiet: its
/// getpeername answer must not change under it. Whether it exists is a socket look-up, done
/// without the table's lock (which is held with interrupts off): under the lock the sweep
/// removes idle UDP records and collects idle TCP ones (stamping them with the sweep's time);
/// then their sockets are looked up; then, under the lock again, those whose connection is
/// gone are removed, unless a packet or a look-up touched them meanwhile.
///
/// `idle` is the idle timeout in jiffies; `resched` lets the scheduler run something else
/// between chunks.
pub(crate) fn gc<S: NamespaceState>(ctx: &S, idle: u64, resched: impl FnMut()) {
    // A run that grew the table (the namespace's first records, moments ago) leaves the
    // sweep to the next: nothing can be idle yet, and walking the new array at once would
    // double the one-time cost of a namespace's first option.
    if !grow(ctx) {
        sweep(ctx, idle, resched);
    }
}

/// The sweep [`gc`] describes.
fn sweep<S: NamespaceState>(ctx: &S, idle: u64, mut resched: impl FnMut()) {
    let mut idle_tcp: [Option<Key>; GC_TCP_CHECKS] = [None; GC_TCP_CHECKS];
    loop {
        let now = ctx.now();
        let (mut expired, done) = {
            let mut l = ctx.lock();
            let Locked {
                table, gc_cursor, ..
            } = &mut *l;
            let e = table.expire(now, idle, gc_cursor, GC_CHUNK, |k| {
                if k.proto != IPPROTO_TCP {
                    return false;
                }
                if let Some(slot) = idle_tcp.iter_mut().find(|s| s.is_none()) {
                    *slot = Some(*k);
                }
                true
            });
            (e.expired, e.done)
        };
        // Keep only the keys whose connection is gone.
        for slot in idle_tcp.iter_mut() {
            if slot.is_some_and(|k| ctx.tcp_socket(&k, false)) {
                *slot = None;
            }
        }
        if idle_tcp.iter().any(Option::is_some) {
            let mut l = ctx.lock();
            for k in idle_tcp.iter_mut().filter_map(Option::take) {
                if l.table.remove_if_untouched(&k, now) {
                    expired = expired.saturating_add(1);
                }
            }
        }
        for _ in 0..expired {
            ctx.count(Counter::RecordsExpired);
        }
        if done {
            break;
        }
        resched();
    }
}

/// Grows a table that holds records to its full size: the array is allocated (in process
/// context, vmalloc'ed if large) without the lock, the records moved under it, the old array
/// freed after. A table without records stays small (a namespace that saw only untrusted or
/// malformed options). If the memory is not there, the table works on at its small size
/// and the next sweep tries again. Says whether it grew the table.
fn grow<S: NamespaceState>(ctx: &S) -> bool {
    let want = {
        let l = ctx.lock();
        let t = &l.table;
        if t.len() == 0 || t.buckets() >= t.buckets_wanted() {
            return false;
        }
        t.buckets_wanted()
    };
    let Some(buckets) = Buckets::new(want) else {
        return false;
    };
    let old = ctx.lock().table.grow(buckets);
    drop(old);
    true
}
