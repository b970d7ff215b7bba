//! dpvs_codec.rs against packets built by an encoder written from DPVS's own definitions
//! (tests/common/dpvs.rs): each format, each client family, each outer family, and every
//! malformed shape the parser names.

mod common;
use common::dpvs::*;
use common::*;
use proptest::prelude::*;
use toa_uoa_codec::dpvs::{self, Client, Error, Kind, OppHeader, Parsed};
use toa_uoa_codec::{Family, IPPROTO_TCP, IPPROTO_UDP};

const CIP4: [u8; 4] = [203, 0, 113, 5];
const CIP6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0xc1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5,
];
const CPORT: u16 = 51515;

fn caddrs() -> [Caddr; 2] {
    [Caddr::In(CIP4), Caddr::In6(CIP6)]
}

fn client_of(c: Caddr, cport: u16) -> Client {
    let mut cip = [0u8; 16];
    let family = match c {
        Caddr::In(a) => {
            cip[..4].copy_from_slice(&a);
            Family::V4
        }
        Caddr::In6(a) => {
            cip = a;
            Family::V6
        }
    };
    Client { family, cip, cport }
}

/// A TCP segment LPORT -> RPORT with `flags`, `options` (padded with NOPs to a multiple of 4)
/// and `payload`.
fn tcp(flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut o = options.to_vec();
    while o.len() % 4 != 0 {
        o.push(1);
    }
    assert!(o.len() <= 40);
    let mut t = LPORT.to_be_bytes().to_vec();
    t.extend_from_slice(&RPORT.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0x10, 0x01, 0x7a, 0x69, 0x10, 0x01]);
    t.push(((5 + o.len() / 4) as u8) << 4);
    t.push(flags);
    t.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(&o);
    t.extend_from_slice(payload);
    t
}

const ACK: u8 = 0x10;
const SYN: u8 = 0x02;
/// NOP, NOP, Timestamps: what a Linux client's ACK carries.
const NOP_NOP_TS: [u8; 12] = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2];

fn plain(outer: Family, protocol: u8, transport: &[u8]) -> Vec<u8> {
    match outer {
        Family::V4 => ipv4(&[], protocol, transport),
        Family::V6 => ipv6(protocol, &[], transport),
    }
}

fn udp_plain(outer: Family) -> Vec<u8> {
    let mut p = plain(
        outer,
        IPPROTO_UDP,
        &common::transport(IPPROTO_UDP, b"hello"),
    );
    // A right UDP checksum, so that the stripped packet can be compared with it.
    let l3 = if outer == Family::V4 { 20 } else { 40 };
    let c = l4_checksum(&p, &p[l3..], 17, 6);
    p[l3 + 6..l3 + 8].copy_from_slice(&c.to_be_bytes());
    p
}

fn parse(p: &[u8]) -> Result<Option<Parsed>, Error> {
    dpvs::parse_packet(p)
}

fn found(p: &[u8]) -> Parsed {
    parse(p)
        .unwrap_or_else(|e| panic!("error {e} for {p:02x?}"))
        .unwrap_or_else(|| panic!("nothing found in {p:02x?}"))
}

#[test]
fn tables_are_consistent() {
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
    assert_eq!(names.len(), Error::COUNT);
    for (i, k) in Kind::ALL.iter().enumerate() {
        assert_eq!(k.index(), i);
        assert_eq!(k.to_string(), k.name());
        assert_eq!(k.counter_name(), k.name().replace('-', "_"));
    }
    assert_eq!(Kind::Toa.name(), "dpvs-toa");
    assert_eq!(Kind::UoaIpo.name(), "dpvs-uoa-ipo");
    assert_eq!(Kind::UoaOpp.name(), "dpvs-uoa-opp");
}

#[test]
fn encoder_matches_dpvs_sizes() {
    // The sizes DPVS's headers define, as the encoder computes them from the structs.
    assert_eq!(IPOLEN_UOA_IPV4, 8);
    assert_eq!(IPOLEN_UOA_IPV6, 20);
    assert_eq!(IPOPT_UOA, 31);
    assert_eq!(IPPROTO_OPT, 248);
    assert_eq!(tcpopt_addr(Caddr::In(CIP4), 1).len(), 8);
    assert_eq!(tcpopt_addr(Caddr::In6(CIP6), 1).len(), 20);
    assert_eq!(opp_for(Caddr::In(CIP4), 1).len(), 12);
    assert_eq!(opp_for(Caddr::In6(CIP6), 1).len(), 24);
    assert_eq!(
        opp_for(Caddr::In6(CIP6), 1)[0],
        0x20,
        "version in the high nibble"
    );
    assert_eq!(dpvs::OPP_VERSION_V4, OPPHDR_IPV4);
    assert_eq!(dpvs::OPP_VERSION_V6, OPPHDR_IPV6);
    assert_eq!(dpvs::IPPROTO_OPP, IPPROTO_OPT);
    assert_eq!(dpvs::TCPOPT_TOA, TCP_OPT_ADDR);
    assert_eq!(dpvs::IPOPT_UOA, IPOPT_UOA);
}

