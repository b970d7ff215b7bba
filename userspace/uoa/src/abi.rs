// SPDX-License-Identifier: GPL-2.0

//! The look-up structures of `include/uapi/linux/toa_uoa.h`, byte for byte, and their
//! encoding from / decoding to [`SocketAddr`]s. Plain data and plain functions: no
//! system call here, so everything is testable without the module.
//!
//! Ports and addresses are kept as network-order byte arrays (`__be16` is `[u8; 2]`);
//! `af`, `real_af` and `type` are host-order integers, as in C.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::Error;

/// `UOA_SO_GET_LOOKUP`: the v0 look-up (the 18, 56 or 58 byte structures).
pub const UOA_SO_GET_LOOKUP: libc::c_int = 2048;
/// `UOA_SO_GET_LOOKUP1`: the v1 look-up (`union uoa_sockopt_param`, 40 bytes).
pub const UOA_SO_GET_LOOKUP1: libc::c_int = 2049;
/// Linux's AF_INET as the structures carry it.
pub const AF_INET: u16 = libc::AF_INET as u16;
/// Linux's AF_INET6 as the structures carry it.
pub const AF_INET6: u16 = libc::AF_INET6 as u16;

/// `struct uoa_param_map`: v0, 58 bytes, DPVS's layout (with `real_af`).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UoaParamMap {
    /// Input: AF_INET or AF_INET6 (host order).
    pub af: u16,
    /// Input: the datagram's source (the balancer's side); IPv4 in the first 4 bytes.
    pub saddr: [u8; 16],
    /// Input: the datagram's destination (this server); all zero = any local address.
    pub daddr: [u8; 16],
    /// Input: source port.
    pub sport: [u8; 2],
    /// Input: destination port.
    pub dport: [u8; 2],
    /// Output: the client's family (host order).
    pub real_af: u16,
    /// Output: CIP.
    pub real_saddr: [u8; 16],
    /// Output: CPORT.
    pub real_sport: [u8; 2],
}

/// `struct uoa_param_map_no_real_af`: v0, 56 bytes, without the client's family.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UoaParamMapNoRealAf {
    /// Input: AF_INET or AF_INET6 (host order).
    pub af: u16,
    /// Input: the datagram's source.
    pub saddr: [u8; 16],
    /// Input: the datagram's destination.
    pub daddr: [u8; 16],
    /// Input: source port.
    pub sport: [u8; 2],
    /// Input: destination port.
    pub dport: [u8; 2],
    /// Output: CIP (IPv4-mapped for an IPv4 client on an AF_INET6 query).
    pub real_saddr: [u8; 16],
    /// Output: CPORT.
    pub real_sport: [u8; 2],
}

/// `struct uoa_param_map_ipv4`: v0, 18 bytes, the oldest layout, IPv4 only.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UoaParamMapIpv4 {
    /// Input: the datagram's source.
    pub saddr: [u8; 4],
    /// Input: the datagram's destination.
    pub daddr: [u8; 4],
    /// Input: source port.
    pub sport: [u8; 2],
    /// Input: destination port.
    pub dport: [u8; 2],
    /// Output: CIP.
    pub real_saddr: [u8; 4],
    /// Output: CPORT.
    pub real_sport: [u8; 2],
}

/// `struct four_tuple` (and `union uoa_sockopt_param`): v1, 40 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FourTuple {
    /// AF_INET/AF_INET6 (or 0/1): in, the tuple's family; out, the client's.
    pub ty: u32,
    /// In: the datagram's source port; out: CPORT.
    pub sport: [u8; 2],
    /// In: the datagram's destination port; out: VPORT.
    pub dport: [u8; 2],
    /// `union two_addr`: saddr then daddr, 4 bytes each (IPv4) or 16 each (IPv6).
    pub addrs: [u8; 32],
}

/// Offset of `addrs.ipv4.daddr` in `union two_addr`.
pub const TWO_ADDR_V4_DADDR: usize = 4;
/// Offset of `addrs.ipv6.daddr` in `union two_addr`.
pub const TWO_ADDR_V6_DADDR: usize = 16;

/// A look-up's input, normalised: one family, IPv4-mapped addresses as IPv4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tuple {
    v6: bool,
    saddr: [u8; 16],
    sport: u16,
    daddr: [u8; 16],
    dport: u16,
}

fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(a) => a.to_ipv4_mapped().map_or(IpAddr::V6(a), IpAddr::V4),
        v4 => v4,
    }
}

