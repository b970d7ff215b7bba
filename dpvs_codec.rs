// SPDX-License-Identifier: GPL-2.0

//! Parsing of DPVS's own client-address formats: TOA (TCP option 254) and UOA, both as an IPv4
//! option ("ipo") and as a private IP protocol 248 header ("opp").
//!
//! DPVS (the DPDK load balancer, repository iqiyi/dpvs) carries only the client's address and
//! port (CIP:CPORT), never the virtual service's: a record from these formats has no VIP. This
//! file reads them so that a real server running toa_uoa can take the place of DPVS's two
//! modules, `kmod/toa/toa.ko` and `kmod/uoa/uoa.ko`. The formats below were read from DPVS's
//! sources (sender and receiver side); this code was written from that description.
//!
//! Like `option_codec.rs`, whose types it uses ([`Family`], [`Transport`], [`OuterTuple`],
//! [`Carried`]), this file is compiled unchanged into the kernel module and into the host crate
//! `toa-uoa-codec`: `core` only, no `unsafe`, no allocation, and no input can make it panic
//! (every byte is read with `get`, every offset computed with checked or saturating arithmetic,
//! every loop advances over a bounded slice). It expects `option_codec` beside it at
//! `crate::option_codec`.
//!
//! All ports and addresses on the wire are in network byte order.
//!
//! # TOA: TCP option 254
//! From DPVS `include/ipvs/proto_tcp.h` (`TCP_OPT_ADDR = 254`, `TCP_OLEN_IP4_ADDR = 8`,
//! `TCP_OLEN_IP6_ADDR = 20`, `struct tcpopt_ip4_addr`, `struct tcpopt_ip6_addr`, sender
//! `tcp_in_add_toa` in `src/ipvs/ip_vs_proto_tcp.c`) and `kmod/toa/toa.h` (`TCPOPT_TOA`,
//! `TCPOLEN_IP4_TOA`, `TCPOLEN_IP6_TOA`, `struct toa_ip4_data`, `struct toa_ip6_data`, receiver
//! `get_toa_data` in `kmod/toa/toa.c`):
//! ```text
//!  0        1        2        3
//! +--------+--------+--------+--------+
//! |kind=254| len    |      CPORT      |
//! +--------+--------+--------+--------+
//! |  CIP: 4 bytes (len 8) or 16 bytes (len 20)
//! ```
//! - One TCP option (RFC 9293 kind/length form). `len` is the whole option: 8 for an IPv4 client,
//!   20 for an IPv6 client (the client family follows from the length alone).
//! - DPVS inserts it right after the 20-byte TCP header, before the existing options (which move
//!   down), raises the data offset by 2 or 5 words and the IP total/payload length by as much.
//!   It does so on client packets whose acknowledgment number is the server's initial sequence
//!   number + 1 and that are neither SYN nor RST: the packet completing the handshake and the
//!   client's data packets before the server's first data. Never on a SYN.
//! - This parser finds it anywhere in the options (walking EOL, NOP and other options as
//!   RFC 9293 says: EOL ends the list, other options are kind, length >= 2, data), on TCP packets
//!   that are not SYNs. Kind 254 is also RFC 6994's shared experimental kind (TCP Fast Open's
//!   pre-RFC form among others, which is sent on SYNs): a kind-254 option of another length is
//!   walked over, as DPVS's own receiver does, and kind 254 on a SYN is not taken for TOA.
//!
//! # UOA "ipo": IPv4 option 31
//! From DPVS `include/uoa.h` (`IPOPT_UOA = 31 | IPOPT_CONTROL` = 31, `IPOLEN_UOA_IPV4` = 8,
//! `IPOLEN_UOA_IPV6` = 20, `struct ipopt_uoa`; sender `insert_ipopt_uoa` and
//! `send_standalone_uoa` in `src/ipvs/ip_vs_proto_udp.c`, mode `UOA_M_IPO`; receiver
//! `uoa_iph_rcv` and `uoa_parse_ipopt` in `kmod/uoa/uoa.c`):
//! ```text
//!  0        1        2        3
//! +--------+--------+--------+--------+
//! |type=31 | len    |      CPORT      |
//! +--------+--------+--------+--------+
//! |  CIP: 4 bytes (len 8) or 16 bytes (len 20)
//! ```
//! - An IPv4 header option (RFC 791 type/length form), the same layout as TOA with type 31.
//!   `len` 8: IPv4 client; 20: IPv6 client. DPVS's balancer sends it only for IPv4 clients over
//!   IPv4, on UDP, placed right after the fixed header; its receiver reads it on UDP only.
//! - The unified format of this project (PROTOCOL.md section 1) is IPv4 option 31 too, with
//!   length 16 or 40: the length tells the two apart. This parser walks over a type-31 option of
//!   length 16 or 40 (the unified parser's business) and rejects any other length but 8 or 20.
//!
//! # UOA "opp": private IP protocol 248
//! From DPVS `include/uoa.h` (`IPPROTO_OPT` = 248, `OPPHDR_IPV4` = 1, `OPPHDR_IPV6` = 2,
//! `struct opphdr`; sender `insert_opp_uoa` and `send_standalone_uoa` in
//! `src/ipvs/ip_vs_proto_udp.c`, mode `UOA_M_OPP`, DPVS's default; receiver `uoa_opp_rcv` in
//! `kmod/uoa/uoa.c`):
//! ```text
//!  0        1        2        3
//! +----+----+--------+--------+--------+
//! |ver |rsvd|protocol|     length      |
//! +----+----+--------+--------+--------+
//! |  options: an ipopt_uoa as in "ipo" (8 or 20 bytes)
//! ```
//! - A header of its own between the IP header and UDP: the IPv4 protocol field (after the
//!   IPv4 header and its options) or the fixed IPv6 header's Next Header is 248.
//! - `ver` (high nibble of byte 0; `struct opphdr`'s `version:4` bit-field): 1 when the client
//!   is IPv4, 2 when IPv6 (the client's family, not the outer header's). `rsvd` (low nibble):
//!   "must be zero", ignored on receive as DPVS's receiver does.
//! - `protocol`: the next protocol; DPVS sends and accepts only UDP (17).
//! - `length`: the whole opp header, the 4 fixed bytes and the options, not the payload.
//!   DPVS sends 12 (IPv4 client) or 24 (IPv6 client).
//! - options: IPv4-style options (EOL, NOP, type/length/data); DPVS puts exactly one UOA option
//!   (type 31, length 8 or 20, as in "ipo") there.
//! - Behind it, the UDP header and datagram, unchanged: for IPv6 DPVS computes the UDP checksum
//!   as for plain UDP (pseudo-header with Next Header 17 and the UDP length); for IPv4 it sends
//!   0 (no checksum). DPVS's receiver removes the header (protocol/Next Header set back to
//!   `protocol`, lengths and the IPv4 header checksum adjusted) so UDP gets the datagram.
//! - DPVS's balancer puts it directly after the fixed IPv6 header only (with extension headers
//!   it sends a separate datagram without them), and its receiver looks for it only there.
//!
//! This parser also requires of "opp": `length` a multiple of 4 between 4 and
//! [`OPP_MAX_LEN`], `ver` agreeing with the UOA option's family, exactly one UOA option.
//!
//! # What bytes the parser needs
//! The same input as `option_codec::parse_packet`: the packet from its IP header, at most the
//! first 256 bytes are enough. For TOA the whole TCP header (up to 60 bytes) must be there; for
//! "opp" the whole opp header; for "ipo" the IP header. Bytes past the transport header (past
//! the TCP options for TOA) are never read, and declared lengths are not consulted.

