//! Packets the parse benchmarks run on (a library so that they can be checked by a test too).

use toa_uoa_codec::{encode_ipv4_option, encode_ipv6_dstopt, Carried, Family, IPPROTO_TCP};

/// A 20-byte IPv4 header (IHL 5, the fast path) followed by a TCP header.
pub fn v4_plain() -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, IPPROTO_TCP, 0, 0];
    p.extend([198, 51, 100, 7, 198, 51, 100, 20]);
    p.extend([0x9c, 0xbb, 0x1f, 0x90]);
    p.resize(40, 0);
    p
}

/// A 40-byte IPv6 header straight to TCP (the fast path).
pub fn v6_plain() -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0, 0, 20, IPPROTO_TCP, 64];
    p.extend([0x20, 0x01, 0x0d, 0xb8]);
    p.resize(40, 0);
    p.extend([0x9c, 0xbb, 0x1f, 0x90]);
    p.resize(60, 0);
    p
}

/// The carried pair of each family.
pub fn carried(f: Family) -> Carried {
    match f {
        Family::V4 => Carried::v4([203, 0, 113, 5], 51515, [192, 0, 2, 80], 80),
        Family::V6 => {
            let mut c = [0u8; 16];
            c[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
            c[15] = 5;
            let mut v = c;
            v[15] = 0x80;
            Carried::v6(c, 51516, v, 443)
        }
    }
}

/// A TCP packet with the option for carried family `c` in outer family `outer`.
pub fn with_option(outer: Family, c: Family) -> Vec<u8> {
    let carried = carried(c);
    let mut opt = [0u8; 40];
    match outer {
        Family::V4 => {
            let n = encode_ipv4_option(&carried, &mut opt).unwrap_or(0);
            let mut p = v4_plain();
            p[0] = 0x40 | u8::try_from((20 + n) / 4).unwrap_or(5);
            p.splice(20..20, opt[..n].iter().copied());
            p
        }
        Family::V6 => {
            let n = encode_ipv6_dstopt(&carried, IPPROTO_TCP, &mut opt).unwrap_or(0);
            let mut p = v6_plain();
            p[6] = 60;
            p.splice(40..40, opt[..n].iter().copied());
            p
        }
    }
}

/// Worst case the walk allows: an IPv6 packet with the longest chain accepted
/// (MAX_V6_EXT_HEADERS Destination Options headers), each with the most iterations a header may
/// take (MAX_V6_OPTIONS_PER_HEADER options of 2 bytes, each after MAX_V6_PADDING_RUN Pad1
/// bytes), the last one ending in a malformed option, so all of it is walked before the error.
pub fn v6_worst_malformed() -> Vec<u8> {
    use toa_uoa_codec::{MAX_V6_OPTIONS_PER_HEADER, MAX_V6_PADDING_RUN};
    let mut p = v6_plain();
    p.truncate(40);
    p[6] = 60;
    let n = toa_uoa_codec::MAX_V6_EXT_HEADERS;
    for i in 0..n {
        let last = i + 1 == n;
        let mut h = vec![if last { IPPROTO_TCP } else { 60 }, 0];
        for _ in 0..MAX_V6_OPTIONS_PER_HEADER {
            h.extend(std::iter::repeat_n(0u8, MAX_V6_PADDING_RUN));
            h.extend([0x1e, 0]);
        }
        // 74 bytes so far: 6 more make 80. The last header ends in our option with a bad optlen.
        h.extend(if last {
            [31, 4, 0, 0, 0, 0]
        } else {
            [1, 4, 0, 0, 0, 0]
        });
        h[1] = u8::try_from(h.len() / 8 - 1).unwrap_or(0);
        p.extend(h);
    }
    p.extend([0x9c, 0xbb, 0x1f, 0x90]);
    p
}

/// Worst case for IPv4: IHL 15, 39 NOPs and a type-31 option byte with no room for its length.
pub fn v4_worst_malformed() -> Vec<u8> {
    let mut p = v4_plain();
    p[0] = 0x4f;
    let mut opts = vec![1u8; 39];
    opts.push(31);
    p.splice(20..20, opts);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use toa_uoa_codec::{parse_packet, Error};

    #[test]
    fn bench_inputs_are_what_they_claim() {
        assert_eq!(parse_packet(&v4_plain()), Ok(None));
        assert_eq!(parse_packet(&v6_plain()), Ok(None));
        for outer in [Family::V4, Family::V6] {
            for c in [Family::V4, Family::V6] {
                let p = parse_packet(&with_option(outer, c)).unwrap().unwrap();
                assert_eq!(p.carried, carried(c));
            }
        }
        assert_eq!(parse_packet(&v6_worst_malformed()), Err(Error::V6BadOptLen));
        assert_eq!(
            parse_packet(&v4_worst_malformed()),
            Err(Error::OptionPastHeader)
        );
    }
}
