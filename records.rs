// SPDX-License-Identifier: GPL-2.0

//! The record table of one network namespace (PROTOCOL.md sections 5 and 6, DESIGN.md "The
//! kernel path").
//!
//! A record maps the tuple of a connection as this server sees it ([`Key`]: transport protocol,
//! the balancer's local address and port, this server's address and port) to what the balancer
//! carried in the option ([`Carried`]: family, CIP, CPORT, VIP, VPORT), plus the time it was last
//! seen. The ingress hooks insert, the getpeername/getsockopt paths look up, a periodic job
//! expires idle records, and namespace exit clears the table.
//!
//! # Why the code looks like this
//! The file is compiled unchanged into the kernel module (`mod records;`) and into the host crate
//! `toa-uoa-kcore` (through `#[path]`), where the unit, model and property tests run it. So it
//! uses `core` only plus the allocation shim `crate::mem` (kernel allocations there, `Box`/`Vec`
//! on the host), has no `unsafe`, and cannot panic: slots are read with `get`/`get_mut`, counts
//! use checked or saturating arithmetic, and every loop walks a bounded chain or range. Nothing
//! recurses: dropping a chain of boxed nodes would normally recurse once per node (and a long
//! chain would overflow the small kernel stack), so [`Node`] unlinks its tail iteratively.
//!
//! # Locking and context
//! The table is plain data and takes `&mut self` everywhere, lookups included (a hit refreshes
//! the record's last-seen time). The caller serialises access with its own lock. Insert may run
//! on the packet path in atomic context: its only allocation is `crate::mem::try_box`, which the
//! kernel implements with an atomic allocation that may fail; failure is reported, not fatal.
//! A namespace's table is made on the packet path too, at its first option, so it starts with
//! a small bucket array ([`Table::new_small`], [`MIN_BUCKETS`], allocated atomically); the
//! full array is allocated later in process context and the records moved into it under the
//! caller's lock ([`Buckets::new`], [`Table::grow`]): no allocation while the lock is held.
//!
//! # Memory
//! One record is one [`Node`]: a 38-byte [`Key`], a 38-byte [`Carried`], an 8-byte last-seen time
//! and an 8-byte link, 96 bytes on 64-bit targets (exactly the kernel's `kmalloc-96` slab). A
//! table adds 8 bytes per bucket: [`Table::new`] picks `max_records / 4` buckets rounded up to a
//! power of two, at least [`MIN_BUCKETS`] and at most [`MAX_BUCKETS`], so 512 bytes to 32 MiB
//! (the latter only for the largest `max_records`, 16M, whose records take 1.5 GiB).
//! A full table with `max_records = 65536` is 16384 buckets (128 KiB) plus 6 MiB of records.

// The rules this file promises (no unsafe, no panics, no unchecked arithmetic, documented
// items, crate-visible API as the kernel's -Wunreachable_pub wants), checked by clippy in the
// module build (CLIPPY=1) and in the host crate userspace/kcore, wherever it is compiled.
#![deny(
    unsafe_code,
    missing_docs,
    unreachable_pub,
    rust_2018_idioms,
    clippy::missing_docs_in_private_items,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    clippy::as_conversions,
    clippy::mut_mut,
    clippy::needless_continue
)]

use crate::flow::{Key, Query};
use crate::mem::{try_box, try_slots, try_slots_atomic, Boxed, Slots};
use crate::option_codec::{Carried, Family, IPPROTO_TCP, IPPROTO_UDP};

/// Fewest buckets a table has, so that a small `max_records` still spreads its records.
pub(crate) const MIN_BUCKETS: usize = 64;
/// Most buckets a table has: enough for the largest `max_records` (1 << 24) at 4 records per
/// chain, so look-up cost stays flat as the table grows (the benchmark showed a 65536 cap
/// tripling the look-up time at 1M records). The array costs 2% of the records it serves.
pub(crate) const MAX_BUCKETS: usize = 1 << 22;
/// How many buckets, from the target bucket on, the table looks at for a record to evict when
/// it is full.
pub(crate) const EVICT_WINDOW_BUCKETS: usize = 8;
/// How many records at most the table looks at for a record to evict when it is full.
pub(crate) const EVICT_WINDOW_RECORDS: usize = 32;