// The rules this file promises (core only, no unsafe, nothing that can panic or overflow), as
// option_codec.rs: checked by clippy wherever it is compiled.
#![deny(
    unsafe_code,
    missing_docs,
    rust_2018_idioms,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    clippy::as_conversions,
    clippy::mut_mut,
    clippy::needless_bitwise_bool,
    clippy::needless_continue,
    clippy::dbg_macro
)]

use crate::option_codec::{
    self, be16, copy_into, walk_options, Carried, Family, OuterTuple, Transport, IPPROTO_TCP,
    IPPROTO_UDP,
};

/// TCP option kind of TOA (DPVS `TCP_OPT_ADDR`, `TCPOPT_TOA`).
pub const TCPOPT_TOA: u8 = 254;
/// IPv4 option type of DPVS's UOA option (`IPOPT_UOA`), the same number as the unified option's.
pub const IPOPT_UOA: u8 = 31;
/// Length of a TOA or UOA option carrying an IPv4 client: kind/type, length, port, 4 bytes.
pub const ADDR_OPTION_LEN_V4: usize = 8;
/// Length of a TOA or UOA option carrying an IPv6 client: kind/type, length, port, 16 bytes.
pub const ADDR_OPTION_LEN_V6: usize = 20;
/// IP protocol number of DPVS's "option protocol" header (`IPPROTO_OPT`).
pub const IPPROTO_OPP: u8 = 248;
/// Version of an opp header whose client is IPv4 (`OPPHDR_IPV4`).
pub const OPP_VERSION_V4: u8 = 1;
/// Version of an opp header whose client is IPv6 (`OPPHDR_IPV6`).
pub const OPP_VERSION_V6: u8 = 2;
/// Length of the fixed part of an opp header (version, protocol, length).
pub const OPP_FIXED_LEN: usize = 4;
/// Longest opp header accepted: the fixed part and 40 bytes of options, the room IPv4 has for
/// options (the opp options are "compatible with IPv4 options"). DPVS sends 12 or 24.
pub const OPP_MAX_LEN: usize = OPP_FIXED_LEN + 40;

