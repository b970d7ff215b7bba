// SPDX-License-Identifier: GPL-2.0

//! The unsafe boundary with the kernel's C, in one place: the module-local bindings
//! generated from `ffi.h`, safe wrappers over what `helpers.c` provides, and the
//! `toa_uoa_rs_*` entry points `helpers.c` calls from the kernel's callbacks.

use core::cell::UnsafeCell;
use core::ffi::{c_int, c_ulong, c_void};
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

use kernel::alloc::KBox;
use kernel::error::{code, Error, Result};
use kernel::prelude::*;

use crate::hooks::{self, SOCKADDR_IN6_LEN};
use crate::netns::{self, Locked};
use crate::option_codec::{Family, IPPROTO_TCP, IPPROTO_UDP};
use crate::records::Key;
use crate::sockopt::{AbiError, MAX_LEN};
use crate::trust::Trust;

#[allow(
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    unreachable_pub,
    clippy::all,
    clippy::undocumented_unsafe_blocks
)]
mod bindings {
    include!("bindings_generated.rs");
}

/// The module's load-time parameters, as validated by `helpers.c`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Params {
    /// Most records kept per network namespace.
    pub(crate) max_records: u32,
    /// Seconds a record lives without traffic.
    pub(crate) idle_timeout_secs: u32,
}

/// Reads the module parameters.
pub(crate) fn params() -> Params {
    Params {
        // SAFETY: the helper only reads a static with READ_ONCE.
        max_records: unsafe { bindings::toa_uoa_param_max_records() },
        // SAFETY: as above.
        idle_timeout_secs: unsafe { bindings::toa_uoa_param_idle_timeout() },
    }
}

/// The `trusted_sources` parameter's bytes (without the NUL).
pub(crate) fn trusted_sources() -> &'static [u8] {
    let mut len = 0usize;
    // SAFETY: the helper only reads the parameter's pointer and writes its length to `len`.
    let ptr = unsafe { bindings::toa_uoa_param_trusted_sources(&mut len) };
    // SAFETY: `ptr` points to `len` bytes of a string that module_param keeps for the
    // module's lifetime and that cannot change (the parameter is read-only after load).
    unsafe { core::slice::from_raw_parts(ptr, len) }
}

/// Says in the kernel log (ratelimited: anyone can send such packets) that a malformed
/// option of kind `kind` came from `saddr`, so that the operator can find the sender.
pub(crate) fn log_malformed(kind: &str, family: Family, saddr: &[u8; 16]) {
    // SAFETY: the helper reads `kind.len()` bytes at `kind` and 4 or 16 bytes at `saddr`.
    unsafe {
        bindings::toa_uoa_log_sender(
            0,
            kind.as_ptr(),
            kind.len(),
            family_code(family),
            saddr.as_ptr(),
        )
    }
}

/// Says in the kernel log (ratelimited) that an option from `saddr`, outside
/// `trusted_sources`, was ignored.
pub(crate) fn log_untrusted(family: Family, saddr: &[u8; 16]) {
    // SAFETY: as in log_malformed(), with an empty kind.
    unsafe {
        bindings::toa_uoa_log_sender(1, core::ptr::null(), 0, family_code(family), saddr.as_ptr())
    }
}

/// The C side's family number: 4 or 6.
fn family_code(family: Family) -> u8 {
    match family {
        Family::V4 => 4,
        Family::V6 => 6,
    }
}

/// The current time in jiffies (64-bit: never wraps in practice).
pub(crate) fn jiffies() -> u64 {
    // SAFETY: get_jiffies_64() has no preconditions.
    unsafe { bindings::toa_uoa_jiffies() }
}

/// Jiffies per second.
pub(crate) fn hz() -> u32 {
    // SAFETY: returns a constant.
    unsafe { bindings::toa_uoa_hz() }
}

/// Lets the scheduler run something else (process context only).
pub(crate) fn cond_resched() {
    // SAFETY: only called from the expiry work, in process context without locks held.
    unsafe { bindings::toa_uoa_cond_resched() }
}

/// A random seed.
pub(crate) fn random_u64() -> u64 {
    // SAFETY: get_random_u64() has no preconditions.
    unsafe { bindings::toa_uoa_random_u64() }
}

/// Registration of the pernet operations: every namespace, present and future, gets its
/// state, hooks and /proc/net/toa_uoa; unregistering tears all of them down.
pub(crate) struct PernetRegistration(());

