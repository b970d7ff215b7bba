//! Tests of the record table (`src/records.rs`) on the host.

use crate::flow::{Key, Query};
use crate::mem;
use crate::option_codec::{Carried, Family};
use crate::records::{
    Buckets, Expire, Insert, OnConflict, Table, EVICT_WINDOW_RECORDS, MAX_BUCKETS, MIN_BUCKETS,
};

mod model;

/// Protocol numbers used in keys.
const TCP: u8 = 6;
/// UDP.
const UDP: u8 = 17;

/// An IPv4 address in the 16-byte layout of the table.
fn v4(a: [u8; 4]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..4].copy_from_slice(&a);
    out
}

/// A UDP/IPv4 key from the balancer 10.0.0.1:`sport` to 10.0.1.`d`:53.
fn key(sport: u16, d: u8) -> Key {
    Key {
        proto: UDP,
        family: Family::V4,
        saddr: v4([10, 0, 0, 1]),
        sport,
        daddr: v4([10, 0, 1, d]),
        dport: 53,
    }
}

/// A carried client 192.0.2.`n`:`n` for the service 198.51.100.1:53.
fn carried(n: u8) -> Carried {
    Carried::v4([192, 0, 2, n], u16::from(n), [198, 51, 100, 1], 53)
}

/// Wildcard ("any local address") lookup of `k`'s flow.
fn lookup_any(t: &mut Table, k: &Key, now: u64) -> Option<Carried> {
    let q = Query {
        key: Key {
            daddr: [0; 16],
            ..*k
        },
        any_local: true,
    };
    t.lookup(&q, now)
}

/// Exact lookup of `k`.
fn lookup_exact(t: &mut Table, k: &Key, now: u64) -> Option<Carried> {
    t.lookup(&Query::exact(*k), now)
}

/// Runs a whole expiry sweep in chunks of `budget` buckets; returns (expired, chunks).
fn sweep(t: &mut Table, now: u64, idle: u64, budget: usize) -> (u32, usize) {
    let mut cursor = 0usize;
    let mut expired = 0u32;
    let mut chunks = 0usize;
    loop {
        let Expire { expired: e, done } = t.expire(now, idle, &mut cursor, budget, |_| false);
        expired += e;
        chunks += 1;
        if done {
            assert_eq!(cursor, 0);
            return (expired, chunks);
        }
        assert!(chunks <= t.buckets_for_test() + 1, "sweep does not end");
    }
}

/// `n` distinct keys (by source port, from `start`) that hash to bucket `b` of `t`.
fn keys_in_bucket(t: &Table, b: usize, n: usize, start: u16) -> Vec<Key> {
    (start..=u16::MAX)
        .map(|p| key(p, 1))
        .filter(|k| t.bucket_for_test(k) == b)
        .take(n)
        .collect()
}

#[test]
fn sizes() {
    assert_eq!(
        Table::RECORD_BYTES,
        96,
        "memory per record stated in records.rs"
    );
    for (max, buckets) in [
        (0, MIN_BUCKETS),
        (1, MIN_BUCKETS),
        (256, 64),
        (1000, 256),
        (1024, 256),
        (1028, 512),
        (65536, 16384),
        (262_144, 65536),
        (1 << 20, 1 << 18),
        (1 << 24, MAX_BUCKETS),
        (u32::MAX, MAX_BUCKETS),
    ] {
        let t = Table::new(max, 1).unwrap();
        assert_eq!(t.buckets_for_test(), buckets, "max_records {max}");
        assert_eq!(t.max_records(), max);
        assert_eq!(t.len(), 0);
    }
}

