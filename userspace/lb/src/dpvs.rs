//! Playing a DPVS balancer: DPVS's own client-address formats instead of the unified option.
//!
//! Written from DPVS's sources (repository iqiyi/dpvs), not from toa_uoa's parser:
//! - TCP, TOA: `tcp_in_add_toa` in `src/ipvs/ip_vs_proto_tcp.c`, with `struct tcpopt_ip4_addr`
//!   / `struct tcpopt_ip6_addr` of `include/ipvs/proto_tcp.h` (kind `TCP_OPT_ADDR` 254, length
//!   `TCP_OLEN_IP4_ADDR` 8 or `TCP_OLEN_IP6_ADDR` 20, the client port, the client address). It
//!   goes right after the 20-byte TCP header, before the options already there; the data offset
//!   grows by 2 or 5 words, the IP total length (payload length) by 8 or 20, and the TCP
//!   checksum is brought up to date. DPVS adds it to the client's segments whose
//!   acknowledgment number is the server's initial sequence number + 1 (`fdata_seq`) and that
//!   are neither SYN nor RST: the ACK completing the handshake, and data sent before the
//!   server's first data. [`ToaFlows`] tells those apart without seeing the server's side:
//!   the first non-SYN segment of a connection acknowledges ISN + 1, so its acknowledgment
//!   number is the one to match.
//! - UDP, "ipo": `insert_ipopt_uoa` in `src/ipvs/ip_vs_proto_udp.c`, `struct ipopt_uoa` of
//!   `include/uoa.h`: IPv4 option type `IPOPT_UOA` 31, length `IPOLEN_UOA_IPV4` 8 (or
//!   `IPOLEN_UOA_IPV6` 20 for an IPv6 client, which DPVS itself never sends: it uses ipo only
//!   IPv4-in-IPv4), the client port and address, right after the fixed IPv4 header; IHL and
//!   the total length grow, the header checksum is recomputed, the UDP checksum is unchanged.
//! - UDP, "opp": `insert_opp_uoa`, `struct opphdr` of `include/uoa.h`: a header of IP protocol
//!   `IPPROTO_OPT` 248 between the IP header and UDP: version (high nibble: `OPPHDR_IPV4` 1 or
//!   `OPPHDR_IPV6` 2 by the client's family), protocol 17, length (4 + the option's), then the
//!   same UOA option. The IPv4 protocol / IPv6 Next Header becomes 248, the total / payload
//!   length grows by the opp header. UDP checksum: 0 over IPv4 (as DPVS's `udp_send_csum`
//!   sends it with an opp header), kept over IPv6 (DPVS computes it as for plain UDP, which is
//!   what the datagram already has).
//!
//! The client is what the carried record says (`Carried::cip`, `Carried::cport`); DPVS carries
//! no VIP.

use std::collections::HashMap;

use toa_uoa_codec::{Carried, Family, IPPROTO_TCP, IPPROTO_UDP};

use crate::{headers, ipv4_header_checksum, Skip, IPV4_HEADER_LEN, IPV6_HEADER_LEN};

/// TCP option kind of TOA (`TCP_OPT_ADDR`).
pub const TCP_OPT_ADDR: u8 = 254;
/// IPv4 option type of UOA (`IPOPT_UOA`, `31 | IPOPT_CONTROL`).
pub const IPOPT_UOA: u8 = 31;
/// IP protocol of the opp header (`IPPROTO_OPT`).
pub const IPPROTO_OPT: u8 = 248;
/// `OPPHDR_IPV4`.
pub const OPPHDR_IPV4: u8 = 1;
/// `OPPHDR_IPV6`.
pub const OPPHDR_IPV6: u8 = 2;
/// `sizeof(struct opphdr)`.
const SIZEOF_OPPHDR: usize = 4;
/// Most TCP header bytes (data offset 15).
const TCP_HEADER_MAX: usize = 60;

/// The TOA option, or the UOA option (they share the layout): `kind`, length, client port,
/// client address (4 or 16 bytes).
fn addr_option(kind: u8, c: &Carried) -> Vec<u8> {
    let addr = c.cip_bytes();
    let mut v = vec![kind, (4 + addr.len()) as u8];
    v.extend_from_slice(&c.cport.to_be_bytes());
    v.extend_from_slice(addr);
    v
}