/// Length of the fixed IPv4 header.
const V4_HEADER_LEN: usize = 20;
/// Length of the fixed IPv6 header.
const V6_HEADER_LEN: usize = 40;
/// Length of the TCP header without options.
const TCP_HEADER_LEN: usize = 20;
/// Offset of the IPv4 protocol field.
const V4_PROTOCOL_AT: usize = 9;
/// Offset of the IPv6 Next Header field.
const V6_NEXT_HEADER_AT: usize = 6;
/// Unified option lengths (option_codec's), walked over in the IPv4 header.
const UNIFIED_LEN_V4: usize = 16;
/// See [`UNIFIED_LEN_V4`].
const UNIFIED_LEN_V6: usize = 40;
/// SYN bit of the TCP flags byte (offset 13).
const TCP_FLAG_SYN: u8 = 0x02;

/// Which of DPVS's formats carried the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// TCP option 254.
    Toa,
    /// IPv4 option 31 of length 8 or 20.
    UoaIpo,
    /// Private IP protocol 248 header holding the UOA option.
    UoaOpp,
}

impl Kind {
    /// Number of variants.
    pub const COUNT: usize = 3;

    /// Every variant, in [`Kind::index`] order (for counter tables).
    pub const ALL: [Kind; Kind::COUNT] = [Kind::Toa, Kind::UoaIpo, Kind::UoaOpp];

    /// Position of this variant in [`Kind::ALL`].
    // A fieldless enum's discriminant (0..COUNT) cannot truncate.
    #[allow(clippy::as_conversions)]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Stable name shown to operators (the decode tool's "format").
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Toa => "dpvs-toa",
            Kind::UoaIpo => "dpvs-uoa-ipo",
            Kind::UoaOpp => "dpvs-uoa-opp",
        }
    }

    /// Stable snake_case name, for counters.
    pub const fn counter_name(self) -> &'static str {
        match self {
            Kind::Toa => "dpvs_toa",
            Kind::UoaIpo => "dpvs_uoa_ipo",
            Kind::UoaOpp => "dpvs_uoa_opp",
        }
    }
}

impl core::fmt::Display for Kind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// The client a DPVS format carries: address and port, no VIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Client {
    /// Family of `cip`.
    pub family: Family,
    /// Client address (CIP). For [`Family::V4`] the first 4 bytes hold it and the rest are zero.
    pub cip: [u8; 16],
    /// Client port (CPORT), host byte order.
    pub cport: u16,
}

impl Client {
    /// The client address bytes: 4 for IPv4, 16 for IPv6.
    pub fn cip_bytes(&self) -> &[u8] {
        self.cip.get(..self.family.addr_len()).unwrap_or(&[])
    }

    /// The client as an option_codec record whose VIP is all zeros and VPORT 0 (of the client's
    /// family): DPVS carries no virtual service address.
    pub fn to_carried(self) -> Carried {
        Carried {
            family: self.family,
            cip: self.cip,
            cport: self.cport,
            vip: [0; 16],
            vport: 0,
        }
    }
}