#[test]
fn keep_leaves_a_conflicting_record_alone() {
    let mut t = Table::new(100, 7).unwrap();
    let k = key(4000, 1);
    assert_eq!(
        t.insert_with(&k, &carried(1), 10, OnConflict::Keep),
        Insert::New
    );
    assert_eq!(
        t.insert_with(&k, &carried(1), 10, OnConflict::Keep),
        Insert::Refreshed
    );
    // Other addresses change nothing, not even the time: still idle since 10.
    assert_eq!(
        t.insert_with(&k, &carried(2), 200, OnConflict::Keep),
        Insert::Kept
    );
    assert_eq!(t.len(), 1);
    let mut cursor = 0;
    let e = t.expire(310, 300, &mut cursor, usize::MAX, |_| false);
    assert_eq!(e.expired, 1, "a kept conflict must not refresh the record");
    // Replace (what a SYN does) takes over a conflicting record.
    assert_eq!(
        t.insert_with(&k, &carried(1), 400, OnConflict::Keep),
        Insert::New
    );
    assert_eq!(
        t.insert_with(&k, &carried(2), 410, OnConflict::Replace),
        Insert::Replaced
    );
    assert_eq!(lookup_exact(&mut t, &k, 410), Some(carried(2)));
}

#[test]
fn udp_never_evicts_tcp() {
    let mut t = Table::new(4, 3).unwrap();
    // Every key in one bucket: all within each other's eviction window.
    let in_bucket = |t: &Table, proto: u8, n: usize| -> Vec<Key> {
        (1..=u16::MAX)
            .map(|p| Key { proto, ..key(p, 1) })
            .filter(|k| t.bucket_for_test(k) == 0)
            .take(n)
            .collect()
    };
    let tcp = in_bucket(&t, TCP, 5);
    let udp = in_bucket(&t, UDP, 40);
    for (i, k) in tcp.iter().take(4).enumerate() {
        assert_eq!(t.insert(k, &carried(1), i as u64), Insert::New);
    }
    // UDP churn at the limit finds only TCP records: it records nothing, takes nothing.
    for k in &udp[2..] {
        assert_eq!(t.insert(k, &carried(2), 1000), Insert::DroppedAtLimit);
    }
    for k in &tcp[..4] {
        assert_eq!(lookup_exact(&mut t, k, 1000), Some(carried(1)));
    }
    // With a UDP record among them, UDP evicts that one, not the older TCP ones.
    assert!(t.remove(&tcp[3]));
    assert_eq!(t.insert(&udp[0], &carried(3), 10), Insert::New);
    assert_eq!(
        t.insert(&udp[1], &carried(4), 2000),
        Insert::NewAfterEvicting
    );
    assert_eq!(lookup_exact(&mut t, &udp[0], 2000), None);
    for k in &tcp[..3] {
        assert_eq!(lookup_exact(&mut t, k, 2000), Some(carried(1)));
    }
    // A TCP record may evict either kind.
    assert_eq!(
        t.insert(&tcp[4], &carried(5), 3000),
        Insert::NewAfterEvicting
    );
}

#[test]
fn remove_if_untouched_spares_what_was_touched() {
    let mut t = Table::new(100, 7).unwrap();
    let (a, b) = (key(1, 1), key(2, 1));
    assert_eq!(t.insert(&a, &carried(1), 50), Insert::New);
    assert_eq!(t.insert(&b, &carried(1), 50), Insert::New);
    // A packet for b after the stamp: b stays; a, untouched since 50, goes.
    assert_eq!(t.insert(&b, &carried(1), 51), Insert::Refreshed);
    assert!(t.remove_if_untouched(&a, 50));
    assert!(!t.remove_if_untouched(&b, 50));
    assert!(!t.contains(&a) && t.contains(&b));
    assert!(!t.remove_if_untouched(&key(3, 1), 50), "no record");
    assert_eq!(t.len(), 1);
    assert_eq!(lookup_exact(&mut t, &b, 60), Some(carried(1)));
}

