//! The 8 cases of PROTOCOL.md (outer IPv4/IPv6 x carried IPv4/IPv6 x TCP/UDP) round-trip:
//! encode the option, build a full packet around it, parse it back.

mod common;
use common::*;
use toa_uoa_codec::*;

const FAMILIES: [Family; 2] = [Family::V4, Family::V6];
const PROTOCOLS: [u8; 2] = [IPPROTO_TCP, IPPROTO_UDP];

fn case_name(carried: Family, outer: Family, protocol: u8) -> String {
    let d = |f| if f == Family::V4 { '4' } else { '6' };
    let p = if protocol == IPPROTO_TCP {
        "tcp"
    } else {
        "udp"
    };
    format!("{}{} {p}", d(carried), d(outer))
}

#[test]
fn all_eight_cases_round_trip() {
    let mut seen = 0;
    for carried_family in FAMILIES {
        for outer in FAMILIES {
            for protocol in PROTOCOLS {
                let name = case_name(carried_family, outer, protocol);
                let c = carried(carried_family);
                let pkt = packet_with_option(outer, &c, protocol);
                let parsed = parse_packet(&pkt)
                    .unwrap_or_else(|e| panic!("{name}: {e}"))
                    .unwrap_or_else(|| panic!("{name}: option not found"));
                assert_eq!(parsed.carried, c, "{name}");
                assert_eq!(parsed.protocol, protocol, "{name}");
                let expected_offset = match outer {
                    Family::V4 => 20 + carried_family.encoded_len(),
                    Family::V6 => 40 + carried_family.encoded_len(),
                };
                assert_eq!(parsed.transport_offset, expected_offset, "{name}");
                // The family-specific parser agrees with the dispatcher.
                let direct = match outer {
                    Family::V4 => parse_ipv4(&pkt),
                    Family::V6 => parse_ipv6(&pkt),
                };
                assert_eq!(direct, Ok(Some(parsed)), "{name}");
                // The outer tuple is the one the real server sees.
                let t = parsed.outer_tuple(&pkt).unwrap();
                assert_eq!(t.family, outer, "{name}");
                let (lip, rip): (&[u8], &[u8]) = match outer {
                    Family::V4 => (&LIP4, &RIP4),
                    Family::V6 => (&LIP6, &RIP6),
                };
                assert_eq!(&t.saddr[..lip.len()], lip, "{name}");
                assert_eq!(&t.daddr[..rip.len()], rip, "{name}");
                assert!(t.saddr[lip.len()..].iter().all(|&b| b == 0), "{name}");
                assert_eq!(
                    (t.protocol, t.sport, t.dport),
                    (protocol, LPORT, RPORT),
                    "{name}"
                );
                assert_eq!(
                    find_transport(&pkt),
                    Ok(Transport {
                        protocol,
                        offset: expected_offset
                    }),
                    "{name}"
                );
                seen += 1;
            }
        }
    }
    assert_eq!(seen, 8);
}

/// Byte-exact with PROTOCOL.md section 1: type, length, operation, padding, CPORT, VPORT, CIP, VIP.
#[test]
fn ipv4_option_bytes_match_protocol_md() {
    let mut out = [0xeeu8; 48];
    assert_eq!(encode_ipv4_option(&carried4(), &mut out), Some(16));
    #[rustfmt::skip]
    let expected4 = [
        31, 16, 0, 0,
        0xc9, 0x3b, 0x00, 0x50, // 51515, 80
        203, 0, 113, 5,
        192, 0, 2, 80,
    ];
    assert_eq!(out[..16], expected4);
    assert!(
        out[16..].iter().all(|&b| b == 0xee),
        "wrote past the option"
    );

    let mut out = [0u8; 40];
    assert_eq!(encode_ipv4_option(&carried6(), &mut out), Some(40));
    #[rustfmt::skip]
    let expected6 = [
        31, 40, 1, 0,
        0xc9, 0x3c, 0x01, 0xbb, // 51516, 443
        0x20, 0x01, 0x0d, 0xb8, 0xc1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5,
        0x20, 0x01, 0x0d, 0xb8, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80,
    ];
    assert_eq!(out, expected6);
}

/// Byte-exact with PROTOCOL.md section 2: nexthdr, hdrlen, 31, optlen, CPORT, VPORT, CIP, VIP.
#[test]
fn ipv6_dstopt_bytes_match_protocol_md() {
    let mut out = [0xeeu8; 48];
    assert_eq!(encode_ipv6_dstopt(&carried4(), 17, &mut out), Some(16));
    #[rustfmt::skip]
    let expected4 = [
        17, 1, 31, 12,
        0xc9, 0x3b, 0x00, 0x50,
        203, 0, 113, 5,
        192, 0, 2, 80,
    ];
    assert_eq!(out[..16], expected4);
    assert!(
        out[16..].iter().all(|&b| b == 0xee),
        "wrote past the header"
    );

    let mut out = [0u8; 40];
    assert_eq!(encode_ipv6_dstopt(&carried6(), 6, &mut out), Some(40));
    #[rustfmt::skip]
    let expected6 = [
        6, 4, 31, 36,
        0xc9, 0x3c, 0x01, 0xbb,
        0x20, 0x01, 0x0d, 0xb8, 0xc1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5,
        0x20, 0x01, 0x0d, 0xb8, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80,
    ];
    assert_eq!(out, expected6);
}