// `clamp` in `bucket_count` panics if min > max, and the mask needs powers of two: both are
// checked here, at compile time.
const _: () = assert!(
    MIN_BUCKETS <= MAX_BUCKETS && MIN_BUCKETS.is_power_of_two() && MAX_BUCKETS.is_power_of_two()
);

/// What [`Table::insert`] did; the caller counts each outcome in the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Insert {
    /// A new record was made (the table was below its limit).
    New,
    /// A record for the key existed with another carried value: the newer option replaced it.
    Replaced,
    /// A record for the key existed with the same carried value: only its last-seen time moved.
    Refreshed,
    /// The table was full: the approximately-oldest record near the key's bucket was evicted and
    /// its memory reused for the new record.
    NewAfterEvicting,
    /// The table was full and no record was found to evict in the window looked at: nothing
    /// was recorded.
    DroppedAtLimit,
    /// The allocation of the new record failed: nothing was recorded.
    AllocFailed,
    /// A record for the key existed with another carried value and the caller asked to keep
    /// it ([`OnConflict::Keep`]): nothing changed, not even its time.
    Kept,
}

/// What [`Table::insert_with`] does when the key has a record with another carried value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnConflict {
    /// The newer option wins (UDP flows, and a TCP SYN: a new connection on the tuple).
    Replace,
    /// The record stays (a live TCP connection's: its addresses cannot change).
    Keep,
}

/// What one [`Table::expire`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expire {
    /// Records removed because they were idle.
    pub(crate) expired: u32,
    /// The call reached the end of the bucket array: a sweep is complete and the cursor is
    /// back at 0.
    pub(crate) done: bool,
}

/// A link in a bucket's chain: the next record, if any.
type Link = Option<Boxed<Node>>;

/// One record: what is stored per connection, 96 bytes on 64-bit targets.
struct Node {
    /// The tuple the record is for.
    key: Key,
    /// What the newest option for the tuple carried.
    carried: Carried,
    /// When the record was last inserted, refreshed or looked up (the caller's clock, e.g.
    /// jiffies; only differences are used).
    last_seen: u64,
    /// The next record in the same bucket.
    next: Link,
}

// The memory figure in the documentation above is a promise: keep it true. This is evaluated
// at compile time, so it cannot panic at run time.
const _: () = assert!(core::mem::size_of::<Node>() <= 96);

impl Drop for Node {
    /// Drops the rest of the chain iteratively.
    ///
    /// The default drop of a singly linked chain of boxes recurses once per node; a long chain
    /// (a large table, or records aimed at one bucket) would overflow the kernel stack. Each
    /// node taken here has its own `next` emptied first, so its drop does no further work.
    fn drop(&mut self) {
        let mut next = self.next.take();
        while let Some(mut node) = next {
            next = node.next.take();
        }
    }
}

/// The record table of one network namespace: a chained hash table with a fixed number of
/// buckets and a bound on the number of records.
pub(crate) struct Table {
    /// The buckets: each the head of a chain, newest record first.
    buckets: Slots<Link>,
    /// `buckets.len() - 1`; the bucket count is a power of two, so `hash & mask` is a bucket.
    mask: usize,
    /// Records in the table.
    len: u32,
    /// Of those, TCP records (the rest are UDP): lets the getname path skip the table for
    /// a protocol with no record at all.
    tcp: u32,
    /// Most records the table holds.
    max_records: u32,
    /// Random key of the hash, so that remote senders cannot aim their tuples at one bucket.
    seed: u64,
    /// Times a record was removed or given other addresses ([`Table::changes`]).
    changes: u64,
}

/// A bucket array for [`Table::grow`], allocated ahead of it in process context (a large one
/// is vmalloc'ed), so that the caller's lock is held only while the records move.
pub(crate) struct Buckets(Slots<Link>);

impl Buckets {
    /// `n` empty buckets; `None` if `n` is not a power of two or the memory is not there.
    pub(crate) fn new(n: usize) -> Option<Buckets> {
        if !n.is_power_of_two() {
            return None;
        }
        let slots = try_slots(n, || None)?;
        (slots.len() == n).then_some(Buckets(slots))
    }
}

/// Number of buckets for a table of `max_records`: a quarter of it rounded up to a power of
/// two (about 4 records per chain when full), within [`MIN_BUCKETS`]..=[`MAX_BUCKETS`].
fn bucket_count(max_records: u32) -> usize {
    let quarter = usize::try_from(max_records / 4).unwrap_or(MAX_BUCKETS);
    quarter
        .checked_next_power_of_two()
        .unwrap_or(MAX_BUCKETS)
        .clamp(MIN_BUCKETS, MAX_BUCKETS)
}

