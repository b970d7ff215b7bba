//! The balancer stage of toa_uoa: packet rewriting that inserts the type-31 address option.
//!
//! A FullNAT balancer built from nftables (DNAT of VIP:VPORT to the real server, SNAT to a
//! balancer-local address) routes the client's packets for the VIP to a TUN device that
//! `toa-uoa-lb` reads. There the packet still carries its original `CIP:CPORT -> VIP:VPORT`
//! tuple, so the addresses to carry are simply the packet's own: no conntrack query is needed.
//! The rewritten packet is written back to the device, arrives on it, and goes through DNAT
//! and, after routing, SNAT; both rewrite the fixed IP header and the transport ports and keep
//! the option, and both find the transport header past it (IHL for IPv4, the extension header
//! walk for IPv6).
//!
//! Transport checksums need no change for the unified option (DPVS's TOA is in the TCP header
//! and changes its checksum, see [`dpvs`]): the TCP and UDP checksums cover a pseudo-header of the
//! source and destination addresses, the protocol and the *upper-layer* length (RFC 793,
//! RFC 768, RFC 8200 section 8.1), never IPv4 options or IPv6 extension headers, and inserting
//! the option changes none of those. Only the IPv4 header checksum (it covers the options) is
//! recomputed; IPv6 has none.
//!
//! With `--format dpvs-ipo` or `dpvs-opp` ([`Format`]) the stage plays a DPVS balancer
//! instead and sends DPVS's own formats, which carry the client only: TOA (TCP option 254) on
//! the TCP segments DPVS gives it, and UOA in the IPv4 header (ipo) or in a protocol 248
//! header before UDP (opp); see [`dpvs`].
//!
//! Everything here is a pure function on byte slices (with, for TOA, a table of connections
//! in [`Stage`]), tested on the host; `main.rs` is the TUN loop around [`Stage::process`].
#![forbid(unsafe_code)]

use toa_uoa_codec::{
    encode_ipv4_option, encode_ipv6_dstopt, Carried, Family, IPPROTO_TCP, IPPROTO_UDP,
    IPV6_HEADER_DST,
};

/// Length of an IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// Length of the fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;

/// Why a packet was accepted unmodified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Not an IPv4 or IPv6 packet, or shorter than its headers say.
    Malformed,
    /// IPv4 with options already (IHL > 5): left alone rather than merged with.
    HasIpv4Options,
    /// IPv6 with extension headers already: left alone rather than merged with.
    HasIpv6ExtHeaders,
    /// An IPv4 fragment (first or later): ports are not reliably there; left alone.
    Fragment,
    /// Neither TCP nor UDP.
    NotTcpUdp,
    /// Would exceed the MTU with the option inserted.
    TooBig,
    /// DPVS formats: a TCP segment DPVS does not give TOA (a SYN, an RST, or one after the
    /// server's first data).
    ToaNotDue,
    /// DPVS formats: the TCP header has no room left for TOA (40 bytes of options at most).
    NoTcpOptionRoom,
    /// `dpvs-ipo`: an IPv6 UDP packet (ipo is an IPv4 option; DPVS sends none then either).
    IpoNotIpv4,
}

impl Skip {
    /// Number of variants.
    pub const COUNT: usize = 9;
    /// All variants, in counter order.
    pub const ALL: [Skip; Skip::COUNT] = [
        Skip::Malformed,
        Skip::HasIpv4Options,
        Skip::HasIpv6ExtHeaders,
        Skip::Fragment,
        Skip::NotTcpUdp,
        Skip::TooBig,
        Skip::ToaNotDue,
        Skip::NoTcpOptionRoom,
        Skip::IpoNotIpv4,
    ];

    /// The counter name.
    pub const fn name(self) -> &'static str {
        match self {
            Skip::Malformed => "skipped_malformed",
            Skip::HasIpv4Options => "skipped_has_ipv4_options",
            Skip::HasIpv6ExtHeaders => "skipped_has_ipv6_ext_headers",
            Skip::Fragment => "skipped_fragment",
            Skip::NotTcpUdp => "skipped_not_tcp_udp",
            Skip::TooBig => "skipped_too_big",
            Skip::ToaNotDue => "skipped_toa_not_due",
            Skip::NoTcpOptionRoom => "skipped_no_tcp_option_room",
            Skip::IpoNotIpv4 => "skipped_ipo_not_ipv4",
        }
    }

    /// Index into [`Stats::skipped`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// The fixed-header facts of a packet the stage may rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headers {
    /// Family of the IP header.
    pub family: Family,
    /// Transport protocol (6 or 17).
    pub protocol: u8,
    /// Offset of the transport header (20 or 40: no options, no extension headers).
    pub transport_offset: usize,
    /// Length of the packet as its IP header says (trailing bytes beyond it are dropped).
    pub total_len: usize,
}

