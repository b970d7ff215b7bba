// SPDX-License-Identifier: GPL-2.0

//! What the kernel path decides, over a namespace seen through the [`Namespace`] traits (the
//! kernel's in the module, a fake in the host tests), each decision in one place. On
//! ingress: which packets are looked at (most leave after a look at their IP header), what
//! an option records under the tuple the receiving socket will see, what a TCP SYN forgets
//! (it starts a new connection on its tuple). At getname: which calls might be answered,
//! the socket's tuple, how much room the caller's buffer has, and the answer. At getsockopt:
//! the counted look-up. Packets are never dropped or changed.

// The rules this file promises, checked by clippy in the module build (CLIPPY=1) and in the
// host crate userspace/kcore, wherever it is compiled.
#![deny(
    unsafe_code,
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::panic
)]

use crate::abi::AbiError;
use crate::dpvs_codec;
use crate::flow::{self, Key, Query, AF_INET, AF_INET6};
use crate::option_codec::{self, Carried, Family, IPPROTO_TCP, IPPROTO_UDP};
use crate::records::{Insert, OnConflict};
use crate::sockopt::{self, MAX_LEN, UOA_SO_GET_LOOKUP1};
use crate::state::{Namespace, NamespaceState};
use crate::stats::{self, Counter};

/// Bytes of a packet (from its IP header) handed to the parser: the header, its options or
/// extension headers and the ports.
pub(crate) const PEEK_MAX: usize = 256;
/// IPv4: the header length without options, the protocol's offset.
pub(crate) const IPV4_HEADER_LEN: usize = 20;
pub(crate) const IPV4_PROTOCOL_AT: usize = 9;
/// IPv6: the fixed header's length and its next-header field's offset.
pub(crate) const IPV6_HEADER_LEN: usize = 40;
const IPV6_NEXTHDR_AT: usize = 6;
/// The IPv6 extension headers a type-31 option can be in or behind (hop-by-hop, routing,
/// fragment, destination options): a first fragment may hold the option (in its fragmentable
/// part) and the ports.
const IPV6_EXTENSIONS: [u8; 4] = [0, 43, 44, 60];

/// sizeof(struct sockaddr_in), sizeof(struct sockaddr_in6).
pub(crate) const SOCKADDR_IN_LEN: usize = 16;
/// The larger of the two: what a getname answer needs at most.
pub(crate) const SOCKADDR_IN6_LEN: usize = 28;

/// TCP flags byte offset in the TCP header, and the two flags that tell a SYN.
pub(crate) const TCP_FLAGS_AT: usize = 13;
const TCP_SYN: u8 = 0x02;
const TCP_ACK: u8 = 0x10;

/// The bytes of the IP header [`passes`] looks at.
pub(crate) const HEAD_LEN: usize = IPV4_PROTOCOL_AT + 1;

/// Whether a packet whose IP header starts with `head` (at least 10 bytes of IPv4, 7 of
/// IPv6) can leave at once: no IP options that may hold a type-31 one (`options_may_hold`,
/// asked with the header's length only if it has options: [`options_may_hold`]), no IPv6
/// extension header, no DPVS opp header (protocol 248) with `dpvs`, and no TCP unless the
/// caller says (`tcp_may_matter`, given the IP header's length: where TCP's starts) that it
/// matters ([`tcp_matters`]).
pub(crate) fn passes(
    head: &[u8],
    family: Family,
    dpvs: bool,
    options_may_hold: impl FnOnce(usize) -> bool,
    tcp_may_matter: impl FnOnce(usize) -> bool,
) -> bool {
    let (header_len, protocol) = match family {
        Family::V4 => (
            head.first().and_then(|b| {
                let len = usize::from(b & 0x0f) * 4;
                (len == IPV4_HEADER_LEN || (len > IPV4_HEADER_LEN && !options_may_hold(len)))
                    .then_some(len)
            }),
            head.get(IPV4_PROTOCOL_AT).copied(),
        ),
        Family::V6 => {
            let nh = head.get(IPV6_NEXTHDR_AT).copied();
            (
                nh.is_some_and(|nh| !IPV6_EXTENSIONS.contains(&nh))
                    .then_some(IPV6_HEADER_LEN),
                nh,
            )
        }
    };
    // A header too short to tell is looked at (the parser says what is wrong with it).
    header_len.is_some_and(|len| {
        protocol.is_some_and(|p| {
            !(dpvs && p == dpvs_codec::IPPROTO_OPP) && (p != IPPROTO_TCP || !tcp_may_matter(len))
        })
    })
}