#[test]
fn encoders_refuse_short_buffers() {
    for (c, need) in [(carried4(), 16usize), (carried6(), 40)] {
        let mut short = vec![0xaau8; need - 1];
        assert_eq!(encode_ipv4_option(&c, &mut short), None);
        assert_eq!(encode_ipv6_dstopt(&c, 6, &mut short), None);
        assert!(
            short.iter().all(|&b| b == 0xaa),
            "a refused encode must not write"
        );
        assert_eq!(encode_ipv4_option(&c, &mut []), None);
        let mut exact = vec![0u8; need];
        assert_eq!(encode_ipv4_option(&c, &mut exact), Some(need));
        assert_eq!(encode_ipv6_dstopt(&c, 6, &mut exact), Some(need));
    }
}

#[test]
fn encoder_ignores_bytes_past_an_ipv4_address() {
    // For V4 only the first 4 bytes are meaningful; junk after them must not leak on the wire.
    let mut c = carried4();
    c.cip[4..].fill(0xff);
    c.vip[4..].fill(0xff);
    let pkt = packet_with_option(Family::V4, &c, IPPROTO_TCP);
    let back = parse_packet(&pkt).unwrap().unwrap().carried;
    assert_eq!(back, carried4());
}

#[test]
fn carried_accessors() {
    assert_eq!(carried4().cip_bytes(), &[203, 0, 113, 5]);
    assert_eq!(carried4().vip_bytes(), &[192, 0, 2, 80]);
    assert_eq!(carried6().cip_bytes().len(), 16);
    assert_eq!(Family::V4.addr_len(), 4);
    assert_eq!(Family::V6.addr_len(), 16);
    assert_eq!(Family::V4.encoded_len(), 16);
    assert_eq!(Family::V6.encoded_len(), 40);
}

#[test]
fn ipv4_option_among_others_and_nops() {
    // NOP, NOP, Router Alert (148, len 4), then the option, then EOL padding.
    let c = carried4();
    let mut opts = vec![1, 1, 148, 4, 0, 0];
    opts.extend(v4_option(&c));
    opts.extend([0, 0]);
    let pkt = ipv4(&opts, IPPROTO_UDP, &transport(IPPROTO_UDP, b""));
    let p = parse_ipv4(&pkt).unwrap().unwrap();
    assert_eq!(p.carried, c);
    assert_eq!(p.transport_offset, 20 + 24);
}

#[test]
fn ipv4_reserved_bits_and_padding_ignored() {
    let mut opt = v4_option(&carried4());
    opt[2] = 0xfe; // bit 0 clear = IPv4, the rest reserved
    opt[3] = 0x55;
    let pkt = ipv4(&opt, IPPROTO_TCP, &transport(IPPROTO_TCP, b""));
    assert_eq!(parse_ipv4(&pkt).unwrap().unwrap().carried, carried4());
    let mut opt = v4_option(&carried6());
    opt[2] = 0xff;
    let pkt = ipv4(&opt, IPPROTO_TCP, &transport(IPPROTO_TCP, b""));
    assert_eq!(parse_ipv4(&pkt).unwrap().unwrap().carried, carried6());
}

#[test]
fn ipv6_option_among_pad1_and_padn() {
    // Pad1, PadN(1), option (14 bytes), PadN(2): 2 + 1 + 3 + 14 + 4 = 24 bytes, hdrlen 2.
    let opt = v6_dstopt(&carried4(), IPPROTO_TCP);
    let mut body = vec![0, 1, 1, 0];
    body.extend_from_slice(&opt[2..]);
    body.extend([1, 2, 0, 0]);
    let chain = ext_header(IPPROTO_TCP, &body);
    assert_eq!(chain.len(), 24);
    let pkt = ipv6(60, &chain, &transport(IPPROTO_TCP, b""));
    let p = parse_ipv6(&pkt).unwrap().unwrap();
    assert_eq!(p.carried, carried4());
    assert_eq!((p.protocol, p.transport_offset), (IPPROTO_TCP, 64));
}

