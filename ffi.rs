// SPDX-License-Identifier: GPL-2.0

//! The unsafe boundary with the kernel's C, in one place, in three sections as
//! `rust/kernel/net/phy.rs` has them:
//!
//! - wrappers: safe types over what the kernel and `helpers.c` provide (a namespace's share,
//!   its lock, a packet, a socket, the task making a call);
//! - callbacks: the `extern "C"` functions the kernel calls, generic over a [`Handler`] (the
//!   module's logic, in the files above this one), each checking what the kernel hands it
//!   and passing safe types on;
//! - registrations: each kernel registration a pinned type, initialised in place and undone
//!   in its `PinnedDrop`.
//!
//! This file uses only the files below it (the record table, the codec's types, the ABI's
//! error type); the logic reaches the kernel only through it.

use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int, c_uint, c_ulong, c_void};
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, Ordering};

use kernel::alloc::KBox;
use kernel::error::{code, Error, Result};
use kernel::prelude::*;
use kernel::types::Opaque;

use crate::flow::{Key, AF_INET6 as LINUX_AF_INET6};
use crate::option_codec::{Carried, Family, IPPROTO_TCP};
use crate::path::{self, Accepted, Sock, Task};
use crate::sockopt::{UOA_SO_GET_LOOKUP, UOA_SO_GET_LOOKUP1};
use crate::state::{LastRefresh, Locked, NetState, LAST_REFRESH_WORDS};
use crate::stats::{self, Counter};
use crate::trust::{Setting, MAX_PREFIXES, MAX_TEXT};

#[allow(
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    clippy::all,
    clippy::cast_lossless,
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr,
    clippy::undocumented_unsafe_blocks
)]
mod bindings {
    // The kernel structures Rust only points to (Kbuild keeps them out of the generated
    // file).
    macro_rules! pointer_only {
        ($($name:ident)*) => {$(
            #[repr(C)]
            pub struct $name {
                _private: [u8; 0],
            }
        )*};
    }
    pointer_only!(sk_buff sock net socket module net_device pt_regs seq_file proc_dir_entry
        rethook kretprobe_holder proto_ops sockaddr proto_accept_arg);
    include!("bindings_generated.rs");
}

// ---------------------------------------------------------------------------------------
// Wrappers
// ---------------------------------------------------------------------------------------

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

/// One of the two places a `trusted_sources` setting is kept.
///
/// # Invariants
///
/// Written only by [`toa_uoa_rs_trusted_sources_set`] (writers are serialised: the kernel
/// holds the module's parameter lock for each write, and nothing else runs at load), only
/// while it is not the slot [`TRUSTED`] points to and a grace period has passed since it last
/// was; read only through [`TRUSTED`], under RCU.
struct SettingSlot(UnsafeCell<Setting>);

// SAFETY: by the type invariant, a slot is never written while it can be read.
unsafe impl Sync for SettingSlot {}

static SLOTS: [SettingSlot; 2] = [
    SettingSlot(UnsafeCell::new(Setting::ANY)),
    SettingSlot(UnsafeCell::new(Setting::ANY)),
];

/// The `trusted_sources` setting in force: one of [`SLOTS`], or NULL until one is set (every
/// source trusted).
static TRUSTED: AtomicPtr<Setting> = AtomicPtr::new(ptr::null_mut());

/// The longest value the parameter's set looks at (a sysfs write is at most a page).
const VALUE_MAX: usize = 4096;

/// Moves at every change of `trusted_sources` (after the new setting is in force): a packet
/// path's [`LastRefresh`] is only good under the setting it was made under.
static TRUST_VERSION: AtomicU64 = AtomicU64::new(0);

/// The version of `trusted_sources` in force ([`TRUST_VERSION`]).
pub(crate) fn trust_version() -> u64 {
    TRUST_VERSION.load(Ordering::Acquire)
}

/// Set once the module is loaded: later changes are logged (the load line says the first).
static LOADED: AtomicBool = AtomicBool::new(false);

/// Calls `f` with the `trusted_sources` setting in force.
pub(crate) fn with_trusted<R>(f: impl FnOnce(&Setting) -> R) -> R {
    let _rcu = RcuGuard::new();
    let p = TRUSTED.load(Ordering::Acquire);
    // SAFETY: a published slot is not written until a grace period after it stops being
    // published (SettingSlot's invariant), and this reads it inside an RCU section.
    match unsafe { p.as_ref() } {
        Some(s) => f(s),
        None => f(&Setting::ANY),
    }
}

/// Whether an option from source `addr` is believed under the setting in force.
pub(crate) fn trusted(family: Family, addr: &[u8; 16]) -> bool {
    // Never set (the module loaded without trusted_sources): every source, without an RCU
    // section. A set racing with this comes after it.
    if TRUSTED.load(Ordering::Acquire).is_null() {
        return true;
    }
    with_trusted(|s| s.trust.allows(family, addr))
}

/// Says that the module is loaded: from now on, changes to `trusted_sources` are logged.
pub(crate) fn loaded() {
    LOADED.store(true, Ordering::Relaxed);
}

/// The bytes of the NUL-terminated string at `s`, or `None` if it is longer than `max`.
///
/// # Safety
///
/// `s` is a NUL-terminated string, readable up to its NUL or `max + 1` bytes.
unsafe fn c_bytes<'a>(s: *const u8, max: usize) -> Option<&'a [u8]> {
    let mut n = 0;
    // SAFETY: reads stop at the NUL or after `max + 1` bytes (caller's promise).
    while unsafe { *s.add(n) } != 0 {
        if n == max {
            return None;
        }
        n += 1;
    }
    // SAFETY: the `n` bytes just read.
    Some(unsafe { core::slice::from_raw_parts(s, n) })
}

/// `trusted_sources`' set: at load and at every write to the parameter. Parses the value;
/// a bad one is refused (EINVAL: the load fails, or the write, and nothing changes); a good
/// one is written to the slot not in force and published at once (a packet sees either the
/// old setting or the new, whole), and a change after load is logged.
///
/// # Safety
///
/// Called by the kernel's parameter code with a NUL-terminated value, serialised with every
/// other set of this parameter.
#[no_mangle]
pub(crate) unsafe extern "C" fn toa_uoa_rs_trusted_sources_set(
    val: *const u8,
    _kp: *const c_void,
) -> c_int {
    if val.is_null() {
        return code::EINVAL.to_errno();
    }
    // A value longer than a page cannot come (sysfs writes are at most one); white space
    // around the list is not counted against MAX_TEXT, so look that far.
    // SAFETY: the kernel passes the NUL-terminated value.
    let Some(val) = (unsafe { c_bytes(val, VALUE_MAX) }) else {
        pr_err!("trusted_sources refused: longer than {} bytes\n", VALUE_MAX);
        return code::EINVAL.to_errno();
    };
    let old = TRUSTED.load(Ordering::Acquire);
    if !old.is_null() {
        // Readers that took the other slot while it was in force are done after this.
        // SAFETY: process context (a parameter write), no locks that RCU waits for held.
        unsafe { bindings::toa_uoa_synchronize_rcu() };
    }
    let next = if ptr::eq(old, SLOTS[0].0.get()) {
        &SLOTS[1]
    } else {
        &SLOTS[0]
    };
    // SAFETY: writers are serialised and the slot is not in force, nor read by anyone since
    // the grace period above (SettingSlot's invariant).
    let setting = unsafe { &mut *next.0.get() };
    if let Err(e) = setting.set(val) {
        pr_err!(
            "trusted_sources refused ({:?}): a comma-separated list of a.b.c.d/len and x:x::x/len, at most {} of them, at most {} bytes\n",
            e,
            MAX_PREFIXES,
            MAX_TEXT
        );
        return code::EINVAL.to_errno();
    }
    TRUSTED.store(next.0.get(), Ordering::Release);
    TRUST_VERSION.fetch_add(1, Ordering::AcqRel);
    if LOADED.load(Ordering::Relaxed) {
        // SAFETY: `old` is NULL or the other slot, which no writer touches before the next
        // set (serialised with this one).
        let was = unsafe { old.as_ref() }.unwrap_or(&Setting::ANY);
        pr_info!(
            "trusted_sources now {} (was {})\n",
            setting.describe(),
            was.describe()
        );
    }
    0
}

/// `trusted_sources`' get: the setting in force, as given, and a newline.
///
/// # Safety
///
/// Called by the kernel's parameter code with a page-sized buffer.
#[no_mangle]
pub(crate) unsafe extern "C" fn toa_uoa_rs_trusted_sources_get(
    buffer: *mut u8,
    _kp: *const c_void,
) -> c_int {
    if buffer.is_null() {
        return 0;
    }
    with_trusted(|s| {
        let text = s.text();
        // SAFETY: the buffer holds a page, more than MAX_TEXT + 1 bytes.
        unsafe {
            ptr::copy_nonoverlapping(text.as_ptr(), buffer, text.len());
            *buffer.add(text.len()) = b'\n';
        }
        // At most MAX_TEXT + 1.
        c_int::try_from(text.len() + 1).unwrap_or(0)
    })
}

/// Says in the kernel log (ratelimited) that an opp header could not be removed (no memory
/// to make the packet writable): the datagram does not reach UDP.
pub(crate) fn log_opp_not_removed() {
    // SAFETY: a ratelimited printk with a constant format.
    unsafe { bindings::toa_uoa_log_opp_not_removed() }
}

/// Says in the kernel log (ratelimited: anyone can send such packets) that a malformed
/// option of kind `kind` came from `saddr`, so that the operator can find the sender.
pub(crate) fn log_malformed(kind: &str, family: Family, saddr: &[u8; 16]) {
    let (k, n, a) = (kind.as_ptr(), kind.len(), saddr.as_ptr());
    match family {
        // SAFETY: the helper reads `n` bytes at `k` and 4 bytes at `a`.
        Family::V4 => unsafe { bindings::toa_uoa_log_malformed4(k, n, a) },
        // SAFETY: the helper reads `n` bytes at `k` and 16 bytes at `a`.
        Family::V6 => unsafe { bindings::toa_uoa_log_malformed6(k, n, a) },
    }
}

/// Says in the kernel log (ratelimited) that an option from `saddr`, outside
/// `trusted_sources`, was ignored.
pub(crate) fn log_untrusted(family: Family, saddr: &[u8; 16]) {
    match family {
        // SAFETY: the helper reads 4 bytes at `saddr`.
        Family::V4 => unsafe { bindings::toa_uoa_log_untrusted4(saddr.as_ptr()) },
        // SAFETY: the helper reads 16 bytes at `saddr`.
        Family::V6 => unsafe { bindings::toa_uoa_log_untrusted6(saddr.as_ptr()) },
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

/// An RCU read-side critical section, ended when dropped.
#[must_use = "the section ends when the guard is dropped"]
struct RcuGuard(PhantomData<*mut ()>);

impl RcuGuard {
    fn new() -> Self {
        // SAFETY: rcu_read_lock() nests and has no preconditions; Drop ends it on this CPU
        // (the guard is neither Send nor Sync).
        unsafe { bindings::toa_uoa_rcu_read_lock() };
        RcuGuard(PhantomData)
    }
}

impl Drop for RcuGuard {
    fn drop(&mut self) {
        // SAFETY: begun in new() on this task.
        unsafe { bindings::toa_uoa_rcu_read_unlock() }
    }
}

/// The system calls whose every path to inet_getname/inet6_getname passes a
/// `sockaddr_storage` (net/socket.c's accept, getsockname, getpeername; sock.c's SO_PEERNAME
/// under getsockopt; io_uring's accept and getsockname commands). -1: not on this
/// architecture.
pub(crate) const STORAGE_SYSCALLS: [i64; 6] = [
    bindings::TOA_UOA_NR_GETPEERNAME as i64,
    bindings::TOA_UOA_NR_GETSOCKNAME as i64,
    bindings::TOA_UOA_NR_ACCEPT4 as i64,
    bindings::TOA_UOA_NR_GETSOCKOPT as i64,
    bindings::TOA_UOA_NR_ACCEPT as i64,
    bindings::TOA_UOA_NR_IO_URING_ENTER as i64,
];

/// The current task.
pub(crate) fn current_task() -> Task {
    let mut t = bindings::toa_uoa_task {
        kthread: false,
        compat: false,
        syscall: 0,
    };
    // SAFETY: the helper reads `current`, always valid in task context (kretprobe handlers
    // run in the probed call's task), and writes only `t`.
    unsafe { bindings::toa_uoa_current_task(&mut t) };
    Task {
        kthread: t.kthread,
        compat: t.compat,
        syscall: t.syscall,
    }
}

/// A packet at a netfilter hook, for the duration of the hook.
pub(crate) struct Skb<'a> {
    skb: NonNull<bindings::sk_buff>,
    _hook: PhantomData<&'a bindings::sk_buff>,
}

impl<'a> Skb<'a> {
    /// Removes the `len` bytes at `off` from the IP header (a header between the IP header
    /// and the transport's), writes `protocol` into the byte at `protocol_at` (the IPv4
    /// protocol field or the IPv6 Next Header) and lowers the IP length by `len`; false if
    /// the packet could not be made writable (it is then left as it was).
    pub(crate) fn remove_header(
        &self,
        off: usize,
        len: usize,
        protocol_at: usize,
        protocol: u8,
    ) -> bool {
        let (Ok(off), Ok(len), Ok(at)) = (
            u32::try_from(off),
            u32::try_from(len),
            u32::try_from(protocol_at),
        ) else {
            return false;
        };
        // SAFETY: the skb is valid for the hook's duration, and a LOCAL_IN hook may change
        // it (the helper makes it writable first, and checks the offsets against it).
        unsafe {
            bindings::toa_uoa_skb_remove_header(self.skb.as_ptr(), off, len, at, protocol) == 0
        }
    }

    /// The packet's first bytes from its IP header, at most `max`, in place: `Ok` if they
    /// are in the linear area, else `Err` with their count (for [`Skb::peek`] to copy).
    pub(crate) fn linear(&self, max: usize) -> Result<&'a [u8], usize> {
        let mut len: c_uint = 0;
        let max32 = u32::try_from(max).unwrap_or(u32::MAX);
        // SAFETY: the skb is valid for the hook's duration ('a); the helper writes `len`.
        let p = unsafe { bindings::toa_uoa_skb_network_linear(self.skb.as_ptr(), max32, &mut len) };
        let len = usize::try_from(len).unwrap_or(0).min(max);
        if p.is_null() {
            return Err(len);
        }
        // SAFETY: `len` bytes of the skb's linear data, which the hook may read while the
        // skb is valid ('a) and it does not change it.
        Ok(unsafe { core::slice::from_raw_parts(p, len) })
    }

    /// `buf.len()` bytes at `off` from the IP header: in place where they are linear, else
    /// copied into `buf`; `None` if the packet is shorter.
    pub(crate) fn peek<'b>(&'b self, off: usize, buf: &'b mut [u8]) -> Option<&'b [u8]> {
        let len = buf.len();
        let (off32, len32) = (u32::try_from(off).ok()?, u32::try_from(len).ok()?);
        // SAFETY: skb_header_pointer reads at most `len` bytes of the valid skb, and writes
        // at most `len` bytes into `buf`.
        let p = unsafe {
            bindings::toa_uoa_skb_peek(self.skb.as_ptr(), off32, len32, buf.as_mut_ptr())
        };
        if p.is_null() {
            return None;
        }
        // SAFETY: `p` points to `len` bytes: in the skb's linear data (valid while the skb,
        // borrowed for 'b, is) or in `buf` (borrowed for 'b).
        Some(unsafe { core::slice::from_raw_parts(p, len) })
    }
}