#[test]
fn toa_each_family() {
    for outer in [Family::V4, Family::V6] {
        for c in caddrs() {
            let orig = plain(outer, IPPROTO_TCP, &tcp(ACK, &NOP_NOP_TS, b"GET /"));
            let p = tcp_in_add_toa(&orig, c, CPORT);
            let l3 = if outer == Family::V4 { 20 } else { 40 };
            let r = found(&p);
            assert_eq!(
                r,
                Parsed {
                    kind: Kind::Toa,
                    client: client_of(c, CPORT),
                    protocol: IPPROTO_TCP,
                    transport_offset: l3,
                    opp: None,
                },
                "{outer:?} {c:?}"
            );
            let t = r.outer_tuple(&p).unwrap();
            assert_eq!((t.sport, t.dport, t.protocol), (LPORT, RPORT, IPPROTO_TCP));
            // The unified parser sees nothing in it.
            assert_eq!(toa_uoa_codec::parse_packet(&p), Ok(None));
            assert_eq!(client_of(c, CPORT).cip_bytes(), c.bytes());
        }
    }
}

#[test]
fn to_carried_has_no_vip() {
    let c = client_of(Caddr::In6(CIP6), CPORT).to_carried();
    assert_eq!(c.family, Family::V6);
    assert_eq!(c.cip, CIP6);
    assert_eq!(c.cport, CPORT);
    assert_eq!((c.vip, c.vport), ([0; 16], 0));
}

#[test]
fn toa_anywhere_in_the_options() {
    let toa4 = tcpopt_addr(Caddr::In(CIP4), CPORT);
    let toa6 = tcpopt_addr(Caddr::In6(CIP6), CPORT);
    let sack = [5u8, 10, 0, 0, 0, 1, 0, 0, 0, 2];
    let cases: Vec<(Vec<u8>, Caddr)> = vec![
        ([&NOP_NOP_TS[..], &toa4].concat(), Caddr::In(CIP4)),
        ([&NOP_NOP_TS[..], &toa6].concat(), Caddr::In6(CIP6)),
        ([&[1, 1][..], &sack, &toa4].concat(), Caddr::In(CIP4)),
        ([&toa6[..], &[0]].concat(), Caddr::In6(CIP6)),
        ([&[1u8; 7][..], &toa4].concat(), Caddr::In(CIP4)),
        // Another use of kind 254 (RFC 6994 experiment, 4 bytes) before it.
        (
            [&[254u8, 4, 0xf9, 0x89][..], &toa4].concat(),
            Caddr::In(CIP4),
        ),
    ];
    for (opts, c) in cases {
        for outer in [Family::V4, Family::V6] {
            let p = plain(outer, IPPROTO_TCP, &tcp(ACK, &opts, b""));
            assert_eq!(found(&p).client, client_of(c, CPORT), "{opts:?}");
        }
    }
}

#[test]
fn toa_not_read() {
    let toa4 = tcpopt_addr(Caddr::In(CIP4), CPORT);
    let none: Vec<(u8, Vec<u8>)> = vec![
        // No options at all.
        (ACK, vec![]),
        // After an EOL: padding, not options.
        (ACK, [&[0u8][..], &toa4].concat()),
        (ACK, [&[1u8, 0][..], &toa4].concat()),
        // Kind 254 of other lengths: someone else's experiment.
        (ACK, vec![254, 4, 0xf9, 0x89]),
        (ACK, vec![254, 12, 0xf9, 0x89, 1, 2, 3, 4, 5, 6, 7, 8]),
        (ACK, vec![254, 2]),
        // On a SYN (DPVS never puts it there; RFC 6994 experiments such as TCP Fast Open's
        // pre-RFC form do, with lengths 8 and 20 among theirs).
        (SYN, toa4.clone()),
        (SYN | ACK, toa4.clone()),
        // Other options only.
        (ACK, NOP_NOP_TS.to_vec()),
    ];
    for (flags, opts) in none {
        for outer in [Family::V4, Family::V6] {
            let p = plain(outer, IPPROTO_TCP, &tcp(flags, &opts, b""));
            assert_eq!(parse(&p), Ok(None), "flags {flags:#x} {opts:?}");
        }
    }
}