/// MurmurHash3's 64-bit finaliser: a bijection in which every input bit affects every output
/// bit, used as the mixing step of [`Table::hash`].
fn fmix64(mut k: u64) -> u64 {
    k ^= k.wrapping_shr(33);
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k.wrapping_shr(33);
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k.wrapping_shr(33);
    k
}

/// Small number standing for a family in the hash input (the enum has no numeric form).
fn family_code(family: Family) -> u8 {
    match family {
        Family::V4 => 4,
        Family::V6 => 6,
    }
}

/// Unlinks and returns the record at position `pos` of the chain starting at `head`.
fn unlink_at(head: &mut Link, pos: usize) -> Option<Boxed<Node>> {
    let mut cur = head;
    for _ in 0..pos {
        cur = &mut cur.as_mut()?.next;
    }
    let mut node = cur.take()?;
    *cur = node.next.take();
    Some(node)
}

/// Records taken out of the table, and how many of them were TCP.
#[derive(Clone, Copy, Default)]
struct Removed {
    /// Records removed, of every protocol.
    all: u32,
    /// Of those, TCP records.
    tcp: u32,
}

impl Removed {
    /// Counts one removed record of `key`.
    fn add(&mut self, key: &Key) {
        self.all = self.all.saturating_add(1);
        if key.proto == IPPROTO_TCP {
            self.tcp = self.tcp.saturating_add(1);
        }
    }
}

/// Removes from the chain at `head` every record idle for at least `idle`; returns how many.
fn sweep_chain(
    head: &mut Link,
    now: u64,
    idle: u64,
    keep: &mut impl FnMut(&Key) -> bool,
) -> Removed {
    let mut removed = Removed::default();
    let mut cur = head;
    loop {
        let stale = match cur.as_mut() {
            None => break,
            Some(node) if now.saturating_sub(node.last_seen) < idle => false,
            // Idle, but its owner says it is still in use (a TCP connection that is still
            // there): it lives another idle period.
            Some(node) if keep(&node.key) => {
                node.last_seen = now;
                false
            }
            Some(_) => true,
        };
        if stale {
            if let Some(mut node) = cur.take() {
                *cur = node.next.take();
                removed.add(&node.key);
            }
        } else {
            let Some(node) = cur.as_mut() else { break };
            cur = &mut node.next;
        }
    }
    removed
}