#[test]
fn ipv6_unknown_options_are_skipped() {
    // An unknown option (type 0x1e, 4 bytes of data) before the IPv6-address option.
    let opt = v6_dstopt(&carried6(), IPPROTO_UDP);
    let mut body = vec![0x1e, 4, 9, 9, 9, 9];
    body.extend_from_slice(&opt[2..]);
    body.extend([1, 0]); // PadN(0): 2 bytes
    let chain = ext_header(IPPROTO_UDP, &body);
    let pkt = ipv6(60, &chain, &transport(IPPROTO_UDP, b"x"));
    assert_eq!(parse_ipv6(&pkt).unwrap().unwrap().carried, carried6());
}

#[test]
fn ipv6_option_after_hop_by_hop_and_routing() {
    let dst = v6_dstopt(&carried6(), IPPROTO_TCP);
    // Hop-by-Hop (PadN 4) -> Routing (type 0 shape, 8 bytes) -> Destination Options -> TCP.
    let mut chain = ext_header(43, &[1, 4, 0, 0, 0, 0]);
    chain.extend(ext_header(60, &[0, 0, 0, 0, 0, 0]));
    chain.extend(&dst);
    let pkt = ipv6(0, &chain, &transport(IPPROTO_TCP, b""));
    let p = parse_ipv6(&pkt).unwrap().unwrap();
    assert_eq!(p.carried, carried6());
    assert_eq!(
        (p.protocol, p.transport_offset),
        (IPPROTO_TCP, 40 + 8 + 8 + 40)
    );
    assert_eq!(p.outer_tuple(&pkt).unwrap().dport, RPORT);
}

#[test]
fn ipv6_option_in_first_of_two_dstopt_headers() {
    // Destination Options (the option) -> Routing -> Destination Options (padding only).
    let mut chain = v6_dstopt(&carried4(), 43);
    chain.extend(ext_header(60, &[0, 0, 0, 0, 0, 0]));
    chain.extend(ext_header(IPPROTO_UDP, &[1, 4, 0, 0, 0, 0]));
    let pkt = ipv6(60, &chain, &transport(IPPROTO_UDP, b""));
    let p = parse_ipv6(&pkt).unwrap().unwrap();
    assert_eq!(p.carried, carried4());
    assert_eq!(
        (p.protocol, p.transport_offset),
        (IPPROTO_UDP, 40 + 16 + 8 + 8)
    );
}

#[test]
fn exactly_max_headers_is_accepted() {
    // MAX_V6_EXT_HEADERS - 1 padding-only Destination Options headers, then the option.
    let mut chain = Vec::new();
    for _ in 0..MAX_V6_EXT_HEADERS - 1 {
        chain.extend(ext_header(60, &[1, 4, 0, 0, 0, 0]));
    }
    chain.extend(v6_dstopt(&carried4(), IPPROTO_TCP));
    let pkt = ipv6(60, &chain, &transport(IPPROTO_TCP, b""));
    assert_eq!(parse_ipv6(&pkt).unwrap().unwrap().carried, carried4());
}

#[test]
fn no_option_cases() {
    let tcp = transport(IPPROTO_TCP, b"");
    // IHL 5: the fast path, even with arbitrary bytes after the header.
    let pkt = ipv4(&[], IPPROTO_TCP, &[0xff; 60]);
    assert_eq!(parse_packet(&pkt), Ok(None));
    // Options, but not ours.
    let pkt = ipv4(&[1, 1, 1, 0], IPPROTO_TCP, &tcp);
    assert_eq!(parse_packet(&pkt), Ok(None));
    // IPv6 straight to TCP: the fast path.
    let pkt = ipv6(IPPROTO_TCP, &[], &tcp);
    assert_eq!(parse_packet(&pkt), Ok(None));
    // IPv6 with a padding-only Destination Options header.
    let pkt = ipv6(60, &ext_header(IPPROTO_TCP, &[1, 4, 0, 0, 0, 0]), &tcp);
    assert_eq!(parse_packet(&pkt), Ok(None));
    // A first fragment (offset 0) is walked on: its fragmentable part holds the Destination
    // Options with the option and the transport header with the ports.
    let first_frag = [60, 0, 0, 1, 0, 0, 0, 7]; // next: Destination Options; offset 0, M=1
    let mut chain = first_frag.to_vec();
    chain.extend(v6_dstopt(&carried4(), IPPROTO_TCP));
    let pkt = ipv6(44, &chain, &tcp);
    let p = parse_packet(&pkt).unwrap().unwrap();
    assert_eq!(p.carried, carried4());
    assert_eq!((p.protocol, p.transport_offset), (IPPROTO_TCP, 40 + 8 + 16));
    assert!(
        p.outer_tuple(&pkt).is_some(),
        "the ports are in the first fragment"
    );
    // A later fragment (offset 1, i.e. 8 bytes on) ends the walk: what follows is the middle
    // of the datagram, whatever it looks like.
    let later_frag = [60, 0, 0, 8, 0, 0, 0, 7];
    let mut chain = later_frag.to_vec();
    chain.extend(v6_dstopt(&carried4(), IPPROTO_TCP));
    let pkt = ipv6(44, &chain, &tcp);
    assert_eq!(parse_packet(&pkt), Ok(None));
    assert_eq!(
        find_transport(&pkt).map(|t| (t.protocol, t.offset)),
        Ok((44, 48))
    );
    // ... but an option before the Fragment header (the unfragmentable part) is found, with
    // protocol 44 reported and no ports.
    let mut chain = v6_dstopt(&carried4(), 44);
    chain.extend(later_frag);
    let pkt = ipv6(60, &chain, &tcp);
    let p = parse_packet(&pkt).unwrap().unwrap();
    assert_eq!((p.protocol, p.transport_offset), (44, 40 + 16 + 8));
    assert_eq!(
        p.outer_tuple(&pkt),
        None,
        "no ports after a later fragment's header"
    );
    // A Fragment header cut short.
    let pkt = ipv6(44, &first_frag[..4], &[]);
    assert!(parse_packet(&pkt).is_err());
}