#[test]
fn toa_duplicate() {
    let toa4 = tcpopt_addr(Caddr::In(CIP4), CPORT);
    let toa6 = tcpopt_addr(Caddr::In6(CIP6), CPORT);
    for opts in [[&toa4[..], &toa4].concat(), [&toa4[..], &toa6].concat()] {
        let p = plain(Family::V4, IPPROTO_TCP, &tcp(ACK, &opts, b""));
        assert_eq!(parse(&p), Err(Error::DuplicateAddress));
    }
}

#[test]
fn toa_behind_ipv6_extension_headers() {
    let seg = tcp(ACK, &tcpopt_addr(Caddr::In(CIP4), CPORT), b"x");
    // A Destination Options header of padding only (PadN).
    let dst = ext_header(IPPROTO_TCP, &[1, 4, 0, 0, 0, 0]);
    let p = ipv6(60, &dst, &seg);
    let r = found(&p);
    assert_eq!((r.kind, r.transport_offset), (Kind::Toa, 48));
    // Beside the unified option: each parser finds its own.
    let c = carried6();
    let p = packet_with_dstopt_and(&c, &seg);
    assert_eq!(found(&p).client, client_of(Caddr::In(CIP4), CPORT));
    assert_eq!(toa_uoa_codec::parse_packet(&p).unwrap().unwrap().carried, c);
    // A cut chain in front of TCP.
    let mut cut = ipv6(60, &dst, &seg);
    cut.truncate(44);
    assert_eq!(parse(&cut), Err(Error::V6HeaderChain));
    // A later fragment: no TCP header to look into.
    let frag_later = [IPPROTO_TCP, 0, 0x00, 0x08, 0, 0, 0, 1];
    assert_eq!(parse(&ipv6(44, &frag_later, &seg)), Ok(None));
    let frag_first = [IPPROTO_TCP, 0, 0x00, 0x01, 0, 0, 0, 1];
    assert_eq!(found(&ipv6(44, &frag_first, &seg)).transport_offset, 48);
}

fn packet_with_dstopt_and(c: &toa_uoa_codec::Carried, seg: &[u8]) -> Vec<u8> {
    let mut chain = v6_dstopt(c, IPPROTO_TCP);
    chain.extend_from_slice(seg);
    ipv6(60, &chain, &[])
}

#[test]
fn ipo_each_family() {
    for c in caddrs() {
        let orig = udp_plain(Family::V4);
        let p = insert_ipopt_uoa(&orig, c, CPORT);
        let hl = 20 + c.bytes().len() + 4;
        assert_eq!(usize::from(p[0] & 0x0f) * 4, hl);
        assert_eq!(
            found(&p),
            Parsed {
                kind: Kind::UoaIpo,
                client: client_of(c, CPORT),
                protocol: IPPROTO_UDP,
                transport_offset: hl,
                opp: None,
            }
        );
        let t = found(&p).outer_tuple(&p).unwrap();
        assert_eq!((t.sport, t.dport), (LPORT, RPORT));
        // The unified parser calls it malformed (its own type, a length it does not know).
        assert_eq!(
            toa_uoa_codec::parse_packet(&p),
            Err(toa_uoa_codec::Error::V4BadOptionLength)
        );
    }
    // Standalone datagram (ipo mode): empty UDP payload.
    let p = send_standalone_uoa(&LIP4, LPORT, &RIP4, RPORT, Caddr::In(CIP4), CPORT, true);
    let r = found(&p);
    assert_eq!((r.kind, r.transport_offset), (Kind::UoaIpo, 28));
    assert_eq!(r.client, client_of(Caddr::In(CIP4), CPORT));
}

#[test]
fn ipo_among_other_options() {
    let uoa = ipopt_uoa(Caddr::In(CIP4), CPORT);
    let ra = [148u8, 4, 0, 0];
    let unified = v4_option(&carried4());
    for opts in [
        [&[1u8, 1, 1, 1][..], &uoa].concat(),
        [&ra[..], &uoa].concat(),
        [&uoa[..], &ra].concat(),
        [&uoa[..], &[0, 0, 0, 0]].concat(),
        // Beside a unified option (walked over by this parser).
        [&unified[..], &uoa].concat(),
        [&uoa[..], &unified].concat(),
    ] {
        let p = ipv4(&opts, IPPROTO_UDP, &common::transport(IPPROTO_UDP, b"x"));
        let r = found(&p);
        assert_eq!(r.kind, Kind::UoaIpo, "{opts:?}");
        assert_eq!(r.transport_offset, 20 + opts.len());
    }
    // After an EOL: not read.
    let opts = [&[0u8, 0, 0, 0][..], &uoa].concat();
    let p = ipv4(&opts, IPPROTO_UDP, &common::transport(IPPROTO_UDP, b"x"));
    assert_eq!(parse(&p), Ok(None));
    // The unified option alone: nothing of DPVS's.
    let p = packet_with_option(Family::V4, &carried6(), IPPROTO_UDP);
    assert_eq!(parse(&p), Ok(None));
    // Two of them.
    let p = ipv4(
        &[&uoa[..], &uoa].concat(),
        IPPROTO_UDP,
        &common::transport(IPPROTO_UDP, b"x"),
    );
    assert_eq!(parse(&p), Err(Error::DuplicateAddress));
}

