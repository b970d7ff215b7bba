// SPDX-License-Identifier: GPL-2.0

//! A network namespace's share of the module: its record table, the expiry sweep, its
//! look-ups and its statistics file. One per namespace, made when the namespace (or the
//! module) comes up and freed when it goes.

use kernel::alloc::{flags, KBox};

use crate::ffi::{self, NetCtx};
use crate::option_codec::{Carried, IPPROTO_TCP};
use crate::records::{Key, Table};
use crate::sockopt::{self, AbiError, Query, MAX_LEN, UOA_SO_GET_LOOKUP1};
use crate::stats::{self, Counter};
use crate::trust::Trust;

/// What the namespace's lock protects.
pub(crate) struct Locked {
    /// The records.
    pub(crate) table: Table,
    /// Where the expiry sweep goes on from.
    pub(crate) gc_cursor: usize,
}

/// Buckets swept per lock hold: keeps interrupts-off time short on a big table.
const GC_CHUNK: usize = 256;
/// Idle TCP records collected per chunk, to be checked against the sockets without the lock.
/// More in one chunk are kept, unchecked, for one more idle period.
const GC_TCP_CHECKS: usize = 32;

/// A new namespace's state, or `None` if its memory cannot be had.
pub(crate) fn new_state() -> Option<KBox<ffi::NetState>> {
    let params = ffi::params();
    let table = Table::new(params.max_records, ffi::random_u64())?;
    // Validated at module load: a namespace cannot see a bad setting.
    let trust = Trust::parse(ffi::trusted_sources()).ok()?;
    KBox::new(
        ffi::NetState::new(
            Locked {
                table,
                gc_cursor: 0,
            },
            trust,
        ),
        flags::GFP_KERNEL,
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
    let idle = u64::from(ffi::params().idle_timeout_secs).saturating_mul(u64::from(ffi::hz()));
    let mut idle_tcp: [Option<Key>; GC_TCP_CHECKS] = [None; GC_TCP_CHECKS];
    loop {
        let now = ffi::jiffies();
        let (mut expired, done) = {
            let mut l = ctx.lock();
            let Locked { table, gc_cursor } = &mut *l;
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

/// Serves a getsockopt call of the namespace's socket: `protocol` is the socket's own
/// (records are per transport), `input` what the caller's buffer held.
pub(crate) fn getsockopt(
    ctx: &NetCtx<'_>,
    protocol: u8,
    optname: i32,
    optlen: usize,
    input: &[u8],
    out: &mut [u8; MAX_LEN],
) -> Result<usize, AbiError> {
    let lookup = |q: &Query| -> Option<Carried> {
        let now = ffi::jiffies();
        ctx.lock().table.lookup(
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
/// table's size and limit.
pub(crate) fn stats(ctx: &NetCtx<'_>, mut line: impl FnMut(&[u8], u64)) {
    let mut name = [0u8; 64];
    stats::each(|prefix, n, idx| {
        let (p, n) = (prefix.as_bytes(), n.as_bytes());
        if let Some(buf) = name.get_mut(..p.len() + n.len()) {
            let (a, b) = buf.split_at_mut(p.len());
            a.copy_from_slice(p);
            b.copy_from_slice(n);
            line(buf, ctx.counter(idx));
        }
    });
    let (live, max) = {
        let l = ctx.lock();
        (l.table.len(), l.table.max_records())
    };
    line(b"records_live", live.into());
    line(b"max_records", max.into());
    line(b"getname_probe_missed", ffi::getname_missed());
}
