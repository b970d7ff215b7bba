//! Family translation for the 46 and 64 cases: a client of one IP family reaches a VIP of its
//! own family, and the balancer talks to the real server in the other one (DPVS's NAT64 is
//! the 64 case). The option carries what the client used (its address and port, the VIP and
//! port it connected to), so the server's applications see the client as it is.
//!
//! A translation is configured as `OUTER_VIP=INNER_VIP,POOL`: packets for `OUTER_VIP` are
//! rewritten into the other family, from `POOL:CPORT` (the client's own port) to
//! `INNER_VIP:VPORT`, and carry the option; the balancer's nftables rules then DNAT
//! `INNER_VIP` to the server and SNAT to the balancer's address, as for the same-family cases.
//! Replies, once conntrack has undone that NAT, come back from `INNER_VIP:VPORT` to
//! `POOL:CPORT` (the pool is routed to the TUN device) and are rewritten into the client's
//! family, from `OUTER_VIP:VPORT` to the client.
//!
//! The state is one client address per client port, learnt from the client's packets: enough
//! for a demonstration and the guest tests, not for a production translator (two clients with
//! the same source port through one pool would be confused). Only TCP and UDP without IP
//! options or extension headers are translated; anything else is dropped (written back, it
//! would be routed to the device again).

use std::collections::HashMap;
use std::net::IpAddr;

use toa_uoa_codec::{Family, IPPROTO_TCP, IPPROTO_UDP};

use crate::{carried_from_packet, headers, ipv4_header_checksum, Format, Skip, Stage};

/// One configured translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    /// The VIP the clients use (the family of the client side).
    pub outer_vip: IpAddr,
    /// The address the translated packets go to (the other family), DNATed by the balancer.
    pub inner_vip: IpAddr,
    /// The source of the translated packets (the other family), routed back to the device.
    pub pool: IpAddr,
}

impl Translation {
    /// Parses `OUTER_VIP=INNER_VIP,POOL`; the outer VIP of one family, the other two of the
    /// other.
    pub fn parse(s: &str) -> Result<Translation, String> {
        let (outer, rest) = s
            .split_once('=')
            .ok_or_else(|| format!("{s}: want OUTER_VIP=INNER_VIP,POOL"))?;
        let (inner, pool) = rest
            .split_once(',')
            .ok_or_else(|| format!("{s}: want OUTER_VIP=INNER_VIP,POOL"))?;
        let addr = |a: &str| a.trim().parse::<IpAddr>().map_err(|e| format!("{a}: {e}"));
        let t = Translation {
            outer_vip: addr(outer)?,
            inner_vip: addr(inner)?,
            pool: addr(pool)?,
        };
        if t.outer_vip.is_ipv4() == t.inner_vip.is_ipv4()
            || t.inner_vip.is_ipv4() != t.pool.is_ipv4()
        {
            return Err(format!(
                "{s}: the inner VIP and the pool must both be of the other family than the outer VIP"
            ));
        }
        Ok(t)
    }
}

/// What the translator did with a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not for a translation: the same-family stage handles it.
    NotOurs,
    /// A client's packet, translated and given the option.
    Forward(Vec<u8>),
    /// A server's reply, translated back to the client's family.
    Reply(Vec<u8>),
    /// For a translation but not translatable (or no client known for a reply): dropped.
    Dropped(Skip),
}

/// The configured translations and the clients seen.
#[derive(Debug, Default)]
pub struct Translator {
    translations: Vec<Translation>,
    /// What the translated packets carry (the unified option, or a DPVS format).
    stage: Stage,
    /// (pool, protocol, client port) -> client address.
    clients: HashMap<(IpAddr, u8, u16), IpAddr>,
}

