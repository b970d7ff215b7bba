// SPDX-License-Identifier: GPL-2.0

//! Parsing and encoding of the type-31 address option (PROTOCOL.md sections 1 and 2).
//!
//! This file is compiled unchanged into the kernel module (`pub mod option_codec;`) and into the
//! host crate `toa-uoa-codec` (through `#[path]`), so that the parser the kernel runs is the very
//! code that the host tests, the property tests and the fuzzer exercise. Therefore it uses `core`
//! only (no `std`, no `alloc`, no kernel crate), has no `unsafe`, and cannot panic on any input:
//! every byte is read with `get`, every offset is computed with checked or saturating arithmetic,
//! and every loop advances by at least one byte over a bounded slice, so it terminates.
//!
//! # What bytes the parser needs
//! - IPv4: the whole IP header including its options (`IHL * 4` bytes, at most 60). Bytes past
//!   the header are not looked at by the parser.
//! - IPv6: the fixed 40-byte header and the whole extension-header chain up to the transport
//!   header (at most [`MAX_V6_EXT_HEADERS`] headers of at most 2048 bytes each).
//! - [`outer_tuple`] needs in addition the first 4 bytes of the TCP/UDP header.
//!
//! In the kernel these bytes may not all be in the linear part of the `sk_buff`: the caller pulls
//! (or copies) them first. The slice given is taken as "the packet": the parser never reads past
//! it, and reports anything that would need more bytes as an error (or, for the fast path, as
//! "no option"). Declared lengths (IPv4 total length, IPv6 payload length) are not consulted: the
//! kernel has already trimmed the packet to them, and GRO/BIG TCP packets may carry 0 there.

// The rules this file promises (core only, no unsafe, nothing that can panic or overflow),
// checked by clippy in the module build (CLIPPY=1) and in the host crates that include it
// (userspace/codec, userspace/kcore), wherever it is compiled.
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

/// IPv4 option type of the address option (copied flag 0, class 0, number 31).
pub const IPV4_OPTION_TYPE: u8 = 31;
/// IPv6 Next Header value of a Destination Options header, which carries the option.
pub const IPV6_HEADER_DST: u8 = 60;
/// IPv6 Next Header value of a Hop-by-Hop Options header (walked over).
pub const IPV6_HEADER_HOP_BY_HOP: u8 = 0;
/// IPv6 Next Header value of a Routing header (walked over).
pub const IPV6_HEADER_ROUTING: u8 = 43;
/// IPv6 Next Header value of a Fragment header: walked over in a first fragment (offset 0,
/// which holds the Destination Options of the fragmentable part and the transport header),
/// the end of the walk in any other fragment.
pub const IPV6_HEADER_FRAGMENT: u8 = 44;
/// Length of a Fragment header (it has no length field).
const V6_FRAGMENT_HEADER_LEN: usize = 8;
/// IPv6 option type of the address option inside a Destination Options header.
pub const IPV6_HEADER_OPTION: u8 = 31;
/// Most IPv6 extension headers walked before giving up with [`Error::V6ChainTooLong`].
///
/// A well-formed packet from a balancer has at most a Hop-by-Hop, a Routing and two Destination
/// Options headers; the bound keeps the per-packet cost small whatever a sender puts in.
pub const MAX_V6_EXT_HEADERS: usize = 8;
/// Longest run of padding (Pad1/PadN bytes in a row) accepted inside an IPv6 options header.
///
/// Padding exists to align the next option, so a run longer than 7 bytes has no use; Linux
/// drops such packets (`ip6_parse_tlv`), and the bound keeps a hostile header of 2048 Pad1
/// bytes from costing 2048 loop iterations per packet.
pub const MAX_V6_PADDING_RUN: usize = 7;
/// Most options other than padding accepted in one IPv6 Hop-by-Hop/Destination Options header:
/// Linux's default for `net.ipv6.max_dst_opts_number` / `max_hbh_opts_number`, beyond which it
/// drops the packet anyway. With [`MAX_V6_PADDING_RUN`] it bounds the walk of a header.
pub const MAX_V6_OPTIONS_PER_HEADER: usize = 8;
/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;

/// Length of the fixed IPv4 header (IHL 5).
const V4_HEADER_LEN: usize = 20;
/// Length of the fixed IPv6 header.
const V6_HEADER_LEN: usize = 40;
/// Encoded option length (IPv4 form) and header length (IPv6 form) when the carried addresses
/// are IPv4: 4 bytes of header, 2 ports, 2 addresses of 4 bytes.
const ENCODED_LEN_V4: usize = 16;
/// Same as [`ENCODED_LEN_V4`] for carried IPv6 addresses (2 addresses of 16 bytes).
const ENCODED_LEN_V6: usize = 40;
/// Largest encoded form, the size of the scratch buffer the encoders build in.
const ENCODED_LEN_MAX: usize = ENCODED_LEN_V6;

