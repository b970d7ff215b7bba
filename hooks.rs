// SPDX-License-Identifier: GPL-2.0

//! The kernel path's two ends as the kernel hands them over: a packet at the LOCAL_IN hooks
//! (an skb, read without being touched) and a getname call (a socket, the task making the
//! call), turned into what `path` decides on. Packets are never dropped, and changed only to
//! remove a DPVS opp header (`dpvs_compat`).

use crate::ffi::{self, HookNet, Net, Skb, SockView};
use crate::option_codec::{Family, IPPROTO_UDP};
use crate::path::{self, HEAD_LEN, PEEK_MAX, SOCKADDR_IN6_LEN};

/// A packet at LOCAL_IN. Almost none carry IP options or IPv6 extension headers: those
/// leave after a look at their header ([`path::passes`]). The rest is parsed. Its first
/// bytes (at most [`PEEK_MAX`] from the IP header) are read in place where they are linear,
/// as nearly always, else copied out of line ([`copied`]); the skb is not touched.
pub(crate) fn packet(net: &HookNet<'_>, skb: &Skb<'_>, family: Family) {
    match skb.linear(PEEK_MAX) {
        Ok(pkt) => first_bytes(net, skb, family, pkt),
        Err(len) => copied(net, skb, family, len),
    }
}

/// [`packet`] for a packet whose first `len` bytes are not all linear: they are copied.
#[cold]
#[inline(never)]
fn copied(net: &HookNet<'_>, skb: &Skb<'_>, family: Family, len: usize) {
    let mut buf = [0u8; PEEK_MAX];
    if let Some(pkt) = buf.get_mut(..len).and_then(|b| skb.peek(0, b)) {
        first_bytes(net, skb, family, pkt);
    }
}

/// A packet's first bytes `pkt`: let go at once ([`path::passes`]), or looked at.
fn first_bytes(net: &HookNet<'_>, skb: &Skb<'_>, family: Family, pkt: &[u8]) {
    // A SYN without options matters only if the namespace holds TCP records (it forgets its
    // tuple's): in the common case, and under a SYN flood, it takes no lock. The namespace's
    // share found for that test is kept for the packet's handling (one look-up, not two).
    // With dpvs_compat, a packet whose first TCP option is DPVS's TOA matters too.
    let dpvs = ffi::dpvs_compat();
    let mut found = None;
    let tcp_may_matter = |header_len: usize| {
        let at = header_len + path::TCP_DOFF_AT;
        let Some(&[doff, flags]) = pkt.get(at..at + 2) else {
            return false;
        };
        let first_option = || pkt.get(header_len + path::TCP_HEADER_LEN).copied();
        let tcp_records = || found.insert(net.get()).is_some_and(|n| n.has_records(true));
        path::tcp_matters([doff, flags], dpvs, first_option, tcp_records)
    };
    // IPv4 options: looked at only if a byte of them is 31 (path::options_may_hold).
    let options_may_hold = |header_len: usize| match pkt.get(path::IPV4_HEADER_LEN..header_len) {
        Some(options) => path::options_may_hold(options),
        // Not all there: looked at (the parser names what is wrong).
        None => true,
    };
    let Some(head) = pkt.get(..HEAD_LEN) else {
        return;
    };
    if path::passes(head, family, dpvs, options_may_hold, tcp_may_matter) {
        return;
    }
    if let Some(net) = found.unwrap_or_else(|| net.get()) {
        look(&net, skb, dpvs, pkt);
    }
}

/// A packet [`packet`] did not let go: its first bytes `pkt` parsed and acted on. Out of
/// line, so that the common packet's path stays short.
#[inline(never)]
fn look(net: &Net<'_>, skb: &Skb<'_>, dpvs: bool, pkt: &[u8]) {
    if let Some(opp) = path::rx(net, pkt, dpvs) {
        // DPVS's opp header goes, so that UDP gets the datagram as the client sent it.
        if !skb.remove_header(opp.offset, opp.len, opp.protocol_field, IPPROTO_UDP) {
            ffi::log_opp_not_removed();
        }
    }
}

/// Whether a getname on `sock` might be answered ([`path::getname_wanted`]).
pub(crate) fn getname_wanted(net: &Net<'_>, sock: &SockView) -> bool {
    path::getname_wanted(net, &sock.sock)
}

/// The getname answer for `sock` ([`path::getname`]), for the current task's buffer.
pub(crate) fn getname(
    net: &Net<'_>,
    sock: &SockView,
    peer: bool,
    out: &mut [u8; SOCKADDR_IN6_LEN],
) -> Option<usize> {
    let family = sock.sock.family;
    let room = || path::getname_room(&ffi::current_task(), family, &ffi::STORAGE_SYSCALLS);
    path::getname(net, &sock.sock, peer, room, out)
}
