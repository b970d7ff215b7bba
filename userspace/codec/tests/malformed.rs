//! Every malformed shape is rejected with the error naming the check it failed, and the error
//! table the kernel's counters are built from is consistent.

mod common;
use common::*;
use toa_uoa_codec::*;

fn tcp() -> Vec<u8> {
    transport(IPPROTO_TCP, b"")
}

/// An IPv4 packet whose options are `opts` (padded with EOL to a multiple of 4).
fn v4_with(opts: &[u8]) -> Vec<u8> {
    let mut o = opts.to_vec();
    while o.len() % 4 != 0 {
        o.push(0);
    }
    ipv4(&o, IPPROTO_TCP, &tcp())
}

#[test]
fn error_table_is_consistent() {
    assert_eq!(Error::ALL.len(), Error::COUNT);
    let mut names = std::collections::HashSet::new();
    for (i, e) in Error::ALL.iter().enumerate() {
        assert_eq!(e.index(), i, "{e:?} out of place in ALL");
        let name = e.name();
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{name} is not snake_case"
        );
        assert!(names.insert(name), "duplicate name {name}");
        assert_eq!(e.to_string(), name);
    }
}

#[test]
fn truncated() {
    assert_eq!(parse_packet(&[]), Err(Error::Truncated));
    assert_eq!(parse_ipv4(&[]), Err(Error::Truncated));
    assert_eq!(parse_ipv6(&[]), Err(Error::Truncated));
    let v4 = packet_with_option(Family::V4, &carried4(), IPPROTO_TCP);
    for n in 1..20 {
        assert_eq!(parse_packet(&v4[..n]), Err(Error::Truncated), "v4 len {n}");
    }
    let v6 = ipv6(IPPROTO_TCP, &[], &tcp());
    for n in 1..40 {
        assert_eq!(parse_packet(&v6[..n]), Err(Error::Truncated), "v6 len {n}");
    }
    // Even the IHL 5 fast path wants the 20 bytes.
    assert_eq!(parse_ipv4(&[0x45; 19]), Err(Error::Truncated));
}

#[test]
fn bad_ip_version() {
    let v4 = packet_with_option(Family::V4, &carried4(), IPPROTO_TCP);
    let v6 = packet_with_option(Family::V6, &carried4(), IPPROTO_TCP);
    assert_eq!(parse_ipv4(&v6), Err(Error::BadIpVersion));
    assert_eq!(parse_ipv6(&v4), Err(Error::BadIpVersion));
    for version in [0u8, 1, 2, 3, 5, 7, 15] {
        let mut p = v4.clone();
        p[0] = version << 4 | 5;
        assert_eq!(
            parse_packet(&p),
            Err(Error::BadIpVersion),
            "version {version}"
        );
    }
}

#[test]
fn bad_ihl() {
    for ihl in 0..5u8 {
        let mut p = packet_with_option(Family::V4, &carried4(), IPPROTO_TCP);
        p[0] = 0x40 | ihl;
        assert_eq!(parse_ipv4(&p), Err(Error::BadIhl), "ihl {ihl}");
        assert_eq!(find_transport(&p), Err(Error::BadIhl));
    }
}

#[test]
fn v4_header_past_packet() {
    // IHL 15 but only 40 bytes; IHL 9 (carrying a 16-byte option) cut inside the options.
    let mut p = vec![0x4f, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0];
    p.extend([0u8; 28]);
    assert_eq!(parse_ipv4(&p), Err(Error::V4HeaderPastPacket));
    let full = packet_with_option(Family::V4, &carried4(), IPPROTO_TCP);
    for n in 20..36 {
        assert_eq!(
            parse_ipv4(&full[..n]),
            Err(Error::V4HeaderPastPacket),
            "len {n}"
        );
    }
    assert!(
        parse_ipv4(&full[..36]).unwrap().is_some(),
        "the header alone is enough"
    );
}

#[test]
fn option_length_zero_or_one() {
    for len in [0u8, 1] {
        // An unrelated option (type 7, Record Route) with length 0 or 1, then ours.
        let mut opts = vec![7, len, 0, 0];
        opts.extend(v4_option(&carried4()));
        assert_eq!(
            parse_ipv4(&v4_with(&opts)),
            Err(Error::OptionLengthZeroOrOne),
            "len {len}"
        );
    }
}