/// A socket in a callback: its namespace's share, and what it says about its connection.
#[derive(Clone, Copy)]
pub(crate) struct SockView {
    shared: NonNull<NetShared>,
    /// The connection.
    pub(crate) sock: Sock,
}

// The kernel's TCP state numbers are those the logic names (path.rs): checked here, where
// both are known.
const _: () = assert!(bindings::TOA_UOA_TCP_SYN_SENT as u8 == path::TCP_SYN_SENT);
const _: () = assert!(bindings::TOA_UOA_TCP_CLOSE as u8 == path::TCP_CLOSE);
const _: () = assert!(bindings::TOA_UOA_TCP_LISTEN as u8 == path::TCP_LISTEN);
// The kernel's number is the ABI's (flow.rs).
const _: () = assert!(bindings::TOA_UOA_AF_INET6 as u16 == LINUX_AF_INET6);

/// An empty view for the helpers to fill.
fn blank_view() -> bindings::toa_uoa_sock_view {
    // SAFETY: the struct is plain data (pointers, integers, arrays); zeroes are valid.
    unsafe { core::mem::zeroed() }
}

impl SockView {
    /// The view a helper filled, with the namespace's share (`net_generic`, which the pernet
    /// core keeps from before net_init to after net_exit).
    fn from_c(v: &bindings::toa_uoa_sock_view) -> Option<Self> {
        Some(SockView {
            shared: NonNull::new(v.shared.cast::<NetShared>())?,
            sock: Sock {
                family: v.family.into(),
                protocol: v.protocol,
                state: v.state,
                peer_port: u16::from_be(v.peer_port),
                local_port: v.local_port,
                peer4: v.peer4.to_ne_bytes(),
                local4: v.local4.to_ne_bytes(),
                peer6: v.peer6,
                local6: v.local6,
            },
        })
    }

    /// The socket's namespace.
    ///
    /// # Safety
    ///
    /// The namespace is alive (and through net_init) for 'a: the caller's socket holds it,
    /// or (a kernel socket in a kretprobe handler, which runs with preemption disabled: an
    /// RCU read-side section) its share stays until a grace period after net_pre_exit
    /// cleared `live`, which the caller checks before using the state.
    unsafe fn net<'a>(&self) -> Net<'a> {
        // SAFETY: by the caller's promise, the share is alive for 'a.
        let shared = unsafe { &*self.shared.as_ptr() };
        Net { shared }
    }
}

/// A namespace's share of the module, allocated and zeroed by the pernet core with the
/// namespace (`pernet_operations.size`), found with `net_generic`. Zeroed is its state
/// before `net_init`: no Rust state, no counters, not live.
///
/// # Invariants
///
/// `lock` and `gc` are initialised by `net_init` before anything else can reach the share;
/// `counters` is set before `state` (release) and both stay until `net_exit`.
#[repr(C)]
pub(crate) struct NetShared {
    lock: Opaque<bindings::spinlock_t>,
    /// Expiry, and growing the table from its first small size; queued at activation.
    gc: Opaque<bindings::delayed_work>,
    /// NULL until activation, then the namespace's Rust state.
    state: AtomicPtr<NetState>,
    /// The per-CPU counters (a `__percpu` pointer), [`stats::TOTAL`] of them, then the
    /// CPU's [`LastRefresh`] ([`LAST_REFRESH_WORDS`] words).
    counters: AtomicPtr<u64>,
    /// The table's change count ([`crate::records::Table::changes`]), published at each
    /// unlock.
    table_changes: AtomicU64,
    /// Records per protocol, published at each unlock.
    records_tcp: AtomicU32,
    records_udp: AtomicU32,
    net: AtomicPtr<bindings::net>,
    /// Set once the namespace is set up, cleared in net_pre_exit: a getname that saw it set
    /// (under RCU) ends before net_exit frees the state.
    live: AtomicBool,
}

/// Activations that failed for want of memory (module-wide: such a namespace has no
/// counters).
static ACTIVATIONS_FAILED: AtomicU64 = AtomicU64::new(0);

/// The pernet id (`net_generic`'s index), written by `register_pernet_subsys`.
static NET_ID: AtomicU32 = AtomicU32::new(0);

/// Whether a [`PernetRegistration`] holds [`NET_ID`]: one at a time, so that a second
/// registration fails (EBUSY) instead of overwriting the id the first one's callbacks use.
static PERNET_TAKEN: AtomicBool = AtomicBool::new(false);

/// Namespaces whose state could not be made for want of memory, since load.
pub(crate) fn activations_failed() -> u64 {
    ACTIVATIONS_FAILED.load(Ordering::Relaxed)
}

/// The namespace of a packet at a hook, for the duration of the hook; its share is looked up
/// only if the packet needs it (most leave after a look at their IP header).
///
/// # Invariants
///
/// `net` has been through net_init and outlives 'a.
pub(crate) struct HookNet<'a> {
    net: NonNull<bindings::net>,
    _hook: PhantomData<&'a bindings::net>,
}

impl<'a> HookNet<'a> {
    /// The namespace's share.
    pub(crate) fn get(&self) -> Option<Net<'a>> {
        // SAFETY: by the type invariant.
        unsafe { Net::of(self.net) }
    }
}

/// A namespace as a callback sees it: its share, always there, and through it the Rust
/// state, which a namespace only has from its first option or look-up on.
#[derive(Clone, Copy)]
pub(crate) struct Net<'a> {
    shared: &'a NetShared,
}

impl<'a> Net<'a> {
    /// # Safety
    ///
    /// `net` is a namespace that stays alive for 'a and has been through `net_init` (the
    /// module's pernet operations are registered).
    unsafe fn of(net: NonNull<bindings::net>) -> Option<Self> {
        // SAFETY: net is alive (caller); NET_ID was written by registration, before any
        // callback could run.
        let p =
            unsafe { bindings::toa_uoa_net_generic(net.as_ptr(), NET_ID.load(Ordering::Relaxed)) };
        // SAFETY: net_generic returns this module's share of a live namespace, which the
        // pernet core allocated with size_of::<NetShared>() and keeps until after net_exit.
        unsafe { p.cast::<NetShared>().as_ref() }.map(|shared| Net { shared })
    }

    /// Whether the namespace is set up and not going away. Under RCU, a `true` keeps its
    /// state until the section ends (net_pre_exit clears it a grace period before net_exit).
    pub(crate) fn live(&self) -> bool {
        self.shared.live.load(Ordering::Acquire)
    }

    /// Records of protocol `tcp` (else UDP) the namespace holds, as last published; read
    /// without the lock.
    pub(crate) fn has_records(&self, tcp: bool) -> bool {
        let n = if tcp {
            &self.shared.records_tcp
        } else {
            &self.shared.records_udp
        };
        n.load(Ordering::Relaxed) != 0
    }

    /// The namespace's state, if it has one.
    pub(crate) fn ctx(&self) -> Option<NetCtx<'a>> {
        let state = self.shared.state.load(Ordering::Acquire);
        // SAFETY: a non-NULL state was published (release) after the counters, and is freed
        // by net_exit only, after every callback that can see it has returned.
        let state = unsafe { state.as_ref() }?;
        let counters = NonNull::new(self.shared.counters.load(Ordering::Relaxed))?;
        Some(NetCtx {
            shared: self.shared,
            state,
            counters,
        })
    }

    /// The namespace's state, made now with `make` if it has none yet; `None` if the memory
    /// is not there (counted, and logged). Any context: `make` must allocate atomically.
    /// Two CPUs may race here: one publishes, the other frees its copy. The expiry work is
    /// queued `first_gc()` jiffies later.
    pub(crate) fn activate(
        &self,
        make: impl FnOnce() -> Option<KBox<NetState>>,
        first_gc: impl FnOnce() -> u64,
    ) -> Option<NetCtx<'a>> {
        if let Some(ctx) = self.ctx() {
            return Some(ctx);
        }
        let n = stats::TOTAL as usize + LAST_REFRESH_WORDS;
        // SAFETY: an atomic per-CPU allocation; freed below or by net_exit.
        let counters = unsafe { bindings::toa_uoa_alloc_percpu_atomic(n) };
        let fresh = if counters.is_null() { None } else { make() };
        let Some(fresh) = fresh else {
            // SAFETY: NULL or the allocation just made, not published.
            unsafe { bindings::free_percpu(counters.cast()) };
            ACTIVATIONS_FAILED.fetch_add(1, Ordering::Relaxed);
            // SAFETY: a ratelimited log line, no arguments.
            unsafe { bindings::toa_uoa_log_no_memory() };
            return None;
        };
        let fresh = KBox::into_raw(fresh);
        let won = {
            let _g = self.shared.lock_irqsave();
            let won = self.shared.state.load(Ordering::Relaxed).is_null();
            if won {
                self.shared.counters.store(counters, Ordering::Relaxed);
                self.shared.state.store(fresh, Ordering::Release);
                self.shared.queue_gc(first_gc());
            }
            won
        };
        if !won {
            // SAFETY: made above and never published.
            drop(unsafe { KBox::from_raw(fresh) });
            // SAFETY: allocated above and never published.
            unsafe { bindings::free_percpu(counters.cast()) };
        }
        self.ctx()
    }

    /// The network namespace itself, for socket look-ups.
    fn net(&self) -> *mut bindings::net {
        self.shared.net.load(Ordering::Relaxed)
    }
}

impl NetShared {
    /// Takes the lock (spin_lock_irqsave: it is taken from softirq, process and kretprobe
    /// context alike).
    fn lock_irqsave(&self) -> SpinGuard<'_> {
        // SAFETY: the lock was initialised by net_init (type invariant).
        let flags = unsafe { bindings::toa_uoa_spin_lock_irqsave(self.lock.get()) };
        SpinGuard {
            shared: self,
            flags,
        }
    }

    /// Queues the expiry work `delay` jiffies from now (if it is not queued).
    fn queue_gc(&self, delay: u64) {
        // SAFETY: the work was initialised by net_init; net_exit cancels it after the last
        // caller (activation, the work itself) can run.
        unsafe { bindings::toa_uoa_queue_delayed_work(self.gc.get(), delay as c_ulong) }
    }
}

/// The namespace's spinlock, held; unlocks when dropped.
#[must_use = "the lock is released when the guard is dropped"]
struct SpinGuard<'a> {
    shared: &'a NetShared,
    flags: c_ulong,
}