/// Whether the options of an IPv4 header (`options`, its bytes after the fixed 20) may hold
/// a type-31 option, the unified one or DPVS's: whether any byte is 31. A header without
/// such a byte carries none, nor anything this module would call malformed: IPv4 options
/// reach LOCAL_IN only well-formed (ip_rcv_options drops a packet whose options the kernel
/// cannot walk), and the parser's other checks are on the type-31 option itself. So the
/// options of other kinds (timestamps, record route, router alert, NOPs) leave after this
/// look, as a packet without options does.
pub(crate) fn options_may_hold(options: &[u8]) -> bool {
    options.contains(&option_codec::IPV4_OPTION_TYPE)
}

/// Whether a TCP packet must be looked at whole, from its data offset and flags bytes
/// (`doff_flags`, TCP header bytes 12 and 13): a SYN when the namespace holds TCP records (it
/// forgets its tuple's: `tcp_records`), or, with `dpvs`, a packet with TCP options whose first
/// one (`first_option`, asked only then) is DPVS's TOA, kind 254: DPVS puts it right after
/// the fixed header, so the timestamps and SACK options of ordinary packets leave here.
pub(crate) fn tcp_matters(
    doff_flags: [u8; 2],
    dpvs: bool,
    first_option: impl FnOnce() -> Option<u8>,
    tcp_records: impl FnOnce() -> bool,
) -> bool {
    if is_syn(doff_flags[1]) {
        return tcp_records();
    }
    dpvs && doff_flags[0] >> 4 > 5 && first_option() == Some(dpvs_codec::TCPOPT_TOA)
}

/// Offset of the data offset byte in the TCP header ([`tcp_matters`]); the flags follow.
pub(crate) const TCP_DOFF_AT: usize = 12;
/// The fixed TCP header's length: where its first option is.
pub(crate) const TCP_HEADER_LEN: usize = 20;

/// Whether TCP flags `flags` are a SYN's (SYN without ACK).
pub(crate) fn is_syn(flags: u8) -> bool {
    flags & (TCP_SYN | TCP_ACK) == TCP_SYN
}

/// The key of a TCP SYN (without ACK), or `None` for any other packet.
fn syn_key(pkt: &[u8]) -> Option<Key> {
    let t = option_codec::find_transport(pkt).ok()?;
    if t.protocol != IPPROTO_TCP {
        return None;
    }
    if !is_syn(*pkt.get(t.offset.checked_add(TCP_FLAGS_AT)?)?) {
        return None;
    }
    option_codec::outer_tuple(pkt, t.protocol, t.offset).map(|t| Key::from(&t))
}

/// Handles the first bytes of a packet, from its IP header (`pkt`, at most [`PEEK_MAX`]
/// bytes: the header, its options or extension headers and the ports). With `dpvs`
/// (`dpvs_compat`), DPVS's TOA, UOA "ipo" and "opp" are read too, when the packet carries no
/// well-formed unified option (which wins).
///
/// An option, well-formed or not, makes the namespace's state if it has none (it is counted
/// there); a packet without one needs the state only if there is one (a SYN forgets a record).
///
/// Returns the DPVS opp header of a well-formed opp datagram (`dpvs` only), which the caller
/// removes so that UDP gets the datagram as the client sent it (from any source, as DPVS's
/// uoa.ko does: only the record depends on `trusted_sources`). Nothing else is changed.
pub(crate) fn rx<N: Namespace>(net: &N, pkt: &[u8], dpvs: bool) -> Option<dpvs_codec::OppHeader> {
    // The time, read once: for the last refresh's test, and for the record.
    let mut now = None;
    if let Some(ctx) = net.state() {
        let t = ctx.now();
        if refreshed_again(&ctx, pkt, t) {
            return None;
        }
        now = Some(t);
    }
    parse_and_record(net, pkt, dpvs, now)
}