fn bytes16(ip: IpAddr) -> [u8; 16] {
    let mut out = [0u8; 16];
    match ip {
        IpAddr::V4(a) => out[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => out = a.octets(),
    }
    out
}

/// The datagram's tuple: `peer` where it came from, `local` where it went. An unspecified
/// local address (0.0.0.0 or ::) asks for any local address; otherwise the two families
/// must agree (after IPv4-mapped addresses are taken as IPv4).
fn tuple(peer: SocketAddr, local: SocketAddr) -> Result<Tuple, Error> {
    let s = unmapped(peer.ip());
    let d = unmapped(local.ip());
    let daddr = if d.is_unspecified() {
        [0; 16]
    } else if d.is_ipv6() != s.is_ipv6() {
        return Err(Error::Invalid);
    } else {
        bytes16(d)
    };
    Ok(Tuple {
        v6: s.is_ipv6(),
        saddr: bytes16(s),
        sport: peer.port(),
        daddr,
        dport: local.port(),
    })
}

fn v4_at(b: &[u8], at: usize) -> Ipv4Addr {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    Ipv4Addr::from(a)
}

fn v6_at(b: &[u8], at: usize) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[at..at + 16]);
    Ipv6Addr::from(a)
}

fn sock(ip: IpAddr, port: [u8; 2]) -> SocketAddr {
    let port = u16::from_be_bytes(port);
    match ip {
        IpAddr::V4(a) => SocketAddr::V4(SocketAddrV4::new(a, port)),
        IpAddr::V6(a) => SocketAddr::V6(SocketAddrV6::new(a, port, 0, 0)),
    }
}

fn unexpected(what: &str) -> Error {
    Error::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("toa_uoa: unexpected answer: {what}"),
    ))
}

impl FourTuple {
    /// The v1 query for a datagram from `peer` to `local`.
    pub fn query(peer: SocketAddr, local: SocketAddr) -> Result<FourTuple, Error> {
        let t = tuple(peer, local)?;
        let mut q = FourTuple {
            ty: u32::from(if t.v6 { AF_INET6 } else { AF_INET }),
            sport: t.sport.to_be_bytes(),
            dport: t.dport.to_be_bytes(),
            addrs: [0; 32],
        };
        if t.v6 {
            q.addrs[..16].copy_from_slice(&t.saddr);
            q.addrs[TWO_ADDR_V6_DADDR..].copy_from_slice(&t.daddr);
        } else {
            q.addrs[..4].copy_from_slice(&t.saddr[..4]);
            q.addrs[TWO_ADDR_V4_DADDR..8].copy_from_slice(&t.daddr[..4]);
        }
        Ok(q)
    }

    /// The v1 answer: (client CIP:CPORT, service VIP:VPORT).
    pub fn answer(&self) -> Result<(SocketAddr, SocketAddr), Error> {
        let a = &self.addrs;
        let (c, v) = match self.ty {
            t if t == u32::from(AF_INET) || t == 0 => (
                IpAddr::V4(v4_at(a, 0)),
                IpAddr::V4(v4_at(a, TWO_ADDR_V4_DADDR)),
            ),
            t if t == u32::from(AF_INET6) || t == 1 => (
                IpAddr::V6(v6_at(a, 0)),
                IpAddr::V6(v6_at(a, TWO_ADDR_V6_DADDR)),
            ),
            _ => return Err(unexpected("v1 type")),
        };
        Ok((sock(c, self.sport), sock(v, self.dport)))
    }
}

impl UoaParamMap {
    /// The 58-byte v0 query for a datagram from `peer` to `local`.
    pub fn query(peer: SocketAddr, local: SocketAddr) -> Result<UoaParamMap, Error> {
        let t = tuple(peer, local)?;
        Ok(UoaParamMap {
            af: if t.v6 { AF_INET6 } else { AF_INET },
            saddr: t.saddr,
            daddr: t.daddr,
            sport: t.sport.to_be_bytes(),
            dport: t.dport.to_be_bytes(),
            ..UoaParamMap::default()
        })
    }

    /// The client (CIP:CPORT) of the answer.
    pub fn answer(&self) -> Result<SocketAddr, Error> {
        let real = self.real_saddr;
        let ip = match self.real_af {
            AF_INET => IpAddr::V4(v4_at(&real, 0)),
            AF_INET6 => IpAddr::V6(v6_at(&real, 0)),
            _ => return Err(unexpected("v0 real_af")),
        };
        Ok(sock(ip, self.real_sport))
    }
}

impl UoaParamMapNoRealAf {
    /// The 56-byte v0 query for a datagram from `peer` to `local`.
    pub fn query(peer: SocketAddr, local: SocketAddr) -> Result<UoaParamMapNoRealAf, Error> {
        let t = tuple(peer, local)?;
        Ok(UoaParamMapNoRealAf {
            af: if t.v6 { AF_INET6 } else { AF_INET },
            saddr: t.saddr,
            daddr: t.daddr,
            sport: t.sport.to_be_bytes(),
            dport: t.dport.to_be_bytes(),
            ..UoaParamMapNoRealAf::default()
        })
    }