#[test]
fn insert_replace_refresh() {
    let mut t = Table::new(100, 7).unwrap();
    let k = key(4000, 1);
    assert_eq!(t.insert(&k, &carried(1), 10), Insert::New);
    assert_eq!(t.insert(&k, &carried(1), 20), Insert::Refreshed);
    assert_eq!(t.len(), 1);
    assert_eq!(lookup_exact(&mut t, &k, 20), Some(carried(1)));
    assert_eq!(t.insert(&k, &carried(2), 30), Insert::Replaced);
    assert_eq!(t.len(), 1);
    assert_eq!(lookup_exact(&mut t, &k, 30), Some(carried(2)));
    // Another protocol, family or port is another key.
    let mut k2 = k;
    k2.proto = TCP;
    assert_eq!(lookup_exact(&mut t, &k2, 30), None);
    assert_eq!(t.insert(&k2, &carried(3), 30), Insert::New);
    let mut k3 = k;
    k3.family = Family::V6;
    assert_eq!(lookup_exact(&mut t, &k3, 30), None);
    let mut k4 = k;
    k4.dport = 54;
    assert_eq!(lookup_exact(&mut t, &k4, 30), None);
    assert_eq!(lookup_exact(&mut t, &k, 30), Some(carried(2)));
    assert_eq!(lookup_exact(&mut t, &k2, 30), Some(carried(3)));
    assert_eq!(t.len(), 2);
    assert_eq!(t.count_for_test(), 2);
}

#[test]
fn refresh_moves_last_seen() {
    let mut t = Table::new(100, 7).unwrap();
    let (a, b, c) = (key(1, 1), key(2, 1), key(3, 1));
    t.insert(&a, &carried(1), 0);
    t.insert(&b, &carried(2), 0);
    t.insert(&c, &carried(3), 0);
    assert_eq!(t.insert(&a, &carried(1), 50), Insert::Refreshed); // same option again
    assert_eq!(lookup_exact(&mut t, &b, 50), Some(carried(2))); // looked up
                                                                // A time older than the record's does not move it back.
    assert_eq!(lookup_exact(&mut t, &b, 5), Some(carried(2)));
    let (expired, _) = sweep(&mut t, 60, 20, 1000);
    assert_eq!(
        expired, 1,
        "only the record neither refreshed nor looked up expires"
    );
    assert_eq!(lookup_exact(&mut t, &c, 60), None);
    assert_eq!(t.len(), 2);
}

