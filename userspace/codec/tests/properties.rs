//! Property tests: no input makes the parser panic, and encode -> parse is the identity.

mod common;
use common::*;
use proptest::prelude::*;
use toa_uoa_codec::*;

fn family() -> impl Strategy<Value = Family> {
    prop_oneof![Just(Family::V4), Just(Family::V6)]
}

fn any_carried() -> impl Strategy<Value = Carried> {
    (
        family(),
        any::<[u8; 16]>(),
        any::<u16>(),
        any::<[u8; 16]>(),
        any::<u16>(),
    )
        .prop_map(|(f, cip, cport, vip, vport)| match f {
            Family::V4 => Carried::v4(
                [cip[0], cip[1], cip[2], cip[3]],
                cport,
                [vip[0], vip[1], vip[2], vip[3]],
                vport,
            ),
            Family::V6 => Carried::v6(cip, cport, vip, vport),
        })
}

/// Runs every entry point on `pkt` and checks what must hold whatever the bytes are.
fn check_invariants(pkt: &[u8]) {
    let parsed = parse_packet(pkt);
    let transport = find_transport(pkt);
    for offset in [0, 20, 40, pkt.len(), usize::MAX] {
        let _ = outer_tuple(pkt, IPPROTO_TCP, offset);
    }
    let _ = outer_addresses(pkt);
    if let Ok(Some(p)) = parsed {
        // A found option means a located transport, at the same place.
        assert!(p.transport_offset <= pkt.len());
        assert_eq!(
            transport,
            Ok(Transport {
                protocol: p.protocol,
                offset: p.transport_offset
            })
        );
        // For IPv4 carried addresses the unused bytes are zero.
        if p.carried.family == Family::V4 {
            assert!(p.carried.cip[4..].iter().all(|&b| b == 0));
            assert!(p.carried.vip[4..].iter().all(|&b| b == 0));
        }
        // What was found re-encodes and parses back to itself in both outer families.
        let again = packet_with_option(Family::V4, &p.carried, IPPROTO_UDP);
        assert_eq!(parse_packet(&again).unwrap().unwrap().carried, p.carried);
        let again = packet_with_option(Family::V6, &p.carried, IPPROTO_UDP);
        assert_eq!(parse_packet(&again).unwrap().unwrap().carried, p.carried);
    }
    // The dispatcher and the family parsers agree.
    match pkt.first().map(|b| b >> 4) {
        Some(4) => assert_eq!(parsed, parse_ipv4(pkt)),
        Some(6) => assert_eq!(parsed, parse_ipv6(pkt)),
        _ => assert!(parsed.is_err()),
    }
}