impl Table {
    /// Makes an empty table for at most `max_records` records, hashing with the random `seed`
    /// (the kernel passes `get_random_u64()`, one per namespace), with its full bucket array
    /// (8 bytes per bucket, see the module documentation): process context only; `None` if
    /// that allocation fails. `max_records = 0` makes a table that records nothing (every
    /// insert is [`Insert::DroppedAtLimit`]).
    // The module starts small and grows (below); the host tests start at the full size.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn new(max_records: u32, seed: u64) -> Option<Table> {
        let mut t = Table::new_small(max_records, seed)?;
        let old = t.grow(Buckets::new(t.buckets_wanted())?);
        drop(old);
        Some(t)
    }

    /// Makes an empty table as [`Table::new`] does, but with only [`MIN_BUCKETS`] buckets
    /// (512 bytes), allocated atomically: a namespace makes its table on the packet path, at
    /// the first option it sees, and grows it to [`Table::buckets_wanted`] later, in process
    /// context ([`Table::grow`]). A namespace that never sees an option never pays for more.
    pub(crate) fn new_small(max_records: u32, seed: u64) -> Option<Table> {
        let buckets = try_slots_atomic(MIN_BUCKETS, || None)?;
        // The mask is only right for exactly MIN_BUCKETS (a power of two) slots.
        if buckets.len() != MIN_BUCKETS {
            return None;
        }
        Some(Table {
            buckets,
            mask: MIN_BUCKETS.checked_sub(1)?,
            len: 0,
            tcp: 0,
            max_records,
            seed,
            changes: 0,
        })
    }

    /// The number of buckets the table is meant to have for its `max_records`.
    pub(crate) fn buckets_wanted(&self) -> usize {
        bucket_count(self.max_records)
    }

    /// The number of buckets the table has.
    pub(crate) fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// Moves every record into `new`, which becomes the table's bucket array, and returns the
    /// array it had, for the caller to free (outside its lock: a large array is vmalloc'ed).
    /// A `new` no larger than the current array is handed back unused.
    ///
    /// No allocation and no record lost. Bucket `b` of a power-of-two array spreads only into
    /// buckets of the larger one whose low bits are `b`, so each old chain feeds chains of its
    /// own: the chain is reversed, then its records are pushed in turn at the head of their
    /// new chain, which keeps every chain newest first.
    pub(crate) fn grow(&mut self, new: Buckets) -> Buckets {
        let Buckets(new) = new;
        if new.len() <= self.buckets.len() {
            return Buckets(new);
        }
        let Some(mask) = new.len().checked_sub(1) else {
            return Buckets(new);
        };
        let mut old = core::mem::replace(&mut self.buckets, new);
        self.mask = mask;
        let mut lost = Removed::default();
        for head in old.iter_mut() {
            // Oldest first.
            let mut reversed: Link = None;
            let mut next = head.take();
            while let Some(mut node) = next {
                next = node.next.take();
                node.next = reversed;
                reversed = Some(node);
            }
            let mut next = reversed;
            while let Some(mut node) = next {
                next = node.next.take();
                let b = self.bucket(&node.key);
                match self.buckets.get_mut(b) {
                    Some(slot) => {
                        node.next = slot.take();
                        *slot = Some(node);
                    }
                    // bucket() is always within the array; were it not, the record would
                    // be dropped, and counted off.
                    None => lost.add(&node.key),
                }
            }
        }
        self.uncount(lost);
        Buckets(old)
    }

    /// Records in the table.
    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    /// Records in the table for transport protocol `proto` (TCP or UDP; 0 for any other,
    /// which the table never holds).
    pub(crate) fn len_of(&self, proto: u8) -> u32 {
        match proto {
            IPPROTO_TCP => self.tcp,
            IPPROTO_UDP => self.len.saturating_sub(self.tcp),
            _ => 0,
        }
    }

    /// Takes the records in `r` off the counts.
    fn uncount(&mut self, r: Removed) {
        self.len = self.len.saturating_sub(r.all);
        self.tcp = self.tcp.saturating_sub(r.tcp);
        if r.all != 0 {
            self.changed();
        }
    }

    /// Counts a change that may undo what an earlier insert left ([`Table::changes`]).
    fn changed(&mut self) {
        self.changes = self.changes.wrapping_add(1);
    }

    /// How many times a record has been removed (by any means) or given other addresses
    /// since the table was made. While it stays the same, every record an insert left is
    /// still there, with the addresses it was given and a last-seen time no earlier than the
    /// insert's: the packet path relies on it to skip a refresh that would change nothing
    /// (`path::rx`, `state::LastRefresh`).
    pub(crate) fn changes(&self) -> u64 {
        self.changes
    }

    /// Most records the table holds.
    pub(crate) fn max_records(&self) -> u32 {
        self.max_records
    }

    /// Keyed hash of a flow, deliberately without the destination address.
    ///
    /// Leaving `daddr` out puts all records of (proto, family, saddr, sport, dport) in one
    /// bucket, so that a lookup for "any local address" (PROTOCOL.md section 4) is answered from
    /// one chain, like an exact one, without a scan. It costs nothing in spread: the balancer's
    /// local port varies per flow, and this server's addresses are few.
    ///
    /// Each 64-bit word of the key is xored into the state and the state is mixed with
    /// [`fmix64`]; the initial state is the per-table random seed, so where a tuple lands
    /// cannot be predicted from outside.
    fn hash(&self, key: &Key) -> u64 {
        let [s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15] = key.saddr;
        let [sp0, sp1] = key.sport.to_le_bytes();
        let [dp0, dp1] = key.dport.to_le_bytes();
        let w0 = u64::from_le_bytes([key.proto, family_code(key.family), sp0, sp1, dp0, dp1, 0, 0]);
        let w1 = u64::from_le_bytes([s0, s1, s2, s3, s4, s5, s6, s7]);
        let w2 = u64::from_le_bytes([s8, s9, s10, s11, s12, s13, s14, s15]);
        let mut h = fmix64(self.seed ^ w0);
        h = fmix64(h ^ w1);
        fmix64(h ^ w2)
    }

    /// The bucket of `key`'s flow (whatever its `daddr`); always `< self.buckets.len()`.
    fn bucket(&self, key: &Key) -> usize {
        let h = self.hash(key);
        // Truncating to usize keeps the low bits, which are the ones the mask keeps.
        let low = usize::try_from(h & 0xffff_ffff).unwrap_or(0);
        low & self.mask
    }

    /// Records what an option carried for `key`, seen at time `now`.
    ///
    /// An existing record for the key is replaced by the newer option (PROTOCOL.md sections 5
    /// and 6: any packet may carry it and the newest wins) or, if it carried the same, only
    /// refreshed. A new record goes at the head of its bucket's chain.
    ///
    /// At the limit (`len == max_records`) the table evicts the approximately-oldest record: it
    /// looks at the key's bucket and the following ones, at most [`EVICT_WINDOW_BUCKETS`]
    /// buckets and [`EVICT_WINDOW_RECORDS`] records, evicts the one with the oldest last-seen
    /// time and reuses its memory for the new record. Why this policy:
    /// - The work per packet stays bounded: a truly-oldest eviction would need an LRU list
    ///   (16 more bytes per record and a list update on every hit) or a scan of the table.
    /// - The newest traffic keeps getting records under a flood of new tuples; refusing new
    ///   records instead would let a flood lock out every later real client until the old
    ///   records expire. A random sample of 32 records with about 4 per bucket finds one of the
    ///   oldest few percent, which is what matters.
    /// - Reusing the evicted record's memory means a full table under a flood does no
    ///   allocation at all.
    ///
    /// A UDP record never evicts a TCP one: TCP records belong to connections that may still
    /// be open (their answer must not change under them), and UDP churn (a flood of new
    /// tuples) must not take them. A TCP record may evict either kind.
    ///
    /// If the window holds no record it may evict (possible when the table is nearly empty of
    /// records near this bucket, e.g. a tiny `max_records`, or holds only TCP records near it
    /// for a UDP key), the new record is dropped: [`Insert::DroppedAtLimit`].
    pub(crate) fn insert(&mut self, key: &Key, carried: &Carried, now: u64) -> Insert {
        self.insert_with(key, carried, now, OnConflict::Replace)
    }

    /// As [`Table::insert`], with `on_conflict` deciding what happens to a record of the key
    /// that carries other addresses.
    pub(crate) fn insert_with(
        &mut self,
        key: &Key,
        carried: &Carried,
        now: u64,
        on_conflict: OnConflict,
    ) -> Insert {
        let idx = self.bucket(key);
        let mut replaced = false;
        if let Some(head) = self.buckets.get_mut(idx) {
            let mut cur = head.as_deref_mut();
            while let Some(node) = cur {
                if node.key == *key {
                    if node.carried == *carried {
                        node.last_seen = node.last_seen.max(now);
                        return Insert::Refreshed;
                    }
                    if on_conflict == OnConflict::Keep {
                        return Insert::Kept;
                    }
                    node.last_seen = node.last_seen.max(now);
                    node.carried = *carried;
                    replaced = true;
                    break;
                }
                cur = node.next.as_deref_mut();
            }
        }
        if replaced {
            self.changed();
            return Insert::Replaced;
        }
        if self.len >= self.max_records {
            let Some(mut node) = self.evict_near(idx, key.proto != IPPROTO_TCP) else {
                return Insert::DroppedAtLimit;
            };
            node.key = *key;
            node.carried = *carried;
            node.last_seen = now;
            self.push(idx, node);
            return Insert::NewAfterEvicting;
        }
        let Some(node) = try_box(Node {
            key: *key,
            carried: *carried,
            last_seen: now,
            next: None,
        }) else {
            return Insert::AllocFailed;
        };
        self.push(idx, node);
        Insert::New
    }

    /// Links `node` at the head of bucket `idx` and counts it.
    ///
    /// `idx` comes from [`Table::bucket`] and is always in range; were it not, the node would be
    /// freed here and not counted, keeping `len` true.
    fn push(&mut self, idx: usize, mut node: Boxed<Node>) {
        if let Some(head) = self.buckets.get_mut(idx) {
            if node.key.proto == IPPROTO_TCP {
                self.tcp = self.tcp.saturating_add(1);
            }
            node.next = head.take();
            *head = Some(node);
            self.len = self.len.saturating_add(1);
        }
    }

    /// Unlinks the record with the oldest last-seen time among the first
    /// [`EVICT_WINDOW_RECORDS`] records of the [`EVICT_WINDOW_BUCKETS`] buckets from `idx` on
    /// (wrapping at the end), and returns it; `None` if those buckets hold no record.
    /// With `spare_tcp`, TCP records are passed over (a UDP record is being made).
    fn evict_near(&mut self, idx: usize, spare_tcp: bool) -> Option<Boxed<Node>> {
        // (bucket, position in its chain, last_seen) of the oldest record seen so far.
        let mut oldest: Option<(usize, usize, u64)> = None;
        let mut looked_at = 0usize;
        'window: for step in 0..EVICT_WINDOW_BUCKETS {
            let b = idx.wrapping_add(step) & self.mask;
            let Some(head) = self.buckets.get(b) else {
                continue;
            };
            let mut cur = head.as_deref();
            let mut pos = 0usize;
            while let Some(node) = cur {
                if looked_at >= EVICT_WINDOW_RECORDS {
                    break 'window;
                }
                looked_at = looked_at.saturating_add(1);
                let older = match oldest {
                    _ if spare_tcp && node.key.proto == IPPROTO_TCP => false,
                    None => true,
                    Some((_, _, t)) => node.last_seen < t,
                };
                if older {
                    oldest = Some((b, pos, node.last_seen));
                }
                pos = pos.saturating_add(1);
                cur = node.next.as_deref();
            }
        }
        let (b, pos, _) = oldest?;
        let node = unlink_at(self.buckets.get_mut(b)?, pos)?;
        let mut r = Removed::default();
        r.add(&node.key);
        self.uncount(r);
        Some(node)
    }

    /// Looks up the carried addresses for a flow, at time `now`.
    ///
    /// An exact query is answered only by the record for exactly its tuple. A wildcard one
    /// ([`Query::any_local`]: PROTOCOL.md section 4 lets a look-up give an all-zero daddr) by
    /// the first record of the flow in its bucket, which is the most recently created one; the
    /// hash leaves `daddr` out so this needs no scan.
    ///
    /// A hit moves the record's last-seen time to `now`: a record that applications still look
    /// up belongs to a flow in use and should neither expire nor be evicted as idle.
    pub(crate) fn lookup(&mut self, query: &Query, now: u64) -> Option<Carried> {
        let idx = self.bucket(&query.key);
        let mut cur = self.buckets.get_mut(idx)?.as_deref_mut();
        while let Some(node) = cur {
            if query.matches(&node.key) {
                node.last_seen = node.last_seen.max(now);
                return Some(node.carried);
            }
            cur = node.next.as_deref_mut();
        }
        None
    }

    /// Whether `key` has a record (nothing about it changes).
    pub(crate) fn contains(&self, key: &Key) -> bool {
        let idx = self.bucket(key);
        let mut cur = self.buckets.get(idx).and_then(|h| h.as_deref());
        while let Some(node) = cur {
            if node.key == *key {
                return true;
            }
            cur = node.next.as_deref();
        }
        false
    }

    /// Removes the record for `key`; whether there was one.
    ///
    /// Used when a TCP SYN arrives for a tuple: a new connection on a reused tuple must not be
    /// given the previous connection's client.
    pub(crate) fn remove(&mut self, key: &Key) -> bool {
        self.remove_where(key, |_| true)
    }

    /// Removes the record of `key` if nothing has touched it since time `stamp`: its
    /// last-seen time is still `stamp` (a packet or a look-up since would have moved it).
    /// Returns whether it was removed.
    ///
    /// The expiry uses it for idle TCP records whose connection it checked without the lock:
    /// the check ran between the sweep that stamped them and this call.
    pub(crate) fn remove_if_untouched(&mut self, key: &Key, stamp: u64) -> bool {
        self.remove_where(key, |node| node.last_seen == stamp)
    }

    /// Removes the record of `key` if `pred` says so of it; whether it was removed.
    fn remove_where(&mut self, key: &Key, pred: impl FnOnce(&Node) -> bool) -> bool {
        let idx = self.bucket(key);
        let Some(head) = self.buckets.get_mut(idx) else {
            return false;
        };
        let mut cur = head;
        while cur.as_ref().is_some_and(|node| node.key != *key) {
            let Some(node) = cur.as_mut() else {
                return false;
            };
            cur = &mut node.next;
        }
        if !cur.as_deref().is_some_and(pred) {
            return false;
        }
        let Some(mut node) = cur.take() else {
            return false;
        };
        *cur = node.next.take();
        let mut r = Removed::default();
        r.add(&node.key);
        self.uncount(r);
        true
    }

    /// Removes idle records from at most `budget` buckets, starting at bucket `*cursor`.
    ///
    /// A record is idle when `now - last_seen >= idle` (saturating: a last-seen time in the
    /// future is not idle, unless `idle` is 0, which expires everything). The cursor is
    /// advanced past the buckets swept; when it reaches the end it goes back to 0 and `done`
    /// is set. This lets the caller sweep in chunks off the packet path, dropping its lock
    /// between chunks so that packets and lookups wait for one chunk at most. A cursor past the
    /// end (e.g. from another table) starts a sweep at 0. An idle record for which
    /// `keep` says true is kept and its time refreshed (the kernel keeps the records of
    /// TCP connections that still exist).
    pub(crate) fn expire(
        &mut self,
        now: u64,
        idle: u64,
        cursor: &mut usize,
        budget: usize,
        mut keep: impl FnMut(&Key) -> bool,
    ) -> Expire {
        let n = self.buckets.len();
        if *cursor >= n {
            *cursor = 0;
        }
        let end = cursor.saturating_add(budget).min(n);
        let mut expired = Removed::default();
        for b in *cursor..end {
            if let Some(head) = self.buckets.get_mut(b) {
                let r = sweep_chain(head, now, idle, &mut keep);
                expired.all = expired.all.saturating_add(r.all);
                expired.tcp = expired.tcp.saturating_add(r.tcp);
            }
        }
        self.uncount(expired);
        let expired = expired.all;
        let done = end >= n;
        *cursor = if done { 0 } else { end };
        Expire { expired, done }
    }

    /// Removes every record; returns how many (used at namespace exit).
    ///
    /// Chains are taken apart one node at a time: no recursion, whatever their length.
    // The module drops a namespace's table whole (iteratively, see `Drop`); the host tests
    // use this to check the count.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn clear(&mut self) -> u32 {
        let mut removed = 0u32;
        for head in self.buckets.iter_mut() {
            let mut next = head.take();
            while let Some(mut node) = next {
                next = node.next.take();
                removed = removed.saturating_add(1);
            }
        }
        self.len = 0;
        self.tcp = 0;
        if removed != 0 {
            self.changed();
        }
        removed
    }
}