/// Address family of the carried client/virtual addresses (or of an outer IP header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4: addresses are 4 bytes.
    V4,
    /// IPv6: addresses are 16 bytes.
    V6,
}

impl Family {
    /// Length in bytes of one address of this family (4 or 16).
    pub const fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }

    /// Length in bytes of the encoded option for carried addresses of this family: 16 or 40.
    ///
    /// The same number is the IPv4 option length and the IPv6 Destination Options header
    /// length, because both forms have a 4-byte head followed by the same 12 or 36 bytes.
    pub const fn encoded_len(self) -> usize {
        match self {
            Family::V4 => ENCODED_LEN_V4,
            Family::V6 => ENCODED_LEN_V6,
        }
    }
}

/// The original connection carried by the option: client and virtual service addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Carried {
    /// Family of `cip` and `vip`.
    pub family: Family,
    /// Client address (CIP). For [`Family::V4`] the first 4 bytes hold it and the rest are zero.
    pub cip: [u8; 16],
    /// Client port (CPORT), host byte order.
    pub cport: u16,
    /// Virtual service address (VIP). Same layout as `cip`.
    pub vip: [u8; 16],
    /// Virtual service port (VPORT), host byte order.
    pub vport: u16,
}

impl Carried {
    /// A record of IPv4 client and virtual addresses (the bytes are in network order).
    pub fn v4(cip: [u8; 4], cport: u16, vip: [u8; 4], vport: u16) -> Self {
        let mut c = Carried {
            family: Family::V4,
            cip: [0; 16],
            cport,
            vip: [0; 16],
            vport,
        };
        copy_into(&mut c.cip, &cip);
        copy_into(&mut c.vip, &vip);
        c
    }

    /// A record of IPv6 client and virtual addresses (the bytes are in network order).
    pub fn v6(cip: [u8; 16], cport: u16, vip: [u8; 16], vport: u16) -> Self {
        Carried {
            family: Family::V6,
            cip,
            cport,
            vip,
            vport,
        }
    }

    /// The client address bytes: 4 for IPv4, 16 for IPv6.
    pub fn cip_bytes(&self) -> &[u8] {
        self.cip.get(..self.family.addr_len()).unwrap_or(&[])
    }

    /// The virtual service address bytes: 4 for IPv4, 16 for IPv6.
    pub fn vip_bytes(&self) -> &[u8] {
        self.vip.get(..self.family.addr_len()).unwrap_or(&[])
    }
}

/// A successfully parsed option and where the transport header starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    /// What the option carried.
    pub carried: Carried,
    /// Transport protocol found at the end of the header chain (the IPv4 protocol field, or the
    /// Next Header of the last IPv6 extension header walked).
    pub protocol: u8,
    /// Offset of the transport header from the start of the IP header.
    pub transport_offset: usize,
}

impl Parsed {
    /// The outer (as received) tuple of `pkt`, which must be the packet this was parsed from.
    ///
    /// See [`outer_tuple`].
    pub fn outer_tuple(&self, pkt: &[u8]) -> Option<OuterTuple> {
        outer_tuple(pkt, self.protocol, self.transport_offset)
    }
}

/// Where the transport header of a packet is, found without looking at option contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transport {
    /// Transport protocol number (the protocol after the last header walked).
    pub protocol: u8,
    /// Offset of the transport header from the start of the IP header.
    pub offset: usize,
}

/// The tuple of a packet as this host received it: outer IP addresses and TCP/UDP ports.
///
/// On a real server behind a FullNAT balancer this is LIP:LPORT -> RIP:RPORT, the tuple the
/// socket sees, and so the key under which the kernel keeps what the option carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OuterTuple {
    /// Family of the outer IP header.
    pub family: Family,
    /// Source address; for [`Family::V4`] the first 4 bytes, the rest zero.
    pub saddr: [u8; 16],
    /// Destination address; same layout as `saddr`.
    pub daddr: [u8; 16],
    /// Transport protocol ([`IPPROTO_TCP`] or [`IPPROTO_UDP`]).
    pub protocol: u8,
    /// Source port, host byte order.
    pub sport: u16,
    /// Destination port, host byte order.
    pub dport: u16,
}