impl PernetRegistration {
    /// Registers; `ncounters` is the size of each namespace's per-CPU counter array.
    pub(crate) fn new(ncounters: u32) -> Result<Self> {
        // SAFETY: called once from module init; undone in drop.
        let err = unsafe { bindings::toa_uoa_pernet_register(ncounters) };
        if err != 0 {
            pr_err!("cannot register the per-namespace set-up: error {}\n", err);
            return Err(Error::from_errno(err));
        }
        Ok(PernetRegistration(()))
    }
}

impl Drop for PernetRegistration {
    fn drop(&mut self) {
        // SAFETY: registered in new(); this is the only unregistration.
        unsafe { bindings::toa_uoa_pernet_unregister() }
    }
}

/// Registration of the getsockopt optnames 2048..2049 for PF_INET and PF_INET6.
pub(crate) struct SockoptRegistration(());

impl SockoptRegistration {
    /// Registers, or says who holds the optnames already.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: called once from module init; undone in drop.
        let err = unsafe { bindings::toa_uoa_sockopt_register() };
        if err == code::EBUSY.to_errno() {
            pr_err!("getsockopt optnames 2048..2049 are taken by another module (DPVS uoa.ko?): unload it first\n");
            return Err(code::EBUSY);
        }
        if err != 0 {
            pr_err!("cannot register getsockopt: error {}\n", err);
            return Err(Error::from_errno(err));
        }
        Ok(SockoptRegistration(()))
    }
}

impl Drop for SockoptRegistration {
    fn drop(&mut self) {
        // SAFETY: registered in new(); this is the only unregistration.
        unsafe { bindings::toa_uoa_sockopt_unregister() }
    }
}

/// The kretprobes on inet_getname and inet6_getname (getpeername, getsockname, accept).
pub(crate) struct GetnameRegistration(());

impl GetnameRegistration {
    /// Registers both probes (or neither).
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: called once from module init; undone in drop.
        let err = unsafe { bindings::toa_uoa_getname_register() };
        if err != 0 {
            return Err(Error::from_errno(err));
        }
        Ok(GetnameRegistration(()))
    }
}

impl Drop for GetnameRegistration {
    fn drop(&mut self) {
        // SAFETY: registered in new(); unregister_kretprobes waits for running handlers.
        unsafe { bindings::toa_uoa_getname_unregister() }
    }
}

/// getname calls whose return the probes could not see (too many at once).
pub(crate) fn getname_missed() -> u64 {
    // SAFETY: reads counters of the static probes.
    unsafe { bindings::toa_uoa_getname_missed() }
}

fn key_of_tuple(t: &bindings::toa_uoa_tuple) -> Key {
    Key {
        proto: t.protocol,
        family: if t.family == 6 {
            Family::V6
        } else {
            Family::V4
        },
        saddr: t.saddr,
        sport: t.sport,
        daddr: t.daddr,
        dport: t.dport,
    }
}

fn tuple_of_key(k: &Key) -> bindings::toa_uoa_tuple {
    bindings::toa_uoa_tuple {
        family: family_code(k.family),
        protocol: k.proto,
        sport: k.sport,
        dport: k.dport,
        saddr: k.saddr,
        daddr: k.daddr,
    }
}

/// A namespace's Rust state: what its spinlock (in the C `struct toa_uoa_net`) protects.
pub(crate) struct NetState {
    locked: UnsafeCell<Locked>,
    trust: Trust,
}

impl NetState {
    /// Wraps the state; the table is only reached through [`NetCtx::lock`], the trusted
    /// sources (read-only) through [`NetCtx::trust`].
    pub(crate) fn new(locked: Locked, trust: Trust) -> Self {
        NetState {
            locked: UnsafeCell::new(locked),
            trust,
        }
    }
}

/// A namespace as a callback sees it: its C state, always there, and through it the Rust
/// state, which a namespace only has from its first option or look-up on.
pub(crate) struct Net {
    tn: NonNull<bindings::toa_uoa_net>,
    /// The state as the caller already read it (NULL: absent, or not read): the packet path
    /// passes it, saving a call per packet.
    seen: *mut c_void,
}

impl Net {
    /// # Safety
    ///
    /// `tn` must be the C state of a live namespace, as helpers.c passes it from a callback
    /// that the namespace's teardown waits for; the `Net` must not outlive that callback.
    /// `seen` is NULL or what toa_uoa_net_state() returned for `tn`.
    unsafe fn from_raw(tn: *mut bindings::toa_uoa_net, seen: *mut c_void) -> Option<Self> {
        NonNull::new(tn).map(|tn| Net { tn, seen })
    }