#[test]
fn exact_and_wildcard() {
    let mut t = Table::new(100, 99).unwrap();
    let k1 = key(5000, 1);
    let k2 = key(5000, 2); // differs from k1 only in daddr
    let other = key(5001, 1);
    assert_eq!(
        t.bucket_for_test(&k1),
        t.bucket_for_test(&k2),
        "daddr is not hashed"
    );
    t.insert(&k1, &carried(1), 1);
    t.insert(&k2, &carried(2), 2);
    t.insert(&other, &carried(3), 3);
    assert_eq!(lookup_exact(&mut t, &k1, 4), Some(carried(1)));
    assert_eq!(lookup_exact(&mut t, &k2, 4), Some(carried(2)));
    assert_eq!(lookup_exact(&mut t, &key(5000, 3), 4), None);
    // The wildcard answers with the most recently created record of the flow.
    assert_eq!(lookup_any(&mut t, &k1, 4), Some(carried(2)));
    // Replacing does not reorder.
    t.insert(&k1, &carried(4), 5);
    assert_eq!(lookup_any(&mut t, &k1, 5), Some(carried(2)));
    assert!(t.remove(&k2));
    assert_eq!(lookup_any(&mut t, &k1, 6), Some(carried(4)));
    assert!(t.remove(&k1));
    assert_eq!(lookup_any(&mut t, &k1, 6), None);
    assert_eq!(lookup_any(&mut t, &other, 6), Some(carried(3)));
    // IPv6 keys work the same.
    let k6 = Key {
        proto: TCP,
        family: Family::V6,
        saddr: [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        sport: 40000,
        daddr: [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
        dport: 443,
    };
    let c6 = Carried::v6([0xfe; 16], 1234, [0xfd; 16], 443);
    assert_eq!(t.insert(&k6, &c6, 7), Insert::New);
    assert_eq!(lookup_any(&mut t, &k6, 7), Some(c6));
    assert_eq!(lookup_exact(&mut t, &k6, 7), Some(c6));
}

#[test]
fn remove() {
    let mut t = Table::new(100, 3).unwrap();
    let keys: Vec<Key> = (0..50).map(|p| key(p, 1)).collect();
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(t.insert(k, &carried(i as u8), 0), Insert::New);
    }
    for k in keys.iter().step_by(2) {
        assert!(t.remove(k));
        assert!(!t.remove(k));
    }
    assert_eq!(t.len(), 25);
    assert_eq!(t.count_for_test(), 25);
    for (i, k) in keys.iter().enumerate() {
        let want = (i % 2 == 1).then(|| carried(i as u8));
        assert_eq!(lookup_exact(&mut t, k, 0), want);
    }
    assert!(!t.remove(&key(999, 1)));
}

#[test]
fn expiry_in_chunks() {
    let mut t = Table::new(1000, 11).unwrap();
    assert_eq!(t.buckets_for_test(), 256);
    // 300 records seen at times 0..300.
    for i in 0..300u16 {
        assert_eq!(t.insert(&key(i, 1), &carried(1), u64::from(i)), Insert::New);
    }
    // Budget 0 does nothing and is not done.
    let mut cursor = 0;
    assert_eq!(
        t.expire(1000, 0, &mut cursor, 0, |_| false),
        Expire {
            expired: 0,
            done: false
        }
    );
    assert_eq!(cursor, 0);
    // One chunk of 10 buckets: only records in those buckets go, the cursor moves on.
    let in_first_10 = (0..300u16)
        .filter(|&i| t.bucket_for_test(&key(i, 1)) < 10 && i < 100)
        .count() as u32;
    let e = t.expire(200, 100, &mut cursor, 10, |_| false);
    assert_eq!(
        e,
        Expire {
            expired: in_first_10,
            done: false
        }
    );
    assert_eq!(cursor, 10);
    // The rest in chunks of 10: 25 more chunks, the last one wraps.
    let mut rest = 0;
    let mut chunks = 0;
    loop {
        let e = t.expire(200, 100, &mut cursor, 10, |_| false);
        rest += e.expired;
        chunks += 1;
        if e.done {
            break;
        }
        assert_eq!(cursor, 10 + 10 * chunks);
    }
    assert_eq!(chunks, 25);
    assert_eq!(cursor, 0);
    // Records seen at 0..=100 have now - last_seen >= 100.
    assert_eq!(in_first_10 + rest, 101);
    assert_eq!(t.len(), 199);
    assert_eq!(t.count_for_test(), 199);
    assert_eq!(lookup_exact(&mut t, &key(100, 1), 200), None);
    assert_eq!(lookup_exact(&mut t, &key(101, 1), 200), Some(carried(1)));
    // A cursor past the end starts a sweep at 0; a budget past the end stops at the end.
    let mut cursor = usize::MAX;
    let e = t.expire(200, 100, &mut cursor, usize::MAX, |_| false);
    assert_eq!(
        e,
        Expire {
            expired: 0,
            done: true
        }
    );
    assert_eq!(cursor, 0);
    // A clock behind the records' expires nothing unless idle is 0.
    assert_eq!(sweep(&mut t, 0, 1, 7).0, 0);
    assert_eq!(sweep(&mut t, 0, 0, 7), (199, 37));
    assert_eq!(t.len(), 0);
}

#[test]
fn evicts_oldest_in_window() {
    // max 4: 64 buckets; put all 4 records in bucket 10.
    let mut t = Table::new(4, 12345).unwrap();
    assert_eq!(t.buckets_for_test(), 64);
    let in10 = keys_in_bucket(&t, 10, 6, 0);
    for (k, time) in in10.iter().zip([50u64, 10, 70, 30]) {
        assert_eq!(t.insert(k, &carried(1), time), Insert::New);
    }
    assert_eq!(t.len(), 4);
    // A new key in bucket 10: the record seen at 10 goes.
    assert_eq!(
        t.insert(&in10[4], &carried(2), 100),
        Insert::NewAfterEvicting
    );
    assert_eq!(lookup_exact(&mut t, &in10[1], 100), None);
    assert_eq!(lookup_exact(&mut t, &in10[4], 100), Some(carried(2)));
    assert_eq!(t.len(), 4);
    // Replacing an existing key at the limit evicts nothing.
    assert_eq!(t.insert(&in10[0], &carried(3), 101), Insert::Replaced);
    // A key in bucket 5: its window 5..=12 reaches bucket 10; the record seen at 30 goes.
    let in5 = keys_in_bucket(&t, 5, 1, 0)[0];
    assert_eq!(t.insert(&in5, &carried(4), 102), Insert::NewAfterEvicting);
    assert_eq!(lookup_exact(&mut t, &in10[3], 102), None);
    // A key in bucket 30: its window 30..=37 holds nothing, so the new record is dropped.
    let in30 = keys_in_bucket(&t, 30, 1, 0)[0];
    assert_eq!(t.insert(&in30, &carried(5), 103), Insert::DroppedAtLimit);
    assert_eq!(lookup_exact(&mut t, &in30, 103), None);
    assert_eq!(t.len(), 4);
    assert_eq!(t.count_for_test(), 4);
    // The window wraps at the end of the array: from bucket 60 it is 60..=63 and 0..=3, which
    // holds the one record (in bucket 2); from bucket 57 it is 57..=63 and 0, which does not.
    let mut t = Table::new(1, 12345).unwrap();
    let in2 = keys_in_bucket(&t, 2, 1, 0)[0];
    let in57 = keys_in_bucket(&t, 57, 1, 0)[0];
    let in60 = keys_in_bucket(&t, 60, 1, 0)[0];
    assert_eq!(t.insert(&in2, &carried(1), 1), Insert::New);
    assert_eq!(t.insert(&in57, &carried(1), 2), Insert::DroppedAtLimit);
    assert_eq!(t.insert(&in60, &carried(2), 2), Insert::NewAfterEvicting);
    assert_eq!(lookup_exact(&mut t, &in60, 3), Some(carried(2)));
    assert_eq!(lookup_exact(&mut t, &in2, 3), None);
    // max_records 0 records nothing.
    let mut t = Table::new(0, 1).unwrap();
    assert_eq!(t.insert(&key(1, 1), &carried(1), 1), Insert::DroppedAtLimit);
    assert_eq!(t.len(), 0);
}

#[test]
fn window_looks_at_32_records_at_most() {
    // 40 records in one bucket; the oldest is the first inserted, hence the last in its chain,
    // beyond the 32 records the eviction looks at.
    let mut t = Table::new(40, 777).unwrap();
    let keys = keys_in_bucket(&t, 10, 41, 0);
    assert_eq!(t.insert(&keys[0], &carried(0), 0), Insert::New);
    for (i, k) in keys.iter().enumerate().take(40).skip(1) {
        assert_eq!(t.insert(k, &carried(1), 100 + i as u64), Insert::New);
    }
    assert_eq!(
        t.insert(&keys[40], &carried(2), 1000),
        Insert::NewAfterEvicting
    );
    // The chain is newest first: positions 0..32 are keys[39] down to keys[8], so keys[8] (seen
    // at 108) was the oldest looked at.
    assert_eq!(EVICT_WINDOW_RECORDS, 32);
    assert_eq!(lookup_exact(&mut t, &keys[8], 1000), None);
    assert_eq!(lookup_exact(&mut t, &keys[0], 1000), Some(carried(0)));
    assert_eq!(lookup_exact(&mut t, &keys[9], 1000), Some(carried(1)));
    assert_eq!(t.len(), 40);
}

#[test]
fn allocation_failure() {
    mem::set_slots_fail(true);
    assert!(Table::new(100, 1).is_none());
    mem::set_slots_fail(false);
    let mut t = Table::new(2, 1).unwrap();
    mem::set_box_budget(Some(1));
    assert_eq!(t.insert(&key(1, 1), &carried(1), 0), Insert::New);
    assert_eq!(t.insert(&key(2, 1), &carried(2), 0), Insert::AllocFailed);
    assert_eq!(t.len(), 1);
    assert_eq!(t.count_for_test(), 1);
    assert_eq!(lookup_exact(&mut t, &key(2, 1), 0), None);
    // Replacing and refreshing need no allocation.
    assert_eq!(t.insert(&key(1, 1), &carried(3), 1), Insert::Replaced);
    assert_eq!(t.insert(&key(1, 1), &carried(3), 2), Insert::Refreshed);
    mem::set_box_budget(None);
    assert_eq!(t.insert(&key(2, 1), &carried(2), 3), Insert::New);
    // At the limit the evicted record's memory is reused: no allocation needed.
    mem::set_box_budget(Some(0));
    let mut evicted = 0;
    for p in 3..200 {
        match t.insert(&key(p, 1), &carried(4), 4) {
            Insert::NewAfterEvicting => evicted += 1,
            Insert::DroppedAtLimit => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    mem::set_box_budget(None);
    assert!(evicted > 0);
    assert_eq!(t.len(), 2);
    assert_eq!(t.count_for_test(), 2);
}

#[test]
fn long_chain_without_recursion() {
    // A 200000-record chain in one bucket, taken apart on a 128 KiB stack: a recursive drop
    // would need megabytes.
    const N: usize = 200_000;
    let worker = std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(|| {
            let k0 = key(0, 0);
            let mut t = Table::new(u32::MAX, 5).unwrap();
            for i in 0..N {
                let k = key((i % 65536) as u16, (i / 65536) as u8);
                assert!(t.push_for_test(0, &k, &carried(1), i as u64));
            }
            assert_eq!(t.count_for_test(), N);
            // Expiry and clear walk it iteratively too.
            let mut cursor = 0;
            assert_eq!(
                t.expire(N as u64, N as u64 - 1000, &mut cursor, 1, |_| false)
                    .expired,
                1001
            );
            assert_eq!(t.clear(), (N - 1001) as u32);
            assert_eq!(t.len(), 0);
            assert_eq!(lookup_any(&mut t, &k0, 0), None);
            // Dropping a table with a long chain.
            for i in 0..N {
                let k = key((i % 65536) as u16, (i / 65536) as u8);
                t.push_for_test(0, &k, &carried(1), 0);
            }
            drop(t);
        })
        .unwrap();
    worker.join().expect("no stack overflow");
}

#[test]
fn flood_keeps_newest() {
    // Issue 9 item 5: 10x max_records distinct tuples. Memory stays bounded, the newest
    // traffic keeps getting records, and the outcomes account for everything.
    const MAX: u32 = 1000;
    const FLOOD: u32 = 10 * MAX;
    let mut t = Table::new(MAX, 0x1234_5678_9abc_def0).unwrap();
    let flood_key = |i: u32| Key {
        proto: UDP,
        family: Family::V4,
        saddr: v4([10, 0, (i >> 8) as u8, i as u8]),
        sport: 1024 + (i % 50_000) as u16,
        daddr: v4([10, 0, 1, 1]),
        dport: 53,
    };
    let (mut new, mut after_evict, mut dropped) = (0u32, 0u32, 0u32);
    for i in 0..FLOOD {
        match t.insert(&flood_key(i), &carried(1), u64::from(i)) {
            Insert::New => new += 1,
            Insert::NewAfterEvicting => after_evict += 1,
            Insert::DroppedAtLimit => dropped += 1,
            other => panic!("unexpected {other:?}"),
        }
        assert!(t.len() <= MAX);
    }
    assert_eq!(new, MAX);
    assert_eq!(new + after_evict + dropped, FLOOD);
    assert_eq!(t.len(), MAX);
    assert_eq!(t.count_for_test(), MAX as usize);
    // new + after_evict == len + evicted (each after_evict evicted one).
    assert_eq!(new + after_evict, t.len() + after_evict);
    let newest_100 = (FLOOD - 100..FLOOD)
        .filter(|&i| lookup_exact(&mut t, &flood_key(i), u64::from(FLOOD)).is_some())
        .count();
    let newest_1000 = (FLOOD - MAX..FLOOD)
        .filter(|&i| lookup_exact(&mut t, &flood_key(i), u64::from(FLOOD)).is_some())
        .count();
    std::println!(
        "flood of {FLOOD} into {MAX}: dropped {dropped}, evicted {after_evict}; \
         of the newest 100 tuples {newest_100} have records, of the newest 1000 {newest_1000}"
    );
    assert_eq!(dropped, 0);
    assert!(newest_100 >= 99, "newest 100: {newest_100}");
    assert!(newest_1000 >= 800, "newest 1000: {newest_1000}");
}

#[test]
fn expire_keeps_what_the_owner_still_uses() {
    let mut t = Table::new(64, 7).unwrap();
    let a = key(1, 1);
    let b = key(2, 1);
    t.insert(&a, &carried(1), 0);
    t.insert(&b, &carried(2), 0);
    let mut cursor = 0;
    let e = t.expire(1000, 100, &mut cursor, usize::MAX, |k| *k == a);
    assert_eq!((e.expired, e.done), (1, true));
    assert_eq!(t.len(), 1);
    // Kept records are refreshed: not idle again until another idle period has passed.
    let e = t.expire(1050, 100, &mut cursor, usize::MAX, |_| false);
    assert_eq!(e.expired, 0);
    let e = t.expire(1100, 100, &mut cursor, usize::MAX, |_| false);
    assert_eq!(e.expired, 1);
}

#[test]
fn starts_small_and_grows_without_losing_a_record() {
    let mut t = Table::new_small(65536, 42).unwrap();
    assert_eq!(t.buckets(), MIN_BUCKETS);
    assert_eq!(t.buckets_wanted(), 16384);
    let keys: Vec<Key> = (0..500u16).map(|p| key(1000 + p, (p % 7) as u8)).collect();
    for (i, k) in keys.iter().enumerate() {
        let mut k = *k;
        if i % 3 == 0 {
            k.proto = TCP;
        }
        assert_eq!(t.insert(&k, &carried(i as u8), 1), Insert::New);
    }
    let (len, tcp) = (t.len(), t.len_of(TCP));
    // Handed an array no larger, the table keeps its own and gives the new one back.
    let same = t.grow(Buckets::new(MIN_BUCKETS).unwrap());
    assert_eq!(
        (t.buckets(), same.len_for_test()),
        (MIN_BUCKETS, MIN_BUCKETS)
    );
    let old = t.grow(Buckets::new(t.buckets_wanted()).unwrap());
    assert_eq!((t.buckets(), old.len_for_test()), (16384, MIN_BUCKETS));
    assert_eq!(
        (t.len(), t.len_of(TCP), t.count_for_test()),
        (len, tcp, 500)
    );
    for (i, k) in keys.iter().enumerate() {
        let mut k = *k;
        if i % 3 == 0 {
            k.proto = TCP;
        }
        assert_eq!(lookup_exact(&mut t, &k, 2), Some(carried(i as u8)));
    }
    // Not a power of two: no array.
    assert!(Buckets::new(3000).is_none());
}