impl Drop for SpinGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: taken in lock_irqsave() with these flags, on this CPU.
        unsafe { bindings::toa_uoa_spin_unlock_irqrestore(self.shared.lock.get(), self.flags) }
    }
}

/// A namespace that has its state: its lock, counters, trusted sources and table.
#[derive(Clone, Copy)]
pub(crate) struct NetCtx<'a> {
    shared: &'a NetShared,
    state: &'a NetState,
    counters: NonNull<u64>,
}

impl<'a> NetCtx<'a> {
    /// Has the expiry work run now, to grow the table from its first small size.
    pub(crate) fn grow_soon(&self) {
        // SAFETY: as in NetShared::queue_gc.
        unsafe { bindings::toa_uoa_mod_delayed_work(self.shared.gc.get(), 0) }
    }

    /// Adds one to `counter` on this CPU.
    pub(crate) fn count(&self, counter: Counter) {
        self.count_index(counter.index());
    }

    /// Adds one to counter number `idx` on this CPU.
    pub(crate) fn count_index(&self, idx: u32) {
        if idx < stats::TOTAL {
            // SAFETY: the counters hold TOTAL entries (made at activation, freed by
            // net_exit after the last callback).
            unsafe { bindings::toa_uoa_percpu_inc(self.counters.as_ptr(), idx) }
        }
    }

    /// Adds one to each of two counters on this CPU (one call).
    pub(crate) fn count_two(&self, a: Counter, b: Counter) {
        let (a, b) = (a.index(), b.index());
        if a < stats::TOTAL && b < stats::TOTAL {
            // SAFETY: as in count_index().
            unsafe { bindings::toa_uoa_percpu_inc2(self.counters.as_ptr(), a, b) }
        }
    }

    /// Adds one to each of three counters on this CPU (one call).
    pub(crate) fn count_three(&self, c: [Counter; 3]) {
        let [a, b, c] = c.map(Counter::index);
        if a < stats::TOTAL && b < stats::TOTAL && c < stats::TOTAL {
            // SAFETY: as in count_index().
            unsafe { bindings::toa_uoa_percpu_inc3(self.counters.as_ptr(), a, b, c) }
        }
    }

    /// `f` on this CPU's [`LastRefresh`], on the packet path only (softirq); `None`
    /// elsewhere.
    pub(crate) fn with_last_refresh<R>(&self, f: impl FnOnce(&mut LastRefresh) -> R) -> Option<R> {
        // SAFETY: the per-CPU area holds TOTAL counters and then LAST_REFRESH_WORDS words
        // (made at activation, freed by net_exit after the last callback).
        let p =
            unsafe { bindings::toa_uoa_percpu_softirq_ptr(self.counters.as_ptr(), stats::TOTAL) };
        // SAFETY: NULL, or this CPU's copy of the words, 8-byte aligned, which nothing else on
        // the CPU can reach until `f` returns (softirqs are off or being served, and only the
        // packet path uses them); a LastRefresh is words only, so any content is a value.
        let r = unsafe { p.cast::<LastRefresh>().as_mut() }?;
        Some(f(r))
    }

    /// The table's change count as last published.
    pub(crate) fn table_changes(&self) -> u64 {
        self.shared.table_changes.load(Ordering::Acquire)
    }

    /// The sum of counter number `idx` over all CPUs.
    pub(crate) fn counter(&self, idx: u32) -> u64 {
        if idx >= stats::TOTAL {
            return 0;
        }
        // SAFETY: as in count_index().
        unsafe { bindings::toa_uoa_percpu_sum(self.counters.as_ptr(), idx) }
    }

    /// Whether a TCP connection with the tuple of `key` exists in the namespace (a full
    /// socket, a TIME_WAIT one or a request socket); `full`: a full socket only (not
    /// TIME_WAIT nor a handshake in progress).
    pub(crate) fn tcp_socket(&self, key: &Key, full: bool) -> bool {
        self.with_tcp_socket(key, |sk| {
            // SAFETY: sk is a referenced socket from the look-up.
            !full || unsafe { bindings::toa_uoa_sk_fullsock(sk) }
        })
        .unwrap_or(false)
    }

    /// A TCP record was made for `key` after the handshake: the connection's socket, if it
    /// waits for one (the module's pending operations), answers from it now. A socket not yet
    /// accepted has no struct socket: accept() finds the record.
    pub(crate) fn promote_socket(&self, key: &Key, carried: &Carried) {
        self.with_tcp_socket(key, |sk| {
            // SAFETY: sk is a referenced socket from the look-up.
            if !unsafe { bindings::toa_uoa_sk_fullsock(sk) } {
                return;
            }
            let t = ops();
            // SAFETY: as above; the helper reads its struct socket under sk_callback_lock.
            let cur = unsafe { bindings::toa_uoa_sk_socket_ops(sk) };
            // An AF_INET6 socket may carry an IPv4 flow (IPv4-mapped): either kind.
            let Some(k) = [TCP4, TCP6]
                .into_iter()
                .find(|&k| !cur.is_null() && ptr::eq(cur, t.pending(k)))
            else {
                return;
            };
            // Its own answering copy; without memory, the shared one.
            let answers = path::Answers::of(carried);
            let own = answer_new(k, Some(self.counters.as_ptr()), &answers, true);
            let to = if own.is_null() { t.mine(k) } else { own };
            // SAFETY: a full socket, referenced; the helper checks its struct socket under
            // sk_callback_lock. Both copies are the module's: no reference moves.
            if !unsafe { bindings::toa_uoa_sk_swap_socket_ops(sk, cur, to) } && !own.is_null() {
                // No longer waiting (promoted, given back or released meanwhile).
                ANSWERS.fetch_sub(1, Ordering::Relaxed);
                // SAFETY: never a socket's.
                unsafe { bindings::toa_uoa_answer_free(own) };
            }
        });
    }

    /// `f` on the TCP socket on `key`'s tuple, if any (a full, TIME_WAIT or request socket),
    /// referenced for the call.
    fn with_tcp_socket<R>(&self, key: &Key, f: impl FnOnce(*mut bindings::sock) -> R) -> Option<R> {
        let net = Net {
            shared: self.shared,
        }
        .net();
        let sport = key.sport.to_be();
        let sk = match key.family {
            // SAFETY: net is this live namespace's; the helper does an RCU look-up and
            // returns a reference or NULL.
            Family::V4 => unsafe {
                bindings::toa_uoa_tcp_lookup4(
                    net,
                    u32::from_ne_bytes([key.saddr[0], key.saddr[1], key.saddr[2], key.saddr[3]]),
                    sport,
                    u32::from_ne_bytes([key.daddr[0], key.daddr[1], key.daddr[2], key.daddr[3]]),
                    key.dport,
                )
            },
            // SAFETY: as above; the helper reads 16 bytes at each address.
            Family::V6 => unsafe {
                bindings::toa_uoa_tcp_lookup6(
                    net,
                    key.saddr.as_ptr(),
                    sport,
                    key.daddr.as_ptr(),
                    key.dport,
                )
            },
        };
        if sk.is_null() {
            return None;
        }
        let r = f(sk);
        // SAFETY: drops the look-up's reference (any kind of socket).
        unsafe { bindings::sock_gen_put(sk) };
        Some(r)
    }

    /// Takes the namespace's lock.
    pub(crate) fn lock(&self) -> Guard<'_> {
        Guard {
            lock: self.shared.lock_irqsave(),
            state: self.state,
        }
    }
}

/// The namespace's lock, held, and what it protects; unlocks when dropped, publishing the
/// record counts first.
#[must_use = "the lock is released when the guard is dropped"]
pub(crate) struct Guard<'a> {
    lock: SpinGuard<'a>,
    state: &'a NetState,
}

impl Deref for Guard<'_> {
    type Target = Locked;

    fn deref(&self) -> &Locked {
        // SAFETY: the lock is held for the guard's lifetime, so nothing else touches it.
        unsafe { &*self.state.locked.get() }
    }
}

impl DerefMut for Guard<'_> {
    fn deref_mut(&mut self) -> &mut Locked {
        // SAFETY: as in deref(); `&mut self` makes this the only reference.
        unsafe { &mut *self.state.locked.get() }
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        // Published before the unlock (its release orders them for the next holder); read
        // without the lock by getname and the SYN test, where a stale count only costs a
        // look-up or skips one a record made concurrently (which the handshake orders).
        let (tcp, udp) = self.records_per_protocol();
        self.lock.shared.records_tcp.store(tcp, Ordering::Relaxed);
        self.lock.shared.records_udp.store(udp, Ordering::Relaxed);
        let changes = self.table.changes();
        self.lock
            .shared
            .table_changes
            .store(changes, Ordering::Release);
        // `self.lock` unlocks when dropped, right after this.
    }
}

/// A `/proc/net/toa_uoa` being shown.
pub(crate) struct SeqFile<'a> {
    seq: NonNull<bindings::seq_file>,
    _show: PhantomData<&'a bindings::seq_file>,
}

impl SeqFile<'_> {
    /// Writes the line `name value`.
    pub(crate) fn line(&self, name: &[u8], value: u64) {
        // SAFETY: seq is valid during the show callback; name points to name.len() bytes.
        unsafe {
            bindings::toa_uoa_seq_counter(
                self.seq.as_ptr(),
                name.as_ptr().cast(),
                name.len(),
                value,
            )
        }
    }
}

/// The user-space buffer of a getsockopt call and its length.
pub(crate) struct SockoptCall<'a> {
    user: *mut c_void,
    len: &'a mut c_int,
}

impl SockoptCall<'_> {
    /// The caller's optlen.
    pub(crate) fn optlen(&self) -> i32 {
        *self.len
    }

    /// Copies the first `buf.len()` bytes of the caller's buffer into `buf`.
    pub(crate) fn read(&self, buf: &mut [u8]) -> Result {
        // SAFETY: copy_from_user checks `user` itself; `buf` has room for its length.
        match unsafe {
            bindings::toa_uoa_copy_from_user(buf.as_mut_ptr().cast(), self.user, buf.len())
        } {
            0 => Ok(()),
            _ => Err(code::EFAULT),
        }
    }

    /// Writes `answer` to the caller's buffer and its length to optlen.
    pub(crate) fn answer(&mut self, answer: &[u8]) -> Result {
        let len = c_int::try_from(answer.len()).map_err(|_| code::EINVAL)?;
        // SAFETY: copy_to_user checks `user`; `answer` is readable for its length.
        match unsafe {
            bindings::toa_uoa_copy_to_user(self.user, answer.as_ptr().cast(), answer.len())
        } {
            0 => {
                *self.len = len;
                Ok(())
            }
            _ => Err(code::EFAULT),
        }
    }
}

/// The errno for ENOTCONN (the kernel crate does not name it on 6.12).
pub(crate) fn enotconn() -> Error {
    Error::from_errno(-(bindings::TOA_UOA_ENOTCONN as i32))
}

/// The errno for EAFNOSUPPORT (the kernel crate does not name it on 6.12).
pub(crate) fn eafnosupport() -> Error {
    Error::from_errno(-(bindings::TOA_UOA_EAFNOSUPPORT as i32))
}

// ---------------------------------------------------------------------------------------
// Callbacks
// ---------------------------------------------------------------------------------------

