//! An encoder of DPVS's formats written from DPVS's own definitions, not from `dpvs_codec.rs`:
//! the C structs of DPVS's headers laid out field by field, and the steps of the balancer's
//! functions that insert them, so that the tests check the parser against what DPVS sends.
//!
//! Sources (repository iqiyi/dpvs): `include/ipvs/proto_tcp.h` and `kmod/toa/toa.h` (TOA),
//! `include/uoa.h` (UOA option, opp header), `src/ipvs/ip_vs_proto_tcp.c` (`tcp_in_add_toa`),
//! `src/ipvs/ip_vs_proto_udp.c` (`insert_ipopt_uoa`, `insert_opp_uoa`, `send_standalone_uoa`,
//! `udp_send_csum`).
#![allow(dead_code)]

/// `TCP_OPT_ADDR` (proto_tcp.h), `TCPOPT_TOA` (toa.h).
pub const TCP_OPT_ADDR: u8 = 254;
/// `TCP_OLEN_IP4_ADDR`, `TCPOLEN_IP4_TOA`.
pub const TCP_OLEN_IP4_ADDR: u8 = 8;
/// `TCP_OLEN_IP6_ADDR`, `TCPOLEN_IP6_TOA`.
pub const TCP_OLEN_IP6_ADDR: u8 = 20;
/// `IPOPT_CONTROL` (linux/ip.h: class 0 << 5).
pub const IPOPT_CONTROL: u8 = 0x00;
/// `IPOPT_UOA = (31 | IPOPT_CONTROL)` (uoa.h).
pub const IPOPT_UOA: u8 = 31 | IPOPT_CONTROL;
/// `sizeof(struct ipopt_uoa)`: op_code, op_len, op_port; op_addr[0] takes no room (packed).
pub const SIZEOF_IPOPT_UOA: usize = 1 + 1 + 2;
/// `IPOLEN_UOA_IPV4 = sizeof(struct ipopt_uoa) + 4`.
pub const IPOLEN_UOA_IPV4: usize = SIZEOF_IPOPT_UOA + 4;
/// `IPOLEN_UOA_IPV6 = sizeof(struct ipopt_uoa) + 16`.
pub const IPOLEN_UOA_IPV6: usize = SIZEOF_IPOPT_UOA + 16;
/// `IPPROTO_OPT` (uoa.h).
pub const IPPROTO_OPT: u8 = 0xf8;
/// `OPPHDR_IPV4`.
pub const OPPHDR_IPV4: u8 = 0x01;
/// `OPPHDR_IPV6`.
pub const OPPHDR_IPV6: u8 = 0x02;
/// `sizeof(struct opphdr)`: one byte of two 4-bit fields, protocol, length (packed).
pub const SIZEOF_OPPHDR: usize = 1 + 1 + 2;

/// A client as DPVS's `conn->caddr`/`conn->cport` hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caddr {
    /// `struct in_addr`.
    In([u8; 4]),
    /// `struct in6_addr`.
    In6([u8; 16]),
}

impl Caddr {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Caddr::In(a) => a,
            Caddr::In6(a) => a,
        }
    }
}

/// `struct tcpopt_ip4_addr { uint8_t opcode; uint8_t opsize; __be16 port; struct in_addr addr; }`
/// or `struct tcpopt_ip6_addr` (same with `struct in6_addr`), as `tcp_in_add_toa` fills them:
/// opcode `TCP_OPT_ADDR`, opsize by `conn->af`, port `conn->cport`, addr `conn->caddr`.
pub fn tcpopt_addr(caddr: Caddr, cport: u16) -> Vec<u8> {
    let opsize = match caddr {
        Caddr::In(_) => TCP_OLEN_IP4_ADDR,
        Caddr::In6(_) => TCP_OLEN_IP6_ADDR,
    };
    let mut v = vec![TCP_OPT_ADDR, opsize];
    v.extend_from_slice(&cport.to_be_bytes());
    v.extend_from_slice(caddr.bytes());
    assert_eq!(v.len(), usize::from(opsize));
    v
}