#[test]
fn ipo_every_length() {
    for len in 0..=255u8 {
        // Type 31 with this length, the body filled up to the room IPv4 has (40 bytes).
        let mut opts = vec![31, len];
        opts.resize(usize::from(len).clamp(2, 40), 0);
        if len == 16 || len == 40 {
            // A well-formed unified option (operation bit = family).
            opts[2] = u8::from(len == 40);
        }
        while opts.len() % 4 != 0 {
            opts.push(0);
        }
        let p = ipv4(&opts, IPPROTO_UDP, &common::transport(IPPROTO_UDP, b""));
        let expected = match len {
            8 | 20 => Ok(Kind::UoaIpo),
            16 | 40 => Err(None),
            _ => Err(Some(Error::UoaBadLength)),
        };
        match expected {
            Ok(k) => assert_eq!(found(&p).kind, k, "len {len}"),
            Err(None) => assert_eq!(parse(&p), Ok(None), "len {len}"),
            Err(Some(e)) => assert_eq!(parse(&p), Err(e), "len {len}"),
        }
    }
    // A right length the header does not hold.
    let p = ipv4(&[1, 1, 1, 1, 31, 8, 0, 1], IPPROTO_UDP, &[]);
    assert_eq!(parse(&p), Err(Error::OptionPastHeader));
    let p = ipv4(&[1, 1, 1, 31], IPPROTO_UDP, &[]);
    assert_eq!(parse(&p), Err(Error::OptionPastHeader));
    // Other options' lengths.
    for (opts, e) in [
        ([1u8, 30, 0, 0], Error::OptionLengthZeroOrOne),
        ([1, 30, 1, 0], Error::OptionLengthZeroOrOne),
        ([30, 5, 0, 0], Error::OptionPastHeader),
        ([1, 1, 1, 30], Error::OptionPastHeader),
    ] {
        let p = ipv4(&opts, IPPROTO_UDP, &[]);
        assert_eq!(parse(&p), Err(e), "{opts:?}");
    }
}

/// Removes the opp header as the kernel side will, from what the parser reports.
fn strip(p: &[u8], r: &Parsed) -> Vec<u8> {
    let o: OppHeader = r.opp.unwrap();
    let mut out = p[..o.offset].to_vec();
    out.extend_from_slice(&p[o.offset + o.len..]);
    out[o.protocol_field] = r.protocol;
    if out[0] >> 4 == 4 {
        let tot = usize::from(u16::from_be_bytes([out[2], out[3]])) - o.len;
        out[2..4].copy_from_slice(&(tot as u16).to_be_bytes());
        ip_send_check(&mut out);
    } else {
        let plen = usize::from(u16::from_be_bytes([out[4], out[5]])) - o.len;
        out[4..6].copy_from_slice(&(plen as u16).to_be_bytes());
    }
    out
}

#[test]
fn opp_each_family() {
    for outer in [Family::V4, Family::V6] {
        for c in caddrs() {
            let orig = udp_plain(outer);
            let p = insert_opp_uoa(&orig, c, CPORT);
            let l3 = if outer == Family::V4 { 20 } else { 40 };
            let opp_len = 4 + 4 + c.bytes().len();
            let r = found(&p);
            assert_eq!(
                r,
                Parsed {
                    kind: Kind::UoaOpp,
                    client: client_of(c, CPORT),
                    protocol: IPPROTO_UDP,
                    transport_offset: l3 + opp_len,
                    opp: Some(OppHeader {
                        offset: l3,
                        len: opp_len,
                        protocol_field: if outer == Family::V4 { 9 } else { 6 },
                        version: if c.bytes().len() == 4 { 1 } else { 2 },
                    }),
                },
                "{outer:?} {c:?}"
            );
            let t = r.outer_tuple(&p).unwrap();
            assert_eq!((t.sport, t.dport, t.protocol), (LPORT, RPORT, IPPROTO_UDP));
            // Removed as reported, the packet is the original UDP one (IPv4: DPVS sends UDP
            // checksum 0 with an opp header; everything else is as it was).
            let mut back = strip(&p, &r);
            if outer == Family::V4 {
                assert_eq!(&back[26..28], &[0, 0]);
                back[26..28].copy_from_slice(&orig[26..28]);
            } else {
                assert_eq!(back, strip_opp_v6(&p), "DPVS's own removal");
            }
            assert_eq!(back, orig, "{outer:?} {c:?}");
            // The unified parser has nothing to say about it.
            assert_eq!(toa_uoa_codec::parse_packet(&p), Ok(None));
        }
    }
}

