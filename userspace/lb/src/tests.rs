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
    s.count(&process(&p4, 1500), &p4);
    s.count(&process(&p6, 1500), &p6);
    s.count(&process(&p4, 20), &p4);
    assert_eq!(s.packets, 3);
    assert_eq!(s.inserted_ipv4, 1);
    assert_eq!(s.inserted_ipv6, 1);
    assert_eq!(s.skipped[Skip::TooBig.index()], 1);
    let r = s.render();
    assert!(r.contains("inserted_ipv4 1\n"));
    assert!(r.contains("skipped_too_big 1\n"));
    // packets, inserted per family, skips, then the four translation counters.
    assert_eq!(r.lines().count(), 3 + Skip::COUNT + 4);
}