    /// The namespace's state, if it has one.
    pub(crate) fn ctx(&self) -> Option<NetCtx<'_>> {
        // SAFETY: tn is live (from_raw); the helper is an acquire load.
        self.with(|tn| unsafe { bindings::toa_uoa_net_state(tn) })
    }

    /// The namespace's state, made now if it has none yet; `None` if the memory is not
    /// there (the helper counts and logs that). Any context.
    pub(crate) fn activate(&self) -> Option<NetCtx<'_>> {
        // SAFETY: tn is live (from_raw); the helper allocates atomically and publishes the
        // state once.
        self.with(|tn| unsafe { bindings::toa_uoa_net_activate(tn) })
    }

    /// The state the caller passed, or else what `read` gets from the C side.
    fn with(
        &self,
        read: impl FnOnce(*mut bindings::toa_uoa_net) -> *mut c_void,
    ) -> Option<NetCtx<'_>> {
        let state = if self.seen.is_null() {
            read(self.tn.as_ptr())
        } else {
            self.seen
        };
        // SAFETY: a non-NULL state came from `toa_uoa_rs_state_new` and is freed by net_exit
        // only, after every callback that can see it has returned (from_raw's promise).
        let state = unsafe { state.cast::<NetState>().as_ref() }?;
        Some(NetCtx { tn: self.tn, state })
    }
}

/// Namespaces whose state could not be made for want of memory, since load.
pub(crate) fn activations_failed() -> u64 {
    // SAFETY: reads an atomic.
    unsafe { bindings::toa_uoa_activations_failed() }
}

/// A namespace that has its state: its C state (lock, counters) and its Rust state.
pub(crate) struct NetCtx<'a> {
    tn: NonNull<bindings::toa_uoa_net>,
    state: &'a NetState,
}

impl<'a> NetCtx<'a> {
    /// Has the expiry work run now, to grow the table from its first small size.
    pub(crate) fn grow_soon(&self) {
        // SAFETY: tn is live, its work initialised in net_init and cancelled in net_exit
        // after the last callback that can call this.
        unsafe { bindings::toa_uoa_net_grow_soon(self.tn.as_ptr()) }
    }

    /// Adds one to counter `idx` on this CPU.
    pub(crate) fn count(&self, idx: u32) {
        // SAFETY: tn is live (from_raw); the helper ignores an index out of range.
        unsafe { bindings::toa_uoa_count(self.tn.as_ptr(), idx) }
    }

    /// The sum of counter `idx` over all CPUs.
    pub(crate) fn counter(&self, idx: u32) -> u64 {
        // SAFETY: as in count().
        unsafe { bindings::toa_uoa_counter_sum(self.tn.as_ptr(), idx) }
    }

    /// The sources whose options are believed.
    pub(crate) fn trust(&self) -> &Trust {
        &self.state.trust
    }

    /// Whether a TCP connection with the tuple of `key` still exists in the namespace.
    pub(crate) fn tcp_established(&self, key: &Key) -> bool {
        let t = tuple_of_key(key);
        // SAFETY: tn is live; the helper does an RCU look-up and drops its reference.
        unsafe { bindings::toa_uoa_tcp_established(self.tn.as_ptr(), &t) }
    }

    /// Whether the tuple of `key` is a live TCP connection (a full socket, not TIME_WAIT nor
    /// a handshake in progress).
    pub(crate) fn tcp_connected(&self, key: &Key) -> bool {
        let t = tuple_of_key(key);
        // SAFETY: tn is live; the helper does an RCU look-up and drops its reference.
        unsafe { bindings::toa_uoa_tcp_connected(self.tn.as_ptr(), &t) }
    }

    /// Takes the namespace's lock (spin_lock_irqsave: it is taken from softirq, process
    /// and kretprobe context alike).
    pub(crate) fn lock(&self) -> Guard<'_> {
        // SAFETY: tn is live; the lock was initialised in net_init before any callback.
        let flags = unsafe { bindings::toa_uoa_net_lock(self.tn.as_ptr()) };
        Guard { ctx: self, flags }
    }
}

/// The namespace's lock, held; unlocks when dropped.
pub(crate) struct Guard<'a> {
    ctx: &'a NetCtx<'a>,
    flags: c_ulong,
}