#[test]
fn opp_behind_ipv4_options_and_standalone() {
    let ra = [148u8, 4, 0, 0];
    let orig = ipv4(&ra, IPPROTO_UDP, &common::transport(IPPROTO_UDP, b"x"));
    let p = insert_opp_uoa(&orig, Caddr::In(CIP4), CPORT);
    let r = found(&p);
    assert_eq!(r.opp.unwrap().offset, 24);
    assert_eq!(r.transport_offset, 36);
    for c in caddrs() {
        let p = send_standalone_uoa(&LIP4, LPORT, &RIP4, RPORT, c, CPORT, false);
        let r = found(&p);
        assert_eq!((r.kind, r.client), (Kind::UoaOpp, client_of(c, CPORT)));
        let p = send_standalone_uoa(&LIP6, LPORT, &RIP6, RPORT, c, CPORT, false);
        let r = found(&p);
        assert_eq!((r.kind, r.client), (Kind::UoaOpp, client_of(c, CPORT)));
        assert_eq!(r.outer_tuple(&p).unwrap().sport, LPORT);
    }
}

/// An IPv4 packet whose opp header is `opp` (taken as it is) followed by a UDP header.
fn v4_opp(opp: &[u8]) -> Vec<u8> {
    ipv4(
        &[],
        IPPROTO_OPT,
        &[opp, &common::transport(IPPROTO_UDP, b"x")].concat(),
    )
}

#[test]
fn opp_malformed() {
    let uoa4 = ipopt_uoa(Caddr::In(CIP4), CPORT);
    let uoa6 = ipopt_uoa(Caddr::In6(CIP6), CPORT);
    for version in (0..16u8).filter(|v| *v != 1 && *v != 2) {
        let p = v4_opp(&opphdr(version, 17, &uoa4));
        assert_eq!(parse(&p), Err(Error::OppBadVersion), "version {version}");
    }
    // Reserved bits are ignored.
    let mut o = opphdr(1, 17, &uoa4);
    o[0] |= 0x0f;
    assert_eq!(found(&v4_opp(&o)).kind, Kind::UoaOpp);
    for proto in [6u8, 1, 248, 0] {
        let p = v4_opp(&opphdr(1, proto, &uoa4));
        assert_eq!(parse(&p), Err(Error::OppNotUdp), "protocol {proto}");
    }
    for len in [0u16, 1, 2, 3, 5, 11, 13, 48, 0xffff] {
        let mut o = opphdr(1, 17, &uoa4);
        o[2..4].copy_from_slice(&len.to_be_bytes());
        assert_eq!(parse(&v4_opp(&o)), Err(Error::OppBadLength), "length {len}");
    }
    // 44 (the most accepted) in a packet that has fewer bytes.
    let mut o = opphdr(1, 17, &uoa4);
    o[2..4].copy_from_slice(&44u16.to_be_bytes());
    let p = ipv4(&[], IPPROTO_OPT, &o);
    assert_eq!(parse(&p), Err(Error::OppPastPacket));
    // 44 with room: the option then NOPs.
    let o = opphdr(1, 17, &[&uoa4[..], &[1u8; 32]].concat());
    assert_eq!(o.len(), 44);
    assert_eq!(found(&v4_opp(&o)).transport_offset, 64);
    // No address in it.
    for opts in [vec![1u8; 8], vec![0u8; 8], vec![], vec![148, 4, 0, 0]] {
        let p = v4_opp(&opphdr(1, 17, &opts));
        assert_eq!(parse(&p), Err(Error::OppNoAddress), "{opts:?}");
    }
    // An EOL before the option hides it.
    let p = v4_opp(&opphdr(1, 17, &[&[0u8, 1, 1, 1][..], &uoa4].concat()));
    assert_eq!(parse(&p), Err(Error::OppNoAddress));
    // Version and family disagree.
    assert_eq!(
        parse(&v4_opp(&opphdr(1, 17, &uoa6))),
        Err(Error::OppVersionMismatch)
    );
    assert_eq!(
        parse(&v4_opp(&opphdr(2, 17, &uoa4))),
        Err(Error::OppVersionMismatch)
    );
    // Two options.
    assert_eq!(
        parse(&v4_opp(&opphdr(1, 17, &[&uoa4[..], &uoa4].concat()))),
        Err(Error::DuplicateAddress)
    );
    // The unified lengths are wrong here.
    let mut bad = vec![31u8, 16, 0, 0];
    bad.resize(16, 0);
    assert_eq!(
        parse(&v4_opp(&opphdr(1, 17, &bad))),
        Err(Error::UoaBadLength)
    );
    let mut bad = uoa4.clone();
    bad[1] = 12;
    bad.resize(12, 0);
    assert_eq!(
        parse(&v4_opp(&opphdr(1, 17, &bad))),
        Err(Error::UoaBadLength)
    );
    // Option lengths inside it.
    assert_eq!(
        parse(&v4_opp(&opphdr(1, 17, &[1, 1, 30, 0]))),
        Err(Error::OptionLengthZeroOrOne)
    );
    assert_eq!(
        parse(&v4_opp(&opphdr(1, 17, &[1, 1, 30, 3]))),
        Err(Error::OptionPastHeader)
    );
    assert_eq!(
        parse(&v4_opp(&opphdr(1, 17, &[1, 1, 1, 31]))),
        Err(Error::OptionPastHeader)
    );
    // Fewer than 4 bytes of it.
    for n in 0..4 {
        let p = ipv4(&[], IPPROTO_OPT, &opphdr(1, 17, &uoa4)[..n]);
        assert_eq!(parse(&p), Err(Error::OppTruncated), "{n} bytes");
    }
}