/// [`rx`] for a packet that is not the last refresh again (read at `now` if the namespace
/// had a state): parsed, and acted on. Out of line, so that a refresh again does not pay
/// for this function's frame.
#[inline(never)]
fn parse_and_record<N: Namespace>(
    net: &N,
    pkt: &[u8],
    dpvs: bool,
    now: Option<u64>,
) -> Option<dpvs_codec::OppHeader> {
    // With dpvs, DPVS's own type-31 options (8, 20 bytes) are not the unified one's to judge:
    // a packet carrying both has its unified option found, and it wins.
    let foreign: &[usize] = if dpvs {
        &[
            dpvs_codec::ADDR_OPTION_LEN_V4,
            dpvs_codec::ADDR_OPTION_LEN_V6,
        ]
    } else {
        &[]
    };
    let unified = option_codec::parse_packet_among(pkt, foreign);
    if let Ok(Some(p)) = &unified {
        if let Some(ctx) = net.activate() {
            record(
                &ctx,
                pkt,
                p.protocol,
                p.outer_tuple(pkt),
                &p.carried,
                Counter::OptionsValid,
                p.transport_offset.checked_add(PORTS_LEN),
                now.unwrap_or_else(|| ctx.now()),
            );
        }
        return None;
    }
    if dpvs {
        match dpvs_codec::parse_packet(pkt) {
            Ok(Some(d)) => {
                if let Some(ctx) = net.activate() {
                    let counter = match d.kind {
                        dpvs_codec::Kind::Toa => Counter::OptionsDpvsToa,
                        dpvs_codec::Kind::UoaIpo => Counter::OptionsDpvsUoaIpo,
                        dpvs_codec::Kind::UoaOpp => Counter::OptionsDpvsUoaOpp,
                    };
                    let carried = d.client.to_carried();
                    let tuple = d.outer_tuple(pkt);
                    let now = now.unwrap_or_else(|| ctx.now());
                    record(&ctx, pkt, d.protocol, tuple, &carried, counter, None, now);
                }
                return d.opp;
            }
            // A malformed DPVS option in a packet the unified parser found nothing wrong
            // with: counted and named as DPVS's.
            Err(e) if unified.is_ok() => {
                if let Some(ctx) = net.activate() {
                    ctx.count(Counter::OptionsDpvsMalformed);
                    if let Some((family, saddr, _)) = option_codec::outer_addresses(pkt) {
                        ctx.log_malformed(e.name(), family, &saddr);
                    }
                    forget_on_syn(&ctx, pkt);
                }
                return None;
            }
            _ => {}
        }
    }
    match unified {
        Ok(_) => {
            if let Some(ctx) = net.state() {
                forget_on_syn(&ctx, pkt);
            }
        }
        Err(e) => {
            if let Some(ctx) = net.activate() {
                ctx.count_index(stats::malformed(e));
                if let Some((family, saddr, _)) = option_codec::outer_addresses(pkt) {
                    ctx.log_malformed(e.name(), family, &saddr);
                }
                forget_on_syn(&ctx, pkt);
            }
        }
    }
    None
}

