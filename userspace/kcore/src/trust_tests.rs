//! trusted_sources: parsing (every error pointed at) and matching.

use crate::option_codec::Family;
use crate::trust::{Trust, TrustError, MAX_PREFIXES};

fn v4(a: [u8; 4]) -> [u8; 16] {
    let mut x = [0u8; 16];
    x[..4].copy_from_slice(&a);
    x
}

fn v6(s: &str) -> [u8; 16] {
    s.parse::<std::net::Ipv6Addr>().unwrap().octets()
}

#[test]
fn empty_trusts_everyone() {
    for s in ["", " ", ",", " , "] {
        let t = Trust::parse(s.as_bytes()).unwrap();
        assert!(t.prefixes().is_empty());
        assert!(t.allows(Family::V4, &v4([1, 2, 3, 4])));
        assert!(t.allows(Family::V6, &v6("2001:db8::1")));
    }
}

#[test]
fn ipv4_prefixes() {
    let t = Trust::parse(b"10.0.0.0/8, 192.0.2.7").unwrap();
    assert_eq!(t.prefixes().len(), 2);
    assert!(t.allows(Family::V4, &v4([10, 200, 3, 4])));
    assert!(t.allows(Family::V4, &v4([192, 0, 2, 7])));
    assert!(!t.allows(Family::V4, &v4([192, 0, 2, 8])));
    assert!(!t.allows(Family::V4, &v4([11, 0, 0, 1])));
    assert!(!t.allows(Family::V6, &v6("a00::1")), "families do not mix");
    // bits beyond the length are ignored in the setting
    let t = Trust::parse(b"10.1.2.3/16").unwrap();
    assert!(t.allows(Family::V4, &v4([10, 1, 99, 99])));
    assert!(!t.allows(Family::V4, &v4([10, 2, 0, 0])));
    let t = Trust::parse(b"0.0.0.0/0").unwrap();
    assert!(t.allows(Family::V4, &v4([8, 8, 8, 8])));
    let t = Trust::parse(b"10.0.0.0/9").unwrap();
    assert!(t.allows(Family::V4, &v4([10, 127, 0, 1])));
    assert!(!t.allows(Family::V4, &v4([10, 128, 0, 1])));
}

#[test]
fn ipv6_prefixes() {
    let t = Trust::parse(b"fd00::/64,2001:db8:0:1:2:3:4:5,::1").unwrap();
    assert!(t.allows(Family::V6, &v6("fd00::2")));
    assert!(t.allows(Family::V6, &v6("fd00::ffff:1:2")));
    assert!(!t.allows(Family::V6, &v6("fd00:0:0:1::2")));
    assert!(t.allows(Family::V6, &v6("2001:db8:0:1:2:3:4:5")));
    assert!(t.allows(Family::V6, &v6("::1")));
    assert!(!t.allows(Family::V4, &v4([0, 0, 0, 0])));
    for (s, want) in [
        ("::", "::"),
        ("1::", "1::"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
        ("FD00:ABCD::1", "fd00:abcd::1"),
    ] {
        let t = Trust::parse(s.as_bytes()).unwrap();
        assert_eq!(t.prefixes()[0].addr, v6(want), "{s}");
        assert_eq!(t.prefixes()[0].len, 128);
    }
}

#[test]
fn errors_point_at_the_item() {
    assert_eq!(
        Trust::parse(b"10.0.0.256").unwrap_err(),
        TrustError::BadAddress(0)
    );
    assert_eq!(
        Trust::parse(b"10.0.0.1,10.0.0").unwrap_err(),
        TrustError::BadAddress(9)
    );
    assert_eq!(
        Trust::parse(b"10.0.0.0/33").unwrap_err(),
        TrustError::BadLength(0)
    );
    assert_eq!(
        Trust::parse(b"10.0.0.0/").unwrap_err(),
        TrustError::BadLength(0)
    );
    assert_eq!(
        Trust::parse(b"fd00::/129").unwrap_err(),
        TrustError::BadLength(0)
    );
    for bad in [
        "1:2:3:4:5:6:7:8:9",
        "1::2::3",
        "12345::",
        ":::",
        "g::",
        "1.2.3.4.5",
        "a.b.c.d",
        "10.0.0.1/x",
        "1:2:3:4:5:6:7::8",
    ] {
        assert!(Trust::parse(bad.as_bytes()).is_err(), "{bad}");
    }
    let many = vec!["10.0.0.1"; MAX_PREFIXES + 1].join(",");
    assert_eq!(
        Trust::parse(many.as_bytes()).unwrap_err(),
        TrustError::TooMany
    );
    let ok = vec!["10.0.0.1"; MAX_PREFIXES].join(",");
    assert!(Trust::parse(ok.as_bytes()).is_ok());
}

#[test]
fn random_settings_never_panic() {
    let alphabet = b"0123456789abcdef:./, x";
    let mut x: u64 = 0x1234_5678_9abc_def1;
    for _ in 0..50_000 {
        let mut s = Vec::new();
        for _ in 0..(x % 40) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.push(alphabet[(x % alphabet.len() as u64) as usize]);
        }
        x = x.wrapping_add(1);
        if let Ok(t) = Trust::parse(&s) {
            let _ = t.allows(Family::V6, &[0xff; 16]);
        }
    }
}

