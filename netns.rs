// SPDX-License-Identifier: GPL-2.0

//! A network namespace's share of the module: its state (made at the namespace's first
//! option or look-up: a namespace that never sees one costs only its few hundred bytes of
//! `ffi::NetShared`), the expiry sweep, the getsockopt look-ups and the statistics file.

use kernel::alloc::{flags, KBox};
use kernel::error::{code, Result};

use crate::abi::AbiError;
use crate::ffi::{self, Net, NetCtx, SeqFile, SockoptCall};
use crate::flow::{Key, Query};
use crate::option_codec::{Carried, IPPROTO_TCP};
use crate::records::{Buckets, Table};
use crate::sockopt::{self, MAX_LEN, UOA_SO_GET_LOOKUP1};
use crate::state::{Locked, NetState};
use crate::stats::{self, Counter};
use crate::trust::Trust;

/// Buckets swept per lock hold: keeps interrupts-off time short on a big table.
const GC_CHUNK: usize = 256;
/// Idle TCP records collected per chunk, to be checked against the sockets without the lock.
/// More in one chunk are kept, unchecked, for one more idle period.
const GC_TCP_CHECKS: usize = 32;

/// A namespace's state, or `None` if its memory cannot be had. Any context (the first option
/// arrives in softirq): everything is allocated atomically, the table at its small size.
pub(crate) fn new_state() -> Option<KBox<NetState>> {
    let params = ffi::params();
    let table = Table::new_small(params.max_records, ffi::random_u64())?;
    // Validated at module load: a namespace cannot see a bad setting.
    let trust = Trust::parse(ffi::trusted_sources()).ok()?;
    KBox::new(
        NetState::new(Locked::new(table), trust),
        flags::GFP_ATOMIC | flags::__GFP_NOWARN,
    )
    .ok()
}

/// The namespace's state, made now if it has none (see [`Net::activate`]).
pub(crate) fn activate<'a>(net: &Net<'a>) -> Option<NetCtx<'a>> {
    net.activate(new_state, gc_interval())
}

/// Jiffies between expiry runs: a quarter of the idle timeout (a record outlives it by at
/// most 25%), from one second to one minute.
pub(crate) fn gc_interval() -> u64 {
    let hz = u64::from(ffi::hz());
    (u64::from(ffi::params().idle_timeout_secs) * hz / 4).clamp(hz, 60 * hz)
}

/// One expiry sweep over the whole table, a chunk per lock hold.
///
/// A TCP connection that still exists keeps its record however long it is quiet: its
/// getpeername answer must not change under it. Whether it exists is a socket look-up, done
/// without the table's lock (which is held with interrupts off): under the lock the sweep
/// removes idle UDP records and collects idle TCP ones (stamping them with the sweep's time);
/// then their sockets are looked up; then, under the lock again, those whose connection is
/// gone are removed, unless a packet or a look-up touched them meanwhile.
///
/// Returns the jiffies until the next run.
pub(crate) fn gc(ctx: &NetCtx<'_>) -> u64 {
    // A run that grew the table (the namespace's first records, moments ago) leaves the
    // sweep to the next: nothing can be idle yet, and walking the new array at once would
    // double the one-time cost of a namespace's first option.
    if !grow(ctx) {
        sweep(ctx);
    }
    gc_interval()
}

fn sweep(ctx: &NetCtx<'_>) {
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

/// Serves getsockopt(UOA_SO_GET_LOOKUP*) on a socket of `protocol` (records are per
/// transport) in `net`. A look-up makes the namespace's state, for its counters (a few hundred
/// bytes): an application asking is on a server that expects balancer traffic. Without it
/// (no memory) the answer is the same, only uncounted: no state, no record.
pub(crate) fn getsockopt(
    net: Net<'_>,
    protocol: u8,
    optname: i32,
    call: &mut SockoptCall<'_>,
) -> Result {
    let ctx = activate(&net);
    let ctx = ctx.as_ref();
    let Ok(optlen) = usize::try_from(call.optlen()) else {
        return Err(code::EINVAL);
    };
    let mut input = [0u8; MAX_LEN];
    let n = optlen.min(MAX_LEN);
    if let Err(e) = call.read(&mut input[..n]) {
        if let Some(ctx) = ctx {
            ctx.count(Counter::LookupsRefused);
        }
        return Err(e);
    }
    let mut out = [0u8; MAX_LEN];
    match lookup(ctx, protocol, optname, optlen, &input[..n], &mut out) {
        Ok(served) => call.answer(out.get(..served).ok_or(code::EINVAL)?),
        Err(AbiError::Invalid) => Err(code::EINVAL),
        Err(AbiError::NoRecord) => Err(code::ENOENT),
        Err(AbiError::FamilyNotSupported) => Err(ffi::eafnosupport()),
    }
}

/// A look-up of the namespace's records through the ABI: `input` is what the caller's
/// buffer held, `out` the answer's bytes (every one written), of the length returned.
fn lookup(
    ctx: Option<&NetCtx<'_>>,
    protocol: u8,
    optname: i32,
    optlen: usize,
    input: &[u8],
    out: &mut [u8; MAX_LEN],
) -> Result<usize, AbiError> {
    let lookup = |q: &Query| -> Option<Carried> {
        let now = ffi::jiffies();
        ctx?.lock().table.lookup(q, now)
    };
    let v1 = optname == UOA_SO_GET_LOOKUP1;
    let r = sockopt::serve(protocol, optname, optlen, input, lookup, out);
    let Some(ctx) = ctx else {
        return r;
    };
    ctx.count(match (&r, v1) {
        (Ok(_), true) => Counter::LookupsV1Hit,
        (Ok(_), false) => Counter::LookupsV0Hit,
        (Err(AbiError::NoRecord), true) => Counter::LookupsV1Miss,
        (Err(AbiError::NoRecord), false) => Counter::LookupsV0Miss,
        (Err(_), _) => Counter::LookupsRefused,
    });
    r
}

/// Writes the statistics: `name value` per line, counters summed over CPUs, then the
/// table's size and limit. A namespace without its state yet has every counter at 0.
pub(crate) fn stats(net: Net<'_>, seq: &SeqFile<'_>) {
    let ctx = net.ctx();
    let ctx = ctx.as_ref();
    let mut name = [0u8; 64];
    stats::each(|prefix, n, idx| {
        let (p, n) = (prefix.as_bytes(), n.as_bytes());
        if let Some(buf) = name.get_mut(..p.len() + n.len()) {
            let (a, b) = buf.split_at_mut(p.len());
            a.copy_from_slice(p);
            b.copy_from_slice(n);
            seq.line(buf, ctx.map_or(0, |c| c.counter(idx)));
        }
    });
    let (live, max) = match ctx {
        Some(c) => {
            let l = c.lock();
            (l.table.len(), l.table.max_records())
        }
        None => (0, ffi::params().max_records),
    };
    seq.line(b"records_live", live.into());
    seq.line(b"max_records", max.into());
    seq.line(b"getname_probe_missed", ffi::getname_missed());
    seq.line(b"namespace_active", ctx.is_some().into());
    seq.line(b"namespace_activation_failed", ffi::activations_failed());
}
