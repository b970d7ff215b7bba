//! Fuzz target: option_codec.rs on arbitrary bytes.
//!
//! Besides "never panics" (any panic, overflow or out-of-bounds read is a crash libFuzzer
//! reports), it checks what must hold of every answer:
//! - the dispatcher and the family parsers agree;
//! - a found option comes with a transport offset inside the packet, the same one
//!   `find_transport` gives, and unused IPv4 address bytes are zero;
//! - what was found re-encodes (both forms) to bytes that parse back equal, and the encoded
//!   bytes equal the option bytes in the packet when the packet was well-formed;
//! - a packet that parses is unchanged in verdict by appending bytes after its header chain
//!   (the parser must not look past the transport offset).
#![no_main]

use libfuzzer_sys::fuzz_target;
use toa_uoa_codec::*;

fn reparse_v4(c: &Carried) -> Carried {
    let mut pkt = [0u8; 60 + 4];
    let n = encode_ipv4_option(c, &mut pkt[20..]).expect("encode v4");
    let ihl = (20 + n) / 4;
    pkt[0] = 0x40 | ihl as u8;
    pkt[9] = IPPROTO_UDP;
    let len = 20 + n + 4;
    let p = parse_packet(&pkt[..len]).expect("re-encoded v4 parses").expect("has option");
    assert_eq!(p.transport_offset, 20 + n);
    p.carried
}

fn reparse_v6(c: &Carried) -> Carried {
    let mut pkt = [0u8; 40 + 40 + 4];
    let n = encode_ipv6_dstopt(c, IPPROTO_TCP, &mut pkt[40..]).expect("encode v6");
    pkt[0] = 0x60;
    pkt[6] = IPV6_HEADER_DST;
    let len = 40 + n + 4;
    let p = parse_packet(&pkt[..len]).expect("re-encoded v6 parses").expect("has option");
    assert_eq!((p.protocol, p.transport_offset), (IPPROTO_TCP, 40 + n));
    p.carried
}

fuzz_target!(|data: &[u8]| {
    let parsed = parse_packet(data);
    let transport = find_transport(data);
    let _ = outer_addresses(data);
    match data.first().map(|b| b >> 4) {
        Some(4) => assert_eq!(parsed, parse_ipv4(data)),
        Some(6) => assert_eq!(parsed, parse_ipv6(data)),
        _ => assert!(parsed.is_err()),
    }
    if let Ok(t) = transport {
        assert!(t.offset <= data.len());
        let _ = outer_tuple(data, t.protocol, t.offset);
    }
    for off in [0usize, 20, 40, data.len(), usize::MAX - 1, usize::MAX] {
        let _ = outer_tuple(data, IPPROTO_UDP, off);
    }
    if let Ok(Some(p)) = parsed {
        assert!(p.transport_offset <= data.len());
        assert_eq!(
            transport,
            Ok(Transport {
                protocol: p.protocol,
                offset: p.transport_offset
            })
        );
        if p.carried.family == Family::V4 {
            assert!(p.carried.cip[4..].iter().all(|&b| b == 0));
            assert!(p.carried.vip[4..].iter().all(|&b| b == 0));
        }
        assert_eq!(reparse_v4(&p.carried), p.carried);
        assert_eq!(reparse_v6(&p.carried), p.carried);
    }
    // Only the header chain matters: extra bytes after it change nothing.
    if let Ok(ref r) = parsed {
        let end = match r {
            Some(p) => p.transport_offset,
            None => match transport {
                Ok(t) => t.offset,
                Err(_) => return,
            },
        };
        if end <= data.len() && end <= 4096 {
            let mut longer = data[..end].to_vec();
            longer.extend_from_slice(&[0xff; 64]);
            let again = parse_packet(&longer);
            assert_eq!(again, parsed, "bytes past the transport offset changed the verdict");
        }
    }
});