#[cfg(test)]
impl Buckets {
    /// Number of buckets.
    pub(crate) fn len_for_test(&self) -> usize {
        self.0.len()
    }
}

/// Helpers for the host tests only: they see inside the table to aim keys at buckets, build
/// chains no hash would, and check the count of records against the chains.
#[cfg(test)]
impl Table {
    /// Number of buckets.
    pub(crate) fn buckets_for_test(&self) -> usize {
        self.buckets.len()
    }

    /// The bucket `key` hashes to.
    pub(crate) fn bucket_for_test(&self, key: &Key) -> usize {
        self.bucket(key)
    }

    /// Links a record at the head of bucket `idx` without looking for its key or at the limit.
    pub(crate) fn push_for_test(
        &mut self,
        idx: usize,
        key: &Key,
        carried: &Carried,
        now: u64,
    ) -> bool {
        let Some(node) = try_box(Node {
            key: *key,
            carried: *carried,
            last_seen: now,
            next: None,
        }) else {
            return false;
        };
        self.push(idx, node);
        true
    }

    /// Counts the records by walking every chain.
    pub(crate) fn count_for_test(&self) -> usize {
        let mut count = 0usize;
        for head in self.buckets.iter() {
            let mut cur = head.as_deref();
            while let Some(node) = cur {
                count = count.saturating_add(1);
                cur = node.next.as_deref();
            }
        }
        count
    }

    /// Counts the records of transport protocol `proto` by walking every chain.
    pub(crate) fn count_proto_for_test(&self, proto: u8) -> usize {
        let mut count = 0usize;
        for head in self.buckets.iter() {
            let mut cur = head.as_deref();
            while let Some(node) = cur {
                if node.key.proto == proto {
                    count = count.saturating_add(1);
                }
                cur = node.next.as_deref();
            }
        }
        count
    }

    /// Size in bytes of one record.
    pub(crate) const RECORD_BYTES: usize = core::mem::size_of::<Node>();
}
