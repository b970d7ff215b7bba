// SPDX-License-Identifier: GPL-2.0

//! A network namespace's share of the module, on the kernel's side: its state (made at the
//! namespace's first option or look-up: a namespace that never sees one costs only its few
//! hundred bytes of `ffi::NetShared`), the [`Namespace`] traits over it that the logic
//! (`path`, `expiry`) uses, the expiry work's timing, the getsockopt call's buffers and the
//! statistics file.

use kernel::alloc::{flags, KBox};
use kernel::error::{code, Result};

use crate::abi::AbiError;
use crate::expiry;
use crate::ffi::{self, Net, NetCtx, SeqFile, SockoptCall};
use crate::flow::Key;
use crate::option_codec::{Carried, Family};
use crate::path::{self, Sock};
use crate::records::Table;
use crate::sockopt::MAX_LEN;
use crate::state::{LastRefresh, Locked, Namespace, NamespaceState, NetState};
use crate::stats::{self, Counter};

/// A namespace's state, or `None` if its memory cannot be had. Any context (the first option
/// arrives in softirq): everything is allocated atomically, the table at its small size.
pub(crate) fn new_state() -> Option<KBox<NetState>> {
    let params = ffi::params();
    let table = Table::new_small(params.max_records, ffi::random_u64())?;
    KBox::new(
        NetState::new(Locked::new(table)),
        flags::GFP_ATOMIC | flags::__GFP_NOWARN,
    )
    .ok()
}

impl<'a> Namespace for Net<'a> {
    type State<'s>
        = NetCtx<'a>
    where
        Self: 's;

    fn state(&self) -> Option<NetCtx<'a>> {
        self.ctx()
    }

    fn activate(&self) -> Option<NetCtx<'a>> {
        Net::activate(self, new_state, gc_interval)
    }

    fn live(&self) -> bool {
        Net::live(self)
    }

    fn has_records(&self, tcp: bool) -> bool {
        Net::has_records(self, tcp)
    }

    fn trusted_source(&self, family: Family, addr: &[u8; 16]) -> bool {
        ffi::trusted(family, addr)
    }
}

impl<'a> NamespaceState for NetCtx<'a> {
    type Guard<'g>
        = ffi::Guard<'g>
    where
        Self: 'g;

    fn lock(&self) -> ffi::Guard<'_> {
        NetCtx::lock(self)
    }

    fn count_index(&self, idx: u32) {
        NetCtx::count_index(self, idx)
    }

    fn trusted(&self, family: Family, addr: &[u8; 16]) -> bool {
        ffi::trusted(family, addr)
    }

    fn tcp_socket(&self, key: &Key, full: bool) -> bool {
        NetCtx::tcp_socket(self, key, full)
    }

    fn record_arrived(&self, key: &Key, carried: &Carried) {
        NetCtx::promote_socket(self, key, carried)
    }

    fn grow_soon(&self) {
        NetCtx::grow_soon(self)
    }

    fn now(&self) -> u64 {
        ffi::jiffies()
    }

    fn count_two(&self, a: Counter, b: Counter) {
        NetCtx::count_two(self, a, b)
    }

    fn count_three(&self, c: [Counter; 3]) {
        NetCtx::count_three(self, c)
    }

    fn table_changes(&self) -> u64 {
        NetCtx::table_changes(self)
    }

    fn trust_version(&self) -> u64 {
        ffi::trust_version()
    }

    fn with_last_refresh<R>(&self, f: impl FnOnce(&mut LastRefresh) -> R) -> Option<R> {
        NetCtx::with_last_refresh(self, f)
    }

    fn log_malformed(&self, kind: &str, family: Family, saddr: &[u8; 16]) {
        ffi::log_malformed(kind, family, saddr)
    }

    fn log_untrusted(&self, family: Family, saddr: &[u8; 16]) {
        ffi::log_untrusted(family, saddr)
    }
}

/// Jiffies between expiry runs: a quarter of the idle timeout (a record outlives it by at
/// most 25%), from one second to one minute.
pub(crate) fn gc_interval() -> u64 {
    let hz = u64::from(ffi::hz());
    (u64::from(ffi::params().idle_timeout_secs) * hz / 4).clamp(hz, 60 * hz)
}

/// One expiry run ([`expiry::gc`]); returns the jiffies until the next.
pub(crate) fn gc(ctx: &NetCtx<'_>) -> u64 {
    let idle = u64::from(ffi::params().idle_timeout_secs).saturating_mul(u64::from(ffi::hz()));
    expiry::gc(ctx, idle, ffi::cond_resched);
    gc_interval()
}

/// Serves getsockopt(UOA_SO_GET_LOOKUP*) on a socket of `protocol` (records are per
/// transport) in `net`. A look-up makes the namespace's state, for its counters (a few hundred
/// bytes): an application asking is on a server that expects balancer traffic. Without it
/// (no memory) the answer is the same, only uncounted: no state, no record.
pub(crate) fn getsockopt(
    net: Net<'_>,
    sock: &Sock,
    optname: i32,
    call: &mut SockoptCall<'_>,
) -> Result {
    if optname == path::TOA_SO_GET_LOOKUP {
        let optlen = usize::try_from(call.optlen()).unwrap_or(0);
        let mut out = [0u8; path::NAT64_PEER_LEN];
        return match path::nat64_peer(&net, sock, optlen, &mut out) {
            Ok(()) => call.answer(&out),
            Err(path::Nat64Error::NotConnected) => Err(ffi::enotconn()),
            Err(path::Nat64Error::Invalid) => Err(code::EINVAL),
        };
    }
    let protocol = sock.protocol;
    let ctx = Namespace::activate(&net);
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
    match path::lookup(ctx, protocol, optname, optlen, &input[..n], &mut out) {
        Ok(served) => call.answer(out.get(..served).ok_or(code::EINVAL)?),
        Err(AbiError::Invalid) => Err(code::EINVAL),
        Err(AbiError::NoRecord) => Err(code::ENOENT),
        Err(AbiError::FamilyNotSupported) => Err(ffi::eafnosupport()),
    }
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
    seq.line(b"sockets_held", ffi::sockets_held());
    seq.line(b"accepts_waiting", ffi::accepts_waiting());
    let (answers, kept, failed) = ffi::answers();
    seq.line(b"socket_answers", answers);
    seq.line(b"socket_answers_given_back", kept);
    seq.line(b"socket_answers_alloc_failed", failed);
    seq.line(b"socket_probes_missed", ffi::probes_missed());
    seq.line(b"namespace_active", ctx.is_some().into());
    seq.line(b"namespace_activation_failed", ffi::activations_failed());
}