#[test]
fn two_formats_at_once() {
    // ipo and opp.
    let orig = insert_ipopt_uoa(&udp_plain(Family::V4), Caddr::In(CIP4), CPORT);
    let p = insert_opp_uoa(&orig, Caddr::In(CIP4), CPORT);
    assert_eq!(parse(&p), Err(Error::DuplicateAddress));
    // ipo and TOA.
    let seg = tcp(ACK, &tcpopt_addr(Caddr::In(CIP4), CPORT), b"");
    let p = ipv4(&ipopt_uoa(Caddr::In(CIP4), CPORT), IPPROTO_TCP, &seg);
    assert_eq!(parse(&p), Err(Error::DuplicateAddress));
    // ipo on a TCP SYN: the ipo alone.
    let seg = tcp(SYN, &tcpopt_addr(Caddr::In(CIP4), CPORT), b"");
    let p = ipv4(&ipopt_uoa(Caddr::In6(CIP6), CPORT), IPPROTO_TCP, &seg);
    let r = found(&p);
    assert_eq!((r.kind, r.protocol), (Kind::UoaIpo, IPPROTO_TCP));
}

#[test]
fn opp_behind_ipv6_extension_headers() {
    let o = opp_for(Caddr::In6(CIP6), CPORT);
    let rest = [&o[..], &common::transport(IPPROTO_UDP, b"x")].concat();
    let dst = ext_header(IPPROTO_OPT, &[1, 4, 0, 0, 0, 0]);
    assert_eq!(
        parse(&ipv6(60, &dst, &rest)),
        Err(Error::OppBehindExtHeaders)
    );
    // Directly after the fixed header, the same bytes are read.
    assert_eq!(found(&ipv6(IPPROTO_OPT, &[], &rest)).kind, Kind::UoaOpp);
}

#[test]
fn ip_level_errors_and_fast_paths() {
    assert_eq!(parse(&[]), Err(Error::Truncated));
    let v4 = udp_plain(Family::V4);
    for version in [0u8, 1, 5, 7, 15] {
        let mut p = v4.clone();
        p[0] = version << 4 | 5;
        assert_eq!(parse(&p), Err(Error::BadIpVersion), "version {version}");
    }
    for ihl in 0..5u8 {
        let mut p = insert_ipopt_uoa(&v4, Caddr::In(CIP4), CPORT);
        p[0] = 0x40 | ihl;
        assert_eq!(parse(&p), Err(Error::BadIhl), "ihl {ihl}");
    }
    let mut p = v4.clone();
    p[0] = 0x4f;
    assert_eq!(parse(&p), Err(Error::V4HeaderPastPacket));
    // Nothing of DPVS's: plain UDP, ICMP, IPv6 UDP, IPv6 No Next Header.
    assert_eq!(parse(&v4), Ok(None));
    assert_eq!(parse(&ipv4(&[], 1, &[8, 0, 0, 0])), Ok(None));
    assert_eq!(parse(&udp_plain(Family::V6)), Ok(None));
    assert_eq!(parse(&ipv6(59, &[], &[])), Ok(None));
    // Plain TCP without options, and with.
    for flags in [SYN, ACK, SYN | ACK, 0x04, 0x11] {
        for outer in [Family::V4, Family::V6] {
            let p = plain(outer, IPPROTO_TCP, &tcp(flags, &NOP_NOP_TS, b"data"));
            assert_eq!(parse(&p), Ok(None));
            let p = plain(outer, IPPROTO_TCP, &tcp(flags, &[], b""));
            assert_eq!(parse(&p), Ok(None));
        }
    }
}

