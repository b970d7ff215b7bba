//! Packet rewriting tests: lengths, next-header chains, IPv4 header checksums, transport
//! checksums (verified, not assumed, to be untouched), and the option read back by the module's
//! own parser.

use super::*;
use toa_uoa_codec::parse_packet;

const CIP4: [u8; 4] = [10, 1, 0, 2];
const VIP4: [u8; 4] = [10, 1, 0, 100];
const CIP6: [u8; 16] = [0xfd, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const VIP6: [u8; 16] = [0xfd, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

fn sum16(data: &[u8]) -> u32 {
    data.chunks(2)
        .map(|p| (u32::from(p[0]) << 8) | u32::from(*p.get(1).unwrap_or(&0)))
        .sum()
}

/// The one's-complement sum of the pseudo-header and the transport segment at `off`; a packet
/// whose checksum is right sums to 0xffff.
fn transport_sum(pkt: &[u8], off: usize, proto: u8) -> u16 {
    let seg = &pkt[off..];
    let mut sum = sum16(seg);
    if pkt[0] >> 4 == 4 {
        sum += sum16(&pkt[12..20]);
    } else {
        sum += sum16(&pkt[8..40]);
    }
    sum += u32::from(proto);
    sum += seg.len() as u32;
    fold(sum)
}

fn transport(proto: u8, sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    if proto == IPPROTO_TCP {
        t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    } else {
        let len = (8 + data.len()) as u16;
        t.extend_from_slice(&len.to_be_bytes());
        t.extend_from_slice(&[0, 0]);
    }
    t.extend_from_slice(data);
    t
}

fn set_transport_checksum(pkt: &mut [u8], off: usize, proto: u8) {
    let at = off + if proto == IPPROTO_TCP { 16 } else { 6 };
    pkt[at] = 0;
    pkt[at + 1] = 0;
    let sum = !transport_sum(pkt, off, proto);
    pkt[at..at + 2].copy_from_slice(&sum.to_be_bytes());
    assert_eq!(transport_sum(pkt, off, proto), 0xffff);
}

fn ipv4(proto: u8, data: &[u8]) -> Vec<u8> {
    let t = transport(proto, 40080, 80, data);
    let total = (20 + t.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0x12, 0x34, 0x40, 0, 64, proto, 0, 0]);
    p.extend_from_slice(&CIP4);
    p.extend_from_slice(&VIP4);
    p.extend_from_slice(&t);
    let c = ipv4_header_checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    set_transport_checksum(&mut p, 20, proto);
    p
}

fn ipv6(proto: u8, data: &[u8]) -> Vec<u8> {
    let t = transport(proto, 40086, 80, data);
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(t.len() as u16).to_be_bytes());
    p.extend_from_slice(&[proto, 64]);
    p.extend_from_slice(&CIP6);
    p.extend_from_slice(&VIP6);
    p.extend_from_slice(&t);
    set_transport_checksum(&mut p, 40, proto);
    p
}

fn ipv4_header_ok(pkt: &[u8]) -> bool {
    let hl = usize::from(pkt[0] & 0xf) * 4;
    fold(sum16(&pkt[..hl])) == 0xffff
}

/// Checks everything about a rewritten packet against the original.
fn check_rewritten(orig: &[u8], new: &[u8], c: &Carried) {
    let (ohl, proto) = if orig[0] >> 4 == 4 {
        (20, orig[9])
    } else {
        (40, orig[6])
    };
    let grow = c.family.encoded_len();
    assert_eq!(new.len(), orig.len() + grow);
    // The transport segment moved intact.
    assert_eq!(&new[ohl + grow..], &orig[ohl..]);
    if orig[0] >> 4 == 4 {
        assert_eq!(usize::from(new[0] & 0xf), 5 + grow / 4);
        assert_eq!(usize::from(u16::from_be_bytes([new[2], new[3]])), new.len());
        assert!(ipv4_header_ok(new), "IPv4 header checksum");
        // Everything else of the fixed header is as it was.
        assert_eq!(&new[4..10], &orig[4..10]);
        assert_eq!(&new[12..20], &orig[12..20]);
    } else {
        assert_eq!(new[6], IPV6_HEADER_DST);
        assert_eq!(new[40], proto, "dstopt next header = the transport");
        assert_eq!(
            usize::from(u16::from_be_bytes([new[4], new[5]])),
            new.len() - 40
        );
        assert_eq!(&new[8..40], &orig[8..40]);
    }
    // The transport checksum, unchanged, is still right over the new packet.
    assert_eq!(transport_sum(new, ohl + grow, proto), 0xffff);
    // The module's parser reads back what was put in, and finds the transport.
    let parsed = parse_packet(new)
        .expect("well-formed")
        .expect("option present");
    assert_eq!(&parsed.carried, c);
    assert_eq!(parsed.protocol, proto);
    assert_eq!(parsed.transport_offset, ohl + grow);
}

