//! Property tests: the table against a `HashMap` model, and its counters at the limit.

use std::collections::HashMap;

use proptest::prelude::*;

use super::{lookup_any, lookup_exact, sweep, v4, TCP, UDP};
use crate::flow::Key;
use crate::option_codec::{Carried, Family};
use crate::records::{Buckets, Insert, Table};

/// Number of flows (proto, family, saddr, sport, dport) in the model's key space.
const FLOWS: u8 = 8;
/// Number of destination addresses per flow.
const DADDRS: u8 = 3;

/// The key of flow `f` to destination `d`: flows differ in protocol, family, source address and
/// port; keys of one flow differ only in the destination address.
fn model_key(f: u8, d: u8) -> Key {
    let family = if f >= FLOWS / 2 {
        Family::V6
    } else {
        Family::V4
    };
    let addr = |last: u8, host: u8| match family {
        Family::V4 => v4([10, 0, last, host]),
        Family::V6 => {
            let mut a = [0u8; 16];
            a[0] = 0xfd;
            a[14] = last;
            a[15] = host;
            a
        }
    };
    Key {
        proto: if f % 2 == 0 { UDP } else { TCP },
        family,
        saddr: addr(0, f / 2),
        sport: 30000 + u16::from(f % 3),
        daddr: addr(1, d + 1),
        dport: 80,
    }
}

/// What an option for (`f`, `d`) carries in version `v`: the VIP names the key, so a wildcard
/// answer tells which record it came from.
fn model_carried(f: u8, d: u8, v: u8) -> Carried {
    Carried::v4([192, 0, 2, v], u16::from(v), [f, d, 0, 0], 80)
}

/// One operation on table and model; every operation first advances the clock by `dt`.
#[derive(Debug, Clone)]
enum Op {
    /// Insert version `v` of the option for key (f, d).
    Insert { f: u8, d: u8, v: u8, dt: u64 },
    /// Exact lookup of (f, d).
    Exact { f: u8, d: u8, dt: u64 },
    /// Wildcard lookup of flow f.
    Any { f: u8, dt: u64 },
    /// Remove (f, d).
    Remove { f: u8, d: u8, dt: u64 },
    /// A whole expiry sweep in chunks of `budget` buckets.
    Expire { idle: u64, budget: usize, dt: u64 },
    /// Clear the table.
    Clear { dt: u64 },
    /// Grow the bucket array `2^shift` times, to 4096 at most (handed the same size, it keeps
    /// its own).
    Grow { shift: u32 },
}

/// Strategy for [`Op`].
fn op() -> impl Strategy<Value = Op> {
    let f = 0..FLOWS;
    let d = 0..DADDRS;
    let dt = 0u64..4;
    prop_oneof![
        6 => (f.clone(), d.clone(), 0u8..3, dt.clone()).prop_map(|(f, d, v, dt)| Op::Insert { f, d, v, dt }),
        3 => (f.clone(), d.clone(), dt.clone()).prop_map(|(f, d, dt)| Op::Exact { f, d, dt }),
        3 => (f.clone(), dt.clone()).prop_map(|(f, dt)| Op::Any { f, dt }),
        2 => (f, d, dt.clone()).prop_map(|(f, d, dt)| Op::Remove { f, d, dt }),
        1 => (0u64..12, 1usize..80, dt.clone()).prop_map(|(idle, budget, dt)| Op::Expire { idle, budget, dt }),
        1 => dt.prop_map(|dt| Op::Clear { dt }),
        1 => (0u32..4).prop_map(|shift| Op::Grow { shift }),
    ]
}