#[test]
fn ipv4_fragments() {
    let seg = tcp(ACK, &tcpopt_addr(Caddr::In(CIP4), CPORT), b"");
    let mut p = ipv4(&[], IPPROTO_TCP, &seg);
    // First fragment (MF, offset 0): read.
    p[6] = 0x20;
    assert_eq!(found(&p).kind, Kind::Toa);
    // A later fragment: its payload is not a TCP header.
    p[6] = 0x20;
    p[7] = 0x10;
    assert_eq!(parse(&p), Ok(None));
    let mut p = v4_opp(&opp_for(Caddr::In(CIP4), CPORT));
    p[7] = 1;
    assert_eq!(parse(&p), Ok(None));
    // The ipo option is in the header of any fragment (DPVS's is "not copied", so only the
    // first has it; read wherever it is).
    let mut p = insert_ipopt_uoa(&udp_plain(Family::V4), Caddr::In(CIP4), CPORT);
    p[7] = 1;
    assert_eq!(found(&p).kind, Kind::UoaIpo);
}

#[test]
fn tcp_header_shapes() {
    let toa4 = tcpopt_addr(Caddr::In(CIP4), CPORT);
    for outer in [Family::V4, Family::V6] {
        let l3 = if outer == Family::V4 { 20 } else { 40 };
        let base = plain(outer, IPPROTO_TCP, &tcp(ACK, &toa4, b""));
        for doff in 0..5u8 {
            let mut p = base.clone();
            p[l3 + 12] = doff << 4;
            assert_eq!(parse(&p), Err(Error::TcpBadDataOffset), "doff {doff}");
        }
        let mut p = base.clone();
        p[l3 + 12] = 0xf0;
        assert_eq!(parse(&p), Err(Error::TcpHeaderPastPacket));
        for (opts, e) in [
            (vec![1u8, 1, 30, 0], Error::TcpOptionLengthZeroOrOne),
            (vec![1, 1, 30, 1], Error::TcpOptionLengthZeroOrOne),
            (vec![1, 1, 1, 30], Error::TcpOptionPastHeader),
            (vec![1, 1, 30, 3], Error::TcpOptionPastHeader),
            (vec![1, 1, 1, 1, 254, 8, 0, 1], Error::TcpOptionPastHeader),
            (vec![254, 20, 0, 1, 1, 2, 3, 4], Error::TcpOptionPastHeader),
            (vec![254, 0, 0, 0], Error::TcpOptionLengthZeroOrOne),
            (vec![254, 1, 0, 0], Error::TcpOptionLengthZeroOrOne),
        ] {
            let p = plain(outer, IPPROTO_TCP, &tcp(ACK, &opts, b"payload"));
            assert_eq!(parse(&p), Err(e), "{opts:?}");
        }
    }
}

/// Every well-formed DPVS packet of the tests, with the shortest prefix that still parses.
fn corpus() -> Vec<(Vec<u8>, usize)> {
    let mut v = Vec::new();
    for outer in [Family::V4, Family::V6] {
        let l3 = if outer == Family::V4 { 20 } else { 40 };
        for c in caddrs() {
            let tcp_pkt = plain(outer, IPPROTO_TCP, &tcp(ACK, &NOP_NOP_TS, b"GET /"));
            let toa = tcp_in_add_toa(&tcp_pkt, c, CPORT);
            let doff = usize::from(toa[l3 + 12] >> 4) * 4;
            v.push((toa, l3 + doff));
            let opp = insert_opp_uoa(&udp_plain(outer), c, CPORT);
            let need = l3 + 8 + c.bytes().len();
            v.push((opp, need));
            if outer == Family::V4 {
                let ipo = insert_ipopt_uoa(&udp_plain(outer), c, CPORT);
                let need = usize::from(ipo[0] & 0xf) * 4;
                v.push((ipo, need));
            }
        }
    }
    v
}