#[test]
fn ipv4_tcp_and_udp() {
    for proto in [IPPROTO_TCP, IPPROTO_UDP] {
        let p = ipv4(proto, b"GET / HTTP/1.1\r\n\r\n");
        let new = process(&p, 1500).expect("rewritten");
        let c = Carried::v4(CIP4, 40080, VIP4, 80);
        check_rewritten(&p, &new, &c);
        assert_eq!(new[0], 0x49);
    }
}

#[test]
fn ipv6_tcp_and_udp() {
    for proto in [IPPROTO_TCP, IPPROTO_UDP] {
        let p = ipv6(proto, b"query");
        let new = process(&p, 1500).expect("rewritten");
        let c = Carried::v6(CIP6, 40086, VIP6, 80);
        check_rewritten(&p, &new, &c);
        assert_eq!(new[41], 4, "hdrlen 4: 40 bytes");
    }
}

#[test]
fn empty_payloads() {
    // A bare SYN / an empty datagram.
    for proto in [IPPROTO_TCP, IPPROTO_UDP] {
        let p = ipv4(proto, b"");
        check_rewritten(
            &p,
            &process(&p, 1500).unwrap(),
            &Carried::v4(CIP4, 40080, VIP4, 80),
        );
        let p = ipv6(proto, b"");
        check_rewritten(
            &p,
            &process(&p, 1500).unwrap(),
            &Carried::v6(CIP6, 40086, VIP6, 80),
        );
    }
}

#[test]
fn cross_family_carried() {
    // 64: IPv6 client addresses in an IPv4 packet fill the whole option space (IHL 15).
    let c6 = Carried::v6(CIP6, 1, VIP6, 2);
    let p = ipv4(IPPROTO_TCP, b"x");
    let new = insert(&p, &c6, 1500).unwrap();
    assert_eq!(new[0], 0x4f);
    check_rewritten(&p, &new, &c6);
    // 46: IPv4 client addresses in an IPv6 dstopt of 16 bytes (hdrlen 1).
    let c4 = Carried::v4(CIP4, 1, VIP4, 2);
    let p = ipv6(IPPROTO_UDP, b"x");
    let new = insert(&p, &c4, 1500).unwrap();
    assert_eq!(new[41], 1);
    check_rewritten(&p, &new, &c4);
}

#[test]
fn mtu_boundary() {
    let p = ipv4(IPPROTO_TCP, &[7u8; 100]);
    let fits = p.len() + 16;
    assert!(process(&p, fits).is_ok());
    assert_eq!(process(&p, fits - 1), Err(Skip::TooBig));
    let p = ipv6(IPPROTO_UDP, &[7u8; 100]);
    let fits = p.len() + 40;
    assert!(process(&p, fits).is_ok());
    assert_eq!(process(&p, fits - 1), Err(Skip::TooBig));
}

#[test]
fn ipv4_with_options_left_alone() {
    let mut p = ipv4(IPPROTO_TCP, b"x");
    // Add a 4-byte NOP,NOP,NOP,EOL option: IHL 6.
    p.splice(20..20, [1, 1, 1, 0]);
    p[0] = 0x46;
    let total = p.len() as u16;
    p[2..4].copy_from_slice(&total.to_be_bytes());
    assert_eq!(process(&p, 1500), Err(Skip::HasIpv4Options));
}