/// A SYN without a (valid) option: whatever was recorded for its tuple belonged to an
/// earlier connection and must not answer for this one. A SYN from outside
/// `trusted_sources` forgets nothing (anyone could send it); as it carries no option, it is
/// not counted as an untrusted option either: it is an ordinary client's SYN.
fn forget_on_syn<S: NamespaceState>(ctx: &S, pkt: &[u8]) {
    if let Some(key) = syn_key(pkt) {
        if !ctx.trusted(key.family, &key.saddr) {
            return;
        }
        // The socket look-up only for a tuple that has a record: on a live connection's
        // tuple the SYN opens nothing (it is forged, or stray).
        let has_record = ctx.lock().table.contains(&key);
        if !has_record || ctx.tcp_socket(&key, true) {
            return;
        }
        if ctx.lock().table.remove(&key) {
            ctx.count(Counter::RecordsForgottenBySyn);
        }
    }
}

/// The TCP or UDP ports' length: a [`crate::state::LastRefresh`] keeps a packet up to its ports.
const PORTS_LEN: usize = 4;

/// Whether `pkt` is the last option packet this CPU refreshed a record with in the
/// namespace, again in its jiffy, with nothing changed since
/// ([`crate::state::LastRefresh`]): then it is counted as the refresh it would be, and
/// needs nothing else. The common case of a flow that carries the option on every packet
/// is neither parsed nor takes the lock.
#[inline]
fn refreshed_again<S: NamespaceState>(ctx: &S, pkt: &[u8], now: u64) -> bool {
    let (changes, trust) = (ctx.table_changes(), ctx.trust_version());
    let again = ctx.with_last_refresh(|r| r.covers(pkt, now, changes, trust)) == Some(true);
    if again {
        ctx.count_three([
            Counter::OptionsValid,
            Counter::RecordsRefreshed,
            Counter::RecordsRefreshedLockless,
        ]);
    }
    again
}