/// The module's logic, as the kernel's callbacks reach it. Implemented by the module root,
/// over the files above this one; every method gets safe types only.
pub(crate) trait Handler: 'static {
    /// The netfilter hook operations every namespace registers: a static, as the kernel
    /// keeps a pointer to them while registered.
    fn hook_ops() -> &'static HookOps;

    /// A packet at LOCAL_IN, of `family` (the hook's), in namespace `net`. Packets are never
    /// dropped or changed.
    fn packet(net: &HookNet<'_>, skb: &Skb<'_>, family: Family);

    /// getsockopt(UOA_SO_GET_LOOKUP*) on a socket of `protocol` in `net`; 0 or an error.
    fn getsockopt(net: Net<'_>, sock: &Sock, optname: i32, call: &mut SockoptCall<'_>) -> Result;

    /// Whether a getname on a socket like `sock` in `net` might be answered from a record
    /// (the others are declined at entry).
    fn getname_wanted(net: Net<'_>, sock: &SockView) -> bool;

    /// The answer to a getname on `sock` (`peer`: getpeername/accept) written into `out`,
    /// with its length, or `None`: the kernel's own answer stands.
    fn getname(net: Net<'_>, sock: &SockView, peer: bool, out: &mut [u8; 28]) -> Option<usize>;

    /// What a TCP socket just accepted from a listener with the module's operations gets.
    fn accepted(net: Net<'_>, sock: &SockView) -> Accepted;

    /// Whether a UDP socket just connected takes the module's operations.
    fn keeps_connected(net: Net<'_>, sock: &SockView) -> bool;

    /// One expiry run (process context); returns the jiffies until the next.
    fn gc(ctx: NetCtx<'_>) -> u64;

    /// Writes the namespace's statistics.
    fn stats(net: Net<'_>, seq: &SeqFile<'_>);
}

/// The LOCAL_IN hook, for IPv4 (`V6` false) or IPv6.
///
/// # Safety
///
/// Called by netfilter with a valid skb and hook state, in a namespace that registered it
/// (net_init) and not yet unregistered it (net_pre_exit).
unsafe extern "C" fn hook<H: Handler, const V6: bool>(
    _priv: *mut c_void,
    skb: *mut bindings::sk_buff,
    state: *const bindings::nf_hook_state,
) -> c_uint {
    // SAFETY: netfilter passes a valid state for the call.
    let net = unsafe { state.as_ref() }.and_then(|s| NonNull::new(s.net));
    if let (Some(skb), Some(net)) = (NonNull::new(skb), net) {
        let skb = Skb {
            skb,
            _hook: PhantomData,
        };
        // INVARIANT: the hook runs between net_init and net_exit (net_pre_exit unregisters
        // it, and a grace period passes before net_exit); the namespace outlives the call.
        let net = HookNet {
            net,
            _hook: PhantomData,
        };
        H::packet(&net, &skb, if V6 { Family::V6 } else { Family::V4 });
    }
    bindings::TOA_UOA_NF_ACCEPT as c_uint
}

/// nf_sockopt's get, for optnames UOA_SO_GET_LOOKUP and UOA_SO_GET_LOOKUP1.
///
/// # Safety
///
/// Called by nf_getsockopt with the caller's socket, its user buffer and a kernel int holding
/// the buffer's length; nf_sockopt holds a module reference for the call.
unsafe extern "C" fn sockopt_get<H: Handler>(
    sk: *mut bindings::sock,
    optval: c_int,
    user: *mut c_void,
    len: *mut c_int,
) -> c_int {
    let Some(len) = NonNull::new(len) else {
        return code::EINVAL.to_errno();
    };
    let mut v = blank_view();
    // SAFETY: the socket is the calling one, valid for the call; the helper writes only `v`.
    if !unsafe { bindings::toa_uoa_sock_view(sk, NET_ID.load(Ordering::Relaxed), &mut v) } {
        return code::EINVAL.to_errno();
    }
    let Some(view) = SockView::from_c(&v) else {
        return code::ENOENT.to_errno();
    };
    // SAFETY: a user socket holds its namespace, which has been through net_init.
    let net = unsafe { view.net() };
    let mut call = SockoptCall {
        user,
        // SAFETY: nf_getsockopt passes its own int by pointer, for the call.
        len: unsafe { &mut *len.as_ptr() },
    };
    match H::getsockopt(net, &view.sock, optval, &mut call) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The first argument of a probed call, kept from its entry to its return
/// (kretprobe_instance's data).
type ProbedSocket = *mut bindings::socket;

/// The view of `sock` and its namespace, for a callback on a user socket (which holds its
/// namespace for the call); `None` without a struct sock.
fn user_socket<'a>(sock: *const bindings::socket) -> Option<(Net<'a>, SockView, bool)> {
    let mut v = blank_view();
    // SAFETY: a socket the kernel handed the callback, valid for the call; the helper writes
    // only `v`.
    if !unsafe { bindings::toa_uoa_socket_view(sock, NET_ID.load(Ordering::Relaxed), &mut v) } {
        return None;
    }
    let view = SockView::from_c(&v)?;
    // SAFETY: a socket in a system call holds its namespace (kernel sockets, which may not,
    // never get the module's operations: `attach`, and what they accept is theirs too).
    let net = unsafe { view.net() };
    Some((net, view, v.kern))
}

/// The module's `getname`: the kernel's answer, or the record's for a connected socket
/// that has one (getpeername and accept: CIP:CPORT; getsockname: VIP:VPORT).
///
/// # Safety
///
/// Called through the module's operations of kind `K` (so [`OPS`] is set) with the socket
/// and the kernel-side sockaddr buffer of the call (a `sockaddr_storage` in the system calls,
/// else at least the socket family's own sockaddr: see `path::getname_room`).
unsafe extern "C" fn getname_op<H: Handler, const K: usize>(
    sock: *mut bindings::socket,
    addr: *mut bindings::sockaddr,
    peer: c_int,
) -> c_int {
    let kernel = ops().kernel_fns(K);
    let Some(getname) = kernel.getname else {
        return code::EINVAL.to_errno();
    };
    // SAFETY: the kernel's own function for this kind of socket, with the call's arguments.
    let len = unsafe { getname(sock, addr, peer) };
    if len < 0 || addr.is_null() {
        return len;
    }
    let Some((net, view, _)) = user_socket(sock) else {
        return len;
    };
    if !H::getname_wanted(net, &view) {
        return len;
    }
    let mut out = [0u8; 28];
    match H::getname(net, &view, peer != 0, &mut out) {
        Some(n) => {
            let n = n.min(out.len());
            // SAFETY: `addr` is the buffer the kernel's getname just filled; the handler
            // returned no more than the room it is known to have (path::getname_room).
            unsafe { ptr::copy_nonoverlapping(out.as_ptr(), addr.cast::<u8>(), n) };
            // At most 28.
            c_int::try_from(n).unwrap_or(len)
        }
        None => len,
    }
}

/// The module's `accept`: the kernel's, then the decision whether the new socket keeps the
/// module's operations (which it has from its listener) or gets the kernel's back.
///
/// # Safety
///
/// Called by the accepting code (do_accept, kernel_accept) with a listener that has the
/// module's operations of kind `K` and a new socket to which it copied them, taking a module
/// reference for it; the listener's own reference keeps the module for the call.
unsafe extern "C" fn accept_op<H: Handler, const K: usize>(
    sock: *mut bindings::socket,
    newsock: *mut bindings::socket,
    arg: *mut bindings::proto_accept_arg,
) -> c_int {
    let Some(accept) = ops().kernel_fns(K).accept else {
        return code::EINVAL.to_errno();
    };
    ACCEPTING.fetch_add(1, Ordering::Relaxed);
    // SAFETY: the kernel's own function for this kind of socket, with the call's arguments.
    let err = unsafe { accept(sock, newsock, arg) };
    ACCEPTING.fetch_sub(1, Ordering::Relaxed);
    if err != 0 {
        // No struct sock: released uncounted (release_op).
        return err;
    }
    // The new socket has a struct sock and the module's operations from here on.
    HELD.fetch_add(1, Ordering::Relaxed);
    let (accepted, counters) = match user_socket(newsock) {
        Some((net, view, _)) if ENABLED.load(Ordering::Relaxed) => (
            H::accepted(net, &view),
            net.ctx().map(|c| c.counters.as_ptr()),
        ),
        _ => (Accepted::Kernel, None),
    };
    match accepted {
        Accepted::Answer(a) => {
            // Its own copy, answering without a look-up; without memory, the shared one,
            // which looks its record up at each call.
            let own = answer_new(K, counters, &a, false);
            if !own.is_null() {
                // SAFETY: the new socket is the accepter's alone until accept returns.
                let swapped =
                    unsafe { bindings::toa_uoa_sock_swap_ops(newsock, ops().mine(K), own) };
                if !swapped {
                    ANSWERS.fetch_sub(1, Ordering::Relaxed);
                    // SAFETY: never a socket's.
                    unsafe { bindings::toa_uoa_answer_free(own) };
                }
            }
        }
        Accepted::Pending => {
            let t = ops();
            // SAFETY: the new socket is the accepter's alone until accept returns (the packet
            // path may promote it back once it is pending: a cmpxchg too).
            unsafe { bindings::toa_uoa_sock_swap_ops(newsock, t.mine(K), t.pending(K)) };
        }
        Accepted::Kernel => {
            // SAFETY: as above.
            if unsafe { give_back(newsock, K) } {
                // The listener's reference keeps the module while this returns.
                // SAFETY: the reference the accepter took for the new socket, given back.
                unsafe { bindings::toa_uoa_ops_put(ops().mine(K)) };
            }
        }
    }
    0
}

/// The module's `release`: counts the socket out, then the kernel's (after which the
/// socket layer drops the module reference the socket held).
///
/// # Safety
///
/// Called by sock_release on a socket with the module's operations of kind `K`.
unsafe extern "C" fn release_op<const K: usize>(sock: *mut bindings::socket) -> c_int {
    // Counted in (accept_op, take) only with a struct sock: an accept that failed leaves
    // none.
    // SAFETY: the socket being released, valid for the call.
    if unsafe { bindings::toa_uoa_socket_has_sk(sock) } {
        HELD.fetch_sub(1, Ordering::Relaxed);
    }
    // SAFETY: as above.
    let had = unsafe { bindings::toa_uoa_sock_ops(sock) };
    let err = match ops().kernel_fns(K).release {
        // SAFETY: the kernel's own function for this kind of socket.
        Some(release) => unsafe { release(sock) },
        None => 0,
    };
    // SAFETY: `had` is the operations this call came through (an answering copy of this
    // kind if any), valid until freed here; the template is the module's.
    if unsafe { bindings::toa_uoa_ops_is_answer(had, ops().answer(K)) } {
        // The socket is released (sock_release reads its operations no more, and the
        // kernel's release orphaned its struct sock, so the packet path cannot reach it):
        // nothing else can read its answer.
        ANSWERS.fetch_sub(1, Ordering::Relaxed);
        // SAFETY: an answer, its socket's alone.
        unsafe { bindings::toa_uoa_answer_free(had) };
    }
    err
}

/// The module's `setsockopt`: the kernel's. An option that may replace the socket's
/// operations (TCP_ULP, as kTLS does, which also copies the operations it finds into a
/// table of its own for every later socket; IPV6_ADDRFORM) is given the kernel's operations
/// to work on: the socket gets them back first, and the module's again afterwards only if
/// they are still there.
///
/// # Safety
///
/// Called by the socket layer on a socket with the module's operations of kind `K`, in a
/// system call on it (which keeps the socket).
unsafe extern "C" fn setsockopt_op<const K: usize>(
    sock: *mut bindings::socket,
    level: c_int,
    optname: c_int,
    optval: bindings::sockptr_t,
    optlen: c_uint,
) -> c_int {
    let Some(setsockopt) = ops().kernel_fns(K).setsockopt else {
        return code::EINVAL.to_errno();
    };
    let replaces = (level == bindings::TOA_UOA_SOL_TCP as c_int
        && optname == bindings::TOA_UOA_TCP_ULP as c_int)
        || (level == bindings::TOA_UOA_SOL_IPV6 as c_int
            && optname == bindings::TOA_UOA_IPV6_ADDRFORM as c_int);
    if !replaces {
        // SAFETY: the kernel's own function for this kind of socket, with the call's
        // arguments.
        return unsafe { setsockopt(sock, level, optname, optval, optlen) };
    }
    // SAFETY: the socket is kept by the system call.
    let had = unsafe { bindings::toa_uoa_sock_ops(sock) };
    // SAFETY: as above.
    let gave_back = unsafe { give_back(sock, K) };
    // SAFETY: as above.
    let err = unsafe { setsockopt(sock, level, optname, optval, optlen) };
    if gave_back {
        // The operations were not replaced (the option failed, or replaced nothing): the
        // module's again, with the reference still held.
        // SAFETY: the socket is kept by the system call.
        if !unsafe { retake(sock, K, had) } {
            // SAFETY: `had` was this socket's until give_back.
            unsafe { forget_answer(had) };
            // Last, and only after the kernel's call: this may be the module's last
            // reference, and the unload that may follow takes far longer (a grace period
            // and more) than the return left to run here.
            // SAFETY: the reference the socket held, given back.
            unsafe { bindings::toa_uoa_ops_put(ops().mine(K)) };
        }
    }
    err
}

/// The namespace's expiry work.
///
/// # Safety
///
/// Called by the workqueue with the `work_struct` of a [`NetShared`]'s `gc` (a delayed
/// work's first member), which net_exit cancels before the share is freed.
unsafe extern "C" fn gc_work<H: Handler>(work: *mut bindings::work_struct) {
    let off = core::mem::offset_of!(NetShared, gc);
    // SAFETY: `work` is the first member of the delayed_work at offset `off` of a NetShared
    // (container_of), alive until net_exit, which waits for this work.
    let shared = unsafe { &*work.cast::<u8>().sub(off).cast::<NetShared>() };
    let net = Net { shared };
    if let Some(ctx) = net.ctx() {
        let next = H::gc(ctx);
        shared.queue_gc(next);
    }
}

/// `/proc/net/toa_uoa`'s show.
///
/// # Safety
///
/// Called by the seq_file core with the file being shown, of a namespace that removes the
/// entry (waiting for readers) in net_exit before freeing its share.
unsafe extern "C" fn stats_show<H: Handler>(
    seq: *mut bindings::seq_file,
    _v: *mut c_void,
) -> c_int {
    let Some(seq) = NonNull::new(seq) else {
        return 0;
    };
    // SAFETY: a single-net proc file's seq_file knows its namespace.
    let Some(net) = NonNull::new(unsafe { bindings::toa_uoa_seq_net(seq.as_ptr()) }) else {
        return 0;
    };
    // SAFETY: the proc entry is removed by net_exit before the namespace goes.
    if let Some(net) = unsafe { Net::of(net) } {
        H::stats(
            net,
            &SeqFile {
                seq,
                _show: PhantomData,
            },
        );
    }
    0
}

/// The statistics file's name, NUL-terminated (no CStr: its pointer method differs between
/// the kernels' crates).
const PROC_NAME: &[u8] = b"toa_uoa\0";

fn proc_name() -> *const c_char {
    PROC_NAME.as_ptr().cast()
}

/// pernet init: the namespace's share, its /proc/net/toa_uoa and its hooks.
///
/// # Safety
///
/// Called by the pernet core for a new namespace (or every namespace at registration), whose
/// share it has allocated and zeroed.
unsafe extern "C" fn net_init<H: Handler>(net: *mut bindings::net) -> c_int {
    let Some(nn) = NonNull::new(net) else {
        return code::EINVAL.to_errno();
    };
    // SAFETY: the namespace is being set up; its share exists (allocated before init).
    let Some(Net { shared }) = (unsafe { Net::of(nn) }) else {
        return code::ENOMEM.to_errno();
    };
    // SAFETY: nothing else reaches the share before this returns: initialise the lock and
    // the work in place (NetShared's invariant).
    unsafe {
        bindings::toa_uoa_spin_lock_init(shared.lock.get());
        bindings::toa_uoa_init_delayed_work(shared.gc.get(), Some(gc_work::<H>));
    }
    shared.net.store(net, Ordering::Relaxed);
    // SAFETY: the namespace's proc directory exists for its life; the show callback is
    // valid for the module's (the entry is removed in net_exit).
    let proc = unsafe {
        bindings::proc_create_net_single(
            proc_name(),
            0o444,
            bindings::toa_uoa_net_proc_dir(net),
            Some(stats_show::<H>),
            ptr::null_mut(),
        )
    };
    if proc.is_null() {
        pr_err!("cannot set up a network namespace: no /proc/net/toa_uoa\n");
        return code::ENOMEM.to_errno();
    }
    let ops = H::hook_ops();
    // SAFETY: the ops are static and valid; undone in net_pre_exit.
    let err =
        unsafe { bindings::nf_register_net_hooks(net, ops.0.as_ptr(), ops.0.len() as c_uint) };
    if err != 0 {
        // SAFETY: created above.
        unsafe { bindings::remove_proc_entry(proc_name(), bindings::toa_uoa_net_proc_dir(net)) };
        pr_err!("cannot set up a network namespace: error {}\n", err);
        return err;
    }
    shared.live.store(true, Ordering::Release);
    0
}

/// pernet pre_exit: the hooks go first. nf_unregister_net_hooks does not wait for packets
/// already inside a hook on another CPU, but the pernet core waits an RCU grace period
/// between every pre_exit and the exit that follows (for a dying namespace and at
/// unregistration alike), and a hook runs inside an RCU read-side section. So when net_exit
/// frees the table and the counters, no packet can still be using them. getname checks
/// `live` under RCU the same way; getsockopt works on a user socket, which holds the
/// namespace, so it never races with the exit.
///
/// # Safety
///
/// Called by the pernet core for a namespace net_init succeeded for.
unsafe extern "C" fn net_pre_exit<H: Handler>(net: *mut bindings::net) {
    let Some(nn) = NonNull::new(net) else {
        return;
    };
    // SAFETY: the namespace is alive until its exit.
    if let Some(Net { shared }) = unsafe { Net::of(nn) } {
        shared.live.store(false, Ordering::Release);
    }
    let ops = H::hook_ops();
    // SAFETY: registered by net_init with the same ops.
    unsafe { bindings::nf_unregister_net_hooks(net, ops.0.as_ptr(), ops.0.len() as c_uint) };
}

/// pernet exit: frees what the namespace's share holds.
///
/// # Safety
///
/// Called by the pernet core after net_pre_exit and a grace period.
unsafe extern "C" fn net_exit<H: Handler>(net: *mut bindings::net) {
    let Some(nn) = NonNull::new(net) else {
        return;
    };
    // SAFETY: the proc entry was made by net_init; removing it waits for readers.
    unsafe { bindings::remove_proc_entry(proc_name(), bindings::toa_uoa_net_proc_dir(net)) };
    // SAFETY: the share lives until after this returns.
    let Some(Net { shared }) = (unsafe { Net::of(nn) }) else {
        return;
    };
    // SAFETY: the work was initialised by net_init; queued only at activation and by itself,
    // neither of which can happen any more (no hooks, no live sockets, no getname: `live`).
    unsafe { bindings::cancel_delayed_work_sync(shared.gc.get()) };
    let state = shared.state.swap(ptr::null_mut(), Ordering::Acquire);
    if !state.is_null() {
        // SAFETY: made by KBox::into_raw at activation; nothing can reach it any more.
        drop(unsafe { KBox::from_raw(state) });
    }
    let counters = shared.counters.swap(ptr::null_mut(), Ordering::Relaxed);
    // SAFETY: NULL or the per-CPU allocation made at activation, unreachable now.
    unsafe { bindings::free_percpu(counters.cast()) };
}

// ---------------------------------------------------------------------------------------
// Registrations
// ---------------------------------------------------------------------------------------

/// `pin_init_from_closure`: the kernel crate's until 6.14, the pin-init crate's after.
#[cfg(not(toa_uoa_pin_init_crate))]
use kernel::init::pin_init_from_closure;
#[cfg(toa_uoa_pin_init_crate)]
use pin_init::pin_init_from_closure;

/// Initialises an `Opaque<T>` in place with `f`, which may fail (`Opaque::try_ffi_init` of
/// newer kernels).
fn opaque_try_init<T>(f: impl FnOnce(*mut T) -> Result) -> impl PinInit<Opaque<T>, Error> {
    // SAFETY: `f` gets the slot's inner pointer, which an Opaque allows to be uninitialised;
    // on error the slot is left as if never initialised (Opaque has no drop glue).
    // Opaque<T> is repr(transparent) over T's storage: the slot's address is the T's.
    unsafe { pin_init_from_closure(move |slot: *mut Opaque<T>| f(slot.cast::<T>())) }
}

/// The netfilter hooks every namespace registers (LOCAL_IN, IPv4 and IPv6).
///
/// LOCAL_IN, right after source NAT (NF_IP_PRI_NAT_SRC = 100): by then defragmentation
/// (PRE_ROUTING, -400) and destination NAT (PRE_ROUTING, -100) are done, so the tuple recorded
/// is exactly the one the receiving socket sees, and a fragmented option-carrying datagram is
/// seen whole.
pub(crate) struct HookOps([bindings::nf_hook_ops; 2]);

// SAFETY: the kernel only reads the operations (nf_register_net_hooks copies what it needs
// and keeps a const pointer); nothing writes them after the constant is made.
unsafe impl Sync for HookOps {}

impl HookOps {
    /// The operations calling `H`.
    pub(crate) const fn new<H: Handler>() -> Self {
        HookOps([
            Self::one(
                hook::<H, false>,
                bindings::TOA_UOA_NFPROTO_IPV4 as u8,
                bindings::TOA_UOA_NF_IP_PRI_NAT_SRC as i32 + 1,
            ),
            Self::one(
                hook::<H, true>,
                bindings::TOA_UOA_NFPROTO_IPV6 as u8,
                bindings::TOA_UOA_NF_IP6_PRI_NAT_SRC as i32 + 1,
            ),
        ])
    }

    const fn one(
        f: unsafe extern "C" fn(
            *mut c_void,
            *mut bindings::sk_buff,
            *const bindings::nf_hook_state,
        ) -> c_uint,
        pf: u8,
        priority: i32,
    ) -> bindings::nf_hook_ops {
        // SAFETY: all-zero is a valid nf_hook_ops (NULL pointers, no hook, type 0), which
        // the fields below complete.
        let mut ops: bindings::nf_hook_ops = unsafe { core::mem::zeroed() };
        ops.hook = Some(f);
        ops.pf = pf;
        ops.hooknum = bindings::TOA_UOA_NF_INET_LOCAL_IN as c_uint;
        ops.priority = priority;
        ops
    }
}

/// The pernet operations: every namespace, present and future, gets its share, hooks and
/// /proc/net/toa_uoa; unregistering tears all of them down.
///
/// # Invariants
///
/// `ops` is registered from the end of `new()`'s initialiser until drop.
#[pin_data(PinnedDrop)]
pub(crate) struct PernetRegistration<H: Handler> {
    #[pin]
    ops: Opaque<bindings::pernet_operations>,
    _handler: PhantomData<H>,
}

// SAFETY: the registration is only registered and unregistered (init, drop); the kernel
// synchronises its own use of the operations.
unsafe impl<H: Handler> Send for PernetRegistration<H> {}
// SAFETY: as above: no method reads or writes the operations through `&self`.
unsafe impl<H: Handler> Sync for PernetRegistration<H> {}

impl<H: Handler> PernetRegistration<H> {
    /// Registers; every existing namespace is set up before this returns.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        kernel::try_pin_init!(Self {
            ops <- opaque_try_init(|ops: *mut bindings::pernet_operations| {
                if PERNET_TAKEN.swap(true, Ordering::AcqRel) {
                    pr_err!("the per-namespace set-up is registered already\n");
                    return Err(code::EBUSY);
                }
                // SAFETY: `ops` is this registration's slot: zero it, fill it, register it;
                // it is pinned (Opaque is !Unpin) until PinnedDrop unregisters it.
                let err = unsafe {
                    ops.write_bytes(0, 1);
                    (*ops).init = Some(net_init::<H>);
                    (*ops).pre_exit = Some(net_pre_exit::<H>);
                    (*ops).exit = Some(net_exit::<H>);
                    (*ops).id = NET_ID.as_ptr();
                    (*ops).size = core::mem::size_of::<NetShared>();
                    bindings::register_pernet_subsys(ops)
                };
                if err != 0 {
                    PERNET_TAKEN.store(false, Ordering::Release);
                    pr_err!("cannot register the per-namespace set-up: error {}\n", err);
                    return Err(Error::from_errno(err));
                }
                // INVARIANT: registered.
                Ok(())
            }),
            _handler: PhantomData,
        }? Error)
    }
}

#[pinned_drop]
impl<H: Handler> PinnedDrop for PernetRegistration<H> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: registered (type invariant); this is the only unregistration.
        unsafe { bindings::unregister_pernet_subsys(self.ops.get()) };
        PERNET_TAKEN.store(false, Ordering::Release);
    }
}