#[test]
fn ipv6_with_ext_headers_left_alone() {
    let mut p = ipv6(IPPROTO_TCP, b"x");
    // A Hop-by-Hop header of 8 bytes (PadN) before TCP.
    p.splice(40..40, [IPPROTO_TCP, 0, 1, 4, 0, 0, 0, 0]);
    p[6] = 0;
    let plen = (p.len() - 40) as u16;
    p[4..6].copy_from_slice(&plen.to_be_bytes());
    assert_eq!(process(&p, 1500), Err(Skip::HasIpv6ExtHeaders));
    // Already rewritten once: not again.
    let once = process(&ipv6(IPPROTO_UDP, b"x"), 1500).unwrap();
    assert_eq!(process(&once, 1500), Err(Skip::HasIpv6ExtHeaders));
    let once = process(&ipv4(IPPROTO_UDP, b"x"), 1500).unwrap();
    assert_eq!(process(&once, 1500), Err(Skip::HasIpv4Options));
}

#[test]
fn other_transports_and_fragments() {
    let mut p = ipv4(IPPROTO_TCP, b"x");
    p[9] = 1; // ICMP
    assert_eq!(process(&p, 1500), Err(Skip::NotTcpUdp));
    let mut p = ipv6(IPPROTO_TCP, b"x");
    p[6] = 58; // ICMPv6
    assert_eq!(process(&p, 1500), Err(Skip::NotTcpUdp));
    let mut p = ipv4(IPPROTO_UDP, b"x");
    p[6] = 0x20; // MF: a first fragment
    assert_eq!(process(&p, 1500), Err(Skip::Fragment));
    p[6] = 0x00;
    p[7] = 0x10; // a later fragment
    assert_eq!(process(&p, 1500), Err(Skip::Fragment));
}

#[test]
fn malformed() {
    assert_eq!(process(&[], 1500), Err(Skip::Malformed));
    assert_eq!(process(&[0x45; 10], 1500), Err(Skip::Malformed));
    let p = ipv4(IPPROTO_TCP, b"x");
    assert_eq!(process(&p[..p.len() - 1], 1500), Err(Skip::Malformed));
    let p = ipv6(IPPROTO_UDP, b"x");
    assert_eq!(process(&p[..p.len() - 1], 1500), Err(Skip::Malformed));
    let mut p = ipv4(IPPROTO_UDP, b"");
    p.truncate(22); // the header says so too: 2 bytes of transport, no ports
    p[2..4].copy_from_slice(&22u16.to_be_bytes());
    assert_eq!(process(&p, 1500), Err(Skip::Malformed));
    assert_eq!(process(&[0x25; 60], 1500), Err(Skip::Malformed));
}

#[test]
fn trailing_bytes_beyond_total_length_dropped() {
    let p = ipv4(IPPROTO_UDP, b"abc");
    let mut padded = p.clone();
    padded.extend_from_slice(&[0; 6]);
    assert_eq!(process(&padded, 1500), process(&p, 1500));
}

#[test]
fn stats_count_and_render() {
    let mut s = Stats::default();
    let p4 = ipv4(IPPROTO_TCP, b"x");
    let p6 = ipv6(IPPROTO_TCP, b"x");
    s.count(&process(&p4, 1500), &p4, Format::Unified);
    s.count(&process(&p6, 1500), &p6, Format::Unified);
    s.count(&process(&p4, 20), &p4, Format::Unified);
    assert_eq!(s.packets, 3);
    assert_eq!(s.inserted_ipv4, 1);
    assert_eq!(s.inserted_ipv6, 1);
    assert_eq!(s.skipped[Skip::TooBig.index()], 1);
    let r = s.render();
    assert!(r.contains("inserted_ipv4 1\n"));
    assert!(r.contains("skipped_too_big 1\n"));
    assert!(r.contains("inserted_toa 0\ninserted_ipo 0\ninserted_opp 0\n"));
    // packets, inserted per family, per DPVS format, skips, then the four translation counters.
    assert_eq!(r.lines().count(), 3 + 3 + Skip::COUNT + 4);
}

// ---- DPVS's formats (--format dpvs-ipo / dpvs-opp) ----

use toa_uoa_codec::dpvs::{self as dpvs_parser, Kind};

