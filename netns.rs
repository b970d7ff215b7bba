// SPDX-License-Identifier: GPL-2.0

//! A network namespace's share of the module: its record table, the expiry sweep, its
//! look-ups and its statistics file. Made at the namespace's first option or look-up (a
//! namespace that never sees one costs only the C side's few hundred bytes), freed when the
//! namespace goes.

use kernel::alloc::{flags, KBox};

use crate::ffi::{self, NetCtx};
use crate::option_codec::{Carried, IPPROTO_TCP};
use crate::records::{Buckets, Key, Table};
use crate::sockopt::{self, AbiError, Query, MAX_LEN, UOA_SO_GET_LOOKUP1};
use crate::stats::{self, Counter};
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

/// Buckets swept per lock hold: keeps interrupts-off time short on a big table.
const GC_CHUNK: usize = 256;
/// Idle TCP records collected per chunk, to be checked against the sockets without the lock.
/// More in one chunk are kept, unchecked, for one more idle period.
const GC_TCP_CHECKS: usize = 32;

/// A namespace's state, or `None` if its memory cannot be had. Any context (the first option
/// arrives in softirq): everything is allocated atomically, the table at its small size.
pub(crate) fn new_state() -> Option<KBox<ffi::NetState>> {
    let params = ffi::params();
    let table = Table::new_small(params.max_records, ffi::random_u64())?;
    // Validated at module load: a namespace cannot see a bad setting.
    let trust = Trust::parse(ffi::trusted_sources()).ok()?;
    KBox::new(
        ffi::NetState::new(
            Locked {
                table,
                gc_cursor: 0,
                grow_asked: false,
            },
            trust,
        ),
        flags::GFP_ATOMIC | flags::__GFP_NOWARN,
    )
    .ok()
}

/// One expiry sweep over the whole table, a chunk per lock hold.
///
/// A TCP connection that still exists keeps its record however long it is quiet: its
/// getpeername answer must not change under it. Whether it exists is a socket look-up, done
/// without the table's lock (which is held with interrupts off): under the lock the sweep
/// removes idle UDP records and collects idle TCP ones (stamping them with the sweep's time);
/// then their sockets are looked up; then, under the lock again, those whose connection is
/// gone are removed, unless a packet or a look-up touched them meanwhile.
pub(crate) fn gc(ctx: &NetCtx<'_>) {
    // A run that grew the table (the namespace's first records, moments ago) leaves the
    // sweep to the next: nothing can be idle yet, and walking the new array at once would
    // double the one-time cost of a namespace's first option.
    if grow(ctx) {
        return;
    }
    let idle = u64::from(ffi::params().idle_timeout_secs).saturating_mul(u64::from(ffi::hz()));
    let mut idle_tcp: [Option<Key>; GC_TCP_CHECKS] = [None; GC_TCP_CHECKS];
    loop {
        let now = ffi::jiffies();
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
            if slot.is_some_and(|k| ctx.tcp_established(&k)) {
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
            ctx.count(Counter::RecordsExpired.index());
        }
        if done {
            break;
        }
        ffi::cond_resched();
    }
}

/// Grows a table that holds records to its full size: the array is allocated (in process
/// context, vmalloc'ed if large) without the lock, the records moved under it, the old array
/// freed after. A table without records stays small (a namespace that saw only untrusted or
/// malformed options). If the memory is not there, the table works on at its small size
/// and the next sweep tries again. Says whether it grew the table.
fn grow(ctx: &NetCtx<'_>) -> bool {
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

/// Serves a getsockopt call of the namespace's socket: `protocol` is the socket's own
/// (records are per transport), `input` what the caller's buffer held. Without the
/// namespace's state (no memory to make it) there is no record, and nothing is counted.
pub(crate) fn getsockopt(
    ctx: Option<&NetCtx<'_>>,
    protocol: u8,
    optname: i32,
    optlen: usize,
    input: &[u8],
    out: &mut [u8; MAX_LEN],
) -> Result<usize, AbiError> {
    let lookup = |q: &Query| -> Option<Carried> {
        let now = ffi::jiffies();
        ctx?.lock().table.lookup(
            protocol,
            q.family,
            &q.saddr,
            q.sport,
            q.daddr.as_ref(),
            q.dport,
            now,
        )
    };
    let v1 = optname == UOA_SO_GET_LOOKUP1;
    let r = sockopt::serve(optname, optlen, input, lookup, out);
    let Some(ctx) = ctx else {
        return r;
    };
    ctx.count(
        match (&r, v1) {
            (Ok(_), true) => Counter::LookupsV1Hit,
            (Ok(_), false) => Counter::LookupsV0Hit,
            (Err(AbiError::NoRecord), true) => Counter::LookupsV1Miss,
            (Err(AbiError::NoRecord), false) => Counter::LookupsV0Miss,
            (Err(_), _) => Counter::LookupsRefused,
        }
        .index(),
    );
    r
}

/// Writes the statistics: `name value` per line, counters summed over CPUs, then the
/// table's size and limit. A namespace without its state yet has every counter at 0.
pub(crate) fn stats(ctx: Option<&NetCtx<'_>>, mut line: impl FnMut(&[u8], u64)) {
    let mut name = [0u8; 64];
    stats::each(|prefix, n, idx| {
        let (p, n) = (prefix.as_bytes(), n.as_bytes());
        if let Some(buf) = name.get_mut(..p.len() + n.len()) {
            let (a, b) = buf.split_at_mut(p.len());
            a.copy_from_slice(p);
            b.copy_from_slice(n);
            line(buf, ctx.map_or(0, |c| c.counter(idx)));
        }
    });
    let (live, max) = match ctx {
        Some(c) => {
            let l = c.lock();
            (l.table.len(), l.table.max_records())
        }
        None => (0, ffi::params().max_records),
    };
    line(b"records_live", live.into());
    line(b"max_records", max.into());
    line(b"getname_probe_missed", ffi::getname_missed());
    line(b"namespace_active", ctx.is_some().into());
    line(b"namespace_activation_failed", ffi::activations_failed());
}