fn addr_bytes(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn addr_of(b: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(b) {
        return Some(IpAddr::from(v4));
    }
    <[u8; 16]>::try_from(b).ok().map(IpAddr::from)
}

/// The one's-complement sum of `data` as 16-bit big-endian words (odd length: zero-padded).
fn sum16(data: &[u8], mut sum: u32) -> u32 {
    for pair in data.chunks(2) {
        let hi = u32::from(pair[0]) << 8;
        let lo = pair.get(1).map_or(0, |b| u32::from(*b));
        sum += hi | lo;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum
}

/// Builds an IP packet of `src`'s family from `src` to `dst` around the transport `segment`
/// (its ports already final), with its TCP/UDP checksum computed afresh over the new
/// pseudo-header; `ttl` and `tos` come from the packet translated.
fn build(
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    ttl: u8,
    tos: u8,
    segment: &[u8],
) -> Option<Vec<u8>> {
    let ck_at = match protocol {
        IPPROTO_TCP => 16,
        IPPROTO_UDP => 6,
        _ => return None,
    };
    let mut seg = segment.to_vec();
    seg.get_mut(ck_at..ck_at + 2)?.copy_from_slice(&[0, 0]);
    let len = u16::try_from(seg.len()).ok()?;
    let (s, d) = (addr_bytes(&src), addr_bytes(&dst));
    let mut sum = sum16(&s, 0);
    sum = sum16(&d, sum);
    sum = sum16(&[0, protocol], sum);
    sum = sum16(&len.to_be_bytes(), sum);
    sum = sum16(&seg, sum);
    let mut ck = !(sum as u16);
    if ck == 0 && protocol == IPPROTO_UDP {
        // 0 means "no checksum" for UDP over IPv4 and is not allowed over IPv6.
        ck = 0xffff;
    }
    seg[ck_at..ck_at + 2].copy_from_slice(&ck.to_be_bytes());
    let mut out = Vec::with_capacity(40 + seg.len());
    match (src, dst) {
        (IpAddr::V4(_), IpAddr::V4(_)) => {
            let total = u16::try_from(20 + seg.len()).ok()?;
            out.extend_from_slice(&[0x45, tos]);
            out.extend_from_slice(&total.to_be_bytes());
            // No identification, Don't Fragment (an IPv6 sender never had its packets split).
            out.extend_from_slice(&[0, 0, 0x40, 0, ttl, protocol, 0, 0]);
            out.extend_from_slice(&s);
            out.extend_from_slice(&d);
            let hc = ipv4_header_checksum(&out);
            out[10..12].copy_from_slice(&hc.to_be_bytes());
        }
        (IpAddr::V6(_), IpAddr::V6(_)) => {
            out.extend_from_slice(&[0x60 | (tos >> 4), tos << 4, 0, 0]);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&[protocol, ttl]);
            out.extend_from_slice(&s);
            out.extend_from_slice(&d);
        }
        _ => return None,
    }
    out.extend_from_slice(&seg);
    Some(out)
}

/// TTL / hop limit and TOS / traffic class of a plain packet.
fn ttl_tos(pkt: &[u8], family: Family) -> (u8, u8) {
    match family {
        Family::V4 => (
            pkt.get(8).copied().unwrap_or(64),
            pkt.get(1).copied().unwrap_or(0),
        ),
        Family::V6 => {
            let tc =
                (pkt.first().copied().unwrap_or(0) << 4) | (pkt.get(1).copied().unwrap_or(0) >> 4);
            (pkt.get(7).copied().unwrap_or(64), tc)
        }
    }
}

impl Translator {
    /// A translator for `translations`, giving the translated packets the unified option.
    pub fn new(translations: Vec<Translation>) -> Translator {
        Translator::with_format(translations, Format::Unified)
    }

    /// A translator for `translations` whose translated packets carry `format` (DPVS's NAT64
    /// is the 64 case: TOA of an IPv6 client over IPv4, or UOA of 20 bytes).
    pub fn with_format(translations: Vec<Translation>, format: Format) -> Translator {
        Translator {
            translations,
            stage: Stage::new(format),
            clients: HashMap::new(),
        }
    }

    /// What the translated packets carry.
    pub fn format(&self) -> Format {
        self.stage.format
    }

    /// Whether any translation is configured.
    pub fn is_empty(&self) -> bool {
        self.translations.is_empty()
    }

    /// Translates `pkt` if a translation is about it (see the module documentation); `mtu`
    /// bounds the translated packet with its option.
    pub fn process(&mut self, pkt: &[u8], mtu: usize) -> Outcome {
        let Some(dst) = destination(pkt) else {
            return Outcome::NotOurs;
        };
        if let Some(t) = self
            .translations
            .iter()
            .find(|t| t.outer_vip == dst)
            .copied()
        {
            return self.forward(&t, pkt, mtu);
        }
        if let Some(t) = self.translations.iter().find(|t| t.pool == dst).copied() {
            return self.reply(&t, pkt);
        }
        Outcome::NotOurs
    }

    fn forward(&mut self, t: &Translation, pkt: &[u8], mtu: usize) -> Outcome {
        let (h, carried) = match carried_from_packet(pkt) {
            Ok(v) => v,
            Err(s) => return Outcome::Dropped(s),
        };
        let Some(client) = addr_of(carried.cip_bytes()) else {
            return Outcome::Dropped(Skip::Malformed);
        };
        self.clients
            .insert((t.pool, h.protocol, carried.cport), client);
        let (ttl, tos) = ttl_tos(pkt, h.family);
        let Some(segment) = pkt.get(h.transport_offset..h.total_len) else {
            return Outcome::Dropped(Skip::Malformed);
        };
        let Some(plain) = build(t.pool, t.inner_vip, h.protocol, ttl, tos, segment) else {
            return Outcome::Dropped(Skip::Malformed);
        };
        match self.stage.insert(&plain, &carried, mtu) {
            Ok(out) => Outcome::Forward(out),
            // A TCP segment DPVS sends without TOA (or has no room for it in): translated all
            // the same.
            Err(Skip::ToaNotDue | Skip::NoTcpOptionRoom) => Outcome::Forward(plain),
            Err(s) => Outcome::Dropped(s),
        }
    }

    fn reply(&mut self, t: &Translation, pkt: &[u8]) -> Outcome {
        let h = match headers(pkt) {
            Ok(h) => h,
            Err(s) => return Outcome::Dropped(s),
        };
        let Some(segment) = pkt.get(h.transport_offset..h.total_len) else {
            return Outcome::Dropped(Skip::Malformed);
        };
        let cport = u16::from_be_bytes([segment[2], segment[3]]);
        let Some(client) = self.clients.get(&(t.pool, h.protocol, cport)).copied() else {
            return Outcome::Dropped(Skip::Malformed);
        };
        let (ttl, tos) = ttl_tos(pkt, h.family);
        match build(t.outer_vip, client, h.protocol, ttl, tos, segment) {
            Some(out) => Outcome::Reply(out),
            None => Outcome::Dropped(Skip::Malformed),
        }
    }
}

/// The destination address of an IPv4 or IPv6 packet.
fn destination(pkt: &[u8]) -> Option<IpAddr> {
    match pkt.first()? >> 4 {
        4 => addr_of(pkt.get(16..20)?),
        6 => addr_of(pkt.get(24..40)?),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toa_uoa_codec::{parse_packet, Carried};

    fn udp4(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut seg = sport.to_be_bytes().to_vec();
        seg.extend_from_slice(&dport.to_be_bytes());
        seg.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        seg.extend_from_slice(&[0, 0]);
        seg.extend_from_slice(payload);
        build(src.into(), dst.into(), IPPROTO_UDP, 64, 0, &seg).unwrap()
    }

    /// A checksum over the pseudo-header and segment of a built packet folds to zero.
    /// Options and a Destination Options header (as the stage inserts them) are skipped.
    fn transport_checksum_ok(pkt: &[u8]) -> bool {
        let (s, d, proto, seg) = if pkt[0] >> 4 == 4 {
            let ihl = usize::from(pkt[0] & 15) * 4;
            let total = usize::from(u16::from_be_bytes([pkt[2], pkt[3]]));
            (&pkt[12..16], &pkt[16..20], pkt[9], &pkt[ihl..total])
        } else if pkt[6] == 60 {
            let off = 40 + (usize::from(pkt[41]) + 1) * 8;
            (&pkt[8..24], &pkt[24..40], pkt[40], &pkt[off..])
        } else {
            (&pkt[8..24], &pkt[24..40], pkt[6], &pkt[40..])
        };
        let mut sum = sum16(s, 0);
        sum = sum16(d, sum);
        sum = sum16(&[0, proto], sum);
        sum = sum16(&(seg.len() as u16).to_be_bytes(), sum);
        sum16(seg, sum) == 0xffff
    }

    #[test]
    fn parses_and_refuses() {
        let t = Translation::parse("10.1.0.146=fd03::146,fd03::1").unwrap();
        assert_eq!(t.outer_vip, "10.1.0.146".parse::<IpAddr>().unwrap());
        assert!(Translation::parse("10.1.0.146=10.3.0.1,10.3.0.2").is_err());
        assert!(Translation::parse("fd01::164=10.1.0.164,fd03::1").is_err());
        assert!(Translation::parse("fd01::164").is_err());
    }

    #[test]
    fn udp_46_there_and_back() {
        let t = Translation::parse("10.1.0.146=fd03::146,fd03::1").unwrap();
        let mut x = Translator::new(vec![t]);
        let client = udp4([10, 1, 0, 2], 40053, [10, 1, 0, 146], 53, b"hello");
        let Outcome::Forward(out) = x.process(&client, 1500) else {
            panic!("not forwarded")
        };
        // IPv6 from the pool to the inner VIP, the option carrying the IPv4 client and VIP.
        let p = parse_packet(&out).unwrap().unwrap();
        assert_eq!(
            p.carried,
            Carried::v4([10, 1, 0, 2], 40053, [10, 1, 0, 146], 53)
        );
        assert_eq!(out[0] >> 4, 6);
        assert_eq!(&out[8..24], &addr_bytes(&t.pool)[..]);
        assert_eq!(&out[24..40], &addr_bytes(&t.inner_vip)[..]);
        // The reply (after the balancer's NAT is undone) goes back as IPv4 from the VIP.
        let mut seg = 53u16.to_be_bytes().to_vec();
        seg.extend_from_slice(&40053u16.to_be_bytes());
        seg.extend_from_slice(&[0, 11, 0, 0]);
        seg.extend_from_slice(b"bye");
        let reply = build(t.inner_vip, t.pool, IPPROTO_UDP, 63, 0, &seg).unwrap();
        assert!(transport_checksum_ok(&reply));
        let Outcome::Reply(back) = x.process(&reply, 1500) else {
            panic!("reply not translated")
        };
        assert_eq!(&back[12..16], &[10, 1, 0, 146]);
        assert_eq!(&back[16..20], &[10, 1, 0, 2]);
        assert!(transport_checksum_ok(&back));
        assert_eq!(
            ipv4_header_checksum(&back[..20]),
            u16::from_be_bytes([back[10], back[11]])
        );
    }

    #[test]
    fn tcp_64_checksum_and_option() {
        let t = Translation::parse("fd01::164=10.1.0.164,10.3.0.1").unwrap();
        let mut x = Translator::new(vec![t]);
        let mut seg = vec![0u8; 20];
        seg[..2].copy_from_slice(&40080u16.to_be_bytes());
        seg[2..4].copy_from_slice(&81u16.to_be_bytes());
        seg[12] = 0x50;
        seg[13] = 0x02;
        let c6: IpAddr = "fd01::2".parse().unwrap();
        let pkt = build(c6, t.outer_vip, IPPROTO_TCP, 64, 0, &seg).unwrap();
        let Outcome::Forward(out) = x.process(&pkt, 1500) else {
            panic!("not forwarded")
        };
        assert_eq!(out[0], 0x4f, "IPv4 with the 40-byte option");
        let p = parse_packet(&out).unwrap().unwrap();
        assert_eq!(p.carried.cport, 40080);
        assert_eq!(p.carried.vport, 81);
        assert_eq!(p.carried.family, Family::V6);
        assert!(transport_checksum_ok(&out));
        // Not ours: same-family packets go to the plain stage.
        let other = udp4([10, 1, 0, 2], 1, [10, 1, 0, 100], 53, b"x");
        assert_eq!(x.process(&other, 1500), Outcome::NotOurs);
        // A reply for a client port never seen is dropped.
        let reply = udp4([10, 1, 0, 164], 53, [10, 3, 0, 1], 999, b"x");
        assert_eq!(x.process(&reply, 1500), Outcome::Dropped(Skip::Malformed));
    }

    /// DPVS's NAT64: an IPv6 client's TCP and UDP over IPv4, in DPVS's formats.
    #[test]
    fn dpvs_formats_64() {
        use toa_uoa_codec::dpvs::{self, Kind};
        let t = Translation::parse("fd01::164=10.1.0.164,10.3.0.1").unwrap();
        let c6: IpAddr = "fd01::2".parse().unwrap();
        let tcp = |flags: u8, ack: u32| {
            let mut seg = vec![0u8; 20];
            seg[..2].copy_from_slice(&40080u16.to_be_bytes());
            seg[2..4].copy_from_slice(&81u16.to_be_bytes());
            seg[8..12].copy_from_slice(&ack.to_be_bytes());
            seg[12] = 0x50;
            seg[13] = flags;
            build(c6, t.outer_vip, IPPROTO_TCP, 64, 0, &seg).unwrap()
        };
        for format in [Format::DpvsIpo, Format::DpvsOpp] {
            let mut x = Translator::with_format(vec![t], format);
            assert_eq!(x.format(), format);
            // The SYN: translated, no TOA.
            let Outcome::Forward(syn) = x.process(&tcp(0x02, 0), 1500) else {
                panic!("SYN not forwarded")
            };
            assert_eq!(syn[0], 0x45);
            assert_eq!(dpvs::parse_packet(&syn), Ok(None));
            assert!(transport_checksum_ok(&syn));
            // The ACK: TOA of the IPv6 client (20 bytes) over IPv4.
            let Outcome::Forward(ack) = x.process(&tcp(0x10, 5001), 1500) else {
                panic!("ACK not forwarded")
            };
            let p = dpvs::parse_packet(&ack).unwrap().unwrap();
            assert_eq!(p.kind, Kind::Toa);
            assert_eq!(p.client.family, Family::V6);
            assert_eq!(p.client.cport, 40080);
            assert_eq!(&p.client.cip, &addr_bytes(&c6)[..]);
            assert!(transport_checksum_ok(&ack));
            // UDP: ipo of 20 bytes, or opp of version 2.
            let mut seg = 40053u16.to_be_bytes().to_vec();
            seg.extend_from_slice(&53u16.to_be_bytes());
            seg.extend_from_slice(&[0, 9, 0, 0, b'q']);
            let udp = build(c6, t.outer_vip, IPPROTO_UDP, 64, 0, &seg).unwrap();
            let Outcome::Forward(out) = x.process(&udp, 1500) else {
                panic!("UDP not forwarded")
            };
            let p = dpvs::parse_packet(&out).unwrap().unwrap();
            let want = if format == Format::DpvsIpo {
                Kind::UoaIpo
            } else {
                Kind::UoaOpp
            };
            assert_eq!(
                (p.kind, p.client.family, p.client.cport),
                (want, Family::V6, 40053)
            );
            if want == Kind::UoaIpo {
                assert!(transport_checksum_ok(&out));
            } else {
                assert_eq!(p.opp.unwrap().version, 2);
            }
        }
    }
}
