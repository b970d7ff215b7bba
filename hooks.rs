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
        Ok(pkt) => {
            if let Some((n, dpvs)) = to_look_at(net, family, pkt) {
                look(&n, skb, dpvs, pkt);
            }
        }
        Err(len) => copied(net, skb, family, len),
    }
}

/// The most bytes [`to_look_at`] reads: an IPv4 header with 40 bytes of options, then TCP's
/// fixed header and the first byte of its options.
const CHECK_MAX: usize = 60 + path::TCP_HEADER_LEN + 1;

/// [`packet`] for a packet whose first bytes are not all linear (`len` of them, at most
/// [`PEEK_MAX`]): TCP's large segments with their data in pages. What the header check
/// needs is copied first, the rest only if the packet is looked at.
#[cold]
#[inline(never)]
fn copied(net: &HookNet<'_>, skb: &Skb<'_>, family: Family, len: usize) {
    let mut head = [0u8; CHECK_MAX];
    let Some(h) = head
        .get_mut(..len.min(CHECK_MAX))
        .and_then(|b| skb.peek(0, b))
    else {
        return;
    };
    let Some((n, dpvs)) = to_look_at(net, family, h) else {
        return;
    };
    let mut buf = [0u8; PEEK_MAX];
    if let Some(pkt) = buf.get_mut(..len).and_then(|b| skb.peek(0, b)) {
        look(&n, skb, dpvs, pkt);
    }
}

/// Whether a packet whose first bytes are `pkt` is to be looked at ([`path::passes`]):
/// then its namespace, and whether `dpvs_compat` is on.
fn to_look_at<'a>(net: &HookNet<'a>, family: Family, pkt: &[u8]) -> Option<(Net<'a>, bool)> {
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
    let head = pkt.get(..HEAD_LEN)?;
    if path::passes(head, family, dpvs, options_may_hold, tcp_may_matter) {
        return None;
    }
    found.unwrap_or_else(|| net.get()).map(|n| (n, dpvs))
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