    /// The client of the answer, in the query's family (an IPv4 client of an AF_INET6
    /// query is IPv4-mapped: it is given back as IPv4).
    pub fn answer(&self) -> Result<SocketAddr, Error> {
        let real = self.real_saddr;
        let ip = match self.af {
            AF_INET => IpAddr::V4(v4_at(&real, 0)),
            AF_INET6 => unmapped(IpAddr::V6(v6_at(&real, 0))),
            _ => return Err(unexpected("v0 af")),
        };
        Ok(sock(ip, self.real_sport))
    }
}

impl UoaParamMapIpv4 {
    /// The 18-byte v0 query; IPv4 tuples only (else [`Error::FamilyNotSupported`]).
    pub fn query(peer: SocketAddr, local: SocketAddr) -> Result<UoaParamMapIpv4, Error> {
        let t = tuple(peer, local)?;
        if t.v6 {
            return Err(Error::FamilyNotSupported);
        }
        let mut q = UoaParamMapIpv4 {
            sport: t.sport.to_be_bytes(),
            dport: t.dport.to_be_bytes(),
            ..UoaParamMapIpv4::default()
        };
        q.saddr.copy_from_slice(&t.saddr[..4]);
        q.daddr.copy_from_slice(&t.daddr[..4]);
        Ok(q)
    }

    /// The client of the answer.
    pub fn answer(&self) -> SocketAddr {
        sock(IpAddr::V4(Ipv4Addr::from(self.real_saddr)), self.real_sport)
    }
}

/// A field of the structures, as the bytes it occupies (host order for the integers).
trait Field: Sized {
    const LEN: usize;
    fn put(&self, out: &mut [u8]);
    fn get(b: &[u8]) -> Self;
}

impl Field for u16 {
    const LEN: usize = 2;
    fn put(&self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_ne_bytes());
    }
    fn get(b: &[u8]) -> Self {
        u16::from_ne_bytes([b[0], b[1]])
    }
}

impl Field for u32 {
    const LEN: usize = 4;
    fn put(&self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_ne_bytes());
    }
    fn get(b: &[u8]) -> Self {
        u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
    }
}

impl<const N: usize> Field for [u8; N] {
    const LEN: usize = N;
    fn put(&self, out: &mut [u8]) {
        out.copy_from_slice(self);
    }
    fn get(b: &[u8]) -> Self {
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        a
    }
}

/// `LEN`, `to_bytes` and `from_bytes` from the fields in declaration order (the layout
/// has no padding; the tests check every field lands at its `offset_of!`).
macro_rules! as_bytes {
    ($t:ident, $len:literal, $($f:ident: $ft:ty),+) => {
        impl $t {
            /// Size of the C structure.
            pub const LEN: usize = $len;

            /// The structure's bytes, as the kernel reads them.
            pub fn to_bytes(&self) -> [u8; $len] {
                let mut out = [0u8; $len];
                let mut at = 0;
                $(
                    let v: $ft = self.$f;
                    v.put(&mut out[at..at + <$ft as Field>::LEN]);
                    at += <$ft as Field>::LEN;
                )+
                debug_assert_eq!(at, $len);
                out
            }

            /// The structure from its bytes, as the kernel wrote them.
            pub fn from_bytes(b: &[u8; $len]) -> $t {
                let mut at = 0;
                $(
                    let $f = <$ft as Field>::get(&b[at..at + <$ft as Field>::LEN]);
                    at += <$ft as Field>::LEN;
                )+
                debug_assert_eq!(at, $len);
                $t { $($f),+ }
            }
        }
    };
}

as_bytes!(UoaParamMap, 58, af: u16, saddr: [u8; 16], daddr: [u8; 16], sport: [u8; 2],
    dport: [u8; 2], real_af: u16, real_saddr: [u8; 16], real_sport: [u8; 2]);
as_bytes!(UoaParamMapNoRealAf, 56, af: u16, saddr: [u8; 16], daddr: [u8; 16],
    sport: [u8; 2], dport: [u8; 2], real_saddr: [u8; 16], real_sport: [u8; 2]);
as_bytes!(UoaParamMapIpv4, 18, saddr: [u8; 4], daddr: [u8; 4], sport: [u8; 2],
    dport: [u8; 2], real_saddr: [u8; 4], real_sport: [u8; 2]);
as_bytes!(FourTuple, 40, ty: u32, sport: [u8; 2], dport: [u8; 2], addrs: [u8; 32]);