/// `struct ipopt_uoa { __u8 op_code; __u8 op_len; __be16 op_port; __u8 op_addr[0]; }` followed
/// by the address, as the senders fill it (after a memset to 0): op_code `IPOPT_UOA`, op_len
/// `IPOLEN_UOA_IPV4`/`IPOLEN_UOA_IPV6` by the client's family, op_port the client's port.
pub fn ipopt_uoa(caddr: Caddr, cport: u16) -> Vec<u8> {
    let op_len = match caddr {
        Caddr::In(_) => IPOLEN_UOA_IPV4,
        Caddr::In6(_) => IPOLEN_UOA_IPV6,
    };
    let mut v = vec![0u8; op_len];
    v[0] = IPOPT_UOA;
    v[1] = op_len as u8;
    v[2..4].copy_from_slice(&cport.to_be_bytes());
    v[SIZEOF_IPOPT_UOA..].copy_from_slice(caddr.bytes());
    v
}

/// `struct opphdr` with its options: the first byte holds `version:4` and `rsvd0:4` (declared
/// `rsvd0` first on little-endian, `version` first on big-endian: either way the version is the
/// high nibble), then `protocol`, then `length` (big-endian), then the options.
/// `insert_opp_uoa` sets version by `conn->af`, protocol to the old IP protocol (UDP), length to
/// `sizeof(*opph) + ipolen_uoa`, and one `ipopt_uoa` as options.
pub fn opphdr(version: u8, protocol: u8, options: &[u8]) -> Vec<u8> {
    let length = (SIZEOF_OPPHDR + options.len()) as u16;
    let mut v = vec![version << 4, protocol];
    v.extend_from_slice(&length.to_be_bytes());
    v.extend_from_slice(options);
    v
}

/// The opp header DPVS sends for `caddr`.
pub fn opp_for(caddr: Caddr, cport: u16) -> Vec<u8> {
    let version = match caddr {
        Caddr::In(_) => OPPHDR_IPV4,
        Caddr::In6(_) => OPPHDR_IPV6,
    };
    opphdr(version, 17, &ipopt_uoa(caddr, cport))
}