/// One's-complement sum of `data` as big-endian 16-bit words, folded.
fn sum16(data: &[u8], mut sum: u32) -> u32 {
    for pair in data.chunks(2) {
        let hi = u32::from(pair[0]) << 8;
        let lo = pair.get(1).map_or(0, |b| u32::from(*b));
        sum += hi | lo;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum
}

fn put_be16(pkt: &mut [u8], at: usize, v: u16) {
    pkt[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

fn be16(pkt: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([pkt[at], pkt[at + 1]])
}

/// Raises the IPv4 total length (and fixes the header checksum) or the IPv6 payload length of
/// `out` by `grow`.
fn grow_ip_length(out: &mut [u8], family: Family, grow: usize) -> Result<(), Skip> {
    match family {
        Family::V4 => {
            let total =
                u16::try_from(usize::from(be16(out, 2)) + grow).map_err(|_| Skip::TooBig)?;
            put_be16(out, 2, total);
            let hl = usize::from(out[0] & 0x0f) * 4;
            let sum = ipv4_header_checksum(&out[..hl]);
            put_be16(out, 10, sum);
        }
        Family::V6 => {
            let plen = u16::try_from(usize::from(be16(out, 4)) + grow).map_err(|_| Skip::TooBig)?;
            put_be16(out, 4, plen);
        }
    }
    Ok(())
}

/// `tcp_in_add_toa`: `pkt` (a plain TCP packet [`headers`] accepts) with the TOA option for
/// `c`'s client. [`Skip::NoTcpOptionRoom`] when the TCP header has no 8/20 bytes left,
/// [`Skip::TooBig`] when the packet would exceed `mtu`.
pub fn insert_toa(pkt: &[u8], c: &Carried, mtu: usize) -> Result<Vec<u8>, Skip> {
    let h = headers(pkt)?;
    if h.protocol != IPPROTO_TCP {
        return Err(Skip::NotTcpUdp);
    }
    let off = h.transport_offset;
    let doff_byte = *pkt.get(off + 12).ok_or(Skip::Malformed)?;
    let tcp_len = usize::from(doff_byte >> 4) * 4;
    if tcp_len < 20 || off + tcp_len > h.total_len {
        return Err(Skip::Malformed);
    }
    let toa = addr_option(TCP_OPT_ADDR, c);
    if tcp_len + toa.len() > TCP_HEADER_MAX {
        return Err(Skip::NoTcpOptionRoom);
    }
    if h.total_len + toa.len() > mtu {
        return Err(Skip::TooBig);
    }
    let mut out = Vec::with_capacity(h.total_len + toa.len());
    out.extend_from_slice(&pkt[..off + 20]);
    out.extend_from_slice(&toa);
    out.extend_from_slice(&pkt[off + 20..h.total_len]);
    // Data offset: + len / 4 words (the reserved bits below it are kept).
    let words = (toa.len() / 4) as u8;
    out[off + 12] = doff_byte + (words << 4);
    // The checksum, brought up to date for what was added (RFC 1624: HC' = ~(~HC + m')): the
    // option's words (it starts at an even offset and has an even length), the data offset's
    // rise in the word at offset 12, and the pseudo-header's TCP length.
    let old = be16(&out, off + 16);
    let mut sum = sum16(&toa, u32::from(!old));
    sum = sum16(&(u16::from(words) << 12).to_be_bytes(), sum);
    sum = sum16(&(toa.len() as u16).to_be_bytes(), sum);
    put_be16(&mut out, off + 16, !(sum as u16));
    grow_ip_length(&mut out, h.family, toa.len())?;
    Ok(out)
}

/// `insert_ipopt_uoa`: `pkt` (a plain IPv4 UDP packet) with the UOA option for `c`'s client
/// right after the fixed header. [`Skip::IpoNotIpv4`] for IPv6 (ipo is an IPv4 option).
pub fn insert_ipo(pkt: &[u8], c: &Carried, mtu: usize) -> Result<Vec<u8>, Skip> {
    let h = headers(pkt)?;
    if h.family != Family::V4 {
        return Err(Skip::IpoNotIpv4);
    }
    let uoa = addr_option(IPOPT_UOA, c);
    if h.total_len + uoa.len() > mtu {
        return Err(Skip::TooBig);
    }
    let mut out = Vec::with_capacity(h.total_len + uoa.len());
    out.extend_from_slice(&pkt[..IPV4_HEADER_LEN]);
    out.extend_from_slice(&uoa);
    out.extend_from_slice(&pkt[IPV4_HEADER_LEN..h.total_len]);
    out[0] += (uoa.len() / 4) as u8;
    grow_ip_length(&mut out, Family::V4, uoa.len())?;
    Ok(out)
}

/// `insert_opp_uoa`: `pkt` (a plain UDP packet) with the opp header holding the UOA option for
/// `c`'s client between the IP header and UDP.
pub fn insert_opp(pkt: &[u8], c: &Carried, mtu: usize) -> Result<Vec<u8>, Skip> {
    let h = headers(pkt)?;
    if h.protocol != IPPROTO_UDP {
        return Err(Skip::NotTcpUdp);
    }
    let uoa = addr_option(IPOPT_UOA, c);
    let version = match c.family {
        Family::V4 => OPPHDR_IPV4,
        Family::V6 => OPPHDR_IPV6,
    };
    let opp_len = SIZEOF_OPPHDR + uoa.len();
    let mut opp = vec![version << 4, h.protocol];
    opp.extend_from_slice(&(opp_len as u16).to_be_bytes());
    opp.extend_from_slice(&uoa);
    if h.total_len + opp.len() > mtu {
        return Err(Skip::TooBig);
    }
    let hl = h.transport_offset;
    let mut out = Vec::with_capacity(h.total_len + opp.len());
    out.extend_from_slice(&pkt[..hl]);
    out.extend_from_slice(&opp);
    out.extend_from_slice(&pkt[hl..h.total_len]);
    let udp = hl + opp.len();
    match h.family {
        Family::V4 => {
            out[9] = IPPROTO_OPT;
            put_be16(&mut out, udp + 6, 0);
        }
        Family::V6 => {
            debug_assert_eq!(hl, IPV6_HEADER_LEN);
            out[6] = IPPROTO_OPT;
        }
    }
    grow_ip_length(&mut out, h.family, opp.len())?;
    Ok(out)
}

/// Most connections [`ToaFlows`] remembers; past it, it forgets them all and starts over (a
/// connection then forgotten gets TOA on its next segment again, which is harmless).
pub const MAX_TOA_FLOWS: usize = 65536;

/// Which TCP segments get TOA, as DPVS decides (see the module documentation): per connection
/// (the packet's addresses and ports), the acknowledgment number of its first non-SYN segment.
#[derive(Debug, Default)]
pub struct ToaFlows {
    first_ack: HashMap<(Vec<u8>, u16, u16), u32>,
}

impl ToaFlows {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of connections remembered.
    pub fn len(&self) -> usize {
        self.first_ack.len()
    }

    /// Whether no connection is remembered.
    pub fn is_empty(&self) -> bool {
        self.first_ack.is_empty()
    }

    /// Whether DPVS would add TOA to the TCP segment `pkt` (a packet [`headers`] accepts), and
    /// remembers what it needs to decide for the connection's later segments: a SYN starts a
    /// connection afresh and gets none, an RST or a segment without ACK gets none, the first
    /// other segment gets it and sets the acknowledgment number to match, later ones get it
    /// while they acknowledge the same number (no data from the server yet).
    pub fn due(&mut self, pkt: &[u8]) -> Result<bool, Skip> {
        let h = headers(pkt)?;
        if h.protocol != IPPROTO_TCP {
            return Ok(false);
        }
        let off = h.transport_offset;
        let tcp = pkt.get(off..off + 20).ok_or(Skip::Malformed)?;
        let addrs = match h.family {
            Family::V4 => pkt[12..20].to_vec(),
            Family::V6 => pkt[8..40].to_vec(),
        };
        let key = (addrs, be16(tcp, 0), be16(tcp, 2));
        let flags = tcp[13];
        let ack = u32::from_be_bytes([tcp[8], tcp[9], tcp[10], tcp[11]]);
        const SYN: u8 = 0x02;
        const RST: u8 = 0x04;
        const ACK: u8 = 0x10;
        if flags & SYN != 0 {
            self.first_ack.remove(&key);
            return Ok(false);
        }
        if flags & RST != 0 || flags & ACK == 0 {
            return Ok(false);
        }
        if let Some(first) = self.first_ack.get(&key) {
            return Ok(*first == ack);
        }
        if self.first_ack.len() >= MAX_TOA_FLOWS {
            self.first_ack.clear();
        }
        self.first_ack.insert(key, ack);
        Ok(true)
    }
}