/// The getsockopt optnames 2048..2049 (UOA_SO_GET_LOOKUP, UOA_SO_GET_LOOKUP1) for one
/// protocol family.
///
/// # Invariants
///
/// `ops` is registered from the end of `new()`'s initialiser until drop.
#[pin_data(PinnedDrop)]
pub(crate) struct SockoptRegistration<H: Handler> {
    #[pin]
    ops: Opaque<bindings::nf_sockopt_ops>,
    _handler: PhantomData<H>,
}

// SAFETY: as for PernetRegistration.
unsafe impl<H: Handler> Send for SockoptRegistration<H> {}
// SAFETY: as for PernetRegistration.
unsafe impl<H: Handler> Sync for SockoptRegistration<H> {}

/// The optnames' range (nf_sockopt's maximum is exclusive).
const SO_FIRST: c_int = UOA_SO_GET_LOOKUP;
const SO_END: c_int = UOA_SO_GET_LOOKUP1 + 1;

impl<H: Handler> SockoptRegistration<H> {
    /// Registers the UOA look-ups for PF_INET (`v6` false) or PF_INET6, or says who holds the
    /// optnames.
    pub(crate) fn new(module: &'static ThisModule, v6: bool) -> impl PinInit<Self, Error> {
        Self::register(module, v6, SO_FIRST, SO_END, "2048..2049", "DPVS uoa.ko")
    }

    /// Registers DPVS toa.ko's NAT64 look-up (PF_INET, optname 4096), or says who holds it.
    pub(crate) fn new_nat64(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let first = path::TOA_SO_GET_LOOKUP;
        Self::register(module, false, first, first + 1, "4096", "DPVS toa.ko")
    }