fn be16(pkt: &[u8], off: usize) -> Option<u16> {
    let b = pkt.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

fn put_be16(pkt: &mut [u8], off: usize, v: u16) {
    if let Some(b) = pkt.get_mut(off..off + 2) {
        b.copy_from_slice(&v.to_be_bytes());
    }
}

/// Checks that `pkt` is a plain IPv4/IPv6 TCP/UDP packet the stage can rewrite.
pub fn headers(pkt: &[u8]) -> Result<Headers, Skip> {
    let first = *pkt.first().ok_or(Skip::Malformed)?;
    match first >> 4 {
        4 => {
            if pkt.len() < IPV4_HEADER_LEN {
                return Err(Skip::Malformed);
            }
            let ihl = usize::from(first & 0x0f) * 4;
            let total_len = usize::from(be16(pkt, 2).ok_or(Skip::Malformed)?);
            if ihl < IPV4_HEADER_LEN || total_len < ihl || total_len > pkt.len() {
                return Err(Skip::Malformed);
            }
            if ihl > IPV4_HEADER_LEN {
                return Err(Skip::HasIpv4Options);
            }
            let frag = be16(pkt, 6).ok_or(Skip::Malformed)?;
            // MF set or a non-zero offset.
            if frag & 0x3fff != 0 {
                return Err(Skip::Fragment);
            }
            let protocol = pkt[9];
            if protocol != IPPROTO_TCP && protocol != IPPROTO_UDP {
                return Err(Skip::NotTcpUdp);
            }
            if total_len < ihl + 4 {
                return Err(Skip::Malformed);
            }
            Ok(Headers {
                family: Family::V4,
                protocol,
                transport_offset: ihl,
                total_len,
            })
        }
        6 => {
            if pkt.len() < IPV6_HEADER_LEN {
                return Err(Skip::Malformed);
            }
            let payload_len = usize::from(be16(pkt, 4).ok_or(Skip::Malformed)?);
            let total_len = IPV6_HEADER_LEN + payload_len;
            // Payload length 0 with data is a jumbogram (Hop-by-Hop): caught as an ext header
            // below; otherwise the packet must hold what the header says.
            if total_len > pkt.len() {
                return Err(Skip::Malformed);
            }
            let protocol = pkt[6];
            if protocol != IPPROTO_TCP && protocol != IPPROTO_UDP {
                return Err(if is_ipv6_ext_header(protocol) {
                    Skip::HasIpv6ExtHeaders
                } else {
                    Skip::NotTcpUdp
                });
            }
            if payload_len < 4 {
                return Err(Skip::Malformed);
            }
            Ok(Headers {
                family: Family::V6,
                protocol,
                transport_offset: IPV6_HEADER_LEN,
                total_len,
            })
        }
        _ => Err(Skip::Malformed),
    }
}

/// Whether `nh` is an IPv6 extension header (RFC 8200 section 4, plus AH, ESP's neighbours,
/// Mobility, HIP, Shim6 and the experimental values of RFC 7045).
pub fn is_ipv6_ext_header(nh: u8) -> bool {
    matches!(nh, 0 | 43 | 44 | 50 | 51 | 60 | 135 | 139 | 140 | 253 | 254)
}

/// What a balancer carries for `pkt` as it arrives at the balancer: CIP:CPORT = the packet's
/// source address and port, VIP:VPORT = its destination address and port.
pub fn carried_from_packet(pkt: &[u8]) -> Result<(Headers, Carried), Skip> {
    let h = headers(pkt)?;
    let sport = be16(pkt, h.transport_offset).ok_or(Skip::Malformed)?;
    let dport = be16(pkt, h.transport_offset + 2).ok_or(Skip::Malformed)?;
    let c = match h.family {
        Family::V4 => {
            let mut s = [0u8; 4];
            let mut d = [0u8; 4];
            s.copy_from_slice(&pkt[12..16]);
            d.copy_from_slice(&pkt[16..20]);
            Carried::v4(s, sport, d, dport)
        }
        Family::V6 => {
            let mut s = [0u8; 16];
            let mut d = [0u8; 16];
            s.copy_from_slice(&pkt[8..24]);
            d.copy_from_slice(&pkt[24..40]);
            Carried::v6(s, sport, d, dport)
        }
    };
    Ok((h, c))
}

/// The IPv4 header checksum of `hdr` (whose checksum field is taken as zero).
pub fn ipv4_header_checksum(hdr: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for (i, pair) in hdr.chunks(2).enumerate() {
        if i == 5 {
            continue;
        }
        let hi = u32::from(pair[0]) << 8;
        let lo = pair.get(1).map_or(0, |b| u32::from(*b));
        sum += hi | lo;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Inserts the option carrying `c` into `pkt` and returns the new packet.
///
/// IPv4: the option goes right after the 20-byte header (the payload moves down), IHL grows by
/// 4 (16-byte option, carried IPv4) or 10 (40 bytes, carried IPv6), the total length by as much,
/// and the header checksum is recomputed. IPv6: a Destination Options header goes right after
/// the fixed header, its Next Header is the old Next Header (the transport), the fixed header's
/// Next Header becomes 60 and its payload length grows by 16 or 40. Transport checksums are
/// unchanged (see the crate documentation). A packet longer than `mtu` with the option is
/// refused ([`Skip::TooBig`]), as is anything [`headers`] refuses.
pub fn insert(pkt: &[u8], c: &Carried, mtu: usize) -> Result<Vec<u8>, Skip> {
    let h = headers(pkt)?;
    let grow = c.family.encoded_len();
    let new_len = h.total_len + grow;
    if new_len > mtu {
        return Err(Skip::TooBig);
    }
    let hl = h.transport_offset;
    let mut out = vec![0u8; new_len];
    out[..hl].copy_from_slice(&pkt[..hl]);
    out[hl + grow..].copy_from_slice(&pkt[hl..h.total_len]);
    match h.family {
        Family::V4 => {
            encode_ipv4_option(c, &mut out[hl..hl + grow]).ok_or(Skip::Malformed)?;
            // new_len <= mtu, and the 40-byte header fits IHL (15 words).
            let total = u16::try_from(new_len).map_err(|_| Skip::TooBig)?;
            out[0] = 0x40 | ((hl + grow) / 4) as u8;
            put_be16(&mut out, 2, total);
            let sum = ipv4_header_checksum(&out[..hl + grow]);
            put_be16(&mut out, 10, sum);
        }
        Family::V6 => {
            encode_ipv6_dstopt(c, h.protocol, &mut out[hl..hl + grow]).ok_or(Skip::Malformed)?;
            let payload = u16::try_from(new_len - IPV6_HEADER_LEN).map_err(|_| Skip::TooBig)?;
            put_be16(&mut out, 4, payload);
            out[6] = IPV6_HEADER_DST;
        }
    }
    Ok(out)
}

/// The whole stage for one packet: carry the packet's own tuple (see [`carried_from_packet`])
/// in an option of the packet's own family.
pub fn process(pkt: &[u8], mtu: usize) -> Result<Vec<u8>, Skip> {
    let (_, c) = carried_from_packet(pkt)?;
    insert(pkt, &c, mtu)
}

/// What the stage sends: `--format unified|dpvs-ipo|dpvs-opp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// The type-31 option (IPv4 option / IPv6 Destination Option) on every packet.
    #[default]
    Unified,
    /// DPVS with `uoa_mode` ipo: TOA for TCP, UOA as an IPv4 option for UDP.
    DpvsIpo,
    /// DPVS with `uoa_mode` opp (DPVS's default): TOA for TCP, UOA in a protocol 248 header
    /// for UDP.
    DpvsOpp,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 3] = [Format::Unified, Format::DpvsIpo, Format::DpvsOpp];

    /// The command-line name.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Unified => "unified",
            Format::DpvsIpo => "dpvs-ipo",
            Format::DpvsOpp => "dpvs-opp",
        }
    }

    /// Parses a command-line name.
    pub fn parse(s: &str) -> Result<Format, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("--format: {s}: want unified, dpvs-ipo or dpvs-opp"))
    }

    /// What this format puts on a packet of `protocol` (6 or 17).
    pub const fn inserted(self, protocol: u8) -> Inserted {
        match (self, protocol) {
            (Format::Unified, _) => Inserted::Unified,
            (_, IPPROTO_TCP) => Inserted::Toa,
            (Format::DpvsIpo, _) => Inserted::Ipo,
            (Format::DpvsOpp, _) => Inserted::Opp,
        }
    }
}