#[test]
fn ipv4_option_after_eol_is_ignored() {
    let tcp = transport(IPPROTO_TCP, b"");
    let mut opts = vec![0, 0, 0, 0];
    opts.extend(v4_option(&carried4()));
    let pkt = ipv4(&opts, IPPROTO_TCP, &tcp);
    assert_eq!(parse_ipv4(&pkt), Ok(None));
    // Garbage that would be malformed as an option is also just padding after EOL.
    let pkt = ipv4(&[1, 0, 31, 1, 7, 0, 0, 0], IPPROTO_TCP, &tcp);
    assert_eq!(parse_ipv4(&pkt), Ok(None));
}

#[test]
fn non_first_ipv4_fragment_has_no_ports() {
    let mut pkt = packet_with_option(Family::V4, &carried4(), IPPROTO_UDP);
    assert!(outer_tuple(&pkt, IPPROTO_UDP, 36).is_some());
    pkt[6] = 0x20; // MF set, offset 0: still the first fragment
    assert!(outer_tuple(&pkt, IPPROTO_UDP, 36).is_some());
    pkt[7] = 0x01; // offset 8 bytes
    assert_eq!(outer_tuple(&pkt, IPPROTO_UDP, 36), None);
}

#[test]
fn outer_tuple_needs_tcp_or_udp_and_the_ports() {
    let pkt = packet_with_option(Family::V6, &carried4(), IPPROTO_TCP);
    assert!(outer_tuple(&pkt, IPPROTO_TCP, 56).is_some());
    assert_eq!(outer_tuple(&pkt, 1, 56), None, "ICMP has no ports");
    assert_eq!(
        outer_tuple(&pkt[..59], IPPROTO_TCP, 56),
        None,
        "ports cut off"
    );
    assert!(outer_tuple(&pkt[..60], IPPROTO_TCP, 56).is_some());
    assert_eq!(outer_tuple(&pkt, IPPROTO_TCP, usize::MAX), None);
    assert_eq!(outer_tuple(&pkt, IPPROTO_TCP, usize::MAX - 1), None);
    assert_eq!(outer_tuple(&pkt[..39], IPPROTO_TCP, 0), None);
    assert_eq!(outer_tuple(&[], IPPROTO_TCP, 0), None);
    assert_eq!(outer_addresses(&[0x45; 19]), None);
    let (f, s, d) = outer_addresses(&pkt).unwrap();
    assert_eq!((f, s, d), (Family::V6, LIP6, RIP6));
}

#[test]
fn find_transport_locates_past_a_malformed_option() {
    // IPv6 option with a bad optlen: parse fails, but the transport is still found.
    let mut pkt = packet_with_option(Family::V6, &carried4(), IPPROTO_UDP);
    pkt[43] = 13;
    assert_eq!(parse_packet(&pkt), Err(Error::V6BadOptLen));
    assert_eq!(
        find_transport(&pkt),
        Ok(Transport {
            protocol: IPPROTO_UDP,
            offset: 56
        })
    );
    let mut pkt = packet_with_option(Family::V4, &carried4(), IPPROTO_TCP);
    pkt[21] = 17;
    assert_eq!(parse_packet(&pkt), Err(Error::V4BadOptionLength));
    assert_eq!(
        find_transport(&pkt),
        Ok(Transport {
            protocol: IPPROTO_TCP,
            offset: 36
        })
    );
    assert_eq!(find_transport(&[]), Err(Error::Truncated));
    assert_eq!(find_transport(&[0x45; 10]), Err(Error::Truncated));
    assert_eq!(find_transport(&[0x65; 39]), Err(Error::Truncated));
    assert_eq!(find_transport(&[0x15; 60]), Err(Error::BadIpVersion));
}