    fn register(
        module: &'static ThisModule,
        v6: bool,
        first: c_int,
        end: c_int,
        names: &'static str,
        holder: &'static str,
    ) -> impl PinInit<Self, Error> {
        let owner = module.as_ptr().cast::<bindings::module>();
        kernel::try_pin_init!(Self {
            ops <- opaque_try_init(move |ops: *mut bindings::nf_sockopt_ops| {
                // SAFETY: as in PernetRegistration::new(); nf_sockopt takes a reference on
                // `owner` for each call, so the callback outlives none.
                let err = unsafe {
                    ops.write_bytes(0, 1);
                    (*ops).pf = if v6 {
                        bindings::TOA_UOA_PF_INET6
                    } else {
                        bindings::TOA_UOA_PF_INET
                    } as u8;
                    (*ops).get_optmin = first;
                    (*ops).get_optmax = end;
                    (*ops).get = Some(sockopt_get::<H>);
                    (*ops).owner = owner;
                    bindings::nf_register_sockopt(ops)
                };
                if err == code::EBUSY.to_errno() {
                    pr_err!(
                        "getsockopt optnames {} are taken by another module ({}?): unload it first\n",
                        names,
                        holder
                    );
                    return Err(code::EBUSY);
                }
                if err != 0 {
                    pr_err!("cannot register getsockopt: error {}\n", err);
                    return Err(Error::from_errno(err));
                }
                // INVARIANT: registered.
                Ok(())
            }),
            _handler: PhantomData,
        }? Error)
    }
}

#[pinned_drop]
impl<H: Handler> PinnedDrop for SockoptRegistration<H> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: registered (type invariant); nf_unregister_sockopt waits for calls in flight
        // (they hold the module, so there are none at unload).
        unsafe { bindings::nf_unregister_sockopt(self.ops.get()) }
    }
}

// ---- Socket operations ----

/// Kinds of socket ([`OPS`]' index): TCP and UDP over IPv4 and IPv6.
pub(crate) const TCP4: usize = bindings::TOA_UOA_OPS_TCP4 as usize;
pub(crate) const TCP6: usize = bindings::TOA_UOA_OPS_TCP6 as usize;
pub(crate) const UDP4: usize = bindings::TOA_UOA_OPS_UDP4 as usize;
pub(crate) const UDP6: usize = bindings::TOA_UOA_OPS_UDP6 as usize;
const KINDS: usize = bindings::TOA_UOA_OPS_KINDS as usize;

const NO_FNS: bindings::toa_uoa_ops_fns = bindings::toa_uoa_ops_fns {
    release: None,
    accept: None,
    getname: None,
    setsockopt: None,
};

/// The kernel's socket operations of each kind, their functions, and the module's copies
/// (NULL: a kind the kernel cannot make, IPv6 when disabled): `mine` answers getname from
/// records, `pending` (a connection waiting for its record: path::Accepted::Pending) has
/// the kernel's getname.
struct OpsTable {
    kernel: [*const bindings::proto_ops; KINDS],
    kernel_fns: [bindings::toa_uoa_ops_fns; KINDS],
    mine: [*const bindings::proto_ops; KINDS],
    pending: [*const bindings::proto_ops; KINDS],
    /// The template of a TCP connection's own answering copy (`struct toa_uoa_answer`, helpers.c),
    /// NULL for UDP.
    answer: [*const bindings::proto_ops; KINDS],
}

impl OpsTable {
    fn kernel_fns(&self, k: usize) -> &bindings::toa_uoa_ops_fns {
        self.kernel_fns.get(k).unwrap_or(&NO_FNS)
    }

    fn kernel(&self, k: usize) -> *const bindings::proto_ops {
        self.kernel.get(k).copied().unwrap_or(ptr::null())
    }

    fn mine(&self, k: usize) -> *const bindings::proto_ops {
        self.mine.get(k).copied().unwrap_or(ptr::null())
    }

    fn pending(&self, k: usize) -> *const bindings::proto_ops {
        self.pending.get(k).copied().unwrap_or(ptr::null())
    }

    /// The kind whose kernel operations `ops` are.
    fn kernel_kind(&self, ops: *const bindings::proto_ops) -> Option<usize> {
        (!ops.is_null()).then(|| self.kernel.iter().position(|&k| ptr::eq(k, ops)))?
    }

    /// The kind whose module copy (either) `ops` is.
    fn mine_kind(&self, ops: *const bindings::proto_ops) -> Option<usize> {
        if ops.is_null() {
            return None;
        }
        let at = |copies: &[*const bindings::proto_ops; KINDS]| {
            copies.iter().position(|&m| ptr::eq(m, ops))
        };
        at(&self.mine).or_else(|| at(&self.pending))
    }

    fn answer(&self, k: usize) -> *const bindings::proto_ops {
        self.answer.get(k).copied().unwrap_or(ptr::null())
    }

    /// The kind whose connection's own answering copy `ops` is: its getname is theirs.
    ///
    /// # Safety
    ///
    /// `ops` is NULL or a socket's operations, valid for the call.
    unsafe fn answer_kind(&self, ops: *const bindings::proto_ops) -> Option<usize> {
        if ops.is_null() {
            return None;
        }
        [TCP4, TCP6].into_iter().find(|&k| {
            // SAFETY: `ops` is valid (the caller's promise), the template NULL or the
            // module's (valid for its life).
            unsafe { bindings::toa_uoa_ops_is_answer(ops, self.answer(k)) }
        })
    }

    /// The kind whose module operations (any copy) `ops` are.
    ///
    /// # Safety
    ///
    /// As [`OpsTable::answer_kind`].
    unsafe fn module_kind(&self, ops: *const bindings::proto_ops) -> Option<usize> {
        if let Some(k) = self.mine_kind(ops) {
            return Some(k);
        }
        // SAFETY: the caller's promise.
        unsafe { self.answer_kind(ops) }
    }
}

/// A new answering copy of kind `k` giving `a`, counted in `counters` (its namespace's);
/// NULL without memory (counted) or for a kind without one. `atomic`: from softirq.
fn answer_new(
    k: usize,
    counters: Option<*mut u64>,
    a: &path::Answers,
    atomic: bool,
) -> *const bindings::proto_ops {
    let tmpl = ops().answer(k);
    let (Some(counters), Ok(peer_len), Ok(name_len)) =
        (counters, u8::try_from(a.peer_len), u8::try_from(a.name_len))
    else {
        return ptr::null();
    };
    if tmpl.is_null() {
        return ptr::null();
    }
    // SAFETY: the template is the module's (valid for its life); the helper copies it and
    // the answers (at most 28 bytes each, checked there too).
    let own = unsafe {
        bindings::toa_uoa_answer_new(
            tmpl,
            counters,
            a.peer.as_ptr(),
            peer_len,
            a.name.as_ptr(),
            name_len,
            atomic,
        )
    };
    if own.is_null() {
        ANSWERS_FAILED.fetch_add(1, Ordering::Relaxed);
    } else {
        ANSWERS.fetch_add(1, Ordering::Relaxed);
    }
    own
}

/// After a socket with operations `had` got the kernel's back for good: if `had` was its
/// own answering copy, it is kept (a call in flight may still read it) until the module's
/// exit.
///
/// # Safety
///
/// `had` was the socket's operations until it was given the kernel's.
unsafe fn forget_answer(had: *const bindings::proto_ops) {
    // SAFETY: the caller's promise: valid (an answer is freed only at release or exit).
    if unsafe { ops().answer_kind(had) }.is_some() {
        ANSWERS.fetch_sub(1, Ordering::Relaxed);
        ANSWERS_KEPT.fetch_add(1, Ordering::Relaxed);
        // SAFETY: an answer no socket has any more.
        unsafe { bindings::toa_uoa_answer_orphan(had) };
    }
}

/// TCP connections with their own answering copy.
static ANSWERS: AtomicI64 = AtomicI64::new(0);
/// Answering copies given back while their socket lived, kept until the module's exit.
static ANSWERS_KEPT: AtomicU64 = AtomicU64::new(0);
/// Answering copies that could not be made (no memory): those connections look their
/// record up at each getname.
static ANSWERS_FAILED: AtomicU64 = AtomicU64::new(0);

/// TCP connections with their own answering copy, and copies kept after their socket gave
/// them back ([`forget_answer`]), and copies that could not be made.
pub(crate) fn answers() -> (u64, u64, u64) {
    (
        u64::try_from(ANSWERS.load(Ordering::Relaxed)).unwrap_or(0),
        ANSWERS_KEPT.load(Ordering::Relaxed),
        ANSWERS_FAILED.load(Ordering::Relaxed),
    )
}

/// The module's `getname` in a TCP connection's own answering copy of kind `K`: the
/// kernel's, then the answer the copy holds.
///
/// # Safety
///
/// Called through such a copy (so [`OPS`] is set) with the socket and the kernel-side
/// sockaddr buffer of the call, as [`getname_op`].
unsafe extern "C" fn getname_answer_op<const K: usize>(
    sock: *mut bindings::socket,
    addr: *mut bindings::sockaddr,
    peer: c_int,
) -> c_int {
    let t = ops();
    let Some(getname) = t.kernel_fns(K).getname else {
        return code::EINVAL.to_errno();
    };
    // SAFETY: the kernel's own function for this kind of socket, with the call's arguments.
    let len = unsafe { getname(sock, addr, peer) };
    if len < 0 || addr.is_null() {
        return len;
    }
    let mut a = bindings::toa_uoa_answer_view {
        addr: ptr::null(),
        len: 0,
        counters: ptr::null_mut(),
    };
    // The socket's answer now (given back since the call began, it has none).
    // SAFETY: the socket is kept by the call; the template is the module's; the helper
    // writes only `a`.
    if !unsafe { bindings::toa_uoa_sock_answer(sock, t.answer(K), peer != 0, &mut a) }
        || a.len == 0
        || a.addr.is_null()
    {
        return len;
    }
    // SAFETY: `len` bytes of the answer, which is freed only when its socket is released
    // (not during a call on it) or at the module's exit.
    let answer = unsafe { core::slice::from_raw_parts(a.addr, usize::from(a.len)) };
    let n = a.len;
    let family = if K == TCP6 {
        LINUX_AF_INET6
    } else {
        crate::flow::AF_INET
    };
    let (given, counter) = path::fits(answer.len(), || {
        path::getname_room(&current_task(), family, &STORAGE_SYSCALLS)
    });
    // SAFETY: the namespace's counters (TOTAL entries), kept by the socket's namespace.
    unsafe { bindings::toa_uoa_percpu_inc(a.counters, counter.index()) };
    if !given {
        return len;
    }
    // SAFETY: `addr` is the buffer the kernel's getname just filled, with the room
    // path::fits found for this answer.
    unsafe { ptr::copy_nonoverlapping(answer.as_ptr(), addr.cast::<u8>(), answer.len()) };
    c_int::from(n)
}

/// [`OpsTable`], set once.
///
/// # Invariants
///
/// Written only by [`SocketOps::new`], before any socket can have the module's operations
/// and before the probes are registered (nothing reads it before), and never again while
/// the module is loaded.
struct OpsCell(UnsafeCell<OpsTable>);

// SAFETY: by the type invariant, written only before anything reads it.
unsafe impl Sync for OpsCell {}

static OPS: OpsCell = OpsCell(UnsafeCell::new(OpsTable {
    kernel: [ptr::null(); KINDS],
    kernel_fns: [NO_FNS; KINDS],
    mine: [ptr::null(); KINDS],
    pending: [ptr::null(); KINDS],
    answer: [ptr::null(); KINDS],
}));

/// Whether a [`SocketOps`] exists (a second fails with EBUSY: it would rewrite [`OPS`]).
static OPS_TAKEN: AtomicBool = AtomicBool::new(false);

fn ops() -> &'static OpsTable {
    // SAFETY: OpsCell's invariant: no writer once readers can exist.
    unsafe { &*OPS.0.get() }
}

/// Whether sockets are given the module's operations (the `getname` parameter).
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Set when nothing can fail any more at load ([`attach_existing`]): before, a failed load
/// would free the module under sockets holding references, so the probes take nothing.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Sockets that have the module's operations (each holds a module reference).
static HELD: AtomicI64 = AtomicI64::new(0);

/// Sockets that have the module's operations now (each holds a module reference).
pub(crate) fn sockets_held() -> u64 {
    u64::try_from(HELD.load(Ordering::Relaxed)).unwrap_or(0)
}

/// accept() calls inside the module's accept, most waiting for a connection: each holds the
/// module reference its accepter took for the new socket until it returns.
static ACCEPTING: AtomicI64 = AtomicI64::new(0);

/// accept() calls waiting in the module's accept now.
pub(crate) fn accepts_waiting() -> u64 {
    u64::try_from(ACCEPTING.load(Ordering::Relaxed)).unwrap_or(0)
}

/// Gives `sock` the module's operations of kind `k` if it has the kernel's: true if it did.
/// Refused (false) once the module is being unloaded.
///
/// # Safety
///
/// `sock` is valid and kept for the call (by the caller's system call or file table).
unsafe fn take(sock: *mut bindings::socket, k: usize) -> bool {
    let t = ops();
    let (kernel, mine) = (t.kernel(k), t.mine(k));
    if kernel.is_null() || mine.is_null() {
        return false;
    }
    // SAFETY: the module's copy, owned by this module: a reference for the socket.
    if !unsafe { bindings::toa_uoa_ops_get(mine) } {
        return false;
    }
    // SAFETY: `sock` is valid (the caller's promise); a cmpxchg of its operations.
    if !unsafe { bindings::toa_uoa_sock_swap_ops(sock, kernel, mine) } {
        // SAFETY: taken above; the caller keeps the module (a probe: unregistration waits
        // for it; a walk: its own reference).
        unsafe { bindings::toa_uoa_ops_put(mine) };
        return false;
    }
    // SAFETY: the reference the socket held for its kernel operations' owner.
    unsafe { bindings::toa_uoa_ops_put(kernel) };
    HELD.fetch_add(1, Ordering::Relaxed);
    true
}