/// What was put on a packet, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// The type-31 option.
    Unified,
    /// DPVS's TOA (TCP option 254).
    Toa,
    /// DPVS's UOA as an IPv4 option.
    Ipo,
    /// DPVS's UOA in a protocol 248 header.
    Opp,
}

/// The stage: a format, and for TOA the connections seen (see [`dpvs::ToaFlows`]).
#[derive(Debug, Default)]
pub struct Stage {
    /// What it sends.
    pub format: Format,
    toa: dpvs::ToaFlows,
}

impl Stage {
    /// A stage sending `format`.
    pub fn new(format: Format) -> Stage {
        Stage {
            format,
            toa: dpvs::ToaFlows::new(),
        }
    }

    /// Puts what the format carries for `c` on `pkt` (a plain packet [`headers`] accepts):
    /// the unified option as [`insert`] does; for the DPVS formats TOA on the TCP segments
    /// DPVS gives it ([`Skip::ToaNotDue`] for the others), ipo or opp on UDP.
    pub fn insert(&mut self, pkt: &[u8], c: &Carried, mtu: usize) -> Result<Vec<u8>, Skip> {
        let h = headers(pkt)?;
        match self.format.inserted(h.protocol) {
            Inserted::Unified => insert(pkt, c, mtu),
            Inserted::Toa => {
                if !self.toa.due(pkt)? {
                    return Err(Skip::ToaNotDue);
                }
                dpvs::insert_toa(pkt, c, mtu)
            }
            Inserted::Ipo => dpvs::insert_ipo(pkt, c, mtu),
            Inserted::Opp => dpvs::insert_opp(pkt, c, mtu),
        }
    }

