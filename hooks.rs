// SPDX-License-Identifier: GPL-2.0

//! The kernel path's two ends as the kernel hands them over: a packet at the LOCAL_IN hooks
//! (an skb, read without being touched) and a getname call (a socket, the task making the
//! call), turned into what `path` decides on. Packets are never dropped, and changed only to
//! remove a DPVS opp header (`dpvs_compat`).

use crate::ffi::{self, HookNet, Net, Skb, SockView};
use crate::option_codec::{Family, IPPROTO_UDP};
use crate::path::{self, HEAD_LEN, PEEK_MAX, SOCKADDR_IN6_LEN};

/// A packet at LOCAL_IN. Almost none carry IP options or IPv6 extension headers: those
/// leave after a look at their header ([`path::passes`]). The rest is copied (at most
/// [`PEEK_MAX`] bytes from the IP header, without touching the skb) and parsed.
pub(crate) fn packet(net: &HookNet<'_>, skb: &Skb<'_>, family: Family) {
    let header_len = match family {
        Family::V4 => path::IPV4_HEADER_LEN,
        Family::V6 => path::IPV6_HEADER_LEN,
    };
    let mut head = [0u8; HEAD_LEN];
    let Some(h) = skb.peek(0, &mut head) else {
        return;
    };
    // A SYN without options matters only if the namespace holds TCP records (it forgets its
    // tuple's): in the common case, and under a SYN flood, it takes no lock. The namespace's
    // share found for that test is kept for the packet's handling (one look-up, not two).
    // With dpvs_compat, a packet whose first TCP option is DPVS's TOA matters too.
    let dpvs = ffi::dpvs_compat();
    let mut found = None;
    let tcp_may_matter = || {
        let mut b = [0u8; 2];
        let Some(&[doff, flags]) = skb.peek(header_len + path::TCP_DOFF_AT, &mut b) else {
            return false;
        };
        let first_option = || {
            let mut k = [0u8; 1];
            skb.peek(header_len + path::TCP_HEADER_LEN, &mut k)
                .and_then(|k| k.first().copied())
        };
        let tcp_records = || found.insert(net.get()).is_some_and(|n| n.has_records(true));
        path::tcp_matters([doff, flags], dpvs, first_option, tcp_records)
    };
    if path::passes(h, family, dpvs, tcp_may_matter) {
        return;
    }
    if let Some(net) = found.unwrap_or_else(|| net.get()) {
        look(&net, skb, dpvs);
    }
}

/// A packet [`packet`] did not let go: its first bytes (at most [`PEEK_MAX`], read in place
/// where linear, else copied) parsed and acted on. Out of line, so that the common packet's
/// path stays short.
#[inline(never)]
fn look(net: &Net<'_>, skb: &Skb<'_>, dpvs: bool) {
    let opp = match skb.linear(PEEK_MAX) {
        Ok(pkt) => path::rx(net, pkt, dpvs),
        Err(len) => {
            let mut buf = [0u8; PEEK_MAX];
            buf.get_mut(..len)
                .and_then(|b| skb.peek(0, b))
                .and_then(|pkt| path::rx(net, pkt, dpvs))
        }
    };
    if let Some(opp) = opp {
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