/// Where an opp header sits, for the code that removes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OppHeader {
    /// Offset of the opp header from the start of the IP header: the IPv4 header length (with
    /// its options), or 40 for IPv6.
    pub offset: usize,
    /// Its length in bytes (its `length` field: fixed part and options), the bytes to remove.
    /// The UDP header starts at `offset + len` ([`Parsed::transport_offset`]).
    pub len: usize,
    /// Offset of the byte that says 248: the IPv4 protocol field (9) or the IPv6 Next Header
    /// (6). Removing the header means writing [`Parsed::protocol`] there, and lowering the IPv4
    /// total length (and fixing its header checksum) or the IPv6 payload length by `len`.
    pub protocol_field: usize,
    /// The header's version nibble (1: IPv4 client, 2: IPv6 client).
    pub version: u8,
}

/// A DPVS address found in a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    /// Which format carried it.
    pub kind: Kind,
    /// The client it carried.
    pub client: Client,
    /// The transport protocol: TCP for TOA, the IPv4 protocol field for "ipo", the opp
    /// header's next protocol (UDP) for "opp".
    pub protocol: u8,
    /// Offset of the transport header from the start of the IP header; for "opp", of the UDP
    /// header behind the opp header.
    pub transport_offset: usize,
    /// For [`Kind::UoaOpp`] (and only for it), where the opp header is.
    pub opp: Option<OppHeader>,
}

impl Parsed {
    /// The outer (as received) tuple of `pkt`, which must be the packet this was parsed from:
    /// its IP addresses and the ports of the transport header at [`Parsed::transport_offset`]
    /// (behind the opp header for "opp"). See `option_codec::outer_tuple`.
    pub fn outer_tuple(&self, pkt: &[u8]) -> Option<OuterTuple> {
        option_codec::outer_tuple(pkt, self.protocol, self.transport_offset)
    }
}

/// Which check a packet failed.
///
/// Fine-grained with stable [`Error::name`]s, so that a kernel can count malformed shapes by
/// name, as it does option_codec's errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// Fewer bytes than the fixed IP header (20 for IPv4, 40 for IPv6), or none at all.
    Truncated,
    /// The version nibble is neither 4 nor 6.
    BadIpVersion,
    /// IPv4 IHL below 5.
    BadIhl,
    /// IPv4 IHL says more header bytes than the packet has.
    V4HeaderPastPacket,
    /// The IPv6 extension-header chain in front of the TCP header is cut short, too long or out
    /// of order (as option_codec's walk finds it).
    V6HeaderChain,
    /// An IPv4-style option (in the IPv4 header or in an opp header) other than EOL/NOP has a
    /// length byte of 0 or 1.
    OptionLengthZeroOrOne,
    /// An IPv4-style option (its length byte or body) runs past the IPv4 header or the opp
    /// header.
    OptionPastHeader,
    /// A UOA option (type 31) of a length other than 8 or 20 (in the IPv4 header: nor 16 or
    /// 40, the unified option's).
    UoaBadLength,
    /// More than one DPVS address in one packet (two UOA options, two TOA options, or two
    /// formats at once): which one to trust is ambiguous.
    DuplicateAddress,
    /// The opp header's fixed 4 bytes are not all in the packet.
    OppTruncated,
    /// The opp version is neither 1 nor 2.
    OppBadVersion,
    /// The opp header's next protocol is not UDP.
    OppNotUdp,
    /// The opp length is below 4, not a multiple of 4, or above [`OPP_MAX_LEN`].
    OppBadLength,
    /// The opp length says more bytes than the packet has.
    OppPastPacket,
    /// The opp header holds no UOA option.
    OppNoAddress,
    /// The opp version disagrees with its UOA option's length (version 1 needs 8, 2 needs 20).
    OppVersionMismatch,
    /// Protocol 248 behind IPv6 extension headers: not where DPVS puts the opp header.
    OppBehindExtHeaders,
    /// The TCP header (its first 20 bytes, or as many as its data offset says) is not all in
    /// the packet.
    TcpHeaderPastPacket,
    /// TCP data offset below 5.
    TcpBadDataOffset,
    /// A TCP option other than EOL/NOP has a length byte of 0 or 1.
    TcpOptionLengthZeroOrOne,
    /// A TCP option (its length byte or body) runs past the TCP header.
    TcpOptionPastHeader,
}

impl Error {
    /// Number of variants.
    pub const COUNT: usize = 21;