/// A well-formed option carrying `carried` in a packet of `protocol` (its tuple `tuple`):
/// counted (`valid`, the format's counter), and recorded if its packet is TCP or UDP from a
/// trusted source, at `now`. With `identity`, the unified option's packets (whose first
/// `identity` bytes are all it depends on), a refresh is this CPU's
/// [`crate::state::LastRefresh`] too.
#[allow(clippy::too_many_arguments)]
fn record<S: NamespaceState>(
    ctx: &S,
    pkt: &[u8],
    protocol: u8,
    tuple: Option<option_codec::OuterTuple>,
    carried: &Carried,
    valid: Counter,
    identity: Option<usize>,
    now: u64,
) {
    if protocol != IPPROTO_TCP && protocol != IPPROTO_UDP {
        ctx.count(Counter::OptionsNotTcpUdp);
        return;
    }
    let Some(t) = tuple else {
        // The ports are not within the bytes the parser was given.
        ctx.count_index(stats::malformed(option_codec::Error::Truncated));
        return;
    };
    // Read before the source is checked: a change of the trusted sources after this ends
    // the LastRefresh made below.
    let trust = ctx.trust_version();
    if !ctx.trusted(t.family, &t.saddr) {
        ctx.count(Counter::OptionsUntrusted);
        ctx.log_untrusted(t.family, &t.saddr);
        return;
    }
    // A TCP connection's addresses are set once: an option with other addresses for a tuple
    // that has a record is ignored (a forged ACK needs no valid sequence number to reach
    // this hook), unless it is on a SYN that opens a new connection: one whose tuple is not
    // a live connection.
    let key = Key::from(&t);
    let (mut outcome, grow, changes) = {
        let mut l = ctx.lock();
        let outcome = if t.protocol == IPPROTO_TCP {
            l.table.insert_with(&key, carried, now, OnConflict::Keep)
        } else {
            l.table.insert(&key, carried, now)
        };
        // The first record of a table still at its small size: have it grown now.
        let grow =
            !l.grow_asked && l.table.len() > 0 && l.table.buckets() < l.table.buckets_wanted();
        l.grow_asked |= grow;
        (outcome, grow, l.table.changes())
    };
    if grow {
        ctx.grow_soon();
    }
    // The record holds `carried`, last seen at `now` or later. A refresh is kept: a flow's
    // second packet. A new record is kept only for TCP, whose SYN is followed by its
    // handshake's ACK at once; a UDP flow's first datagram is not (a flood of new flows
    // would pay for it on every packet and never use it).
    let keep = match outcome {
        Insert::Refreshed => true,
        Insert::New => t.protocol == IPPROTO_TCP,
        _ => false,
    };
    if let Some(len) = identity.filter(|_| keep) {
        ctx.with_last_refresh(|r| r.set(pkt, len, now, changes, trust));
    }
    if outcome == Insert::Kept && syn_key(pkt).is_some() && !ctx.tcp_socket(&key, true) {
        outcome = ctx
            .lock()
            .table
            .insert_with(&key, carried, now, OnConflict::Replace);
    }
    // A connection accepted before its option arrived waits for it (Accepted::Pending).
    if t.protocol == IPPROTO_TCP
        && matches!(
            outcome,
            Insert::New | Insert::Replaced | Insert::NewAfterEvicting
        )
        && syn_key(pkt).is_none()
    {
        ctx.record_arrived(&key, carried);
    }
    // The option, and what became of it (one call for both).
    let counter = match outcome {
        Insert::New => Counter::RecordsNew,
        Insert::Replaced => Counter::RecordsReplaced,
        Insert::Refreshed => Counter::RecordsRefreshed,
        Insert::NewAfterEvicting => {
            ctx.count(Counter::RecordsEvicted);
            Counter::RecordsNew
        }
        Insert::DroppedAtLimit => Counter::RecordsDroppedAtLimit,
        Insert::AllocFailed => Counter::RecordsAllocFailed,
        Insert::Kept => Counter::OptionsIgnoredLiveTcp,
    };
    ctx.count_two(valid, counter);
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

/// What a socket says about its connection (the kernel's `struct sock`, copied).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sock {
    /// AF_INET or AF_INET6.
    pub(crate) family: u16,
    /// IPPROTO_TCP, IPPROTO_UDP, ...
    pub(crate) protocol: u8,
    /// TCP's state numbering (a UDP socket: CLOSE, or ESTABLISHED once connected).
    pub(crate) state: u8,
    /// The peer's port, 0 if none (host order).
    pub(crate) peer_port: u16,
    /// The local port (host order).
    pub(crate) local_port: u16,
    /// IPv4 peer address (an AF_INET6 socket's IPv4-mapped one included).
    pub(crate) peer4: [u8; 4],
    /// IPv4 local address.
    pub(crate) local4: [u8; 4],
    /// An AF_INET6 socket's peer address.
    pub(crate) peer6: [u8; 16],
    /// An AF_INET6 socket's local address.
    pub(crate) local6: [u8; 16],
}

/// The TCP states (include/net/tcp_states.h) in which a socket has no peer a record can be
/// about.
pub(crate) const TCP_SYN_SENT: u8 = 2;
/// Closed, or never connected.
pub(crate) const TCP_CLOSE: u8 = 7;
/// Listening.
pub(crate) const TCP_LISTEN: u8 = 10;

/// The task a getname call comes from, as far as the answer's size depends on it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Task {
    /// A kernel thread (no system call: its sockaddr buffers are its own).
    pub(crate) kthread: bool,
    /// A 32-bit task on a 64-bit kernel.
    pub(crate) compat: bool,
    /// The system call it is in (meaningless for a kernel thread).
    pub(crate) syscall: i64,
}

/// Whether a getname on `sock` could be answered from a record: a connected TCP or UDP
/// socket ([`connected`]) in a namespace that is up and holds records of its protocol. The
/// record counts are read unlocked: a record a connection's handshake made was published (by
/// the unlock after its insert) before the socket could be accepted and asked its name.
pub(crate) fn getname_wanted<N: Namespace>(net: &N, sock: &Sock) -> bool {
    let tcp = sock.protocol == IPPROTO_TCP;
    (tcp || sock.protocol == IPPROTO_UDP) && connected(sock) && net.live() && net.has_records(tcp)
}