#[test]
fn option_past_header() {
    // Our option's type as the very last header byte: no room for its length byte.
    assert_eq!(
        parse_ipv4(&v4_with(&[1, 1, 1, 31])),
        Err(Error::OptionPastHeader)
    );
    // An unrelated option whose length runs past the header.
    assert_eq!(
        parse_ipv4(&v4_with(&[148, 9, 0, 0, 0, 0, 0, 0])),
        Err(Error::OptionPastHeader)
    );
    // Our 16-byte option starting 4 bytes before the end of a 16-byte option area.
    let mut opts = vec![1; 12];
    opts.extend(&v4_option(&carried4())[..4]);
    assert_eq!(parse_ipv4(&v4_with(&opts)), Err(Error::OptionPastHeader));
    // A 40-byte option in a 36-byte option area (IHL 14): length right, header too short.
    let opt = v4_option(&carried6());
    assert_eq!(
        parse_ipv4(&v4_with(&opt[..36])),
        Err(Error::OptionPastHeader)
    );
    // A 16-byte option after a NOP: 17 bytes in a 16-byte area.
    let mut opts = vec![1];
    opts.extend(&v4_option(&carried4())[..15]);
    assert_eq!(parse_ipv4(&v4_with(&opts)), Err(Error::OptionPastHeader));
}

#[test]
fn v4_bad_option_length() {
    for len in [0u8, 1, 2, 4, 15, 17, 20, 36, 39, 41, 255] {
        let mut opts = vec![31, len];
        opts.resize(36, 0);
        assert_eq!(
            parse_ipv4(&v4_with(&opts)),
            Err(Error::V4BadOptionLength),
            "len {len}"
        );
    }
}

#[test]
fn v4_length_family_mismatch() {
    let mut opt = v4_option(&carried4());
    opt[2] = 1; // says IPv6, is 16 bytes
    assert_eq!(
        parse_ipv4(&v4_with(&opt)),
        Err(Error::V4LengthFamilyMismatch)
    );
    let mut opt = v4_option(&carried6());
    opt[2] = 0; // says IPv4, is 40 bytes
    assert_eq!(
        parse_ipv4(&v4_with(&opt)),
        Err(Error::V4LengthFamilyMismatch)
    );
    let mut opt = v4_option(&carried6());
    opt[2] = 0xfe; // reserved bits do not make it IPv6
    assert_eq!(
        parse_ipv4(&v4_with(&opt)),
        Err(Error::V4LengthFamilyMismatch)
    );
}

#[test]
fn duplicate_option() {
    // Two IPv4 options (32 bytes).
    let mut opts = v4_option(&carried4());
    opts.extend(v4_option(&carried4()));
    assert_eq!(parse_ipv4(&v4_with(&opts)), Err(Error::DuplicateOption));
    // Two options in one Destination Options header.
    let one = v6_dstopt(&carried4(), IPPROTO_TCP);
    let mut body = one[2..].to_vec();
    body.extend_from_slice(&one[2..]);
    body.extend([1, 0]);
    let pkt = ipv6(60, &ext_header(IPPROTO_TCP, &body), &tcp());
    assert_eq!(parse_ipv6(&pkt), Err(Error::DuplicateOption));
    // One in each of two Destination Options headers.
    let mut chain = v6_dstopt(&carried4(), 60);
    chain.extend(v6_dstopt(&carried6(), IPPROTO_TCP));
    let pkt = ipv6(60, &chain, &tcp());
    assert_eq!(parse_ipv6(&pkt), Err(Error::DuplicateOption));
}

#[test]
fn v6_header_past_packet() {
    let full = packet_with_option(Family::V6, &carried6(), IPPROTO_TCP);
    // Next Header 60 and then nothing, one byte, or part of the header.
    for n in 40..80 {
        assert_eq!(
            parse_ipv6(&full[..n]),
            Err(Error::V6HeaderPastPacket),
            "len {n}"
        );
    }
    assert!(
        parse_ipv6(&full[..80]).unwrap().is_some(),
        "the chain alone is enough"
    );
    // hdrlen claims 255 (2048 bytes) in a short packet.
    let mut p = full.clone();
    p[41] = 255;
    assert_eq!(parse_ipv6(&p), Err(Error::V6HeaderPastPacket));
    assert_eq!(find_transport(&p), Err(Error::V6HeaderPastPacket));
    // A second header (Routing) cut short.
    let mut chain = ext_header(43, &[1, 4, 0, 0, 0, 0]);
    chain.extend([IPPROTO_TCP, 1, 0, 0]);
    let p = ipv6(60, &chain, &[]);
    assert_eq!(parse_ipv6(&p), Err(Error::V6HeaderPastPacket));
}

