// SPDX-License-Identifier: GPL-2.0

//! The tuple a record is kept under ([`Key`]) and the one a look-up asks for ([`Query`]),
//! with the rules that turn what a socket or a caller says into them, each written once:
//! an IPv4-mapped address is the IPv4 address it stands for, and only a caller's all-zero
//! local address is the wildcard. The Linux address-family numbers of sockaddrs and the
//! getsockopt ABI are here too.

// The rules this file promises (no unsafe, no panic, documented, crate-visible API as the
// kernel's -Wunreachable_pub wants), checked by clippy in the module build (CLIPPY=1) and in
// the host crate userspace/kcore, wherever it is compiled.
#![deny(
    unsafe_code,
    missing_docs,
    unreachable_pub,
    rust_2018_idioms,
    clippy::missing_docs_in_private_items,
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
    clippy::needless_continue
)]

use crate::option_codec::{Family, OuterTuple};

/// Linux's AF_INET: a sockaddr's first field, the v0 and v1 look-ups' family.
pub(crate) const AF_INET: u16 = 2;
/// Linux's AF_INET6.
pub(crate) const AF_INET6: u16 = 10;

/// The tuple of a connection or datagram flow as this server sees it: what a record is kept
/// under.
///
/// `saddr`/`sport` are the balancer's local side (the packet's source after FullNAT),
/// `daddr`/`dport` this server. Ports are in host byte order; an IPv4 address is in the first 4
/// bytes of its array and the remaining 12 bytes must be zero, so that equal tuples compare and
/// hash equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    /// Transport protocol (IPPROTO_TCP or IPPROTO_UDP).
    pub(crate) proto: u8,
    /// Family of `saddr` and `daddr` (the outer IP header's family).
    pub(crate) family: Family,
    /// Source address of the packet: the balancer's local address.
    pub(crate) saddr: [u8; 16],
    /// Source port of the packet, host byte order.
    pub(crate) sport: u16,
    /// Destination address of the packet: this server.
    pub(crate) daddr: [u8; 16],
    /// Destination port of the packet, host byte order.
    pub(crate) dport: u16,
}

impl From<&OuterTuple> for Key {
    /// The key of a packet's outer tuple: what the receiving socket will see.
    fn from(t: &OuterTuple) -> Key {
        Key {
            proto: t.protocol,
            family: t.family,
            saddr: t.saddr,
            sport: t.sport,
            daddr: t.daddr,
            dport: t.dport,
        }
    }
}

/// The IPv4-mapped prefix ::ffff:0:0/96.
const V4_MAPPED_PREFIX: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it stands for (in the
/// first 4 bytes), or `None` for any other address.
pub(crate) fn unmap(addr: &[u8; 16]) -> Option<[u8; 16]> {
    let (prefix, v4) = addr.split_at(V4_MAPPED_PREFIX.len());
    if prefix != V4_MAPPED_PREFIX {
        return None;
    }
    let mut out = [0u8; 16];
    out.get_mut(..4)?.copy_from_slice(v4);
    Some(out)
}

/// A look-up: a tuple whose local address may be the wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Query {
    /// The tuple (its `daddr` all-zero when `any_local`).
    pub(crate) key: Key,
    /// Any local address answers: a server bound to the any-address does not know which of
    /// its addresses a datagram came to (PROTOCOL.md section 4).
    pub(crate) any_local: bool,
}

impl Query {
    /// A connected socket's look-up: never the wildcard (a connected socket always has its
    /// own address).
    pub(crate) fn exact(key: Key) -> Query {
        Query {
            key,
            any_local: false,
        }
    }

    /// A look-up as a server asks it (getsockopt), on its socket of `proto`. A dual-stack
    /// AF_INET6 socket receives IPv4 datagrams as ::ffff:a.b.c.d: those are looked up as the
    /// IPv4 tuple the record was made from. An all-zero (or ::ffff:0.0.0.0) `daddr` is the
    /// wildcard.
    pub(crate) fn from_caller(
        proto: u8,
        family: Family,
        saddr: [u8; 16],
        sport: u16,
        daddr: [u8; 16],
        dport: u16,
    ) -> Query {
        let (family, saddr, daddr) = match (family, unmap(&saddr)) {
            (Family::V6, Some(s)) => (Family::V4, s, unmap(&daddr).unwrap_or(daddr)),
            _ => (family, saddr, daddr),
        };
        Query {
            key: Key {
                proto,
                family,
                saddr,
                sport,
                daddr,
                dport,
            },
            any_local: daddr == [0; 16],
        }
    }

    /// Whether a record kept under `key` answers this look-up.
    pub(crate) fn matches(&self, key: &Key) -> bool {
        let q = &self.key;
        key.proto == q.proto
            && key.family == q.family
            && key.sport == q.sport
            && key.dport == q.dport
            && key.saddr == q.saddr
            && (self.any_local || key.daddr == q.daddr)
    }
}