/// Whether `sock` has a peer a record can be about. A listening, unbound or unconnected
/// socket (no peer port, or state LISTEN/CLOSE/SYN_SENT) keeps the kernel's answer, whatever
/// records exist (its tuple's zero peer would otherwise match a record made from a packet
/// sent from [::]:0).
fn connected(sock: &Sock) -> bool {
    sock.peer_port != 0 && ![TCP_LISTEN, TCP_CLOSE, TCP_SYN_SENT].contains(&sock.state)
}

/// A connection's answers, from its record: what getpeername (CIP:CPORT) and getsockname
/// (VIP:VPORT) give, as a sockaddr_in or sockaddr_in6 each. A `name_len` of 0 leaves
/// getsockname the kernel's answer (a record from DPVS's formats has no VIP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Answers {
    /// getpeername's (and accept's) answer, `peer_len` bytes of it.
    pub(crate) peer: [u8; SOCKADDR_IN6_LEN],
    /// Its length.
    pub(crate) peer_len: usize,
    /// getsockname's answer, `name_len` bytes of it.
    pub(crate) name: [u8; SOCKADDR_IN6_LEN],
    /// Its length, 0 for none.
    pub(crate) name_len: usize,
}

impl Answers {
    /// The answers a record carrying `c` gives.
    pub(crate) fn of(c: &Carried) -> Self {
        let mut a = Answers {
            peer: [0; SOCKADDR_IN6_LEN],
            peer_len: 0,
            name: [0; SOCKADDR_IN6_LEN],
            name_len: 0,
        };
        a.peer_len = answer_of(c, true, &mut a.peer).unwrap_or(0);
        a.name_len = answer_of(c, false, &mut a.name).unwrap_or(0);
        a
    }

    /// getpeername's (`peer`) or getsockname's answer, `None` if it has none (the host tests
    /// read them so; the module hands them to its answering copy whole).
    #[cfg(test)]
    pub(crate) fn get(&self, peer: bool) -> Option<&[u8]> {
        let (bytes, len) = if peer {
            (&self.peer, self.peer_len)
        } else {
            (&self.name, self.name_len)
        };
        bytes.get(..len).filter(|b| !b.is_empty())
    }
}

/// getpeername's (`peer`: CIP:CPORT) or getsockname's (VIP:VPORT) answer from a record
/// carrying `c`, written into `out`: its length, or `None` for getsockname when the record
/// has no VIP (DPVS's formats: the socket's own address stands).
fn answer_of(c: &Carried, peer: bool, out: &mut [u8; SOCKADDR_IN6_LEN]) -> Option<usize> {
    if peer {
        Some(sockaddr(c.family, &c.cip, c.cport, out))
    } else if c.vport == 0 && c.vip == [0; 16] {
        None
    } else {
        Some(sockaddr(c.family, &c.vip, c.vport, out))
    }
}

/// Whether an answer of `len` bytes is given, and the counter that says so: any caller's
/// buffer holds the socket family's own sockaddr, so only a longer answer asks how much room
/// the caller has (`room`: [`getname_room`]); one that does not fit is left to the kernel.
pub(crate) fn fits(len: usize, room: impl FnOnce() -> usize) -> (bool, Counter) {
    if len > SOCKADDR_IN_LEN && len > room() {
        (false, Counter::GetnameKeptForKernel)
    } else {
        (true, Counter::GetnameRewritten)
    }
}

/// What a TCP socket just accepted gets (from a listener with the module's operations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Accepted {
    /// Its tuple has a record: the module's operations, answering `Answers` (the record's:
    /// a TCP connection's addresses never change), without a look-up.
    Answer(Answers),
    /// No record yet, but its peer is a trusted source (a balancer: a later packet, its first
    /// data packet say, may still bring the option): the module's operations with the
    /// kernel's getname, until a record arrives ([`NamespaceState::record_arrived`]). Its
    /// getname calls cost nothing meanwhile.
    Pending,
    /// The kernel's operations back: its getname calls cost nothing.
    Kernel,
}

