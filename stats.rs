// SPDX-License-Identifier: GPL-2.0

//! The module's counters: what each is called in /proc/net/toa_uoa, in a stable order.
//! Malformed options are counted by the codec's error kind after the fixed ones.

// The rules this file promises, checked by clippy in the module build (CLIPPY=1) and in the
// host crate userspace/kcore, wherever it is compiled.
#![deny(
    unsafe_code,
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::panic
)]

use crate::option_codec::Error;

/// A fixed counter; its value is its index in the per-CPU array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Counter {
    /// Well-formed options on TCP or UDP packets.
    OptionsValid,
    /// Well-formed options on packets of another transport (ignored).
    OptionsNotTcpUdp,
    /// Records made for a tuple that had none.
    RecordsNew,
    /// Records replaced by a newer option with other addresses.
    RecordsReplaced,
    /// Records whose option came again unchanged (only the time refreshed).
    RecordsRefreshed,
    /// Records evicted to make room at the `max_records` limit.
    RecordsEvicted,
    /// Options not recorded because the table was full and nothing could be evicted.
    RecordsDroppedAtLimit,
    /// Options not recorded because memory could not be had.
    RecordsAllocFailed,
    /// Records removed after `idle_timeout` without use.
    RecordsExpired,
    /// getsockopt v1 look-ups answered.
    LookupsV1Hit,
    /// getsockopt v1 look-ups without a record (ENOENT).
    LookupsV1Miss,
    /// getsockopt v0 look-ups answered.
    LookupsV0Hit,
    /// getsockopt v0 look-ups without a record (ENOENT).
    LookupsV0Miss,
    /// getsockopt look-ups refused for bad input (EINVAL, EFAULT, EAFNOSUPPORT).
    LookupsRefused,
    /// Records removed because a TCP SYN started a new connection on their tuple.
    RecordsForgottenBySyn,
    /// getpeername/getsockname/accept answers given from a record.
    GetnameRewritten,
    /// Options from sources outside `trusted_sources`, ignored (their plain SYNs are not
    /// counted: they are ordinary clients').
    OptionsUntrusted,
    /// getname answers from a record not given: an IPv6 client for an IPv4 socket, asked
    /// from inside the kernel (a kernel thread, or an in-kernel user within another system
    /// call), whose buffer may be a 16-byte sockaddr_in.
    GetnameKeptForKernel,
    /// Options for a live TCP connection's tuple carrying other addresses than its record:
    /// ignored (a forged packet, or a confused balancer); only a SYN starts a new record.
    OptionsIgnoredLiveTcp,
    /// DPVS TOA options (TCP option 254) read (`dpvs_compat`), well-formed.
    OptionsDpvsToa,
    /// DPVS UOA "ipo" options (IPv4 option 31, length 8 or 20) read, well-formed.
    OptionsDpvsUoaIpo,
    /// DPVS UOA "opp" headers (IP protocol 248) read, well-formed (and removed).
    OptionsDpvsUoaOpp,
    /// DPVS options rejected by their parser (the kernel log names the check).
    OptionsDpvsMalformed,
    /// Of [`Counter::RecordsRefreshed`], those the packet path counted without parsing the
    /// packet or taking the table's lock: the CPU's last option packet again, in its jiffy
    /// (`state::LastRefresh`).
    RecordsRefreshedLockless,
}

/// Names of the fixed counters, in [`Counter`] order.
const NAMES: [&str; FIXED as usize] = [
    "options_valid",
    "options_not_tcp_udp",
    "records_new",
    "records_replaced",
    "records_refreshed",
    "records_evicted",
    "records_dropped_at_limit",
    "records_alloc_failed",
    "records_expired",
    "lookups_v1_hit",
    "lookups_v1_miss",
    "lookups_v0_hit",
    "lookups_v0_miss",
    "lookups_refused",
    "records_forgotten_by_syn",
    "getname_rewritten",
    "options_untrusted",
    "getname_kept_for_kernel",
    "options_ignored_live_tcp",
    "options_dpvs_toa",
    "options_dpvs_uoa_ipo",
    "options_dpvs_uoa_opp",
    "options_dpvs_malformed",
    "records_refreshed_lockless",
];

/// Number of fixed counters.
pub(crate) const FIXED: u32 = Counter::RecordsRefreshedLockless as u32 + 1;
/// All counters: the fixed ones, then one per malformed-option kind.
pub(crate) const TOTAL: u32 = FIXED + Error::COUNT as u32;

impl Counter {
    /// Its index in the per-CPU array.
    pub(crate) fn index(self) -> u32 {
        self as u32
    }
}

/// The index of the counter of malformed options of kind `e`.
pub(crate) fn malformed(e: Error) -> u32 {
    // COUNT is small (a few dozen): the conversion cannot truncate.
    FIXED + e.index() as u32
}

/// Calls `f(prefix, name, index)` for every counter in output order; the name printed is
/// `prefix` followed by `name`.
pub(crate) fn each(mut f: impl FnMut(&str, &str, u32)) {
    for (i, name) in (0u32..).zip(NAMES.iter()) {
        f("", name, i);
    }
    for e in Error::ALL {
        f("malformed_", e.name(), malformed(e));
    }
}