#[test]
fn every_truncation_point() {
    for (p, need) in corpus() {
        let full = found(&p);
        let l3 = if p[0] >> 4 == 4 {
            usize::from(p[0] & 0xf) * 4
        } else {
            40
        };
        let fixed = if p[0] >> 4 == 4 { 20 } else { 40 };
        for n in 0..p.len() {
            let got = parse(&p[..n]);
            if n >= need {
                assert_eq!(got, Ok(Some(full)), "{} of {:02x?}", n, p);
                continue;
            }
            let expected = if n < fixed {
                Error::Truncated
            } else if n < l3 {
                Error::V4HeaderPastPacket
            } else {
                match full.kind {
                    Kind::Toa => Error::TcpHeaderPastPacket,
                    Kind::UoaOpp if n < l3 + 4 => Error::OppTruncated,
                    Kind::UoaOpp => Error::OppPastPacket,
                    Kind::UoaIpo => unreachable!("ipo needs only the IP header"),
                }
            };
            assert_eq!(got, Err(expected), "{} bytes of {:02x?}", n, p);
        }
    }
}

fn caddr_strategy() -> impl Strategy<Value = Caddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(Caddr::In),
        any::<[u8; 16]>().prop_map(Caddr::In6),
    ]
}

proptest! {
    /// Whatever client, port, outer family and format DPVS sends, the parser reads it back.
    #[test]
    fn dpvs_encoded_reads_back(c in caddr_strategy(), cport in any::<u16>(), v6 in any::<bool>(),
                               which in 0..3u8, payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        let outer = if v6 { Family::V6 } else { Family::V4 };
        let (p, kind) = match which {
            0 => (tcp_in_add_toa(&plain(outer, IPPROTO_TCP, &tcp(ACK, &NOP_NOP_TS, &payload)), c, cport), Kind::Toa),
            1 => (insert_opp_uoa(&plain(outer, IPPROTO_UDP, &common::transport(IPPROTO_UDP, &payload)), c, cport), Kind::UoaOpp),
            _ => (insert_ipopt_uoa(&plain(Family::V4, IPPROTO_UDP, &common::transport(IPPROTO_UDP, &payload)), c, cport), Kind::UoaIpo),
        };
        let r = dpvs::parse_packet(&p).unwrap().unwrap();
        prop_assert_eq!(r.kind, kind);
        prop_assert_eq!(r.client, client_of(c, cport));
        prop_assert!(r.transport_offset <= p.len());
        prop_assert_eq!(r.outer_tuple(&p).map(|t| (t.sport, t.dport)), Some((LPORT, RPORT)));
    }

    /// Any bytes: no panic, offsets inside the packet, and bytes past what the verdict needed
    /// change nothing.
    #[test]
    fn arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..160)) {
        let r = dpvs::parse_packet(&data);
        if let Ok(Some(p)) = r {
            prop_assert!(p.transport_offset <= data.len());
            if let Some(o) = p.opp {
                prop_assert_eq!(o.offset + o.len, p.transport_offset);
                prop_assert_eq!(data[o.protocol_field], dpvs::IPPROTO_OPP);
            }
            if p.kind != Kind::Toa {
                let mut longer = data[..p.transport_offset].to_vec();
                longer.extend_from_slice(&[0xa5; 32]);
                prop_assert_eq!(dpvs::parse_packet(&longer), r);
            }
        }
    }

    /// Mostly well-formed packets with one byte changed: no panic, sane offsets.
    #[test]
    fn one_byte_changed(at in any::<prop::sample::Index>(), byte in any::<u8>(), which in 0..20usize) {
        let corpus = corpus();
        let (mut p, _) = corpus[which % corpus.len()].clone();
        let i = at.index(p.len());
        p[i] = byte;
        if let Ok(Some(r)) = dpvs::parse_packet(&p) {
            prop_assert!(r.transport_offset <= p.len());
        }
    }
}

/// The fuzzer's DPVS seeds were made by tests/tools/dpvs_send.py --print (ipo, opp) and by hand
/// as tcp_in_add_toa lays TOA out: another encoder from DPVS's definitions, read back here.
#[test]
fn fuzz_seeds_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let Some(rest) = name.strip_prefix("dpvs_") else {
            continue;
        };
        let (format, case) = rest.split_once('_').unwrap();
        let kind = match format {
            "toa" => Kind::Toa,
            "ipo" => Kind::UoaIpo,
            "opp" => Kind::UoaOpp,
            _ => panic!("{name}"),
        };
        let p = std::fs::read(&path).unwrap();
        let r = found(&p);
        assert_eq!(r.kind, kind, "{name}");
        let client_family = if case.starts_with('4') {
            Family::V4
        } else {
            Family::V6
        };
        assert_eq!(r.client.family, client_family, "{name}");
        assert_eq!(r.client.cport, 51515, "{name}");
        assert_eq!(r.outer_tuple(&p).unwrap().sport, 40123, "{name}");
        n += 1;
    }
    assert_eq!(n, 10);
}