/// What a TCP socket just accepted gets ([`Accepted`]).
pub(crate) fn accepted<N: Namespace>(net: &N, sock: &Sock) -> Accepted {
    if sock.protocol != IPPROTO_TCP || !connected(sock) || !net.live() {
        return Accepted::Kernel;
    }
    let key = key_of_sock(sock);
    if let Some(c) = net
        .state()
        .and_then(|ctx| record_of(&ctx, &Query::exact(key)))
    {
        Accepted::Answer(Answers::of(&c))
    } else if net.trusted_source(key.family, &key.saddr) {
        Accepted::Pending
    } else {
        Accepted::Kernel
    }
}

/// Whether a UDP socket just connected takes the module's socket operations: its tuple has a
/// record (a server connecting a socket to a client it heard from through the balancer).
/// Other connected UDP sockets (a resolver's, a client's) keep the kernel's.
pub(crate) fn keeps_connected<N: Namespace>(net: &N, sock: &Sock) -> bool {
    sock.protocol == IPPROTO_UDP && getname_wanted(net, sock) && has_record(net, &key_of_sock(sock))
}

/// Whether the namespace holds a record for `key` (exactly: as getname looks it up).
fn has_record<N: Namespace>(net: &N, key: &Key) -> bool {
    net.state()
        .is_some_and(|ctx| ctx.lock().table.contains(key))
}

/// A connected socket's tuple as the packets arriving for it carry it: the peer is the
/// source. An AF_INET6 socket's IPv4-mapped addresses are IPv4 (the packets are).
pub(crate) fn key_of_sock(sock: &Sock) -> Key {
    let mut key = Key {
        proto: sock.protocol,
        family: Family::V4,
        saddr: [0; 16],
        sport: sock.peer_port,
        daddr: [0; 16],
        dport: sock.local_port,
    };
    if sock.family == AF_INET6 && flow::unmap(&sock.peer6).is_none() {
        key.family = Family::V6;
        key.saddr = sock.peer6;
        key.daddr = sock.local6;
    } else {
        key.saddr[..4].copy_from_slice(&sock.peer4);
        key.daddr[..4].copy_from_slice(&sock.local4);
    }
    key
}

/// The most a getname's sockaddr buffer is known to hold. A `sockaddr_storage` only inside
/// the system calls whose every path to inet_getname/inet6_getname passes one
/// (`storage_syscalls`), from a native (not compat) user task. Anything else may pass
/// the socket family's own sockaddr and no more: kernel threads (ocfs2 and sunrpc pass a bare
/// sockaddr_in) and in-kernel users inside other system calls (usnic from a verbs write,
/// iSCSI from a sysfs read). This decides only the 64 case, whose answer (a 28-byte
/// sockaddr_in6 for an AF_INET socket) is longer than that; elsewhere the kernel's own answer
/// is as long as ours.
pub(crate) fn getname_room(task: &Task, socket_family: u16, storage_syscalls: &[i64]) -> usize {
    /// sizeof(struct sockaddr_storage)
    const STORAGE: usize = 128;
    if !task.kthread && !task.compat && storage_syscalls.contains(&task.syscall) {
        STORAGE
    } else if socket_family == AF_INET6 {
        SOCKADDR_IN6_LEN
    } else {
        SOCKADDR_IN_LEN
    }
}

/// The getname answer for `sock` (`peer`: getpeername/accept, else getsockname): the
/// record's CIP:CPORT or VIP:VPORT written to `out`, with its length; `None` (the kernel's
/// answer stands) when there is no record.
///
/// `room` gives the most the caller's buffer is known to hold ([`getname_room`]; asked only
/// when there is a record): an answer longer than that is not given, and counted.
pub(crate) fn getname<N: Namespace>(
    net: &N,
    sock: &Sock,
    peer: bool,
    room: impl FnOnce() -> usize,
    out: &mut [u8; SOCKADDR_IN6_LEN],
) -> Option<usize> {
    // No state, no record.
    let ctx = net.state()?;
    answer(&ctx, &key_of_sock(sock), peer, room, out)
}