/// A model record: carried value, last seen, creation sequence number.
type ModelRecord = (Carried, u64, u64);

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Within the limit, the table behaves as a map with newest-created-first wildcard answers,
    /// also across growing from the small array a namespace starts with.
    #[test]
    fn matches_model(seed: u64, ops in proptest::collection::vec(op(), 1..200)) {
        let mut t = Table::new_small(1000, seed).unwrap();
        let mut model: HashMap<(u8, u8), ModelRecord> = HashMap::new();
        let mut now = 0u64;
        let mut seq = 0u64;
        for op in ops {
            match op {
                Op::Insert { f, d, v, dt } => {
                    now += dt;
                    let c = model_carried(f, d, v);
                    let want = match model.get_mut(&(f, d)) {
                        None => {
                            seq += 1;
                            model.insert((f, d), (c, now, seq));
                            Insert::New
                        }
                        Some(r) => {
                            r.1 = r.1.max(now);
                            if r.0 == c { Insert::Refreshed } else { r.0 = c; Insert::Replaced }
                        }
                    };
                    prop_assert_eq!(t.insert(&model_key(f, d), &c, now), want);
                }
                Op::Exact { f, d, dt } => {
                    now += dt;
                    let want = model.get_mut(&(f, d)).map(|r| {
                        r.1 = r.1.max(now);
                        r.0
                    });
                    prop_assert_eq!(lookup_exact(&mut t, &model_key(f, d), now), want);
                }
                Op::Any { f, dt } => {
                    now += dt;
                    let newest = model
                        .iter_mut()
                        .filter(|((mf, _), _)| *mf == f)
                        .max_by_key(|(_, r)| r.2)
                        .map(|(_, r)| {
                            r.1 = r.1.max(now);
                            r.0
                        });
                    prop_assert_eq!(lookup_any(&mut t, &model_key(f, 0), now), newest);
                }
                Op::Remove { f, d, dt } => {
                    now += dt;
                    prop_assert_eq!(t.remove(&model_key(f, d)), model.remove(&(f, d)).is_some());
                }
                Op::Expire { idle, budget, dt } => {
                    now += dt;
                    let before = model.len();
                    model.retain(|_, r| now.saturating_sub(r.1) < idle);
                    let (expired, _) = sweep(&mut t, now, idle, budget);
                    prop_assert_eq!(expired as usize, before - model.len());
                }
                Op::Clear { dt } => {
                    now += dt;
                    prop_assert_eq!(t.clear() as usize, model.len());
                    model.clear();
                }
                Op::Grow { shift } => {
                    // At most 4096 buckets: repeated grows would otherwise go on doubling.
                    let before = t.buckets();
                    let n = (before << shift).min(4096);
                    let old = t.grow(Buckets::new(n).unwrap());
                    drop(old);
                    prop_assert_eq!(t.buckets(), before.max(n));
                }
            }
            prop_assert_eq!(t.len() as usize, model.len());
            prop_assert_eq!(t.count_for_test(), model.len());
            let tcp = model.keys().filter(|(f, _)| f % 2 == 1).count();
            prop_assert_eq!(t.len_of(TCP) as usize, tcp);
            prop_assert_eq!(t.len_of(UDP) as usize, model.len() - tcp);
        }
        for (&(f, d), r) in &model {
            prop_assert_eq!(lookup_exact(&mut t, &model_key(f, d), now), Some(r.0));
        }
    }

    /// At the limit: the table never holds more than max_records, each outcome means what it
    /// says, and the counters balance: inserts_new + inserts_after_evict == len + expired +
    /// evicted + removed (+ cleared).
    #[test]
    fn counters_balance_at_limit(
        max in 1u32..40,
        seed: u64,
        ops in proptest::collection::vec((0u8..4, 0u16..300, 0u8..2, 0u64..3), 1..400),
    ) {
        let mut t = Table::new(max, seed).unwrap();
        let (mut new, mut after_evict, mut evicted, mut expired, mut removed, mut cleared) =
            (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
        let mut now = 0u64;
        // Odd ports are TCP: an eviction may then replace a record of the other protocol.
        let k = |p: u16| {
            let mut key = super::key(p, (p % 3) as u8);
            if p % 2 == 1 {
                key.proto = TCP;
            }
            key
        };
        for (kind, p, v, dt) in ops {
            now += dt;
            match kind {
                0 | 1 => {
                    let c = model_carried(0, 0, v);
                    let full = t.len() == max;
                    let had = lookup_exact(&mut t, &k(p), now);
                    match t.insert(&k(p), &c, now) {
                        Insert::New => { prop_assert!(!full && had.is_none()); new += 1; }
                        Insert::NewAfterEvicting => {
                            prop_assert!(full && had.is_none());
                            after_evict += 1;
                            evicted += 1;
                        }
                        Insert::DroppedAtLimit => prop_assert!(full && had.is_none()),
                        Insert::Replaced => prop_assert!(had.is_some_and(|h| h != c)),
                        Insert::Refreshed => prop_assert_eq!(had, Some(c)),
                        Insert::AllocFailed => prop_assert!(false, "no allocation failure here"),
                        Insert::Kept => prop_assert!(false, "insert replaces, never keeps"),
                    }
                    let now_there = lookup_exact(&mut t, &k(p), now);
                    prop_assert!(now_there.is_none() || now_there == Some(c));
                }
                2 => {
                    if t.remove(&k(p)) {
                        removed += 1;
                    }
                }
                _ => {
                    if p % 10 == 0 {
                        cleared += u64::from(t.clear());
                    } else {
                        expired += u64::from(sweep(&mut t, now, 5, usize::from(p % 70) + 1).0);
                    }
                }
            }
            prop_assert!(t.len() <= max);
            prop_assert_eq!(t.count_for_test(), t.len() as usize);
            prop_assert_eq!(t.len_of(TCP) as usize, t.count_proto_for_test(TCP));
            prop_assert_eq!(t.len_of(UDP) as usize, t.count_proto_for_test(UDP));
            prop_assert_eq!(
                new + after_evict,
                u64::from(t.len()) + expired + evicted + removed + cleared
            );
        }
    }
}