impl Deref for Guard<'_> {
    type Target = Locked;

    fn deref(&self) -> &Locked {
        // SAFETY: the lock is held for the guard's lifetime, so nothing else touches it.
        unsafe { &*self.ctx.state.locked.get() }
    }
}

impl DerefMut for Guard<'_> {
    fn deref_mut(&mut self) -> &mut Locked {
        // SAFETY: as in deref(); `&mut self` makes this the only reference.
        unsafe { &mut *self.ctx.state.locked.get() }
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        let table = &self.table;
        let (tcp, udp) = (table.len_of(IPPROTO_TCP), table.len_of(IPPROTO_UDP));
        // SAFETY: taken in NetCtx::lock() with these flags.
        unsafe { bindings::toa_uoa_net_unlock(self.ctx.tn.as_ptr(), self.flags, tcp, udp) }
    }
}

/// Called by toa_uoa_net_activate (any context): a namespace's Rust state, or NULL.
#[no_mangle]
pub(crate) extern "C" fn toa_uoa_rs_state_new() -> *mut c_void {
    match netns::new_state() {
        Some(s) => KBox::into_raw(s).cast(),
        None => core::ptr::null_mut(),
    }
}

/// Called by net_exit once nothing else can reach `state`, and by toa_uoa_net_activate for
/// a state that lost the race to be published.
///
/// # Safety
///
/// `state` is NULL or came from [`toa_uoa_rs_state_new`] and is not used afterwards.
#[no_mangle]
pub(crate) unsafe extern "C" fn toa_uoa_rs_net_exit(state: *mut c_void) {
    if !state.is_null() {
        // SAFETY: by the caller's promise, this is the box made in net_init, freed once.
        drop(unsafe { KBox::from_raw(state.cast::<NetState>()) });
    }
}

/// Called by the LOCAL_IN hooks with the first `len` bytes of a packet with options.
///
/// # Safety
///
/// `tn`, `state` as in [`Net::from_raw`]; `pkt` points to `len` readable bytes.
#[no_mangle]
pub(crate) unsafe extern "C" fn toa_uoa_rs_rx(
    tn: *mut bindings::toa_uoa_net,
    state: *mut c_void,
    pkt: *const u8,
    len: usize,
) {
    // SAFETY: the hook runs between net_init and net_exit (net_pre_exit unregisters it, and
    // a grace period passes before net_exit).
    let Some(net) = (unsafe { Net::from_raw(tn, state) }) else {
        return;
    };
    if pkt.is_null() {
        return;
    }
    // SAFETY: the caller copied or mapped `len` bytes at `pkt` for this call.
    let pkt = unsafe { core::slice::from_raw_parts(pkt, len) };
    crate::hooks::rx(&net, pkt);
}

/// Called by nf_sockopt for getsockopt(UOA_SO_GET_LOOKUP*). `user` is the caller's
/// buffer, `len` (a kernel pointer) its length in and the length served out.
///
/// # Safety
///
/// `tn` as in [`Net::from_raw`]; `len` points to a valid int.
#[no_mangle]
pub(crate) unsafe extern "C" fn toa_uoa_rs_getsockopt(
    tn: *mut bindings::toa_uoa_net,
    protocol: u8,
    optname: c_int,
    user: *mut c_void,
    len: *mut c_int,
) -> c_int {
    // SAFETY: nf_sockopt holds a module reference for the call; the namespace is the
    // calling socket's and outlives the call.
    let Some(net) = (unsafe { Net::from_raw(tn, core::ptr::null_mut()) }) else {
        return code::ENOENT.to_errno();
    };
    // A look-up makes the state, for its counters (a few hundred bytes): an application
    // asking is on a server that expects balancer traffic. Without it (no memory) the
    // answer is the same, only uncounted: no state, no record.
    let ctx = net.activate();
    let ctx = ctx.as_ref();
    // SAFETY: nf_getsockopt passes its own int (copied from user space) by pointer.
    let optlen = unsafe { *len };
    let Ok(optlen) = usize::try_from(optlen) else {
        return code::EINVAL.to_errno();
    };
    let mut input = [0u8; MAX_LEN];
    let n = optlen.min(MAX_LEN);
    // SAFETY: copy_from_user checks `user` itself; `input` has room for n <= MAX_LEN.
    if unsafe { bindings::toa_uoa_copy_from_user(input.as_mut_ptr().cast(), user, n) } != 0 {
        if let Some(ctx) = ctx {
            ctx.count(crate::stats::Counter::LookupsRefused.index());
        }
        return code::EFAULT.to_errno();
    }
    let mut out = [0u8; MAX_LEN];
    match netns::getsockopt(ctx, protocol, optname, optlen, &input[..n], &mut out) {
        Ok(served) => {
            // SAFETY: copy_to_user checks `user`; `out` holds `served <= MAX_LEN` bytes,
            // all written by the ABI encoder (zero where it wrote nothing).
            if unsafe { bindings::toa_uoa_copy_to_user(user, out.as_ptr().cast(), served) } != 0 {
                return code::EFAULT.to_errno();
            }
            // SAFETY: as above; served <= 58 fits an int.
            unsafe { *len = served as c_int };
            0
        }
        Err(AbiError::Invalid) => code::EINVAL.to_errno(),
        Err(AbiError::NoRecord) => code::ENOENT.to_errno(),
        Err(AbiError::FamilyNotSupported) => -(bindings::TOA_UOA_EAFNOSUPPORT as c_int),
    }
}