    /// Every variant, in [`Error::index`] order (for counter tables).
    pub const ALL: [Error; Error::COUNT] = [
        Error::Truncated,
        Error::BadIpVersion,
        Error::BadIhl,
        Error::V4HeaderPastPacket,
        Error::V6HeaderChain,
        Error::OptionLengthZeroOrOne,
        Error::OptionPastHeader,
        Error::UoaBadLength,
        Error::DuplicateAddress,
        Error::OppTruncated,
        Error::OppBadVersion,
        Error::OppNotUdp,
        Error::OppBadLength,
        Error::OppPastPacket,
        Error::OppNoAddress,
        Error::OppVersionMismatch,
        Error::OppBehindExtHeaders,
        Error::TcpHeaderPastPacket,
        Error::TcpBadDataOffset,
        Error::TcpOptionLengthZeroOrOne,
        Error::TcpOptionPastHeader,
    ];

    /// Position of this variant in [`Error::ALL`], `0..Error::COUNT`.
    // A fieldless enum's discriminant (0..COUNT) cannot truncate.
    #[allow(clippy::as_conversions)]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Stable snake_case name (counters, the decode tool's output).
    pub const fn name(self) -> &'static str {
        match self {
            Error::Truncated => "truncated",
            Error::BadIpVersion => "bad_ip_version",
            Error::BadIhl => "bad_ihl",
            Error::V4HeaderPastPacket => "v4_header_past_packet",
            Error::V6HeaderChain => "v6_header_chain",
            Error::OptionLengthZeroOrOne => "option_length_zero_or_one",
            Error::OptionPastHeader => "option_past_header",
            Error::UoaBadLength => "uoa_bad_length",
            Error::DuplicateAddress => "duplicate_address",
            Error::OppTruncated => "opp_truncated",
            Error::OppBadVersion => "opp_bad_version",
            Error::OppNotUdp => "opp_not_udp",
            Error::OppBadLength => "opp_bad_length",
            Error::OppPastPacket => "opp_past_packet",
            Error::OppNoAddress => "opp_no_address",
            Error::OppVersionMismatch => "opp_version_mismatch",
            Error::OppBehindExtHeaders => "opp_behind_ext_headers",
            Error::TcpHeaderPastPacket => "tcp_header_past_packet",
            Error::TcpBadDataOffset => "tcp_bad_data_offset",
            Error::TcpOptionLengthZeroOrOne => "tcp_option_length_zero_or_one",
            Error::TcpOptionPastHeader => "tcp_option_past_header",
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Decodes the common layout of TOA and UOA options (`opt` = kind/type, length, port, address,
/// exactly as long as its length byte says): 8 bytes, IPv4 client; 20, IPv6. `None` for any
/// other length.
fn decode_addr_option(opt: &[u8]) -> Option<Client> {
    let family = match opt.len() {
        ADDR_OPTION_LEN_V4 => Family::V4,
        ADDR_OPTION_LEN_V6 => Family::V6,
        _ => return None,
    };
    let mut cip = [0u8; 16];
    copy_into(&mut cip, opt.get(4..)?);
    Some(Client {
        family,
        cip,
        cport: be16(opt, 2)?,
    })
}

/// Records `new` as the one address found, or fails if one was found already.
fn only_one(found: &mut Option<Client>, new: Client) -> Result<(), Error> {
    if found.is_some() {
        return Err(Error::DuplicateAddress);
    }
    *found = Some(new);
    Ok(())
}

/// Walks an IPv4 option list for the UOA option. With `skip_unified`, a type-31 option of the
/// unified lengths (16, 40) is walked over rather than rejected.
fn find_uoa(opts: &[u8], skip_unified: bool) -> Result<Option<Client>, Error> {
    let mut found: Option<Client> = None;
    let is_ours = |len: usize| len == ADDR_OPTION_LEN_V4 || len == ADDR_OPTION_LEN_V6;
    walk_options(
        opts,
        Error::OptionPastHeader,
        Error::OptionLengthZeroOrOne,
        |kind, len| {
            let unified = len == UNIFIED_LEN_V4 || len == UNIFIED_LEN_V6;
            // A wrong length of the UOA option is named as such (before the generic checks).
            if kind == IPOPT_UOA && !is_ours(len) && !(skip_unified && unified) {
                return Err(Error::UoaBadLength);
            }
            Ok(())
        },
        |kind, opt| {
            if kind == IPOPT_UOA && is_ours(opt.len()) {
                let client = decode_addr_option(opt).ok_or(Error::UoaBadLength)?;
                only_one(&mut found, client)?;
            }
            Ok(())
        },
    )?;
    Ok(found)
}

/// Walks the TCP header at `off` for a TOA option. SYNs and headers without options (data
/// offset 5) are not walked.
fn find_toa(pkt: &[u8], off: usize) -> Result<Option<Client>, Error> {
    let doff_at = off.checked_add(12).ok_or(Error::TcpHeaderPastPacket)?;
    let doff = usize::from(*pkt.get(doff_at).ok_or(Error::TcpHeaderPastPacket)? >> 4);
    if doff < 5 {
        return Err(Error::TcpBadDataOffset);
    }
    let flags = *pkt
        .get(doff_at.saturating_add(1))
        .ok_or(Error::TcpHeaderPastPacket)?;
    let hdr_len = doff.saturating_mul(4);
    let end = off.checked_add(hdr_len).ok_or(Error::TcpHeaderPastPacket)?;
    // The fixed 20 bytes must be there even without options (the flags byte is in them).
    let hdr = pkt.get(off..end).ok_or(Error::TcpHeaderPastPacket)?;
    if flags & TCP_FLAG_SYN != 0 {
        return Ok(None);
    }
    let opts = hdr.get(TCP_HEADER_LEN..).unwrap_or(&[]);
    let mut found: Option<Client> = None;
    walk_options(
        opts,
        Error::TcpOptionPastHeader,
        Error::TcpOptionLengthZeroOrOne,
        |_, _| Ok(()),
        |kind, opt| {
            if kind == TCPOPT_TOA {
                // Other lengths: another use of the experimental kind, walked over.
                if let Some(client) = decode_addr_option(opt) {
                    only_one(&mut found, client)?;
                }
            }
            Ok(())
        },
    )?;
    Ok(found)
}

/// Parses the opp header at `off` (`protocol_field`: where 248 was read).
fn parse_opp(pkt: &[u8], off: usize, protocol_field: usize) -> Result<Parsed, Error> {
    let fixed_end = off.checked_add(OPP_FIXED_LEN).ok_or(Error::OppTruncated)?;
    let fixed = pkt.get(off..fixed_end).ok_or(Error::OppTruncated)?;
    let first = *fixed.first().ok_or(Error::OppTruncated)?;
    let version = first >> 4;
    let family = match version {
        OPP_VERSION_V4 => Family::V4,
        OPP_VERSION_V6 => Family::V6,
        _ => return Err(Error::OppBadVersion),
    };
    let protocol = *fixed.get(1).ok_or(Error::OppTruncated)?;
    if protocol != IPPROTO_UDP {
        return Err(Error::OppNotUdp);
    }
    let len = usize::from(be16(fixed, 2).ok_or(Error::OppTruncated)?);
    if !(OPP_FIXED_LEN..=OPP_MAX_LEN).contains(&len) || len % 4 != 0 {
        return Err(Error::OppBadLength);
    }
    let end = off.checked_add(len).ok_or(Error::OppPastPacket)?;
    let hdr = pkt.get(off..end).ok_or(Error::OppPastPacket)?;
    let opts = hdr.get(OPP_FIXED_LEN..).unwrap_or(&[]);
    let client = find_uoa(opts, false)?.ok_or(Error::OppNoAddress)?;
    if client.family != family {
        return Err(Error::OppVersionMismatch);
    }
    Ok(Parsed {
        kind: Kind::UoaOpp,
        client,
        protocol,
        transport_offset: end,
        opp: Some(OppHeader {
            offset: off,
            len,
            protocol_field,
            version,
        }),
    })
}

/// Parses an IPv4 packet (see [`parse_packet`]).
fn parse_v4(pkt: &[u8]) -> Result<Option<Parsed>, Error> {
    if pkt.len() < V4_HEADER_LEN {
        return Err(Error::Truncated);
    }
    let first = *pkt.first().ok_or(Error::Truncated)?;
    let protocol = *pkt.get(V4_PROTOCOL_AT).ok_or(Error::Truncated)?;
    let ihl = usize::from(first & 0x0f);
    if ihl == 5 && protocol != IPPROTO_TCP && protocol != IPPROTO_OPP {
        return Ok(None);
    }
    if ihl < 5 {
        return Err(Error::BadIhl);
    }
    // ihl <= 15: at most 60.
    let hdr_len = ihl.saturating_mul(4);
    let opts = pkt
        .get(V4_HEADER_LEN..hdr_len)
        .ok_or(Error::V4HeaderPastPacket)?;
    let ipo = find_uoa(opts, true)?;
    // A fragment other than the first has no transport header.
    let later_fragment = be16(pkt, 6).ok_or(Error::Truncated)? & 0x1fff != 0;
    let inner = match protocol {
        _ if later_fragment => None,
        IPPROTO_OPP => Some(parse_opp(pkt, hdr_len, V4_PROTOCOL_AT)?),
        IPPROTO_TCP => find_toa(pkt, hdr_len)?.map(|client| Parsed {
            kind: Kind::Toa,
            client,
            protocol,
            transport_offset: hdr_len,
            opp: None,
        }),
        _ => None,
    };
    match (ipo, inner) {
        (Some(_), Some(_)) => Err(Error::DuplicateAddress),
        (None, inner) => Ok(inner),
        (Some(client), None) => Ok(Some(Parsed {
            kind: Kind::UoaIpo,
            client,
            protocol,
            transport_offset: hdr_len,
            opp: None,
        })),
    }
}

/// Parses an IPv6 packet (see [`parse_packet`]).
fn parse_v6(pkt: &[u8]) -> Result<Option<Parsed>, Error> {
    if pkt.len() < V6_HEADER_LEN {
        return Err(Error::Truncated);
    }
    let nh = *pkt.get(V6_NEXT_HEADER_AT).ok_or(Error::Truncated)?;
    let transport = match nh {
        IPPROTO_OPP => {
            return parse_opp(pkt, V6_HEADER_LEN, V6_NEXT_HEADER_AT).map(Some);
        }
        IPPROTO_TCP => Transport {
            protocol: nh,
            offset: V6_HEADER_LEN,
        },
        option_codec::IPV6_HEADER_HOP_BY_HOP
        | option_codec::IPV6_HEADER_DST
        | option_codec::IPV6_HEADER_ROUTING
        | option_codec::IPV6_HEADER_FRAGMENT => {
            option_codec::find_transport(pkt).map_err(|_| Error::V6HeaderChain)?
        }
        _ => return Ok(None),
    };
    match transport.protocol {
        IPPROTO_OPP => Err(Error::OppBehindExtHeaders),
        IPPROTO_TCP => Ok(find_toa(pkt, transport.offset)?.map(|client| Parsed {
            kind: Kind::Toa,
            client,
            protocol: IPPROTO_TCP,
            transport_offset: transport.offset,
            opp: None,
        })),
        _ => Ok(None),
    }
}

/// Looks for one of DPVS's formats in an IPv4 or IPv6 packet (from its IP header).
///
/// Returns `Ok(None)` when the packet carries none, `Ok(Some(_))` with the client and where the
/// transport header is, or the check that failed. Where it looks:
/// - IPv4 header options: "ipo" (type 31, length 8/20); type-31 options of length 16/40 (the
///   unified option) are walked over, any other type-31 length is [`Error::UoaBadLength`].
/// - IPv4 protocol 248 (behind the IPv4 options), or IPv6 Next Header 248 directly after the
///   fixed header: "opp".
/// - TCP (IPv4, or IPv6 behind the extension headers option_codec walks): TOA, unless the
///   segment is a SYN. Not in IPv4 fragments other than the first.
///
/// Packets without any of these (IPv4 IHL 5 other than TCP or 248; IPv6 whose Next Header is
/// none of TCP, 248 or an extension header) return after a few comparisons. One packet may
/// carry only one DPVS address ([`Error::DuplicateAddress`]). The unified option is not read
/// here: option_codec's parser reads it, and which one a caller believes is its choice.
pub fn parse_packet(pkt: &[u8]) -> Result<Option<Parsed>, Error> {
    match pkt.first().map(|b| b >> 4) {
        None => Err(Error::Truncated),
        Some(4) => parse_v4(pkt),
        Some(6) => parse_v6(pkt),
        Some(_) => Err(Error::BadIpVersion),
    }
}