/// The record `q` finds, now (a look-up keeps it from expiring).
fn record_of<S: NamespaceState>(ctx: &S, q: &Query) -> Option<Carried> {
    let now = ctx.now();
    ctx.lock().table.lookup(q, now)
}

/// The answer for a socket whose tuple is `key`.
fn answer<S: NamespaceState>(
    ctx: &S,
    key: &Key,
    peer: bool,
    room: impl FnOnce() -> usize,
    out: &mut [u8; SOCKADDR_IN6_LEN],
) -> Option<usize> {
    let len = answer_of(&record_of(ctx, &Query::exact(*key))?, peer, out)?;
    let (given, counter) = fits(len, room);
    ctx.count(counter);
    given.then_some(len)
}

/// DPVS toa.ko's NAT64 look-up: getsockopt(IPPROTO_IP, TOA_SO_GET_LOOKUP) on an IPv4 TCP
/// socket whose client is IPv6.
pub(crate) const TOA_SO_GET_LOOKUP: i32 = 4096;
/// sizeof(struct toa_nat64_peer { struct in6_addr saddr; __u16 port; }), padding included.
pub(crate) const NAT64_PEER_LEN: usize = 20;

/// Why a NAT64 look-up has no answer (as DPVS's toa.ko says it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Nat64Error {
    /// ENOTCONN: the socket has no peer.
    NotConnected,
    /// EINVAL: a buffer shorter than the structure, no record, or an IPv4 client.
    Invalid,
}

/// The answer to DPVS toa.ko's NAT64 look-up on `sock` (`optlen`: the caller's buffer's
/// length): its record's IPv6 client as a `struct toa_nat64_peer` (address, port in network
/// order, two bytes of padding), written whole into `out`.
pub(crate) fn nat64_peer<N: Namespace>(
    net: &N,
    sock: &Sock,
    optlen: usize,
    out: &mut [u8; NAT64_PEER_LEN],
) -> Result<(), Nat64Error> {
    if optlen < NAT64_PEER_LEN {
        return Err(Nat64Error::Invalid);
    }
    if sock.protocol != IPPROTO_TCP || !connected(sock) {
        return Err(Nat64Error::NotConnected);
    }
    let ctx = net.state().ok_or(Nat64Error::Invalid)?;
    let c = record_of(&ctx, &Query::exact(key_of_sock(sock))).ok_or(Nat64Error::Invalid)?;
    if c.family != Family::V6 {
        return Err(Nat64Error::Invalid);
    }
    out.fill(0);
    out[..16].copy_from_slice(&c.cip);
    out[16..18].copy_from_slice(&c.cport.to_be_bytes());
    Ok(())
}

/// A getsockopt look-up of the namespace's records through the ABI, counted: `input` is what
/// the caller's buffer held (`optlen` its length), `out` the answer's bytes (every one
/// written), of the length returned. Without the namespace's state (`ctx` `None`: no memory
/// to make it) there is no record, and nothing is counted.
pub(crate) fn lookup<S: NamespaceState>(
    ctx: Option<&S>,
    protocol: u8,
    optname: i32,
    optlen: usize,
    input: &[u8],
    out: &mut [u8; MAX_LEN],
) -> Result<usize, AbiError> {
    let lookup = |q: &Query| record_of(ctx?, q);
    let v1 = optname == UOA_SO_GET_LOOKUP1;
    let r = sockopt::serve(protocol, optname, optlen, input, lookup, out);
    let Some(ctx) = ctx else {
        return r;
    };
    ctx.count(match (&r, v1) {
        (Ok(_), true) => Counter::LookupsV1Hit,
        (Ok(_), false) => Counter::LookupsV0Hit,
        (Err(AbiError::NoRecord), true) => Counter::LookupsV1Miss,
        (Err(AbiError::NoRecord), false) => Counter::LookupsV0Miss,
        (Err(_), _) => Counter::LookupsRefused,
    });
    r
}