fn sum16(data: &[u8], mut sum: u32) -> u32 {
    for pair in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// `ip_send_check`/`ip4_send_csum`: the IPv4 header checksum of the header `ihl * 4` long.
pub fn ip_send_check(pkt: &mut [u8]) {
    let hl = usize::from(pkt[0] & 0x0f) * 4;
    pkt[10] = 0;
    pkt[11] = 0;
    let c = !fold(sum16(&pkt[..hl], 0));
    pkt[10..12].copy_from_slice(&c.to_be_bytes());
}

/// The TCP/UDP checksum over `seg` with the pseudo-header of `pkt`'s addresses, `proto` and the
/// segment's length (`rte_ipv4_udptcp_cksum`, `ip6_udptcp_cksum`), the field taken as 0.
pub fn l4_checksum(pkt: &[u8], seg: &[u8], proto: u8, field_at: usize) -> u16 {
    let mut seg = seg.to_vec();
    seg[field_at] = 0;
    seg[field_at + 1] = 0;
    let mut sum = if pkt[0] >> 4 == 4 {
        sum16(&pkt[12..20], 0)
    } else {
        sum16(&pkt[8..40], 0)
    };
    sum += u32::from(proto);
    sum += seg.len() as u32;
    sum = sum16(&seg, sum);
    let c = !fold(sum);
    // UDP sends a computed 0 as 0xffff (RFC 768); TCP has no such rule, and 0 never results
    // from a non-zero sum here anyway.
    if c == 0 && proto == 17 {
        0xffff
    } else {
        c
    }
}

/// Offset of the transport header of a plain packet (IPv4 with options allowed, IPv6 without
/// extension headers, as `insert_opp_uoa` wants).
fn l3_len(pkt: &[u8]) -> usize {
    if pkt[0] >> 4 == 4 {
        usize::from(pkt[0] & 0x0f) * 4
    } else {
        40
    }
}

fn add_ip_len(pkt: &mut [u8], grow: usize) {
    if pkt[0] >> 4 == 4 {
        let tot = u16::from_be_bytes([pkt[2], pkt[3]]) as usize + grow;
        pkt[2..4].copy_from_slice(&(tot as u16).to_be_bytes());
    } else {
        let plen = u16::from_be_bytes([pkt[4], pkt[5]]) as usize + grow;
        pkt[4..6].copy_from_slice(&(plen as u16).to_be_bytes());
    }
}

/// `tcp_in_add_toa`: the TOA option goes right after the 20-byte TCP header (the existing
/// options and the payload move down by its length), `doff` grows by `len >> 2`, the IP total
/// length (IPv4) or payload length (IPv6) by `len`; then, as DPVS does "later", the TCP checksum
/// and the IPv4 header checksum are computed afresh.
pub fn tcp_in_add_toa(pkt: &[u8], caddr: Caddr, cport: u16) -> Vec<u8> {
    let l3 = l3_len(pkt);
    let toa = tcpopt_addr(caddr, cport);
    let mut out = pkt[..l3 + 20].to_vec();
    out.extend_from_slice(&toa);
    out.extend_from_slice(&pkt[l3 + 20..]);
    out[l3 + 12] += ((toa.len() >> 2) as u8) << 4;
    add_ip_len(&mut out, toa.len());
    let c = l4_checksum(&out, &out[l3..], 6, 16);
    out[l3 + 16..l3 + 18].copy_from_slice(&c.to_be_bytes());
    if out[0] >> 4 == 4 {
        ip_send_check(&mut out);
    }
    out
}

/// `insert_ipopt_uoa` (IPv4 only): the UOA option goes right after the fixed 20-byte header,
/// before any options already there; `ihl += IPOLEN_UOA_IPV4 / 4`, `tot_len += IPOLEN_UOA_IPV4`;
/// the header checksum is recomputed. The UDP checksum does not change (nothing it covers does).
/// `op_port` is the datagram's source port as DPVS sees it, the client's.
pub fn insert_ipopt_uoa(pkt: &[u8], caddr: Caddr, cport: u16) -> Vec<u8> {
    assert_eq!(pkt[0] >> 4, 4, "ipo is IPv4 only");
    let uoa = ipopt_uoa(caddr, cport);
    let mut out = pkt[..20].to_vec();
    out.extend_from_slice(&uoa);
    out.extend_from_slice(&pkt[20..]);
    out[0] += (uoa.len() / 4) as u8;
    add_ip_len(&mut out, uoa.len());
    ip_send_check(&mut out);
    out
}

/// `insert_opp_uoa`: the opp header (with one UOA option) goes right after the IP header (its
/// options included; IPv6 without extension headers), carrying the old protocol/Next Header,
/// which becomes `IPPROTO_OPT`; the total/payload length grows by the opp length. Then
/// `udp_send_csum` with an opp header: IPv4 sends UDP checksum 0, IPv6 computes it as for plain
/// UDP (`ip6_udptcp_cksum(..., IPPROTO_UDP)` over the UDP datagram).
pub fn insert_opp_uoa(pkt: &[u8], caddr: Caddr, cport: u16) -> Vec<u8> {
    let l3 = l3_len(pkt);
    let proto_at = if pkt[0] >> 4 == 4 { 9 } else { 6 };
    let version = match caddr {
        Caddr::In(_) => OPPHDR_IPV4,
        Caddr::In6(_) => OPPHDR_IPV6,
    };
    let opp = opphdr(version, pkt[proto_at], &ipopt_uoa(caddr, cport));
    let mut out = pkt[..l3].to_vec();
    out.extend_from_slice(&opp);
    out.extend_from_slice(&pkt[l3..]);
    out[proto_at] = IPPROTO_OPT;
    add_ip_len(&mut out, opp.len());
    let udp = l3 + opp.len();
    if out[0] >> 4 == 4 {
        out[udp + 6] = 0;
        out[udp + 7] = 0;
        ip_send_check(&mut out);
    } else {
        let c = l4_checksum(&out, &out[udp..], 17, 6);
        out[udp + 6..udp + 8].copy_from_slice(&c.to_be_bytes());
    }
    out
}

/// `send_standalone_uoa`: an empty UDP datagram (`uh->len = 8`) from `laddr:lport` to
/// `daddr:dport` carrying the client, IPv4 (`ipo` or `opp` mode: `ipo` only for an IPv4 client)
/// or IPv6 (`opp` only), TTL 64, `frag_off` 0, IPv4 UDP checksum 0, IPv6 UDP checksum computed.
pub fn send_standalone_uoa(
    laddr: &[u8],
    lport: u16,
    daddr: &[u8],
    dport: u16,
    caddr: Caddr,
    cport: u16,
    ipo: bool,
) -> Vec<u8> {
    let uh = {
        let mut u = lport.to_be_bytes().to_vec();
        u.extend_from_slice(&dport.to_be_bytes());
        u.extend_from_slice(&8u16.to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u
    };
    let uoa = ipopt_uoa(caddr, cport);
    if laddr.len() == 4 {
        let (ihl, proto, mid) = if ipo {
            assert!(matches!(caddr, Caddr::In(_)), "ipo: IPv4 clients only");
            ((20 + IPOLEN_UOA_IPV4) / 4, 17u8, uoa)
        } else {
            (5, IPPROTO_OPT, opp_for(caddr, cport))
        };
        // The IPv4 option is inside the header (ihl); the opp header comes after it.
        let opp_len = if ipo { 0 } else { mid.len() };
        let tot = (ihl * 4 + opp_len + uh.len()) as u16;
        let mut p = vec![0x40 | ihl as u8, 0];
        p.extend_from_slice(&tot.to_be_bytes());
        p.extend_from_slice(&[0x00, 0x01, 0, 0, 64, proto, 0, 0]);
        p.extend_from_slice(laddr);
        p.extend_from_slice(daddr);
        p.extend_from_slice(&mid);
        p.extend_from_slice(&uh);
        ip_send_check(&mut p);
        p
    } else {
        assert!(!ipo, "ipo: IPv4 only");
        let opp = opp_for(caddr, cport);
        let plen = (opp.len() + uh.len()) as u16;
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&plen.to_be_bytes());
        p.extend_from_slice(&[IPPROTO_OPT, 64]);
        p.extend_from_slice(laddr);
        p.extend_from_slice(daddr);
        p.extend_from_slice(&opp);
        let udp = p.len();
        p.extend_from_slice(&uh);
        let c = l4_checksum(&p, &p[udp..], 17, 6);
        p[udp + 6..udp + 8].copy_from_slice(&c.to_be_bytes());
        p
    }
}

/// What `uoa_opp_rcv` does to an opp packet on a kernel of 3.0 or later, for comparing a
/// stripped packet with the original: IPv6: payload length lowered by the opp length, Next
/// Header set to the opp protocol, the UDP datagram moved up over the opp header. (IPv4: DPVS
/// turns the opp bytes into NOP options; the datagram UDP gets is the same either way.)
pub fn strip_opp_v6(pkt: &[u8]) -> Vec<u8> {
    let opplen = usize::from(u16::from_be_bytes([pkt[42], pkt[43]]));
    let mut out = pkt[..40].to_vec();
    out[6] = pkt[41];
    let plen = usize::from(u16::from_be_bytes([pkt[4], pkt[5]])) - opplen;
    out[4..6].copy_from_slice(&(plen as u16).to_be_bytes());
    out.extend_from_slice(&pkt[40 + opplen..]);
    out
}