/// Gives `sock` its kernel operations back if it has the module's of kind `k`: true if it
/// did. The module reference the socket held is then the caller's, to put when the module's
/// code is done with the call ([`bindings::toa_uoa_ops_put`] of the module's operations).
///
/// # Safety
///
/// `sock` is valid and kept for the call.
unsafe fn give_back(sock: *mut bindings::socket, k: usize) -> bool {
    let t = ops();
    let kernel = t.kernel(k);
    // SAFETY: `sock` is valid (the caller's promise).
    let mine = unsafe { bindings::toa_uoa_sock_ops(sock) };
    // SAFETY: the socket's operations, valid while it is kept.
    if kernel.is_null() || unsafe { t.module_kind(mine) } != Some(k) {
        return false;
    }
    // SAFETY: the kernel's operations: a reference on their owner for the socket (none if
    // built in).
    if !unsafe { bindings::toa_uoa_ops_get(kernel) } {
        return false;
    }
    // SAFETY: `sock` is valid (the caller's promise).
    if !unsafe { bindings::toa_uoa_sock_swap_ops(sock, mine, kernel) } {
        // SAFETY: taken above.
        unsafe { bindings::toa_uoa_ops_put(kernel) };
        return false;
    }
    HELD.fetch_sub(1, Ordering::Relaxed);
    true
}

/// After [`give_back`], with the module reference still held: the module's operations `mine`
/// (what it had) again if the socket still has the kernel's; true if so (the reference is the
/// socket's again).
///
/// # Safety
///
/// As [`give_back`].
unsafe fn retake(sock: *mut bindings::socket, k: usize, mine: *const bindings::proto_ops) -> bool {
    let kernel = ops().kernel(k);
    // SAFETY: `sock` is valid (the caller's promise).
    if mine.is_null() || !unsafe { bindings::toa_uoa_sock_swap_ops(sock, kernel, mine) } {
        return false;
    }
    // SAFETY: the reference give_back took for the kernel operations' owner.
    unsafe { bindings::toa_uoa_ops_put(kernel) };
    HELD.fetch_add(1, Ordering::Relaxed);
    true
}

/// The view of `sock` (`None` without a struct sock), and whether it is a kernel socket.
fn socket_view(sock: *const bindings::socket) -> Option<(SockView, bool)> {
    let mut v = blank_view();
    // SAFETY: a socket the caller has valid for the call; the helper writes only `v`.
    if !unsafe { bindings::toa_uoa_socket_view(sock, NET_ID.load(Ordering::Relaxed), &mut v) } {
        return None;
    }
    Some((SockView::from_c(&v)?, v.kern))
}

/// A user's TCP listener with the kernel's operations takes the module's, so that what it
/// accepts has them too (accept copies the listener's). Kernel sockets (in-kernel servers)
/// keep theirs.
///
/// # Safety
///
/// `sock` is valid and kept for the call.
unsafe fn attach_listener(sock: *mut bindings::socket) -> bool {
    // SAFETY: `sock` is valid (the caller's promise).
    let cur = unsafe { bindings::toa_uoa_sock_ops(sock) };
    let Some(k) = ops().kernel_kind(cur).filter(|&k| k == TCP4 || k == TCP6) else {
        return false;
    };
    let listening = socket_view(sock).is_some_and(|(v, kern)| {
        !kern && v.sock.protocol == IPPROTO_TCP && v.sock.state == path::TCP_LISTEN
    });
    // SAFETY: as above.
    listening && unsafe { take(sock, k) }
}

/// A user's UDP socket just connected takes the module's operations if the logic says so
/// ([`Handler::keeps_connected`]).
///
/// # Safety
///
/// `sock` is valid and kept for the call, by a system call on it.
unsafe fn attach_connected<H: Handler>(sock: *mut bindings::socket) -> bool {
    // SAFETY: `sock` is valid (the caller's promise).
    let cur = unsafe { bindings::toa_uoa_sock_ops(sock) };
    let Some(k) = ops().kernel_kind(cur).filter(|&k| k == UDP4 || k == UDP6) else {
        return false;
    };
    let Some((view, false)) = socket_view(sock) else {
        return false;
    };
    // SAFETY: a user socket in a system call holds its namespace.
    let net = unsafe { view.net() };
    // SAFETY: as above.
    H::keeps_connected(net, &view) && unsafe { take(sock, k) }
}

/// The walk's callback for `getname=1` and the load: every user TCP listener.
///
/// # Safety
///
/// Called by toa_uoa_walk_sockets with a socket its file table keeps.
unsafe extern "C" fn attach_one(sock: *mut bindings::socket, _arg: *mut c_void) {
    // SAFETY: kept by its file table for the call.
    unsafe { attach_listener(sock) };
}

/// The walk's callback for `getname=0`: every socket gives the module's operations back.
///
/// # Safety
///
/// Called by toa_uoa_walk_sockets with a socket its file table keeps, from a walker that
/// holds a module reference of its own.
unsafe extern "C" fn detach_one(sock: *mut bindings::socket, _arg: *mut c_void) {
    // SAFETY: kept by its file table for the call.
    let cur = unsafe { bindings::toa_uoa_sock_ops(sock) };
    // SAFETY: the socket's operations, valid while it is kept.
    if let Some(k) = unsafe { ops().module_kind(cur) } {
        // SAFETY: as above.
        if unsafe { give_back(sock, k) } {
            // SAFETY: `cur` was this socket's until give_back.
            unsafe { forget_answer(cur) };
            // SAFETY: the socket's reference, given back; the walker's own keeps the module.
            unsafe { bindings::toa_uoa_ops_put(ops().mine(k)) };
        }
    }
}

/// Walks every task's sockets with `f`, holding a module reference of its own so that the
/// references `f` gives back cannot let an unload start before the walk is done.
fn walk(f: unsafe extern "C" fn(*mut bindings::socket, *mut c_void)) {
    let own = ops().mine(TCP4);
    // SAFETY: the module's own operations (owner: this module).
    if own.is_null() || !unsafe { bindings::toa_uoa_ops_get(own) } {
        return;
    }
    // SAFETY: `f` only takes or gives back operations of the sockets it is handed, under the
    // walk's spinlocks (it does not sleep).
    unsafe { bindings::toa_uoa_walk_sockets(Some(f), ptr::null_mut()) };
    // SAFETY: taken above. A parameter write (the only caller after load) finishes before an
    // unload frees the module: the module's sysfs files are removed, waiting for writes in
    // progress, before its memory is freed.
    unsafe { bindings::toa_uoa_ops_put(own) };
}

/// At the end of a successful load (nothing may fail after it: a failed load frees the
/// module whatever references sockets hold): the listeners that exist take the module's
/// operations, unless loaded with `getname=0`.
pub(crate) fn attach_existing() {
    // From here the probes act too: a listener made during the walk is the probe's or the
    // walk's (take() is a cmpxchg: not both).
    ACTIVE.store(true, Ordering::Release);
    if ENABLED.load(Ordering::Relaxed) {
        walk(attach_one);
    }
}

/// `getname`'s set: `1` gives every user TCP listener the module's operations (new ones take
/// them at listen()), `0` gives every socket its kernel's back and stops giving them, so that
/// the module can be unloaded. Logged with the sockets still held.
///
/// # Safety
///
/// Called by the kernel's parameter code with a NUL-terminated value, serialised with every
/// other set of this parameter.
#[no_mangle]
pub(crate) unsafe extern "C" fn toa_uoa_rs_getname_set(
    val: *const u8,
    _kp: *const c_void,
) -> c_int {
    // SAFETY: the kernel passes the NUL-terminated value.
    let Some(on) = (unsafe { c_bool(val) }) else {
        pr_err!("getname refused: must be 1 or 0\n");
        return code::EINVAL.to_errno();
    };
    ENABLED.store(on, Ordering::Relaxed);
    if !LOADED.load(Ordering::Relaxed) {
        // At load: applied by attach_existing().
        return 0;
    }
    walk(if on { attach_one } else { detach_one });
    pr_info!(
        "getname={}: {} sockets have the module's operations, {} accept() calls wait in them\n",
        u8::from(on),
        sockets_held(),
        accepts_waiting()
    );
    0
}

/// Whether DPVS's formats are read too (the `dpvs_compat` parameter).
static DPVS_COMPAT: AtomicBool = AtomicBool::new(false);

/// Whether DPVS's TOA and UOA "ipo" options are read (`dpvs_compat`).
pub(crate) fn dpvs_compat() -> bool {
    DPVS_COMPAT.load(Ordering::Relaxed)
}

/// `dpvs_compat`'s set: `1` reads DPVS's formats from the next packet on, `0` stops.
///
/// # Safety
///
/// Called by the kernel's parameter code with a NUL-terminated value.
#[no_mangle]
pub(crate) unsafe extern "C" fn toa_uoa_rs_dpvs_compat_set(
    val: *const u8,
    _kp: *const c_void,
) -> c_int {
    // SAFETY: the kernel passes the NUL-terminated value.
    let Some(on) = (unsafe { c_bool(val) }) else {
        pr_err!("dpvs_compat refused: must be 1 or 0\n");
        return code::EINVAL.to_errno();
    };
    let was = DPVS_COMPAT.swap(on, Ordering::Relaxed);
    if LOADED.load(Ordering::Relaxed) && was != on {
        pr_info!("dpvs_compat now {} (was {})\n", u8::from(on), u8::from(was));
    }
    0
}

/// `dpvs_compat`'s get.
///
/// # Safety
///
/// Called by the kernel's parameter code with a page-sized buffer.
#[no_mangle]
pub(crate) unsafe extern "C" fn toa_uoa_rs_dpvs_compat_get(
    buffer: *mut u8,
    _kp: *const c_void,
) -> c_int {
    // SAFETY: as for getname's get.
    unsafe { bool_get(buffer, dpvs_compat()) }
}

/// A boolean parameter's value: `1`/`y`/`Y` or `0`/`n`/`N`, with sysfs's newline.
///
/// # Safety
///
/// `val` is NULL or a NUL-terminated string.
unsafe fn c_bool(val: *const u8) -> Option<bool> {
    if val.is_null() {
        return None;
    }
    // SAFETY: the caller's promise.
    match unsafe { c_bytes(val, VALUE_MAX) }.map(|v| v.strip_suffix(b"\n").unwrap_or(v)) {
        Some(b"1" | b"y" | b"Y") => Some(true),
        Some(b"0" | b"n" | b"N") => Some(false),
        _ => None,
    }
}

/// Writes a boolean parameter's value and a newline into `buffer`; returns the length.
///
/// # Safety
///
/// `buffer` is NULL or holds at least 2 bytes (the kernel's parameter code passes a page).
unsafe fn bool_get(buffer: *mut u8, on: bool) -> c_int {
    if buffer.is_null() {
        return 0;
    }
    let text: &[u8; 2] = if on { b"1\n" } else { b"0\n" };
    // SAFETY: the caller's promise.
    unsafe { ptr::copy_nonoverlapping(text.as_ptr(), buffer, text.len()) };
    2
}

/// `getname`'s get.
///
/// # Safety
///
/// Called by the kernel's parameter code with a page-sized buffer.
#[no_mangle]
pub(crate) unsafe extern "C" fn toa_uoa_rs_getname_get(
    buffer: *mut u8,
    _kp: *const c_void,
) -> c_int {
    if buffer.is_null() {
        return 0;
    }
    let text: &[u8; 2] = if ENABLED.load(Ordering::Relaxed) {
        b"1\n"
    } else {
        b"0\n"
    };
    // SAFETY: the buffer holds a page.
    unsafe { ptr::copy_nonoverlapping(text.as_ptr(), buffer, text.len()) };
    2
}

/// The module's copies of the kernel's socket operations, one per kind ([`OPS`]), learnt at
/// load from kernel sockets made for the purpose.
///
/// # Invariants
///
/// [`OPS`] is set from the end of `new()`; sockets have the module's operations only while
/// the module is loaded (each holds a module reference), so none has them when this drops.
pub(crate) struct SocketOps(());