#[test]
fn a_setting_keeps_its_text_and_refuses_whole() {
    use crate::trust::{Setting, MAX_TEXT};
    let mut s = Setting::ANY;
    assert_eq!(s.describe(), "any");
    s.set(b" 10.0.0.0/8,fd00::1 \n").unwrap();
    assert_eq!(s.text(), b"10.0.0.0/8,fd00::1");
    assert_eq!(s.describe(), "10.0.0.0/8,fd00::1");
    assert_eq!(s.trust.prefixes().len(), 2);
    // Refused: left empty (the caller publishes nothing).
    assert!(s.set(b"10.0.0.0/33").is_err());
    assert_eq!(s.text(), b"");
    let long = b"1.2.3.4,".repeat(MAX_TEXT / 8 + 1);
    assert_eq!(s.set(&long), Err(TrustError::TooLong));
    assert!(s.set(b"").is_ok());
    assert_eq!(s.describe(), "any");
}

/// Against the definition: `addr` is covered when its first `len` bits are the prefix's,
/// bit by bit, for every prefix length of both families (the partial byte included).
#[test]
fn matching_is_the_bitwise_definition() {
    let bit = |a: &[u8; 16], i: usize| a[i / 8] >> (7 - i % 8) & 1;
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for (family, max) in [(Family::V4, 32usize), (Family::V6, 128)] {
        for len in 0..=max {
            for _ in 0..200 {
                let mut base = [0u8; 16];
                let mut addr = [0u8; 16];
                for i in 0..max / 8 {
                    base[i] = next() as u8;
                    addr[i] = next() as u8;
                }
                // Half the time an address that shares the prefix, then flip one bit of it.
                if next() % 2 == 0 {
                    addr[..max / 8].copy_from_slice(&base[..max / 8]);
                    if len > 0 && next() % 2 == 0 {
                        let i = (next() as usize) % len;
                        addr[i / 8] ^= 0x80 >> (i % 8);
                    }
                }
                let text = match family {
                    Family::V4 => format!(
                        "{}/{len}",
                        std::net::Ipv4Addr::new(base[0], base[1], base[2], base[3])
                    ),
                    Family::V6 => format!("{}/{len}", std::net::Ipv6Addr::from(base)),
                };
                let t = Trust::parse(text.as_bytes()).unwrap();
                let want = (0..len).all(|i| bit(&addr, i) == bit(&base, i));
                assert_eq!(t.allows(family, &addr), want, "{text} vs {addr:?}");
            }
        }
    }
}