#[test]
fn v6_option_past_header() {
    // hdrlen inconsistent with the option: an IPv6-address option (optlen 36) in a header whose
    // hdrlen says 16 bytes; the packet itself is long enough.
    let mut pkt = packet_with_option(Family::V6, &carried6(), IPPROTO_TCP);
    pkt[41] = 1;
    assert_eq!(parse_ipv6(&pkt), Err(Error::V6OptionPastHeader));
    // Type 31 as the last byte of the header: no optlen.
    let body = [1, 3, 0, 0, 0, 31];
    let pkt = ipv6(60, &ext_header(IPPROTO_TCP, &body), &tcp());
    assert_eq!(parse_ipv6(&pkt), Err(Error::V6OptionPastHeader));
    // A PadN running past the end of its header.
    let body = [1, 5, 0, 0, 0, 0];
    let pkt = ipv6(60, &ext_header(IPPROTO_TCP, &body), &tcp());
    assert_eq!(parse_ipv6(&pkt), Err(Error::V6OptionPastHeader));
    // ... also in a Hop-by-Hop header.
    let pkt = ipv6(0, &ext_header(IPPROTO_TCP, &body), &tcp());
    assert_eq!(parse_ipv6(&pkt), Err(Error::V6OptionPastHeader));
}

#[test]
fn v6_bad_optlen() {
    for optlen in [0u8, 1, 2, 11, 13, 16, 20, 35, 37, 255] {
        let mut pkt = packet_with_option(Family::V6, &carried6(), IPPROTO_TCP);
        pkt[43] = optlen;
        assert_eq!(parse_ipv6(&pkt), Err(Error::V6BadOptLen), "optlen {optlen}");
    }
    // An optlen of 12 and 36 swapped with the header size: 12 in a 40-byte header is fine
    // (the rest must then parse as options: here PadN), 36 in a 16-byte one is not.
    let mut body = v6_dstopt(&carried4(), IPPROTO_TCP)[2..].to_vec();
    body.extend([0x1e, 22]); // an unknown option filling the rest
    body.extend([0; 22]);
    let pkt = ipv6(60, &ext_header(IPPROTO_TCP, &body), &tcp());
    assert_eq!(parse_ipv6(&pkt).unwrap().unwrap().carried, carried4());
}

#[test]
fn v6_option_in_hop_by_hop() {
    let dst = v6_dstopt(&carried4(), IPPROTO_TCP);
    let pkt = ipv6(0, &dst, &tcp());
    assert_eq!(parse_ipv6(&pkt), Err(Error::V6OptionInHopByHop));
    // find_transport does not care.
    assert_eq!(find_transport(&pkt).unwrap().offset, 56);
}

#[test]
fn v6_hop_by_hop_not_first() {
    let mut chain = ext_header(0, &[1, 4, 0, 0, 0, 0]);
    chain.extend(ext_header(60, &[1, 4, 0, 0, 0, 0]));
    chain.extend(v6_dstopt(&carried4(), IPPROTO_TCP));
    let pkt = ipv6(60, &chain, &tcp());
    assert_eq!(parse_ipv6(&pkt), Err(Error::V6HopByHopNotFirst));
    assert_eq!(find_transport(&pkt), Err(Error::V6HopByHopNotFirst));
}

