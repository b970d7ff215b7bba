// SPDX-License-Identifier: GPL-2.0

//! The two ends of the kernel path. On ingress (the LOCAL_IN hooks: the C side has
//! already let every packet go that has no IP options, no IPv6 extension header and is
//! no TCP SYN), find the type-31 option and record what it carries under the tuple the
//! receiving socket will see; a SYN starts a new connection, so it forgets the tuple's
//! old record. At getpeername/getsockname/accept (kretprobes on inet_getname and
//! inet6_getname), answer from the socket's record. Packets are never dropped or changed.

use crate::ffi::{self, Net, NetCtx};
use crate::option_codec::{self, Carried, Family, IPPROTO_TCP, IPPROTO_UDP};
use crate::records::{Insert, Key, OnConflict};
use crate::stats::{self, Counter};

/// Linux's AF_INET and AF_INET6, as a sockaddr's first field.
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
/// sizeof(struct sockaddr_in), sizeof(struct sockaddr_in6).
pub(crate) const SOCKADDR_IN_LEN: usize = 16;
/// The larger of the two: what a getname answer needs at most.
pub(crate) const SOCKADDR_IN6_LEN: usize = 28;

/// TCP flags byte offset in the TCP header, and the two flags that tell a SYN.
const TCP_FLAGS_AT: usize = 13;
const TCP_SYN: u8 = 0x02;
const TCP_ACK: u8 = 0x10;

/// The record key of a packet's outer tuple.
fn key_of(t: &option_codec::OuterTuple) -> Key {
    Key {
        proto: t.protocol,
        family: t.family,
        saddr: t.saddr,
        sport: t.sport,
        daddr: t.daddr,
        dport: t.dport,
    }
}

/// The key of a TCP SYN (without ACK), or `None` for any other packet.
fn syn_key(pkt: &[u8]) -> Option<Key> {
    let t = option_codec::find_transport(pkt).ok()?;
    if t.protocol != IPPROTO_TCP {
        return None;
    }
    let flags = *pkt.get(t.offset.checked_add(TCP_FLAGS_AT)?)?;
    if flags & (TCP_SYN | TCP_ACK) != TCP_SYN {
        return None;
    }
    option_codec::outer_tuple(pkt, t.protocol, t.offset).map(|t| key_of(&t))
}

/// Handles the first bytes of a packet, from its IP header (`pkt`, at most
/// `TOA_UOA_PEEK_MAX` bytes: the header, its options or extension headers and the ports).
///
/// An option, well-formed or not, makes the namespace's state if it has none (it is counted
/// there); a packet without one needs the state only if there is one (a SYN forgets a record).
pub(crate) fn rx(net: &Net, pkt: &[u8]) {
    match option_codec::parse_packet(pkt) {
        Ok(Some(p)) => {
            if let Some(ctx) = net.activate() {
                record(&ctx, pkt, &p);
            }
        }
        Ok(None) => {
            if let Some(ctx) = net.ctx() {
                forget_on_syn(&ctx, pkt);
            }
        }
        Err(e) => {
            if let Some(ctx) = net.activate() {
                ctx.count(stats::malformed(e));
                if let Some((family, saddr, _)) = option_codec::outer_addresses(pkt) {
                    ffi::log_malformed(e.name(), family, &saddr);
                }
                forget_on_syn(&ctx, pkt);
            }
        }
    }
}

/// A SYN without a (valid) option: whatever was recorded for its tuple belonged to an
/// earlier connection and must not answer for this one. A SYN from outside
/// `trusted_sources` forgets nothing (anyone could send it); as it carries no option, it is
/// not counted as an untrusted option either: it is an ordinary client's SYN.
fn forget_on_syn(ctx: &NetCtx<'_>, pkt: &[u8]) {
    if let Some(key) = syn_key(pkt) {
        if !ctx.trust().allows(key.family, &key.saddr) {
            return;
        }
        // The socket look-up only for a tuple that has a record: on a live connection's
        // tuple the SYN opens nothing (it is forged, or stray).
        let has_record = ctx.lock().table.contains(&key);
        if !has_record || ctx.tcp_connected(&key) {
            return;
        }
        if ctx.lock().table.remove(&key) {
            ctx.count(Counter::RecordsForgottenBySyn.index());
        }
    }
}