impl SocketOps {
    /// Learns the kernel's operations and makes the module's copies.
    pub(crate) fn new<H: Handler>() -> Result<Self> {
        if OPS_TAKEN.swap(true, Ordering::AcqRel) {
            pr_err!("socket operations are copied already\n");
            return Err(code::EBUSY);
        }
        let kinds: [(u32, u32, u32, bindings::toa_uoa_ops_fns); KINDS] = [
            (
                bindings::TOA_UOA_PF_INET,
                bindings::TOA_UOA_SOCK_STREAM,
                bindings::TOA_UOA_IPPROTO_TCP,
                mine_fns::<H, TCP4>(),
            ),
            (
                bindings::TOA_UOA_PF_INET6,
                bindings::TOA_UOA_SOCK_STREAM,
                bindings::TOA_UOA_IPPROTO_TCP,
                mine_fns::<H, TCP6>(),
            ),
            (
                bindings::TOA_UOA_PF_INET,
                bindings::TOA_UOA_SOCK_DGRAM,
                bindings::TOA_UOA_IPPROTO_UDP,
                mine_fns::<H, UDP4>(),
            ),
            (
                bindings::TOA_UOA_PF_INET6,
                bindings::TOA_UOA_SOCK_DGRAM,
                bindings::TOA_UOA_IPPROTO_UDP,
                mine_fns::<H, UDP6>(),
            ),
        ];
        // SAFETY: OPS_TAKEN makes this the only writer, and nothing reads OPS yet (OpsCell's
        // invariant: no socket has the module's operations, the probes come after).
        let t = unsafe { &mut *OPS.0.get() };
        for (k, (family, ty, protocol, mut fns)) in kinds.into_iter().enumerate() {
            let mut kernel_fns = NO_FNS;
            // SAFETY: process context (module init); the helper makes and releases a kernel
            // socket and writes `kernel_fns`.
            let kernel = unsafe {
                bindings::toa_uoa_kernel_ops(
                    family as c_int,
                    ty as c_int,
                    protocol as c_int,
                    &mut kernel_fns,
                )
            };
            if kernel.is_null() {
                if k == TCP4 || k == UDP4 {
                    pr_err!("cannot make an IPv4 socket to learn its operations\n");
                    OPS_TAKEN.store(false, Ordering::Release);
                    return Err(eafnosupport());
                }
                // IPv6 disabled: its sockets keep the kernel's operations.
                continue;
            }
            if k == UDP4 || k == UDP6 {
                // A UDP socket cannot accept: the kernel's answer stands.
                fns.accept = kernel_fns.accept;
            }
            let kernel_getname = kernel_fns.getname;
            if let (Some(slot_k), Some(slot_f)) = (t.kernel.get_mut(k), t.kernel_fns.get_mut(k)) {
                *slot_k = kernel;
                *slot_f = kernel_fns;
            }
            // SAFETY: `kernel` is the kernel's operations (static); the helper copies them
            // into the module's slot `k` (< KINDS) with `fns`, valid for the module's life.
            let mine = unsafe { bindings::toa_uoa_ops_make(k as c_uint, kernel, &fns) };
            // A connection waiting for its record: the kernel's getname.
            let waiting = bindings::toa_uoa_ops_fns {
                release: fns.release,
                accept: fns.accept,
                getname: kernel_getname,
                setsockopt: fns.setsockopt,
            };
            // SAFETY: as above, into slot KINDS + k (< TOA_UOA_OPS_SLOTS).
            let pending =
                unsafe { bindings::toa_uoa_ops_make((KINDS + k) as c_uint, kernel, &waiting) };
            if let (Some(m), Some(p)) = (t.mine.get_mut(k), t.pending.get_mut(k)) {
                *m = mine;
                *p = pending;
            }
            if k == TCP4 || k == TCP6 {
                // A TCP connection's own copy: what it answers, it holds.
                let answering = bindings::toa_uoa_ops_fns {
                    getname: answer_getname(k),
                    ..fns
                };
                // SAFETY: as above, into slot 2 * KINDS + k (< TOA_UOA_OPS_SLOTS).
                let answer = unsafe {
                    bindings::toa_uoa_ops_make((2 * KINDS + k) as c_uint, kernel, &answering)
                };
                if let Some(a) = t.answer.get_mut(k) {
                    *a = answer;
                }
            }
        }
        // SAFETY: process context (module init), once per SocketOps (OPS_TAKEN).
        if !unsafe { bindings::toa_uoa_answer_cache_create() } {
            pr_err!("cannot make the cache of connections' answers\n");
            OPS_TAKEN.store(false, Ordering::Release);
            return Err(code::ENOMEM);
        }
        // INVARIANT: OPS is set.
        Ok(SocketOps(()))
    }
}

impl Drop for SocketOps {
    fn drop(&mut self) {
        // No socket has the module's operations any more (each held a module reference):
        // the answering copies sockets gave back can go, and their cache.
        // SAFETY: nothing reads them once no socket has the module's operations; the cache
        // was made by `new`.
        unsafe { bindings::toa_uoa_answer_cache_destroy() };
        OPS_TAKEN.store(false, Ordering::Release);
    }
}

/// The getname of a TCP connection's own answering copy of kind `k`.
fn answer_getname(
    k: usize,
) -> Option<unsafe extern "C" fn(*mut bindings::socket, *mut bindings::sockaddr, c_int) -> c_int> {
    match k {
        TCP4 => Some(getname_answer_op::<TCP4>),
        TCP6 => Some(getname_answer_op::<TCP6>),
        _ => None,
    }
}

/// The module's functions for kind `K`.
fn mine_fns<H: Handler, const K: usize>() -> bindings::toa_uoa_ops_fns {
    bindings::toa_uoa_ops_fns {
        release: Some(release_op::<K>),
        accept: Some(accept_op::<H, K>),
        getname: Some(getname_op::<H, K>),
        setsockopt: Some(setsockopt_op::<K>),
    }
}

/// The probes' kretprobes, for the missed-call count /proc/net/toa_uoa shows: set while
/// registered. The memory they point to is freed only after the pernet operations are
/// unregistered (the module holds all registrations in one allocation, freed last), so a
/// reader that loaded a pointer may still read through it.
static PROBES: [AtomicPtr<bindings::kretprobe>; 2] = [
    AtomicPtr::new(ptr::null_mut()),
    AtomicPtr::new(ptr::null_mut()),
];

/// Whether a [`SocketProbe`] holds each slot of [`PROBES`]: one probe per function at a
/// time (a second fails with EBUSY).
static PROBE_TAKEN: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];

/// listen() and UDP connect() calls whose return the probes could not see (more than
/// maxactive at once): sockets that may have missed the module's operations.
pub(crate) fn probes_missed() -> u64 {
    PROBES
        .iter()
        .map(|p| {
            let p = p.load(Ordering::Acquire);
            if p.is_null() {
                return 0;
            }
            // SAFETY: a registered probe's kretprobe, alive (PROBES); nmissed is an int the
            // kretprobe core increments: a racy read only lags.
            let n = unsafe { ptr::read_volatile(ptr::addr_of!((*p).nmissed)) };
            u64::try_from(n).unwrap_or(0)
        })
        .sum()
}

/// The probed calls: where a socket may start to need the module's operations.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probed {
    /// inet_listen (IPv4 and IPv6 TCP): a new listener.
    Listen = 0,
    /// inet_dgram_connect (IPv4 and IPv6 UDP): a connected UDP socket.
    DgramConnect = 1,
}

/// kretprobe entry: keeps the socket; declines (non-zero) when the module is not giving its
/// operations, or the socket does not have the kernel's operations of a kind the probe
/// looks for (so that no instance is held for it).
///
/// # Safety
///
/// Called by the kretprobe core with the instance (whose data has room for a
/// [`ProbedSocket`], `data_size`) and the probed call's registers.
unsafe extern "C" fn probe_entry<const P: usize>(
    ri: *mut bindings::kretprobe_instance,
    regs: *mut bindings::pt_regs,
) -> c_int {
    if !ACTIVE.load(Ordering::Acquire) || !ENABLED.load(Ordering::Relaxed) {
        return 1;
    }
    // SAFETY: regs are the probed call's, at its entry: argument 0 is the socket.
    let sock = unsafe { bindings::toa_uoa_regs_arg0(regs) }.cast::<bindings::socket>();
    if sock.is_null() {
        return 1;
    }
    // SAFETY: the probed call's socket, valid for the call.
    let cur = unsafe { bindings::toa_uoa_sock_ops(sock) };
    let wanted = match ops().kernel_kind(cur) {
        Some(TCP4 | TCP6) => P == Probed::Listen as usize,
        Some(UDP4 | UDP6) => P == Probed::DgramConnect as usize,
        _ => false,
    };
    if !wanted {
        return 1;
    }
    // SAFETY: ri is valid and its data has room for a ProbedSocket (data_size).
    unsafe { ptr::write((*ri).data.as_mut_ptr().cast::<ProbedSocket>(), sock) };
    0
}

/// kretprobe return: a listener, or a connected UDP socket, takes the module's operations
/// when it qualifies.
///
/// # Safety
///
/// As [`probe_entry`]; called only for an instance whose entry returned 0, in the task of
/// the probed call (whose system call keeps the socket).
unsafe extern "C" fn probe_return<H: Handler, const P: usize>(
    ri: *mut bindings::kretprobe_instance,
    regs: *mut bindings::pt_regs,
) -> c_int {
    // SAFETY: regs are the probed call's, at its return.
    if unsafe { bindings::toa_uoa_regs_return_value(regs) } != 0 {
        return 0;
    }
    // SAFETY: written by probe_entry for this instance.
    let sock = unsafe { ptr::read((*ri).data.as_ptr().cast::<ProbedSocket>()) };
    if ENABLED.load(Ordering::Relaxed) {
        // SAFETY: the probed call's socket, kept by its system call.
        unsafe {
            if P == Probed::Listen as usize {
                attach_listener(sock);
            } else {
                attach_connected::<H>(sock);
            }
        }
    }
    0
}

/// A kretprobe on inet_listen or inet_dgram_connect: where a socket may start to need the
/// module's operations ([`attach_listener`], [`attach_connected`]). Nothing is written to
/// kernel text or the kernel's operations.
///
/// # Invariants
///
/// `probe` is registered, and published in `PROBES[P]`, from the end of `new()`'s
/// initialiser until drop.
#[pin_data(PinnedDrop)]
pub(crate) struct SocketProbe<H: Handler, const P: usize> {
    #[pin]
    probe: Opaque<bindings::kretprobe>,
    _handler: PhantomData<H>,
}

// SAFETY: as for PernetRegistration.
unsafe impl<H: Handler, const P: usize> Send for SocketProbe<H, P> {}
// SAFETY: as for PernetRegistration.
unsafe impl<H: Handler, const P: usize> Sync for SocketProbe<H, P> {}

impl<H: Handler, const P: usize> SocketProbe<H, P> {
    /// Registers the probe.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        let (name, symbol): (&str, &'static [u8]) = if P == Probed::Listen as usize {
            ("inet_listen", b"inet_listen\0")
        } else {
            ("inet_dgram_connect", b"inet_dgram_connect\0")
        };
        // Instances for calls in flight at once (a connect may sleep in lock_sock): four per
        // possible CPU, at least 64: above the kernel's own default (max(10, 2 * CPUs));
        // declined calls hold none.
        // SAFETY: reads the possible-CPU mask's weight.
        let cpus = unsafe { bindings::toa_uoa_num_possible_cpus() };
        let maxactive = c_int::try_from(cpus.saturating_mul(4))
            .unwrap_or(c_int::MAX)
            .max(64);
        kernel::try_pin_init!(Self {
            probe <- opaque_try_init(move |p: *mut bindings::kretprobe| {
                let (Some(taken), Some(slot)) = (PROBE_TAKEN.get(P), PROBES.get(P)) else {
                    return Err(code::EINVAL);
                };
                if taken.swap(true, Ordering::AcqRel) {
                    pr_err!("{} is probed already\n", name);
                    return Err(code::EBUSY);
                }
                // SAFETY: as in PernetRegistration::new(); the handlers are valid for the
                // module's life and unregister_kretprobe waits for running ones.
                let err = unsafe {
                    p.write_bytes(0, 1);
                    (*p).kp.symbol_name = symbol.as_ptr().cast();
                    (*p).entry_handler = Some(probe_entry::<P>);
                    (*p).handler = Some(probe_return::<H, P>);
                    (*p).data_size = core::mem::size_of::<ProbedSocket>();
                    (*p).maxactive = maxactive;
                    bindings::register_kretprobe(p)
                };
                if err != 0 {
                    taken.store(false, Ordering::Release);
                    pr_err!(
                        "cannot probe {}: error {} (CONFIG_KRETPROBES?)\n",
                        name,
                        err
                    );
                    return Err(Error::from_errno(err));
                }
                slot.store(p, Ordering::Release);
                // INVARIANT: registered and published.
                Ok(())
            }),
            _handler: PhantomData,
        }? Error)
    }
}

#[pinned_drop]
impl<H: Handler, const P: usize> PinnedDrop for SocketProbe<H, P> {
    fn drop(self: Pin<&mut Self>) {
        if let Some(p) = PROBES.get(P) {
            p.store(ptr::null_mut(), Ordering::Release);
        }
        // SAFETY: registered (type invariant); unregister_kretprobe waits for running
        // handlers.
        unsafe { bindings::unregister_kretprobe(self.probe.get()) };
        if let Some(t) = PROBE_TAKEN.get(P) {
            t.store(false, Ordering::Release);
        }
    }
}