/// Called by the getname kretprobe for a TCP or UDP socket whose tuple is `t`: writes
/// the answer into the kernel-side sockaddr `uaddr` and returns its length, or returns 0
/// (the kernel's own answer stands).
///
/// # Safety
///
/// `tn` as in [`Net::from_raw`]; `t` valid; `uaddr` is the sockaddr buffer the
/// probed inet_getname/inet6_getname just filled, with room for `room` bytes (a
/// `sockaddr_storage` inside the getname system calls; elsewhere only the socket family's
/// own sockaddr is known to fit: helpers.c's getname_buffer_is_storage decides).
#[no_mangle]
pub(crate) unsafe extern "C" fn toa_uoa_rs_getname(
    tn: *mut bindings::toa_uoa_net,
    t: *const bindings::toa_uoa_tuple,
    uaddr: *mut u8,
    room: usize,
    peer: c_int,
) -> c_int {
    // SAFETY: helpers.c calls this under RCU having seen the namespace's `live` set, which
    // net_pre_exit clears a grace period before net_exit frees anything.
    let Some(net) = (unsafe { Net::from_raw(tn, core::ptr::null_mut()) }) else {
        return 0;
    };
    // No state, no record.
    let Some(ctx) = net.ctx() else {
        return 0;
    };
    // SAFETY: by the caller's promise.
    let Some(t) = (unsafe { t.as_ref() }) else {
        return 0;
    };
    if uaddr.is_null() {
        return 0;
    }
    let mut out = [0u8; SOCKADDR_IN6_LEN];
    match hooks::getname(&ctx, &key_of_tuple(t), peer != 0, room, &mut out) {
        Some(len) => {
            // SAFETY: uaddr has room for `room` bytes (caller's promise); len <= room.
            unsafe { core::ptr::copy_nonoverlapping(out.as_ptr(), uaddr, len) };
            // len is 16 or 28.
            len as c_int
        }
        None => 0,
    }
}

/// Called by the namespace's expiry work.
///
/// # Safety
///
/// `tn` as in [`Net::from_raw`]; process context, no locks held.
#[no_mangle]
pub(crate) unsafe extern "C" fn toa_uoa_rs_gc(tn: *mut bindings::toa_uoa_net) {
    // SAFETY: net_exit cancels the work (synchronously) before freeing the state.
    if let Some(ctx) = unsafe { Net::from_raw(tn, core::ptr::null_mut()) }
        .as_ref()
        .and_then(Net::ctx)
    {
        netns::gc(&ctx);
    }
}

/// Called when /proc/net/toa_uoa is read.
///
/// # Safety
///
/// `tn` as in [`Net::from_raw`]; `seq` is the seq_file being shown.
#[no_mangle]
pub(crate) unsafe extern "C" fn toa_uoa_rs_stats(
    tn: *mut bindings::toa_uoa_net,
    seq: *mut bindings::seq_file,
) {
    // SAFETY: net_exit removes the proc entry (waiting for readers) before freeing.
    let Some(net) = (unsafe { Net::from_raw(tn, core::ptr::null_mut()) }) else {
        return;
    };
    netns::stats(net.ctx().as_ref(), |name, value| {
        // SAFETY: seq is valid during the show callback; name points to name.len() bytes.
        unsafe { bindings::toa_uoa_seq_counter(seq, name.as_ptr().cast(), name.len(), value) }
    });
}