#[test]
fn v6_chain_too_long() {
    // MAX_V6_EXT_HEADERS padding headers, then one more (the option): one too many.
    let mut chain = Vec::new();
    for _ in 0..MAX_V6_EXT_HEADERS {
        chain.extend(ext_header(60, &[1, 4, 0, 0, 0, 0]));
    }
    chain.extend(v6_dstopt(&carried4(), IPPROTO_TCP));
    let pkt = ipv6(60, &chain, &tcp());
    assert_eq!(parse_ipv6(&pkt), Err(Error::V6ChainTooLong));
    // A "loop": Routing headers pointing at Routing headers, far more than the bound, in a
    // packet long enough that only the bound stops the walk.
    let mut chain = Vec::new();
    for _ in 0..100 {
        chain.extend(ext_header(43, &[0, 0, 0, 0, 0, 0]));
    }
    let pkt = ipv6(43, &chain, &tcp());
    assert_eq!(parse_ipv6(&pkt), Err(Error::V6ChainTooLong));
    assert_eq!(find_transport(&pkt), Err(Error::V6ChainTooLong));
}

#[test]
fn errors_are_not_ok_none_for_cut_option_packets() {
    // Any cut of an option-carrying packet before its transport header is an error, never
    // "no option": a capture with a small snaplen must not look clean.
    for family in [Family::V4, Family::V6] {
        for c in [carried4(), carried6()] {
            let pkt = packet_with_option(family, &c, IPPROTO_UDP);
            let end = parse_packet(&pkt).unwrap().unwrap().transport_offset;
            for n in 0..end {
                assert!(parse_packet(&pkt[..n]).is_err(), "{family:?} cut at {n}");
            }
        }
    }
}

#[test]
fn v6_too_much_padding() {
    let opt = v6_dstopt(&carried4(), IPPROTO_TCP);
    // 7 bytes of padding in a row are fine (Pad1 x 2 + PadN of 5), 8 are not (Linux's rule).
    let mut body = vec![0, 0, 1, 3, 0, 0, 0];
    body.extend_from_slice(&opt[2..]);
    body.extend([0; 1]);
    let pkt = ipv6(60, &ext_header(IPPROTO_TCP, &body), &tcp());
    assert_eq!(parse_ipv6(&pkt).unwrap().unwrap().carried, carried4());
    for pads in [
        vec![0u8; 8],
        vec![1, 6, 0, 0, 0, 0, 0, 0],
        vec![0, 1, 5, 0, 0, 0, 0, 0],
    ] {
        let mut body = pads.clone();
        body.extend_from_slice(&opt[2..]);
        let pkt = ipv6(60, &ext_header(IPPROTO_TCP, &body), &tcp());
        assert_eq!(parse_ipv6(&pkt), Err(Error::V6TooMuchPadding), "{pads:?}");
    }
    // A whole header of Pad1 (the costly shape) is rejected within the first 8 bytes.
    let pkt = ipv6(60, &ext_header(IPPROTO_TCP, &[0; 2046]), &tcp());
    assert_eq!(parse_ipv6(&pkt), Err(Error::V6TooMuchPadding));
    // The run restarts after any other option.
    let mut body = vec![0; 7];
    body.extend([0x1e, 0]);
    body.extend([0; 7]);
    body.extend_from_slice(&opt[2..]);
    let pkt = ipv6(60, &ext_header(IPPROTO_TCP, &body), &tcp());
    assert_eq!(parse_ipv6(&pkt).unwrap().unwrap().carried, carried4());
}

#[test]
fn v6_too_many_options() {
    let opt = v6_dstopt(&carried4(), IPPROTO_TCP);
    // 7 unknown empty options and ours: 8, accepted.
    let mut body = [0x1e, 0].repeat(7);
    body.extend_from_slice(&opt[2..]);
    body.extend([1, 0]);
    let pkt = ipv6(60, &ext_header(IPPROTO_TCP, &body), &tcp());
    assert_eq!(parse_ipv6(&pkt).unwrap().unwrap().carried, carried4());
    // 8 and ours: 9, rejected.
    let mut body = [0x1e, 0].repeat(8);
    body.extend_from_slice(&opt[2..]);
    let pkt = ipv6(60, &ext_header(IPPROTO_TCP, &body), &tcp());
    assert_eq!(parse_ipv6(&pkt), Err(Error::V6TooManyOptions));
    // In a Hop-by-Hop header too.
    let mut body = [0x1e, 0].repeat(9);
    body.extend([0; 4]);
    let pkt = ipv6(0, &ext_header(IPPROTO_TCP, &body), &tcp());
    assert_eq!(parse_ipv6(&pkt), Err(Error::V6TooManyOptions));
}