/// Which check a malformed packet failed.
///
/// The kernel counts malformed options by this (its statistics print `malformed_<name>`), so the
/// variants are fine-grained and their [`Error::name`]s are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// Fewer bytes than the fixed IP header (20 for IPv4, 40 for IPv6), or none at all.
    Truncated,
    /// The version nibble is not the one expected (4 or 6).
    BadIpVersion,
    /// IPv4 IHL below 5: not even the fixed header.
    BadIhl,
    /// IPv4 IHL says more header bytes than the packet has.
    V4HeaderPastPacket,
    /// An IPv4 option other than EOL/NOP (and not type 31, see [`Error::V4BadOptionLength`]) has
    /// a length byte of 0 or 1: the walk could not advance past it.
    OptionLengthZeroOrOne,
    /// An IPv4 option (its length byte or its body) runs past the end of the header; for the
    /// type-31 option, a right length (16 or 40) that the header's IHL does not hold.
    OptionPastHeader,
    /// The IPv4 type-31 option has a length other than 16 or 40 (any such length, 0 and 1 and
    /// lengths past the header included: this check comes first for our own option).
    V4BadOptionLength,
    /// The IPv4 type-31 option length disagrees with operation bit 0 (16 needs 0, 40 needs 1).
    V4LengthFamilyMismatch,
    /// An IPv6 extension header (its first bytes or its `hdrlen`) runs past the packet.
    V6HeaderPastPacket,
    /// An option inside an IPv6 Hop-by-Hop/Destination Options header runs past that header's
    /// end as its `hdrlen` declares it; for the type-31 option, an optlen of 12 or 36 that the
    /// header's `hdrlen` does not hold (hdrlen inconsistent with the option).
    V6OptionPastHeader,
    /// The IPv6 type-31 option has an optlen other than 12 or 36 (checked before the bound).
    V6BadOptLen,
    /// Option type 31 in a Hop-by-Hop header: the address option belongs in Destination Options.
    V6OptionInHopByHop,
    /// A Hop-by-Hop header not directly after the IPv6 header (RFC 8200 allows it only there).
    V6HopByHopNotFirst,
    /// More than [`MAX_V6_EXT_HEADERS`] extension headers before the transport.
    V6ChainTooLong,
    /// More than one type-31 option in one packet: which one to trust is ambiguous.
    DuplicateOption,
    /// More than [`MAX_V6_PADDING_RUN`] bytes of Pad1/PadN in a row in an IPv6 options header.
    V6TooMuchPadding,
    /// More than [`MAX_V6_OPTIONS_PER_HEADER`] options (padding aside) in one IPv6 options header.
    V6TooManyOptions,
}

impl Error {
    /// Number of variants.
    pub const COUNT: usize = 17;

    /// Every variant, in [`Error::index`] order (for counter tables).
    pub const ALL: [Error; Error::COUNT] = [
        Error::Truncated,
        Error::BadIpVersion,
        Error::BadIhl,
        Error::V4HeaderPastPacket,
        Error::OptionLengthZeroOrOne,
        Error::OptionPastHeader,
        Error::V4BadOptionLength,
        Error::V4LengthFamilyMismatch,
        Error::V6HeaderPastPacket,
        Error::V6OptionPastHeader,
        Error::V6BadOptLen,
        Error::V6OptionInHopByHop,
        Error::V6HopByHopNotFirst,
        Error::V6ChainTooLong,
        Error::DuplicateOption,
        Error::V6TooMuchPadding,
        Error::V6TooManyOptions,
    ];

