//! Fuzz target: dpvs_codec.rs (DPVS's TOA, UOA ipo and opp formats) on arbitrary bytes.
//!
//! Besides "never panics" it checks what must hold of every answer:
//! - offsets are inside the packet: the transport header, the opp header (which ends where the
//!   transport header starts, and whose protocol field says 248);
//! - unused IPv4 address bytes are zero, and the format's family/length agree;
//! - the verdict does not depend on bytes past what the format needs (the transport header for
//!   ipo and opp, the TCP header's end for TOA);
//! - a client found re-encodes in each format (by the small encoder here, from DPVS's layout) to
//!   a packet that parses back to the same client;
//! - the unified parser (option_codec) runs on the same bytes without disturbing anything.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toa_uoa_codec::dpvs::{self, Client, Kind};
use toa_uoa_codec::{Family, IPPROTO_TCP, IPPROTO_UDP};

/// DPVS's address option (TOA kind 254 or UOA type 31): kind, length, port, address.
fn addr_option(kind: u8, c: &Client) -> Vec<u8> {
    let addr = c.cip_bytes();
    let mut v = vec![kind, (4 + addr.len()) as u8];
    v.extend_from_slice(&c.cport.to_be_bytes());
    v.extend_from_slice(addr);
    v
}

/// An IPv4 packet of `ihl_opts` options, `protocol`, then `rest`.
fn v4(opts: &[u8], protocol: u8, rest: &[u8]) -> Vec<u8> {
    let mut p = vec![
        0x40 | (5 + opts.len() / 4) as u8,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        64,
        protocol,
    ];
    p.resize(20, 0);
    p.extend_from_slice(opts);
    p.extend_from_slice(rest);
    p
}

fn reencode(c: &Client) {
    let udp = [0x9c, 0x40, 0x00, 0x35, 0, 8, 0, 0];
    // TOA on an ACK.
    let toa = addr_option(dpvs::TCPOPT_TOA, c);
    let mut tcp = vec![0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 1];
    tcp.push(((20 + toa.len()) / 4 << 4) as u8);
    tcp.extend_from_slice(&[0x10, 0xff, 0xff, 0, 0, 0, 0]);
    tcp.extend_from_slice(&toa);
    // ipo.
    let uoa = addr_option(dpvs::IPOPT_UOA, c);
    // opp.
    let version = match c.family {
        Family::V4 => dpvs::OPP_VERSION_V4,
        Family::V6 => dpvs::OPP_VERSION_V6,
    };
    let mut opp = vec![version << 4, IPPROTO_UDP, 0, (4 + uoa.len()) as u8];
    opp.extend_from_slice(&uoa);
    opp.extend_from_slice(&udp);
    for (pkt, kind) in [
        (v4(&[], IPPROTO_TCP, &tcp), Kind::Toa),
        (v4(&uoa, IPPROTO_UDP, &udp), Kind::UoaIpo),
        (v4(&[], dpvs::IPPROTO_OPP, &opp), Kind::UoaOpp),
    ] {
        let r = dpvs::parse_packet(&pkt)
            .expect("re-encoded parses")
            .expect("re-encoded has the client");
        assert_eq!((r.kind, r.client), (kind, *c));
    }
}

fuzz_target!(|data: &[u8]| {
    let verdict = dpvs::parse_packet(data);
    let _ = toa_uoa_codec::parse_packet(data);
    let Ok(Some(p)) = verdict else {
        return;
    };
    assert!(p.transport_offset <= data.len());
    let c = p.client;
    if c.family == Family::V4 {
        assert!(c.cip[4..].iter().all(|&b| b == 0));
    }
    assert_eq!(p.opp.is_some(), p.kind == Kind::UoaOpp);
    let needed = match p.kind {
        Kind::Toa => {
            assert_eq!(p.protocol, IPPROTO_TCP);
            p.transport_offset + usize::from(data[p.transport_offset + 12] >> 4) * 4
        }
        Kind::UoaIpo => p.transport_offset,
        Kind::UoaOpp => {
            let o = p.opp.unwrap();
            assert_eq!(o.offset + o.len, p.transport_offset);
            assert!(o.len >= dpvs::OPP_FIXED_LEN && o.len <= dpvs::OPP_MAX_LEN);
            assert_eq!(data[o.protocol_field], dpvs::IPPROTO_OPP);
            assert_eq!(p.protocol, IPPROTO_UDP);
            p.transport_offset
        }
    };
    assert!(needed <= data.len());
    let mut longer = data[..needed].to_vec();
    longer.extend_from_slice(&[0xff; 64]);
    assert_eq!(
        dpvs::parse_packet(&longer),
        verdict,
        "bytes past what the format needs changed the verdict"
    );
    reencode(&c);
});