const ACK: u8 = 0x10;
const SYN: u8 = 0x02;
/// NOP, NOP, Timestamps: what a Linux client's ACK carries.
const NOP_NOP_TS: [u8; 12] = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2];

/// A TCP segment 40080 -> 80 with `flags`, acknowledging `ack`, with `options` (a multiple of
/// 4 bytes) and `data`.
fn tcp_seg(flags: u8, ack: u32, options: &[u8], data: &[u8]) -> Vec<u8> {
    assert_eq!(options.len() % 4, 0);
    let mut t = 40080u16.to_be_bytes().to_vec();
    t.extend_from_slice(&80u16.to_be_bytes());
    t.extend_from_slice(&0x0102_0304u32.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.push(((5 + options.len() / 4) as u8) << 4);
    t.push(flags);
    t.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(options);
    t.extend_from_slice(data);
    t
}

/// An IPv4 or IPv6 packet (CIP -> VIP) around `seg` of `proto`, checksums right.
fn wrap(v6: bool, proto: u8, seg: &[u8]) -> Vec<u8> {
    let mut p = if v6 {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&(seg.len() as u16).to_be_bytes());
        p.extend_from_slice(&[proto, 64]);
        p.extend_from_slice(&CIP6);
        p.extend_from_slice(&VIP6);
        p
    } else {
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&((20 + seg.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0x12, 0x34, 0x40, 0, 64, proto, 0, 0]);
        p.extend_from_slice(&CIP4);
        p.extend_from_slice(&VIP4);
        let c = ipv4_header_checksum(&p[..20]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p
    };
    let off = p.len();
    p.extend_from_slice(seg);
    set_transport_checksum(&mut p, off, proto);
    p
}

fn client(v6: bool) -> Carried {
    if v6 {
        Carried::v6(CIP6, 40086, VIP6, 80)
    } else {
        Carried::v4(CIP4, 40080, VIP4, 80)
    }
}

#[test]
fn format_names() {
    for f in Format::ALL {
        assert_eq!(Format::parse(f.name()), Ok(f));
    }
    assert!(Format::parse("dpvs").is_err());
    assert_eq!(Format::default(), Format::Unified);
    assert_eq!(Format::DpvsOpp.inserted(IPPROTO_TCP), Inserted::Toa);
    assert_eq!(Format::DpvsOpp.inserted(IPPROTO_UDP), Inserted::Opp);
    assert_eq!(Format::DpvsIpo.inserted(IPPROTO_UDP), Inserted::Ipo);
    assert_eq!(Format::Unified.inserted(IPPROTO_TCP), Inserted::Unified);
}

#[test]
fn toa_bytes_lengths_and_checksums() {
    for outer_v6 in [false, true] {
        for client_v6 in [false, true] {
            let orig = wrap(
                outer_v6,
                IPPROTO_TCP,
                &tcp_seg(ACK, 7, &NOP_NOP_TS, b"GET /"),
            );
            let c = client(client_v6);
            let new = dpvs::insert_toa(&orig, &c, 1500).unwrap();
            let l3 = if outer_v6 { 40 } else { 20 };
            let len = if client_v6 { 20 } else { 8 };
            assert_eq!(new.len(), orig.len() + len);
            // The option, right after the 20-byte TCP header: kind, length, CPORT, CIP.
            assert_eq!(new[l3 + 20], 254);
            assert_eq!(usize::from(new[l3 + 21]), len);
            assert_eq!(&new[l3 + 22..l3 + 24], &c.cport.to_be_bytes());
            assert_eq!(&new[l3 + 24..l3 + 20 + len], c.cip_bytes());
            // The rest moved down intact, data offset raised, the rest of the headers as they
            // were but for the IP lengths and the IPv4 header checksum (checked below).
            assert_eq!(&new[l3 + 20 + len..], &orig[l3 + 20..]);
            let changed: &[usize] = if outer_v6 { &[4, 5] } else { &[2, 3, 10, 11] };
            let masked = |p: &[u8]| {
                let mut h = p[..l3 + 12].to_vec();
                changed.iter().for_each(|&i| h[i] = 0);
                h
            };
            assert_eq!(masked(&new), masked(&orig));
            assert_eq!(usize::from(new[l3 + 12] >> 4), 8 + len / 4);
            assert_eq!(new[l3 + 13], ACK);
            if outer_v6 {
                assert_eq!(
                    usize::from(u16::from_be_bytes([new[4], new[5]])),
                    new.len() - 40
                );
            } else {
                assert_eq!(usize::from(u16::from_be_bytes([new[2], new[3]])), new.len());
                assert!(ipv4_header_ok(&new));
            }
            // The TCP checksum, updated incrementally, is right, and is what a full
            // computation gives.
            assert_eq!(transport_sum(&new, l3, IPPROTO_TCP), 0xffff);
            let mut full = new.clone();
            set_transport_checksum(&mut full, l3, IPPROTO_TCP);
            assert_eq!(full, new);
            // The module's DPVS parser reads it back.
            let r = dpvs_parser::parse_packet(&new).unwrap().unwrap();
            assert_eq!(r.kind, Kind::Toa);
            assert_eq!(r.client.cip_bytes(), c.cip_bytes());
            assert_eq!(r.client.cport, c.cport);
        }
    }
}

#[test]
fn toa_on_the_segments_dpvs_gives_it() {
    for v6 in [false, true] {
        let mut stage = Stage::new(Format::DpvsOpp);
        let seg = |flags, ack, data: &[u8]| {
            wrap(v6, IPPROTO_TCP, &tcp_seg(flags, ack, &NOP_NOP_TS, data))
        };
        let has_toa = |r: &Result<Vec<u8>, Skip>| matches!(r, Ok(p) if dpvs_parser::parse_packet(p).unwrap().map(|x| x.kind) == Some(Kind::Toa));
        assert_eq!(stage.process(&seg(SYN, 0, b""), 1500), Err(Skip::ToaNotDue));
        // The ACK completing the handshake (it acknowledges the server's ISN + 1 = 1001).
        assert!(has_toa(&stage.process(&seg(ACK, 1001, b""), 1500)));
        // The client's data before the server's first data: the same acknowledgment number.
        assert!(has_toa(
            &stage.process(&seg(ACK | 0x08, 1001, b"GET /"), 1500)
        ));
        assert!(has_toa(
            &stage.process(&seg(ACK | 0x08, 1001, b"more"), 1500)
        ));
        // After the server's data: none.
        assert_eq!(
            stage.process(&seg(ACK, 1501, b""), 1500),
            Err(Skip::ToaNotDue)
        );
        assert_eq!(
            stage.process(&seg(0x04 | ACK, 1001, b""), 1500),
            Err(Skip::ToaNotDue)
        );
        assert_eq!(
            stage.process(&seg(0x04, 0, b""), 1500),
            Err(Skip::ToaNotDue)
        );
        // A new connection on the same tuple starts afresh at its SYN.
        assert_eq!(stage.process(&seg(SYN, 0, b""), 1500), Err(Skip::ToaNotDue));
        assert!(has_toa(&stage.process(&seg(ACK, 90001, b""), 1500)));
        assert_eq!(stage.toa_connections(), 1);
    }
}

#[test]
fn toa_room_and_mtu() {
    // 32 bytes of options (data offset 13): the 8-byte TOA fits (60), the 20-byte one does not.
    let opts: Vec<u8> = [&NOP_NOP_TS[..], &[1u8; 20]].concat();
    let p = wrap(false, IPPROTO_TCP, &tcp_seg(ACK, 1, &opts, b""));
    let new = dpvs::insert_toa(&p, &client(false), 1500).unwrap();
    assert_eq!(new[20 + 12] >> 4, 15);
    assert_eq!(
        dpvs::insert_toa(&p, &client(true), 1500),
        Err(Skip::NoTcpOptionRoom)
    );
    // The MTU: exactly fits, one byte short.
    let p = wrap(true, IPPROTO_TCP, &tcp_seg(ACK, 1, &NOP_NOP_TS, &[9; 100]));
    assert!(dpvs::insert_toa(&p, &client(true), p.len() + 20).is_ok());
    assert_eq!(
        dpvs::insert_toa(&p, &client(true), p.len() + 19),
        Err(Skip::TooBig)
    );
}

#[test]
fn ipo_bytes_lengths_and_checksums() {
    for client_v6 in [false, true] {
        let orig = wrap(
            false,
            IPPROTO_UDP,
            &transport(IPPROTO_UDP, 40080, 53, b"query"),
        );
        let c = client(client_v6);
        let new = dpvs::insert_ipo(&orig, &c, 1500).unwrap();
        let len = if client_v6 { 20 } else { 8 };
        assert_eq!(new.len(), orig.len() + len);
        assert_eq!(usize::from(new[0] & 0x0f), 5 + len / 4);
        assert_eq!(usize::from(u16::from_be_bytes([new[2], new[3]])), new.len());
        assert!(ipv4_header_ok(&new));
        assert_eq!(new[20], 31);
        assert_eq!(usize::from(new[21]), len);
        assert_eq!(&new[22..24], &c.cport.to_be_bytes());
        assert_eq!(&new[24..20 + len], c.cip_bytes());
        // The datagram moved intact, its checksum still right.
        assert_eq!(&new[20 + len..], &orig[20..]);
        assert_eq!(transport_sum(&new, 20 + len, IPPROTO_UDP), 0xffff);
        let r = dpvs_parser::parse_packet(&new).unwrap().unwrap();
        assert_eq!((r.kind, r.transport_offset), (Kind::UoaIpo, 20 + len));
        assert_eq!(r.client.cip_bytes(), c.cip_bytes());
    }
    // IPv6: no IPv4 option to put it in.
    let p = wrap(true, IPPROTO_UDP, &transport(IPPROTO_UDP, 1, 2, b"x"));
    assert_eq!(
        dpvs::insert_ipo(&p, &client(true), 1500),
        Err(Skip::IpoNotIpv4)
    );
    let mut stage = Stage::new(Format::DpvsIpo);
    assert_eq!(stage.process(&p, 1500), Err(Skip::IpoNotIpv4));
    // The MTU.
    let p = wrap(false, IPPROTO_UDP, &transport(IPPROTO_UDP, 1, 2, &[0; 50]));
    assert!(dpvs::insert_ipo(&p, &client(false), p.len() + 8).is_ok());
    assert_eq!(
        dpvs::insert_ipo(&p, &client(false), p.len() + 7),
        Err(Skip::TooBig)
    );
}

#[test]
fn opp_bytes_lengths_and_checksums() {
    for outer_v6 in [false, true] {
        for client_v6 in [false, true] {
            let orig = wrap(
                outer_v6,
                IPPROTO_UDP,
                &transport(IPPROTO_UDP, 40080, 53, b"query"),
            );
            let c = client(client_v6);
            let new = dpvs::insert_opp(&orig, &c, 1500).unwrap();
            let l3 = if outer_v6 { 40 } else { 20 };
            let uoa = if client_v6 { 20 } else { 8 };
            let opp = 4 + uoa;
            assert_eq!(new.len(), orig.len() + opp);
            // The opp header: version (high nibble), protocol 17, length; then UOA.
            assert_eq!(new[l3], if client_v6 { 0x20 } else { 0x10 });
            assert_eq!(new[l3 + 1], IPPROTO_UDP);
            assert_eq!(
                usize::from(u16::from_be_bytes([new[l3 + 2], new[l3 + 3]])),
                opp
            );
            assert_eq!(&new[l3 + 4..l3 + 6], &[31, uoa as u8]);
            assert_eq!(&new[l3 + 6..l3 + 8], &c.cport.to_be_bytes());
            assert_eq!(&new[l3 + 8..l3 + opp], c.cip_bytes());
            let udp = l3 + opp;
            if outer_v6 {
                assert_eq!(new[6], 248);
                assert_eq!(
                    usize::from(u16::from_be_bytes([new[4], new[5]])),
                    new.len() - 40
                );
                // The datagram as it was, checksum (over a pseudo-header of UDP) right.
                assert_eq!(&new[udp..], &orig[l3..]);
            } else {
                assert_eq!(new[9], 248);
                assert_eq!(usize::from(u16::from_be_bytes([new[2], new[3]])), new.len());
                assert!(ipv4_header_ok(&new));
                // As DPVS sends it over IPv4: UDP checksum 0, the rest as it was.
                assert_eq!(&new[udp + 6..udp + 8], &[0, 0]);
                assert_eq!(&new[udp..udp + 6], &orig[l3..l3 + 6]);
                assert_eq!(&new[udp + 8..], &orig[l3 + 8..]);
            }
            // Read back, and removed as the parser reports: the original UDP packet.
            let r = dpvs_parser::parse_packet(&new).unwrap().unwrap();
            assert_eq!((r.kind, r.transport_offset), (Kind::UoaOpp, udp));
            assert_eq!(r.client.cip_bytes(), c.cip_bytes());
            let o = r.opp.unwrap();
            let mut back = new[..o.offset].to_vec();
            back.extend_from_slice(&new[o.offset + o.len..]);
            back[o.protocol_field] = r.protocol;
            if outer_v6 {
                let plen = (back.len() - 40) as u16;
                back[4..6].copy_from_slice(&plen.to_be_bytes());
                assert_eq!(back, orig);
                assert_eq!(transport_sum(&back, 40, IPPROTO_UDP), 0xffff);
            } else {
                let total = back.len() as u16;
                back[2..4].copy_from_slice(&total.to_be_bytes());
                let sum = ipv4_header_checksum(&back[..20]);
                back[10..12].copy_from_slice(&sum.to_be_bytes());
                back[26..28].copy_from_slice(&orig[26..28]);
                assert_eq!(back, orig);
            }
        }
    }
    // The MTU.
    let p = wrap(true, IPPROTO_UDP, &transport(IPPROTO_UDP, 1, 2, &[0; 50]));
    assert!(dpvs::insert_opp(&p, &client(true), p.len() + 24).is_ok());
    assert_eq!(
        dpvs::insert_opp(&p, &client(true), p.len() + 23),
        Err(Skip::TooBig)
    );
}

#[test]
fn stage_formats_and_counters() {
    let udp4 = wrap(false, IPPROTO_UDP, &transport(IPPROTO_UDP, 40080, 53, b"q"));
    let udp6 = wrap(true, IPPROTO_UDP, &transport(IPPROTO_UDP, 40086, 53, b"q"));
    let ack4 = wrap(false, IPPROTO_TCP, &tcp_seg(ACK, 5, &[], b""));
    // Unified: as process().
    let mut unified = Stage::new(Format::Unified);
    assert_eq!(unified.process(&ack4, 1500), process(&ack4, 1500));
    assert_eq!(unified.process(&udp6, 1500), process(&udp6, 1500));
    let mut stats = Stats::default();
    for (format, pkt, kind) in [
        (Format::DpvsOpp, &udp4, Some(Kind::UoaOpp)),
        (Format::DpvsOpp, &udp6, Some(Kind::UoaOpp)),
        (Format::DpvsIpo, &udp4, Some(Kind::UoaIpo)),
        (Format::DpvsIpo, &udp6, None),
        (Format::DpvsIpo, &ack4, Some(Kind::Toa)),
    ] {
        let r = Stage::new(format).process(pkt, 1500);
        stats.count(&r, pkt, format);
        let got = r
            .ok()
            .map(|p| dpvs_parser::parse_packet(&p).unwrap().unwrap().kind);
        assert_eq!(got, kind, "{format:?}");
        // Carried: the client of the packet itself (DPVS carries no VIP).
    }
    assert_eq!(
        (stats.inserted_toa, stats.inserted_ipo, stats.inserted_opp),
        (1, 1, 2)
    );
    assert_eq!((stats.inserted_ipv4, stats.inserted_ipv6), (3, 1));
    assert_eq!(stats.skipped[Skip::IpoNotIpv4.index()], 1);
    let r = stats.render();
    assert!(
        r.contains("inserted_toa 1\ninserted_ipo 1\ninserted_opp 2\n"),
        "{r}"
    );
    assert!(r.contains("skipped_ipo_not_ipv4 1\n"));
    assert!(r.contains("skipped_toa_not_due 0\n"));
    assert!(r.contains("skipped_no_tcp_option_room 0\n"));
}
