//! ns per parse of the packet shapes the kernel hook sees: no option (the fast paths), each of
//! the four option cases, and the worst malformed inputs the parser accepts to walk.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use toa_uoa_bench::*;
use toa_uoa_codec::{parse_packet, Family};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_packet");
    let cases = [
        ("v4_no_option", v4_plain()),
        ("v6_no_option", v6_plain()),
        ("44", with_option(Family::V4, Family::V4)),
        ("64", with_option(Family::V4, Family::V6)),
        ("46", with_option(Family::V6, Family::V4)),
        ("66", with_option(Family::V6, Family::V6)),
        ("v4_worst_malformed", v4_worst_malformed()),
        ("v6_worst_malformed", v6_worst_malformed()),
    ];
    for (name, pkt) in &cases {
        g.bench_function(*name, |b| b.iter(|| parse_packet(black_box(pkt))));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