/// Cases per property: 512 by default so `cargo test` stays quick in a debug build; set
/// PROPTEST_CASES for a longer run (e.g. `PROPTEST_CASES=100000 cargo test --release`).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn random_bytes_never_panic(pkt in proptest::collection::vec(any::<u8>(), 0..200)) {
        check_invariants(&pkt);
    }

    /// Random bytes behind a plausible IPv4 first byte (version 4, IHL 6..15), so the option
    /// walk itself gets random input rather than failing the version check.
    #[test]
    fn random_ipv4_options_never_panic(
        ihl in 6u8..=15,
        opts in proptest::collection::vec(
            prop_oneof![Just(0u8), Just(1), Just(31), Just(16), Just(40), any::<u8>()], 0..44),
        tail in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut pkt = vec![0x40 | ihl, 0, 0, 0, 0, 0, 0, 0, 64, 6, 0, 0];
        pkt.extend(LIP4);
        pkt.extend(RIP4);
        pkt.extend(opts);
        pkt.extend(tail);
        check_invariants(&pkt);
    }

    /// Random extension-header chains behind an IPv6 header.
    #[test]
    fn random_ipv6_chains_never_panic(
        first in prop_oneof![Just(0u8), Just(43), Just(60), any::<u8>()],
        chain in proptest::collection::vec(
            prop_oneof![Just(0u8), Just(1), Just(4), Just(12), Just(31), Just(36), Just(43),
                        Just(60), any::<u8>()], 0..300),
    ) {
        let pkt = ipv6(first, &chain, &[]);
        check_invariants(&pkt);
    }

    #[test]
    fn encode_parse_identity(
        c in any_carried(),
        outer in family(),
        protocol in prop_oneof![Just(IPPROTO_TCP), Just(IPPROTO_UDP)],
        nops in 0usize..=24,
        pad1s in 0usize..=6,
    ) {
        let rest = transport(protocol, b"payload");
        let (pkt, offset) = match outer {
            Family::V4 => {
                // NOPs before the option, as many as fit, EOL-padded to a multiple of 4.
                let opt = v4_option(&c);
                let nops = nops.min(40 - opt.len());
                let mut opts = vec![1u8; nops];
                opts.extend(&opt);
                while opts.len() % 4 != 0 {
                    opts.push(0);
                }
                (ipv4(&opts, protocol, &rest), 20 + opts.len())
            }
            Family::V6 => {
                // Pad1s before the option, PadN after it to a multiple of 8.
                let opt = v6_dstopt(&c, protocol);
                let mut body = vec![0u8; pad1s];
                body.extend(&opt[2..]);
                let rem = (2 + body.len()) % 8;
                if rem != 0 {
                    let fill = 8 - rem;
                    if fill == 1 {
                        body.push(0);
                    } else {
                        body.push(1);
                        body.push(u8::try_from(fill - 2).unwrap());
                        body.extend(std::iter::repeat_n(0, fill - 2));
                    }
                }
                let hdr = ext_header(protocol, &body);
                let len = hdr.len();
                (ipv6(60, &hdr, &rest), 40 + len)
            }
        };
        let p = parse_packet(&pkt).unwrap().unwrap();
        prop_assert_eq!(p.carried, c);
        prop_assert_eq!(p.protocol, protocol);
        prop_assert_eq!(p.transport_offset, offset);
        let t = p.outer_tuple(&pkt).unwrap();
        prop_assert_eq!((t.sport, t.dport), (LPORT, RPORT));
    }

    /// The IPv4 parser decodes the balancer's own shape (our option alone, filling the
    /// options) without walking them: whatever the bytes (family bit, length, addresses,
    /// options after it), it comes to what the walk does, which takes the same options behind
    /// a NOP. With the length counted as another format's (`foreign`), the same again.
    #[test]
    fn the_lone_option_shortcut_is_the_walk(
        len in prop_oneof![Just(16u8), Just(40), 2u8..=44],
        op in any::<u8>(),
        area in 1usize..=9,
        body in proptest::collection::vec(prop_oneof![Just(0u8), Just(1), any::<u8>()], 36),
        foreign in prop_oneof![Just(Vec::new()), Just(vec![16usize])],
    ) {
        // At most 36 bytes of options, so that a NOP fits before them (EOL after them).
        let mut opt = vec![31u8, len, op];
        opt.extend(&body);
        opt.truncate(area * 4);
        let rest = transport(IPPROTO_UDP, b"payload");
        let alone = ipv4(&opt, IPPROTO_UDP, &rest);
        let mut walked = vec![1u8];
        walked.extend(&opt);
        walked.extend([0u8; 3]);
        let behind_nop = ipv4(&walked, IPPROTO_UDP, &rest);
        let a = parse_ipv4_among(&alone, &foreign);
        let b = parse_ipv4_among(&behind_nop, &foreign);
        // An option running past the end by up to 3 bytes fits in the EOLs behind the NOP:
        // only there may the two differ.
        if a != Err(Error::OptionPastHeader) {
            // The same, but where the transport starts (4 bytes later behind the NOP).
            let a = a.map(|p| p.map(|p| (p.carried, p.protocol, p.transport_offset + 4)));
            let b = b.map(|p| p.map(|p| (p.carried, p.protocol, p.transport_offset)));
            prop_assert_eq!(a, b);
        }
    }

    /// Flipping any one byte of a valid packet never panics, and whatever is then found still
    /// re-encodes to itself.
    #[test]
    fn one_byte_mutations_are_safe(
        c in any_carried(),
        outer in family(),
        at in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let mut pkt = packet_with_option(outer, &c, IPPROTO_TCP);
        let i = at.index(pkt.len());
        pkt[i] = value;
        check_invariants(&pkt);
    }
}