    /// Position of this variant in [`Error::ALL`], `0..Error::COUNT`: an index into counters.
    // A fieldless enum's discriminant (0..COUNT) cannot truncate; the host crate denies `as`
    // elsewhere to catch truncating casts.
    #[allow(clippy::as_conversions)]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Stable snake_case name, used as a counter name and in the decode tool's output.
    pub const fn name(self) -> &'static str {
        match self {
            Error::Truncated => "truncated",
            Error::BadIpVersion => "bad_ip_version",
            Error::BadIhl => "bad_ihl",
            Error::V4HeaderPastPacket => "v4_header_past_packet",
            Error::OptionLengthZeroOrOne => "option_length_zero_or_one",
            Error::OptionPastHeader => "option_past_header",
            Error::V4BadOptionLength => "v4_bad_option_length",
            Error::V4LengthFamilyMismatch => "v4_length_family_mismatch",
            Error::V6HeaderPastPacket => "v6_header_past_packet",
            Error::V6OptionPastHeader => "v6_option_past_header",
            Error::V6BadOptLen => "v6_bad_optlen",
            Error::V6OptionInHopByHop => "v6_option_in_hop_by_hop",
            Error::V6HopByHopNotFirst => "v6_hop_by_hop_not_first",
            Error::V6ChainTooLong => "v6_chain_too_long",
            Error::DuplicateOption => "duplicate_option",
            Error::V6TooMuchPadding => "v6_too_much_padding",
            Error::V6TooManyOptions => "v6_too_many_options",
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Copies as many bytes as both slices have; never panics: both sides are cut to the same
/// length first, so `copy_from_slice` (one memcpy, not a byte loop: this runs for every
/// address of every option-carrying packet) has no length mismatch to panic on.
pub(crate) fn copy_into(dst: &mut [u8], src: &[u8]) {
    let n = dst.len().min(src.len());
    if let (Some(d), Some(s)) = (dst.get_mut(..n), src.get(..n)) {
        d.copy_from_slice(s);
    }
}

/// An IPv4 address (`b`: its 4 bytes) in the 16-byte form, zero after the first 4.
fn widen(b: &[u8]) -> Option<[u8; 16]> {
    let [a0, a1, a2, a3]: [u8; 4] = b.try_into().ok()?;
    Some([a0, a1, a2, a3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
}

/// Big-endian `u16` at `at`, or `None` if the two bytes are not all in `buf`.
pub(crate) fn be16(buf: &[u8], at: usize) -> Option<u16> {
    let b: [u8; 2] = buf.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_be_bytes(b))
}

/// Reads CPORT, VPORT, CIP, VIP laid out from offset `at` of `opt` (4 in the IPv4 option,
/// after type/length/operation/padding; 2 in the IPv6 option, after type/optlen). `None` if `opt`
/// is shorter than `family` needs; callers have checked the length already, so that is a
/// can't-happen kept panic-free.
fn read_fields(opt: &[u8], at: usize, family: Family) -> Option<Carried> {
    let n = family.addr_len();
    let cport = be16(opt, at)?;
    let vport = be16(opt, at.checked_add(2)?)?;
    let cip_at = at.checked_add(4)?;
    let vip_at = cip_at.checked_add(n)?;
    let addrs = opt.get(cip_at..vip_at.checked_add(n)?)?;
    // Fixed-size copies per family: a variable-length copy is a memcpy call on every
    // option packet.
    let (cip, vip) = match family {
        Family::V4 => (widen(addrs.get(..4)?)?, widen(addrs.get(4..8)?)?),
        Family::V6 => (
            addrs.get(..16)?.try_into().ok()?,
            addrs.get(16..32)?.try_into().ok()?,
        ),
    };
    Some(Carried {
        family,
        cip,
        cport,
        vip,
        vport,
    })
}

/// Validates and decodes a whole IPv4 type-31 option (`opt` = type, length, ... as long as the
/// length byte says, already known to lie inside the header).
fn decode_v4_option(opt: &[u8]) -> Result<Carried, Error> {
    // Operation bit 0 is the carried family; the other bits and the padding byte are reserved
    // and ignored on receive.
    let op_bit = opt.get(2).map(|op| op & 1);
    let family = match (opt.len(), op_bit) {
        (ENCODED_LEN_V4, Some(0)) => Family::V4,
        (ENCODED_LEN_V6, Some(1)) => Family::V6,
        (ENCODED_LEN_V4 | ENCODED_LEN_V6, _) => return Err(Error::V4LengthFamilyMismatch),
        _ => return Err(Error::V4BadOptionLength),
    };
    read_fields(opt, 4, family).ok_or(Error::OptionPastHeader)
}

/// Walks a kind-length option list, as RFC 791 (IPv4) and RFC 9293 (TCP) both lay it out:
/// EOL (0) ends it, NOP (1) is one byte, every other option is kind, length >= 2, data. `check`
/// sees each option's kind and length byte first (so that it can name a wrong length before
/// the generic errors), then `each` its kind and bytes. `past` and `short` are the errors for
/// an option running past the list and for a length below 2. The unified option's IPv4 parser
/// and DPVS's (IPv4 and TCP options, `dpvs_codec.rs`) walk with it.
pub(crate) fn walk_options<E: Copy>(
    opts: &[u8],
    past: E,
    short: E,
    mut check: impl FnMut(u8, usize) -> Result<(), E>,
    mut each: impl FnMut(u8, &[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let mut i = 0usize;
    // Terminates: every iteration moves `i` forward by at least one byte over a bounded slice.
    while let Some(&kind) = opts.get(i) {
        match kind {
            0 => break,
            1 => {
                i = i.saturating_add(1);
                continue;
            }
            _ => {}
        }
        let len = usize::from(*opts.get(i.saturating_add(1)).ok_or(past)?);
        check(kind, len)?;
        if len < 2 {
            return Err(short);
        }
        let end = i.checked_add(len).ok_or(past)?;
        each(kind, opts.get(i..end).ok_or(past)?)?;
        i = end;
    }
    Ok(())
}

/// Parses an IPv4 packet (at least its whole header) for the type-31 option.
///
/// Returns `Ok(None)` when the header has no type-31 option, `Ok(Some(_))` with what it carried,
/// or the check that failed. Headers without options (IHL 5, nearly all traffic) return after
/// three comparisons. Options after an EOL are ignored, as RFC 791 says.
pub fn parse_ipv4(pkt: &[u8]) -> Result<Option<Parsed>, Error> {
    parse_ipv4_among(pkt, &[])
}

/// [`parse_ipv4`], walking over type-31 options whose length is in `foreign` (another
/// format's, such as DPVS's 8 and 20 bytes) as over any other option.
pub fn parse_ipv4_among(pkt: &[u8], foreign: &[usize]) -> Result<Option<Parsed>, Error> {
    let first = *pkt.first().ok_or(Error::Truncated)?;
    if first >> 4 != 4 {
        return Err(Error::BadIpVersion);
    }
    if pkt.len() < V4_HEADER_LEN {
        return Err(Error::Truncated);
    }
    let ihl = first & 0x0f;
    if ihl == 5 {
        return Ok(None);
    }
    let (hdr_len, protocol) = v4_header(pkt)?;
    let opts = pkt
        .get(V4_HEADER_LEN..hdr_len)
        .ok_or(Error::V4HeaderPastPacket)?;

    // The balancer's own shape, nearly every option packet: our option alone, filling the
    // options. Decoded without the walk, which would come to the same (one option, ours).
    if let [IPV4_OPTION_TYPE, len, ..] = *opts {
        let len = usize::from(len);
        if len == opts.len()
            && (len == ENCODED_LEN_V4 || len == ENCODED_LEN_V6)
            && !foreign.contains(&len)
        {
            return decode_v4_option(opts).map(|carried| {
                Some(Parsed {
                    carried,
                    protocol,
                    transport_offset: hdr_len,
                })
            });
        }
    }
    let mut found: Option<Carried> = None;
    // Another format's type-31 option: walked over like any other.
    let ours = |kind: u8, len: usize| kind == IPV4_OPTION_TYPE && !foreign.contains(&len);
    walk_options(
        opts,
        Error::OptionPastHeader,
        Error::OptionLengthZeroOrOne,
        |kind, len| {
            // For our own option a wrong length is reported as such (more telling to an
            // operator than the generic checks it would also fail); those come next.
            if ours(kind, len) && len != ENCODED_LEN_V4 && len != ENCODED_LEN_V6 {
                return Err(Error::V4BadOptionLength);
            }
            Ok(())
        },
        |kind, opt| {
            if ours(kind, opt.len()) {
                let carried = decode_v4_option(opt)?;
                if found.is_some() {
                    return Err(Error::DuplicateOption);
                }
                found = Some(carried);
            }
            Ok(())
        },
    )?;
    Ok(found.map(|carried| Parsed {
        carried,
        protocol,
        transport_offset: hdr_len,
    }))
}

/// Checks an IPv4 header's IHL against the packet: (header length in bytes, protocol).
/// The version and the 20-byte minimum are checked by the callers.
fn v4_header(pkt: &[u8]) -> Result<(usize, u8), Error> {
    let first = *pkt.first().ok_or(Error::Truncated)?;
    let ihl = usize::from(first & 0x0f);
    if ihl < 5 {
        return Err(Error::BadIhl);
    }
    // ihl <= 15, so this is at most 60: no overflow.
    let hdr_len = ihl.saturating_mul(4);
    if pkt.len() < hdr_len {
        return Err(Error::V4HeaderPastPacket);
    }
    let protocol = *pkt.get(9).ok_or(Error::Truncated)?;
    Ok((hdr_len, protocol))
}

/// Validates and decodes a whole IPv6 type-31 option (`opt` = type, optlen, data).
fn decode_v6_option(opt: &[u8]) -> Result<Carried, Error> {
    let family = match opt.get(1) {
        Some(12) => Family::V4,
        Some(36) => Family::V6,
        _ => return Err(Error::V6BadOptLen),
    };
    read_fields(opt, 2, family).ok_or(Error::V6OptionPastHeader)
}

/// Is `nh` an extension header the walk steps over (and may find the option in)?
fn is_walked_v6(nh: u8) -> bool {
    matches!(
        nh,
        IPV6_HEADER_HOP_BY_HOP | IPV6_HEADER_DST | IPV6_HEADER_ROUTING | IPV6_HEADER_FRAGMENT
    )
}

/// Walks the IPv6 extension-header chain. With `read_options` the options of Hop-by-Hop and
/// Destination Options headers are walked and validated too; without, only the headers' lengths
/// are (to locate the transport header of a packet whose option is malformed).
fn walk_v6(pkt: &[u8], read_options: bool) -> Result<(Option<Carried>, Transport), Error> {
    let mut nh = *pkt.get(6).ok_or(Error::Truncated)?;
    let mut off = V6_HEADER_LEN;
    let mut found: Option<Carried> = None;
    let mut walked = 0usize;
    // Terminates: at most MAX_V6_EXT_HEADERS iterations, each moving `off` forward by >= 8.
    while is_walked_v6(nh) {
        if walked >= MAX_V6_EXT_HEADERS {
            return Err(Error::V6ChainTooLong);
        }
        walked = walked.saturating_add(1);
        if nh == IPV6_HEADER_HOP_BY_HOP && off != V6_HEADER_LEN {
            return Err(Error::V6HopByHopNotFirst);
        }
        let next = *pkt.get(off).ok_or(Error::V6HeaderPastPacket)?;
        if nh == IPV6_HEADER_FRAGMENT {
            let end = off
                .checked_add(V6_FRAGMENT_HEADER_LEN)
                .ok_or(Error::V6HeaderPastPacket)?;
            let hdr = pkt.get(off..end).ok_or(Error::V6HeaderPastPacket)?;
            // Fragment Offset: the top 13 bits of bytes 2..4.
            let offset = be16(hdr, 2).ok_or(Error::V6HeaderPastPacket)? >> 3;
            if offset != 0 {
                // A later fragment: its payload is the middle of the datagram.
                return Ok((
                    found,
                    Transport {
                        protocol: IPV6_HEADER_FRAGMENT,
                        offset: end,
                    },
                ));
            }
            nh = next;
            off = end;
            continue;
        }
        let hdrlen = *pkt
            .get(off.saturating_add(1))
            .ok_or(Error::V6HeaderPastPacket)?;
        // hdrlen counts 8-byte units after the first 8: at most 256 * 8 = 2048, no overflow.
        let len = (usize::from(hdrlen).saturating_add(1)).saturating_mul(8);
        let end = off.checked_add(len).ok_or(Error::V6HeaderPastPacket)?;
        let hdr = pkt.get(off..end).ok_or(Error::V6HeaderPastPacket)?;
        if read_options && nh != IPV6_HEADER_ROUTING {
            if let Some(carried) = walk_v6_options(hdr, nh == IPV6_HEADER_HOP_BY_HOP)? {
                if found.is_some() {
                    return Err(Error::DuplicateOption);
                }
                found = Some(carried);
            }
        }
        nh = next;
        off = end;
    }
    Ok((
        found,
        Transport {
            protocol: nh,
            offset: off,
        },
    ))
}

/// Walks the TLV options of one Hop-by-Hop or Destination Options header (`hdr` = the whole
/// header, its length already checked against the packet). Returns the type-31 option's
/// contents if there is one.
fn walk_v6_options(hdr: &[u8], hop_by_hop: bool) -> Result<Option<Carried>, Error> {
    let mut found: Option<Carried> = None;
    // Bytes of padding (Pad1/PadN) since the last other option, and other options seen: bounded
    // as Linux bounds them (see MAX_V6_PADDING_RUN, MAX_V6_OPTIONS_PER_HEADER), which keeps the
    // walk of any header short.
    let mut pad_run = 0usize;
    let mut options = 0usize;
    // Options start after Next Header and Hdr Ext Len.
    let mut i = 2usize;
    // Terminates: every iteration moves `i` forward by at least one byte over a bounded slice.
    while let Some(&kind) = hdr.get(i) {
        if kind == 0 {
            // Pad1: a single byte.
            pad_run = pad_run.saturating_add(1);
            if pad_run > MAX_V6_PADDING_RUN {
                return Err(Error::V6TooMuchPadding);
            }
            i = i.saturating_add(1);
            continue;
        }
        // Everything else (PadN included) is type, length, data.
        let optlen = usize::from(
            *hdr.get(i.saturating_add(1))
                .ok_or(Error::V6OptionPastHeader)?,
        );
        // As for IPv4: a wrong optlen of our option is named before the generic bound check,
        // which then catches a right optlen whose option the header's hdrlen does not hold.
        if kind == IPV6_HEADER_OPTION && !hop_by_hop && optlen != 12 && optlen != 36 {
            return Err(Error::V6BadOptLen);
        }
        let end = i
            .checked_add(2)
            .and_then(|v| v.checked_add(optlen))
            .ok_or(Error::V6OptionPastHeader)?;
        let opt = hdr.get(i..end).ok_or(Error::V6OptionPastHeader)?;
        if kind == 1 {
            // PadN: counts towards the padding run by its whole length.
            pad_run = pad_run.saturating_add(opt.len());
            if pad_run > MAX_V6_PADDING_RUN {
                return Err(Error::V6TooMuchPadding);
            }
        } else {
            pad_run = 0;
            options = options.saturating_add(1);
            if options > MAX_V6_OPTIONS_PER_HEADER {
                return Err(Error::V6TooManyOptions);
            }
        }
        if kind == IPV6_HEADER_OPTION {
            if hop_by_hop {
                return Err(Error::V6OptionInHopByHop);
            }
            let carried = decode_v6_option(opt)?;
            if found.is_some() {
                return Err(Error::DuplicateOption);
            }
            found = Some(carried);
        }
        i = end;
    }
    Ok(found)
}

/// Parses an IPv6 packet (at least its header and extension-header chain) for the option.
///
/// Returns `Ok(None)` when no Destination Options header holds a type-31 option, `Ok(Some(_))`
/// with what it carried, or the check that failed. Packets whose Next Header is not Hop-by-Hop,
/// Destination Options, Routing or Fragment (nearly all traffic) return after four comparisons.
/// The walk visits at most [`MAX_V6_EXT_HEADERS`] headers and stops at the first other Next
/// Header (the transport, or an ESP/AH/No Next Header, which it does not look into), or at the
/// Fragment header of a fragment other than the first. A first fragment is walked on: a
/// datagram too big for the link keeps its option (in its fragmentable part) and its ports in
/// the first fragment, which the LOCAL_IN hook sees when no defragmentation ran before it.
pub fn parse_ipv6(pkt: &[u8]) -> Result<Option<Parsed>, Error> {
    let first = *pkt.first().ok_or(Error::Truncated)?;
    if first >> 4 != 6 {
        return Err(Error::BadIpVersion);
    }
    if pkt.len() < V6_HEADER_LEN {
        return Err(Error::Truncated);
    }
    let nh = *pkt.get(6).ok_or(Error::Truncated)?;
    if !is_walked_v6(nh) {
        return Ok(None);
    }
    let (found, transport) = walk_v6(pkt, true)?;
    Ok(found.map(|carried| Parsed {
        carried,
        protocol: transport.protocol,
        transport_offset: transport.offset,
    }))
}

/// Parses an IPv4 or IPv6 packet, choosing by the version nibble of its first byte.
pub fn parse_packet(pkt: &[u8]) -> Result<Option<Parsed>, Error> {
    parse_packet_among(pkt, &[])
}

/// [`parse_packet`], walking over IPv4 type-31 options whose length is in `foreign`
/// ([`parse_ipv4_among`]).
pub fn parse_packet_among(pkt: &[u8], foreign: &[usize]) -> Result<Option<Parsed>, Error> {
    match pkt.first().map(|b| b >> 4) {
        None => Err(Error::Truncated),
        Some(4) => parse_ipv4_among(pkt, foreign),
        Some(6) => parse_ipv6(pkt),
        Some(_) => Err(Error::BadIpVersion),
    }
}

/// Locates the transport header of an IPv4 or IPv6 packet without reading option contents.
///
/// This succeeds on packets whose type-31 option is malformed (so a tool can still say which
/// connection they belong to); it fails only when the IP header or the IPv6 extension-header
/// chain itself is cut short, too long or out of order.
pub fn find_transport(pkt: &[u8]) -> Result<Transport, Error> {
    let first = *pkt.first().ok_or(Error::Truncated)?;
    match first >> 4 {
        4 => {
            if pkt.len() < V4_HEADER_LEN {
                return Err(Error::Truncated);
            }
            let (hdr_len, protocol) = v4_header(pkt)?;
            Ok(Transport {
                protocol,
                offset: hdr_len,
            })
        }
        6 => {
            if pkt.len() < V6_HEADER_LEN {
                return Err(Error::Truncated);
            }
            walk_v6(pkt, false).map(|(_, t)| t)
        }
        _ => Err(Error::BadIpVersion),
    }
}

/// Source and destination addresses of the outer IP header, if the fixed header is present.
pub fn outer_addresses(pkt: &[u8]) -> Option<(Family, [u8; 16], [u8; 16])> {
    match pkt.first()? >> 4 {
        4 if pkt.len() >= V4_HEADER_LEN => Some((
            Family::V4,
            widen(pkt.get(12..16)?)?,
            widen(pkt.get(16..20)?)?,
        )),
        6 if pkt.len() >= V6_HEADER_LEN => Some((
            Family::V6,
            pkt.get(8..24)?.try_into().ok()?,
            pkt.get(24..40)?.try_into().ok()?,
        )),
        _ => None,
    }
}

/// The outer tuple of `pkt`: IP addresses from its header, ports from the TCP or UDP header at
/// `transport_offset` (as [`Parsed`] or [`find_transport`] give it).
///
/// `None` if the fixed IP header is not all there, `protocol` is not TCP or UDP, the 4 port
/// bytes are past the end of `pkt`, or the packet is an IPv4 fragment other than the first (its
/// payload does not start with the transport header).
pub fn outer_tuple(pkt: &[u8], protocol: u8, transport_offset: usize) -> Option<OuterTuple> {
    if protocol != IPPROTO_TCP && protocol != IPPROTO_UDP {
        return None;
    }
    let (family, saddr, daddr) = outer_addresses(pkt)?;
    if family == Family::V4 && be16(pkt, 6)? & 0x1fff != 0 {
        return None;
    }
    Some(OuterTuple {
        family,
        saddr,
        daddr,
        protocol,
        sport: be16(pkt, transport_offset)?,
        dport: be16(pkt, transport_offset.checked_add(2)?)?,
    })
}

/// Lays out the common encoded form: a 4-byte `head`, CPORT, VPORT, CIP, VIP, into a scratch
/// buffer; returns it with the number of bytes used (16 or 40).
fn encode_common(c: &Carried, head: [u8; 4]) -> ([u8; ENCODED_LEN_MAX], usize) {
    let mut buf = [0u8; ENCODED_LEN_MAX];
    let cport = c.cport.to_be_bytes();
    let vport = c.vport.to_be_bytes();
    let parts: [&[u8]; 5] = [&head, &cport, &vport, c.cip_bytes(), c.vip_bytes()];
    let mut dst = buf.iter_mut();
    for byte in parts.iter().flat_map(|p| p.iter()) {
        if let Some(d) = dst.next() {
            *d = *byte;
        }
    }
    (buf, c.family.encoded_len())
}

/// Writes the IPv4 header option (type 31) for `c` at the start of `out`.
///
/// Returns the number of bytes written: 16 for IPv4 carried addresses, 40 for IPv6 (which fills
/// all IPv4 option space: IHL 15), or `None` if `out` is shorter than that. Both sizes are
/// multiples of 4, so no padding is needed after the option. Reserved bits and padding are 0.
pub fn encode_ipv4_option(c: &Carried, out: &mut [u8]) -> Option<usize> {
    let len = c.family.encoded_len();
    let op = match c.family {
        Family::V4 => 0,
        Family::V6 => 1,
    };
    // encoded_len() is 16 or 40, so it fits the length byte.
    let len_byte = u8::try_from(len).ok()?;
    let (buf, n) = encode_common(c, [IPV4_OPTION_TYPE, len_byte, op, 0]);
    copy_into(out.get_mut(..n)?, buf.get(..n)?);
    Some(n)
}

/// Writes a whole IPv6 Destination Options header holding the type-31 option for `c` at the
/// start of `out`, with `next_header` (the transport, normally 6 or 17) as its Next Header.
///
/// Returns the number of bytes written: 16 (hdrlen 1, optlen 12) for IPv4 carried addresses,
/// 40 (hdrlen 4, optlen 36) for IPv6, or `None` if `out` is shorter than that. The option
/// exactly fills the header, so no Pad1/PadN is needed.
pub fn encode_ipv6_dstopt(c: &Carried, next_header: u8, out: &mut [u8]) -> Option<usize> {
    let (hdrlen, optlen) = match c.family {
        Family::V4 => (1, 12),
        Family::V6 => (4, 36),
    };
    let (buf, n) = encode_common(c, [next_header, hdrlen, IPV6_HEADER_OPTION, optlen]);
    copy_into(out.get_mut(..n)?, buf.get(..n)?);
    Some(n)
}