fn record(ctx: &NetCtx<'_>, pkt: &[u8], parsed: &option_codec::Parsed) {
    if parsed.protocol != IPPROTO_TCP && parsed.protocol != IPPROTO_UDP {
        ctx.count(Counter::OptionsNotTcpUdp.index());
        return;
    }
    let Some(t) = parsed.outer_tuple(pkt) else {
        // The ports are not within the bytes the parser was given.
        ctx.count(stats::malformed(option_codec::Error::Truncated));
        return;
    };
    if !ctx.trust().allows(t.family, &t.saddr) {
        ctx.count(Counter::OptionsUntrusted.index());
        ffi::log_untrusted(t.family, &t.saddr);
        return;
    }
    ctx.count(Counter::OptionsValid.index());
    // A TCP connection's addresses are set once: an option with other addresses for a tuple
    // that has a record is ignored (a forged ACK needs no valid sequence number to reach
    // this hook), unless it is on a SYN that opens a new connection: one whose tuple is not
    // a live connection.
    let key = key_of(&t);
    let now = ffi::jiffies();
    let (mut outcome, grow) = {
        let mut l = ctx.lock();
        let outcome = if t.protocol == IPPROTO_TCP {
            l.table
                .insert_with(&key, &parsed.carried, now, OnConflict::Keep)
        } else {
            l.table.insert(&key, &parsed.carried, now)
        };
        // The first record of a table still at its small size: have it grown now.
        let grow =
            !l.grow_asked && l.table.len() > 0 && l.table.buckets() < l.table.buckets_wanted();
        l.grow_asked |= grow;
        (outcome, grow)
    };
    if grow {
        ctx.grow_soon();
    }
    if outcome == Insert::Kept && syn_key(pkt).is_some() && !ctx.tcp_connected(&key) {
        outcome = ctx
            .lock()
            .table
            .insert_with(&key, &parsed.carried, now, OnConflict::Replace);
    }
    let counter = match outcome {
        Insert::New => Counter::RecordsNew,
        Insert::Replaced => Counter::RecordsReplaced,
        Insert::Refreshed => Counter::RecordsRefreshed,
        Insert::NewAfterEvicting => {
            ctx.count(Counter::RecordsEvicted.index());
            Counter::RecordsNew
        }
        Insert::DroppedAtLimit => Counter::RecordsDroppedAtLimit,
        Insert::AllocFailed => Counter::RecordsAllocFailed,
        Insert::Kept => Counter::OptionsIgnoredLiveTcp,
    };
    ctx.count(counter.index());
}

/// Writes `addr:port` of `family` as a sockaddr_in or sockaddr_in6 into `out`; returns
/// its length. Every byte of the structure is written (zeros where nothing else goes).
pub(crate) fn sockaddr(
    family: Family,
    addr: &[u8; 16],
    port: u16,
    out: &mut [u8; SOCKADDR_IN6_LEN],
) -> usize {
    out.fill(0);
    let port = port.to_be_bytes();
    match family {
        Family::V4 => {
            // family, port, sin_addr, 8 bytes of zero
            out[..2].copy_from_slice(&AF_INET.to_ne_bytes());
            out[2..4].copy_from_slice(&port);
            out[4..8].copy_from_slice(&addr[..4]);
            SOCKADDR_IN_LEN
        }
        Family::V6 => {
            // family, port, flowinfo 0, sin6_addr, scope_id 0
            out[..2].copy_from_slice(&AF_INET6.to_ne_bytes());
            out[2..4].copy_from_slice(&port);
            out[8..24].copy_from_slice(addr);
            SOCKADDR_IN6_LEN
        }
    }
}

/// The getname answer for a socket whose tuple is `key` (`peer`: getpeername/accept,
/// else getsockname): the record's CIP:CPORT or VIP:VPORT written to `out`, with its
/// length; `None` (the kernel's answer stands) when there is no record.
///
/// `room` is the most the caller's buffer is known to hold: an answer longer than that
/// (a sockaddr_in6 for an AF_INET socket asked from inside the kernel, outside the getname
/// system calls) is not given, and counted.
pub(crate) fn getname(
    ctx: &NetCtx<'_>,
    key: &Key,
    peer: bool,
    room: usize,
    out: &mut [u8; SOCKADDR_IN6_LEN],
) -> Option<usize> {
    // Never the all-zero local address as a wildcard (that is for getsockopt look-ups from
    // servers bound to the any-address): a connected socket always has its own address.
    let now = ffi::jiffies();
    let c: Carried = ctx.lock().table.lookup(
        key.proto,
        key.family,
        &key.saddr,
        key.sport,
        Some(&key.daddr),
        key.dport,
        now,
    )?;
    let len = if peer {
        sockaddr(c.family, &c.cip, c.cport, out)
    } else {
        sockaddr(c.family, &c.vip, c.vport, out)
    };
    if len > room {
        ctx.count(Counter::GetnameKeptForKernel.index());
        return None;
    }
    ctx.count(Counter::GetnameRewritten.index());
    Some(len)
}