    /// Number of TCP connections remembered for TOA.
    pub fn toa_connections(&self) -> usize {
        self.toa.len()
    }

    /// The whole stage for one packet: carry the packet's own client (and for the unified
    /// option its destination as VIP), see [`carried_from_packet`].
    pub fn process(&mut self, pkt: &[u8], mtu: usize) -> Result<Vec<u8>, Skip> {
        let (_, c) = carried_from_packet(pkt)?;
        self.insert(pkt, &c, mtu)
    }
}

/// Counters of the stage, printed as `name value` lines.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Packets received from the queue.
    pub packets: u64,
    /// IPv4 packets given the option.
    pub inserted_ipv4: u64,
    /// IPv6 packets given the option.
    pub inserted_ipv6: u64,
    /// Of those, TCP segments given DPVS's TOA.
    pub inserted_toa: u64,
    /// Of those, UDP datagrams given DPVS's UOA as an IPv4 option (ipo).
    pub inserted_ipo: u64,
    /// Of those, UDP datagrams given DPVS's UOA in a protocol 248 header (opp).
    pub inserted_opp: u64,
    /// Packets accepted unmodified, by reason ([`Skip::index`]).
    pub skipped: [u64; Skip::COUNT],
    /// Client packets translated to the other family (with the option), by the family of
    /// the client: 4 (the 46 case) or 6 (the 64 case).
    pub translated_46: u64,
    /// See `translated_46`.
    pub translated_64: u64,
    /// Server replies translated back to the client's family.
    pub replies_translated: u64,
    /// Packets for a translation that could not be translated, dropped.
    pub translation_dropped: u64,
}

impl Stats {
    /// Counts the outcome of [`Stage::process`] in `format` on `pkt`.
    pub fn count(&mut self, result: &Result<Vec<u8>, Skip>, pkt: &[u8], format: Format) {
        self.packets += 1;
        match result {
            Ok(_) => {
                if pkt.first().map(|b| b >> 4) == Some(6) {
                    self.inserted_ipv6 += 1;
                } else {
                    self.inserted_ipv4 += 1;
                }
                self.count_inserted(pkt, format);
            }
            Err(s) => self.skipped[s.index()] += 1,
        }
    }

    /// Counts what `format` put on `pkt` (TOA, ipo, opp; nothing for the unified option).
    pub fn count_inserted(&mut self, pkt: &[u8], format: Format) {
        let protocol = match headers(pkt) {
            Ok(h) => h.protocol,
            Err(_) => return,
        };
        match format.inserted(protocol) {
            Inserted::Unified => {}
            Inserted::Toa => self.inserted_toa += 1,
            Inserted::Ipo => self.inserted_ipo += 1,
            Inserted::Opp => self.inserted_opp += 1,
        }
    }

    /// One `name value` line per counter.
    pub fn render(&self) -> String {
        let mut s = format!(
            "packets {}\ninserted_ipv4 {}\ninserted_ipv6 {}\n",
            self.packets, self.inserted_ipv4, self.inserted_ipv6
        );
        s.push_str(&format!(
            "inserted_toa {}\ninserted_ipo {}\ninserted_opp {}\n",
            self.inserted_toa, self.inserted_ipo, self.inserted_opp
        ));
        for k in Skip::ALL {
            s.push_str(&format!("{} {}\n", k.name(), self.skipped[k.index()]));
        }
        s.push_str(&format!(
            "translated_46 {}\ntranslated_64 {}\nreplies_translated {}\ntranslation_dropped {}\n",
            self.translated_46,
            self.translated_64,
            self.replies_translated,
            self.translation_dropped
        ));
        s
    }
}

pub mod dpvs;
pub mod nat;

#[cfg(test)]
mod tests;
