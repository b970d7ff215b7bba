//! End-to-end tests of `toa-uoa decode`: the real binary on hex text and on pcap files built
//! here, and its exit status on input it cannot read.

#[path = "../../codec/tests/common/mod.rs"]
mod common;

use common::*;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use toa_uoa_codec::{Family, IPPROTO_TCP, IPPROTO_UDP};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_toa-uoa"))
}

fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn lines(out: &Output) -> Vec<String> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A temporary file removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &[u8]) -> Self {
        let path = std::env::temp_dir().join(format!("toa-uoa-cli-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

const OPTION44: &str = r#""option":{"format":"unified","family":"ipv4","cip":"203.0.113.5","cport":51515,"vip":"192.0.2.80","vport":80}"#;
const OPTION66: &str = r#""option":{"format":"unified","family":"ipv6","cip":"2001:db8:c100::5","cport":51516,"vip":"2001:db8:8000::80","vport":443}"#;
const OUTER4_TCP: &str = r#""outer":{"family":"ipv4","saddr":"198.51.100.7","daddr":"198.51.100.20","protocol":6,"sport":40123,"dport":8080}"#;
const OUTER6_UDP: &str = r#""outer":{"family":"ipv6","saddr":"2001:db8:1::7","daddr":"2001:db8:1::20","protocol":17,"sport":40123,"dport":8080}"#;

/// Packets for the tests: 44 TCP, 66 UDP, no option, malformed (IPv4 length 20).
fn sample_packets() -> Vec<Vec<u8>> {
    let mut bad = packet_with_option(Family::V4, &carried4(), IPPROTO_TCP);
    bad[21] = 20;
    vec![
        packet_with_option(Family::V4, &carried4(), IPPROTO_TCP),
        packet_with_option(Family::V6, &carried6(), IPPROTO_UDP),
        ipv4(&[], IPPROTO_TCP, &transport(IPPROTO_TCP, b"")),
        bad,
    ]
}

fn check_sample_output(l: &[String]) {
    assert_eq!(l.len(), 4, "{l:#?}");
    assert!(
        l[0].contains(OUTER4_TCP) && l[0].contains(OPTION44),
        "{}",
        l[0]
    );
    assert!(
        l[1].contains(OUTER6_UDP) && l[1].contains(OPTION66),
        "{}",
        l[1]
    );
    assert!(l[2].ends_with(r#""option":null}"#), "{}", l[2]);
    assert!(
        l[3].contains(r#""error":"v4_bad_option_length""#),
        "{}",
        l[3]
    );
    assert!(
        l[3].contains(OUTER4_TCP),
        "a malformed packet still has its tuple: {}",
        l[3]
    );
    for (i, line) in l.iter().enumerate() {
        assert!(
            line.starts_with(&format!("{{\"packet\":{}", i + 1)),
            "{line}"
        );
    }
}

#[test]
fn hex_from_stdin() {
    let mut text = String::from("# captured on rs1\n\n");
    for p in sample_packets() {
        text.push_str(&hex(&p));
        text.push_str("   # trailing comment\n");
    }
    let out = run_stdin(&["decode"], text.as_bytes());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_sample_output(&lines(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("4 packets: 2 with the option, 1 without, 1 malformed"),
        "{stderr}"
    );
}

#[test]
fn hex_from_file_with_separators() {
    let p = &sample_packets()[0];
    let spaced: Vec<String> = p.iter().map(|b| format!("{b:02X}")).collect();
    let text = format!("0x{}\n{}\n", hex(p), spaced.join(" "));
    let f = TempFile::new("hex.txt", text.as_bytes());
    let out = bin().args(["decode", f.path()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let l = lines(&out);
    assert_eq!(l.len(), 2);
    assert!(l.iter().all(|x| x.contains(OPTION44)), "{l:#?}");
    assert!(l[1].contains(r#""line":2"#));
}

#[test]
fn bad_hex_line_is_reported_and_the_rest_decoded() {
    let good = hex(&sample_packets()[0]);
    let text = format!("{good}\n45zz\n{good}\nabc\n{good}\n");
    let out = run_stdin(&["decode", "-"], text.as_bytes());
    assert_eq!(out.status.code(), Some(3));
    let l = lines(&out);
    assert_eq!(l.len(), 5, "{l:#?}");
    assert!(l[1].contains(r#""input_error":"bad_hex""#));
    assert!(l[3].contains(r#""detail":"odd number of hex digits""#));
    assert!(l[4].contains(OPTION44));
}

#[test]
fn truncated_and_odd_packets_never_stop_the_run() {
    let full = packet_with_option(Family::V6, &carried6(), IPPROTO_TCP);
    let text = format!(
        "{}\n{}\n{}\n45\n{}\n",
        hex(&full[..50]),
        hex(&[0x15u8; 30]),
        hex(&full[..20]),
        hex(&full)
    );
    let out = run_stdin(&["decode"], text.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    let l = lines(&out);
    assert_eq!(l.len(), 5, "{l:#?}");
    assert!(
        l[0].contains(r#""error":"v6_header_past_packet""#),
        "{}",
        l[0]
    );
    assert!(
        l[1].contains(r#""outer":null,"error":"bad_ip_version""#),
        "{}",
        l[1]
    );
    assert!(
        l[2].contains(r#""outer":null,"error":"truncated""#),
        "{}",
        l[2]
    );
    assert!(l[3].contains(r#""error":"truncated""#), "{}", l[3]);
    assert!(l[4].contains(OPTION66), "{}", l[4]);
}

/// Link-layer framing of `ip` for `linktype`.
fn frame(linktype: u32, ip: &[u8]) -> Vec<u8> {
    let ethertype: [u8; 2] = if ip[0] >> 4 == 6 {
        [0x86, 0xdd]
    } else {
        [0x08, 0x00]
    };
    let mut f = Vec::new();
    match linktype {
        1 => {
            f.extend([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
            f.extend([0x81, 0x00, 0x00, 0x64]); // a VLAN tag, id 100
            f.extend(ethertype);
        }
        113 => {
            f.extend([0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
            f.extend(ethertype);
        }
        276 => {
            f.extend(ethertype);
            f.extend([0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
        }
        _ => {}
    }
    f.extend(ip);
    if linktype == 1 {
        // Ethernet padding / FCS after the IP packet: must not confuse the decoder.
        f.extend([0xde, 0xad, 0xbe, 0xef]);
    }
    f
}

/// A 32-bit field in the capture's byte order.
fn word32(big_endian: bool, v: u32) -> [u8; 4] {
    if big_endian {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

/// A 16-bit field in the capture's byte order.
fn word16(big_endian: bool, v: u16) -> [u8; 2] {
    if big_endian {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

/// A pcap file: `big_endian`, `nanos` resolution, `linktype`, with `frames`.
fn pcap(big_endian: bool, nanos: bool, linktype: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    let w32 = |v: u32| word32(big_endian, v);
    let w16 = |v: u16| word16(big_endian, v);
    let mut f = Vec::new();
    f.extend(w32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    f.extend(w16(2));
    f.extend(w16(4));
    f.extend(w32(0));
    f.extend(w32(0));
    f.extend(w32(262_144));
    f.extend(w32(linktype));
    for (i, fr) in frames.iter().enumerate() {
        f.extend(w32(1_700_000_000 + i as u32));
        f.extend(w32(42));
        f.extend(w32(fr.len() as u32));
        f.extend(w32(fr.len() as u32));
        f.extend(fr);
    }
    f
}

#[test]
fn pcap_all_link_types_and_byte_orders() {
    for linktype in [1u32, 113, 276, 101] {
        for big_endian in [false, true] {
            for nanos in [false, true] {
                let frames: Vec<Vec<u8>> = sample_packets()
                    .iter()
                    .map(|p| frame(linktype, p))
                    .collect();
                let file = pcap(big_endian, nanos, linktype, &frames);
                let out = run_stdin(&["decode"], &file);
                let what = format!("linktype {linktype} be {big_endian} ns {nanos}");
                assert_eq!(out.status.code(), Some(0), "{what}");
                let l = lines(&out);
                check_sample_output(&l);
                let time = if nanos {
                    r#""time":"1700000000.000000042""#
                } else {
                    r#""time":"1700000000.000042""#
                };
                assert!(l[0].contains(time), "{what}: {}", l[0]);
            }
        }
    }
}

#[test]
fn pcap_raw_ipv4_and_ipv6_link_types() {
    let v4 = packet_with_option(Family::V4, &carried4(), IPPROTO_TCP);
    let v6 = packet_with_option(Family::V6, &carried6(), IPPROTO_UDP);
    for (lt, pkt, want) in [(228u32, v4, OPTION44), (229, v6, OPTION66)] {
        let f = TempFile::new(&format!("raw{lt}.pcap"), &pcap(false, false, lt, &[pkt]));
        let out = bin().args(["decode", f.path()]).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert!(lines(&out)[0].contains(want));
    }
}

#[test]
fn pcap_non_ip_and_snaplen_cut_frames() {
    let mut arp = vec![0xffu8; 12];
    arp.extend([0x08, 0x06]);
    arp.extend([0u8; 28]);
    let full = frame(1, &packet_with_option(Family::V6, &carried6(), IPPROTO_TCP));
    let mut file = pcap(false, false, 1, &[arp, full.clone()]);
    // A third record cut by a 60-byte snaplen: captured 60, on the wire more.
    file.extend(1_700_000_002u32.to_le_bytes());
    file.extend(0u32.to_le_bytes());
    file.extend(60u32.to_le_bytes());
    file.extend((full.len() as u32).to_le_bytes());
    file.extend(&full[..60]);
    let out = run_stdin(&["decode"], &file);
    assert_eq!(out.status.code(), Some(0));
    let l = lines(&out);
    assert_eq!(l.len(), 3, "{l:#?}");
    assert!(
        l[0].contains(r#""skipped":"not_ip","ethertype":"0x0806""#),
        "{}",
        l[0]
    );
    assert!(l[1].contains(OPTION66));
    assert!(l[2].contains(r#""cut_by_snaplen":true"#), "{}", l[2]);
    assert!(
        l[2].contains(r#""error":"v6_header_past_packet""#),
        "{}",
        l[2]
    );
}

#[test]
fn pcap_cut_short_reports_and_exits_3() {
    let frames: Vec<Vec<u8>> = sample_packets().iter().map(|p| frame(1, p)).collect();
    let file = pcap(false, false, 1, &frames);
    let cut = &file[..file.len() - 10];
    let out = run_stdin(&["decode"], cut);
    assert_eq!(out.status.code(), Some(3));
    let l = lines(&out);
    assert_eq!(l.len(), 4, "{l:#?}");
    assert!(l[2].contains(r#""option":null"#));
    assert!(l[3].contains(r#""input_error":"pcap_damaged""#), "{}", l[3]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("damaged after packet 3"));
    // A corrupt length field is damage too.
    let mut corrupt = pcap(false, false, 1, &frames[..1]);
    corrupt.extend([0u8; 8]);
    corrupt.extend(u32::MAX.to_le_bytes());
    corrupt.extend(u32::MAX.to_le_bytes());
    let out = run_stdin(&["decode"], &corrupt);
    assert_eq!(out.status.code(), Some(3));
    assert!(lines(&out)[1].contains("corrupt record header"));
}

#[test]
fn unreadable_input_exits_1_with_a_message() {
    let out = bin()
        .args(["decode", "/nonexistent/capture.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open /nonexistent/capture.pcap"),
        "{err}"
    );

    // pcap magic, then the header cut short.
    let out = run_stdin(&["decode"], &[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad pcap header"));

    // Wrong version.
    let mut bad = pcap(false, false, 1, &[]);
    bad[4] = 9;
    let out = run_stdin(&["decode"], &bad);
    assert_eq!(out.status.code(), Some(1));

    // Unsupported link type (802.11).
    let out = run_stdin(&["decode"], &pcap(false, false, 105, &[]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported pcap link type 105"));

    // pcapng.
    let out = run_stdin(&["decode"], &[0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pcapng"));

    // Binary that is neither.
    let out = run_stdin(&["decode"], &[0x1f, 0x8b, 0x08, 0x00, 1, 2, 3]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither a pcap file nor hex text"));
}

#[test]
fn empty_input_is_zero_packets() {
    let out = run_stdin(&["decode"], b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let out = run_stdin(&["decode"], &pcap(true, true, 101, &[]));
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(bin().output().unwrap().status.code(), Some(2));
    assert_eq!(
        bin().arg("frobnicate").output().unwrap().status.code(),
        Some(2)
    );
    assert_eq!(
        bin()
            .args(["decode", "--bogus"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        bin()
            .args(["decode", "a", "b"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
    let help = bin().arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("decode [FILE]"));
    let help = bin().args(["decode", "-h"]).output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    let v = bin().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("toa-uoa "));
}

#[test]
fn output_lines_are_valid_json_shapes() {
    // Cheap structural check without a JSON dependency: balanced braces, quotes even.
    let mut text = String::new();
    for p in sample_packets() {
        text.push_str(&hex(&p));
        text.push('\n');
    }
    let out = run_stdin(&["decode"], text.as_bytes());
    for line in lines(&out) {
        assert!(line.starts_with('{') && line.ends_with('}'));
        assert_eq!(line.matches('{').count(), line.matches('}').count());
        assert_eq!(line.matches('"').count() % 2, 0);
    }
    let _ = IPPROTO_UDP;
}

/// A pcapng block: type, total length, body (padded to 4 bytes), total length again.
fn ng_block(big_endian: bool, ty: u32, body: &[u8]) -> Vec<u8> {
    let w32 = |v: u32| word32(big_endian, v);
    let mut body = body.to_vec();
    while body.len() % 4 != 0 {
        body.push(0);
    }
    let total = 12 + body.len() as u32;
    let mut b = Vec::new();
    b.extend(w32(ty));
    b.extend(w32(total));
    b.extend(body);
    b.extend(w32(total));
    b
}

/// A pcapng capture written from the format's specification (not by the crate the tool reads
/// it with): a section header, one interface per `(linktype, if_tsresol)` (`None`: the
/// option left out, microseconds), and an Enhanced Packet Block per `(interface, frame)`,
/// the n-th stamped 1_700_000_000 s + 42 + n units of its interface.
fn pcapng(
    big_endian: bool,
    interfaces: &[(u16, Option<u8>)],
    packets: &[(u32, Vec<u8>)],
) -> Vec<u8> {
    let w32 = |v: u32| word32(big_endian, v);
    let w16 = |v: u16| word16(big_endian, v);
    let mut f = Vec::new();
    // Section Header Block: byte-order magic, version 1.0, section length unknown (-1).
    let mut shb = Vec::new();
    shb.extend(w32(0x1a2b_3c4d));
    shb.extend(w16(1));
    shb.extend(w16(0));
    shb.extend([0xff; 8]);
    f.extend(ng_block(big_endian, 0x0a0d_0d0a, &shb));
    let mut per_sec = Vec::new();
    for &(linktype, resol) in interfaces {
        let mut idb = Vec::new();
        idb.extend(w16(linktype));
        idb.extend(w16(0));
        idb.extend(w32(0)); // snaplen: no limit
        if let Some(r) = resol {
            idb.extend(w16(9)); // if_tsresol
            idb.extend(w16(1));
            idb.extend([r, 0, 0, 0]);
            idb.extend(w16(0)); // opt_endofopt
            idb.extend(w16(0));
        }
        f.extend(ng_block(big_endian, 1, &idb));
        per_sec.push(10u64.pow(u32::from(resol.unwrap_or(6))));
    }
    for (n, (interface, frame)) in packets.iter().enumerate() {
        let per_sec = per_sec
            .get(*interface as usize)
            .copied()
            .unwrap_or(1_000_000);
        let units = 1_700_000_000 * per_sec + 42 + n as u64;
        let mut epb = Vec::new();
        epb.extend(w32(*interface));
        epb.extend(w32((units >> 32) as u32));
        epb.extend(w32(units as u32));
        epb.extend(w32(frame.len() as u32));
        epb.extend(w32(frame.len() as u32));
        epb.extend(frame);
        f.extend(ng_block(big_endian, 6, &epb));
    }
    f
}

#[test]
fn pcapng_interfaces_link_types_and_resolutions() {
    for big_endian in [false, true] {
        for (resol, time) in [
            (None, r#""time":"1700000000.000042""#),
            (Some(6), r#""time":"1700000000.000042""#),
            (Some(9), r#""time":"1700000000.000000042""#),
        ] {
            for linktype in [1u16, 113, 276, 101] {
                let packets: Vec<(u32, Vec<u8>)> = sample_packets()
                    .iter()
                    .map(|p| (0, frame(u32::from(linktype), p)))
                    .collect();
                let file = pcapng(big_endian, &[(linktype, resol)], &packets);
                let out = run_stdin(&["decode"], &file);
                let what = format!("linktype {linktype} be {big_endian} resol {resol:?}");
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{what}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let l = lines(&out);
                check_sample_output(&l);
                assert!(l[0].contains(time), "{what}: {}", l[0]);
            }
        }
    }
}

#[test]
fn pcapng_two_interfaces_and_an_unsupported_one() {
    let ip = packet_with_option(Family::V4, &carried4(), IPPROTO_UDP);
    // Interface 0 Ethernet, 1 raw IP, 2 802.11 (not unwrapped).
    let file = pcapng(
        false,
        &[(1, None), (101, Some(9)), (105, None)],
        &[(1, ip.clone()), (0, frame(1, &ip)), (2, vec![0u8; 30])],
    );
    let out = run_stdin(&["decode"], &file);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let l = lines(&out);
    assert_eq!(l.len(), 3, "{l:?}");
    assert!(l[0].contains(r#""cip":"203.0.113.5""#), "{}", l[0]);
    assert!(
        l[0].contains(r#""time":"1700000000.000000042""#),
        "{}",
        l[0]
    );
    assert!(l[1].contains(r#""cip":"203.0.113.5""#), "{}", l[1]);
    assert!(l[1].contains(r#""time":"1700000000.000043""#), "{}", l[1]);
    assert!(
        l[2].contains(r#""skipped":"unsupported_link_type","linktype":105"#),
        "{}",
        l[2]
    );
}

#[test]
fn pcapng_cut_short_or_damaged_decodes_up_to_the_damage() {
    let packets: Vec<(u32, Vec<u8>)> = sample_packets().iter().map(|p| (0, frame(1, p))).collect();
    let whole = pcapng(false, &[(1, Some(9))], &packets);
    let n = packets.len();
    // Cut inside the last block.
    let cut = &whole[..whole.len() - 10];
    let out = run_stdin(&["decode"], cut);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let l = lines(&out);
    assert_eq!(l.len(), n, "{l:?}");
    assert!(
        l[n - 1].contains(r#""input_error":"pcap_damaged""#),
        "{}",
        l[n - 1]
    );
    // A packet naming an interface the capture does not describe.
    let bad = pcapng(
        false,
        &[(1, None)],
        &[(0, frame(1, &sample_packets()[0])), (7, vec![0; 40])],
    );
    let out = run_stdin(&["decode"], &bad);
    assert_eq!(out.status.code(), Some(3));
    let l = lines(&out);
    assert_eq!(l.len(), 2, "{l:?}");
    assert!(l[1].contains("interface 7"), "{}", l[1]);
}

#[test]
fn pcapng_with_any_byte_changed_never_crashes_the_tool() {
    let packets: Vec<(u32, Vec<u8>)> = sample_packets().iter().map(|p| (0, frame(1, p))).collect();
    let whole = pcapng(false, &[(1, Some(9))], &packets);
    // Every byte of the headers and the first packet, set to a few values each.
    for at in 0..whole.len().min(200) {
        for v in [0x00, 0xff, 0x7f, 0x80] {
            let mut f = whole.clone();
            f[at] = v;
            let out = run_stdin(&["decode"], &f);
            let code = out.status.code();
            assert!(
                matches!(code, Some(0) | Some(1) | Some(3)),
                "byte {at} = {v:#x}: exit {code:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// DPVS's formats, built by the encoder written from DPVS's definitions
/// (codec/tests/common/dpvs.rs): one packet per format, client family and outer family.
fn dpvs_packets() -> Vec<(Vec<u8>, &'static str, &'static str)> {
    use common::dpvs::*;
    let cip4 = Caddr::In([203, 0, 113, 9]);
    let cip6 = Caddr::In6([
        0x20, 0x01, 0x0d, 0xb8, 0xc1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9,
    ]);
    let mut ack = transport(IPPROTO_TCP, b"GET /");
    ack[13] = 0x10;
    let tcp4 = ipv4(&[], IPPROTO_TCP, &ack);
    let tcp6 = ipv6(IPPROTO_TCP, &[], &ack);
    let udp4 = ipv4(&[], IPPROTO_UDP, &transport(IPPROTO_UDP, b"q"));
    let udp6 = ipv6(IPPROTO_UDP, &[], &transport(IPPROTO_UDP, b"q"));
    vec![
        (tcp_in_add_toa(&tcp4, cip4, 50001), "dpvs-toa", "ipv4"),
        (tcp_in_add_toa(&tcp4, cip6, 50001), "dpvs-toa", "ipv6"),
        (tcp_in_add_toa(&tcp6, cip4, 50001), "dpvs-toa", "ipv4"),
        (tcp_in_add_toa(&tcp6, cip6, 50001), "dpvs-toa", "ipv6"),
        (insert_ipopt_uoa(&udp4, cip4, 50001), "dpvs-uoa-ipo", "ipv4"),
        (insert_ipopt_uoa(&udp4, cip6, 50001), "dpvs-uoa-ipo", "ipv6"),
        (insert_opp_uoa(&udp4, cip4, 50001), "dpvs-uoa-opp", "ipv4"),
        (insert_opp_uoa(&udp4, cip6, 50001), "dpvs-uoa-opp", "ipv6"),
        (insert_opp_uoa(&udp6, cip4, 50001), "dpvs-uoa-opp", "ipv4"),
        (insert_opp_uoa(&udp6, cip6, 50001), "dpvs-uoa-opp", "ipv6"),
    ]
}

#[test]
fn dpvs_formats_are_named_with_the_client() {
    let packets = dpvs_packets();
    let text: String = packets.iter().map(|(p, _, _)| hex(p) + "\n").collect();
    let out = run_stdin(&["decode"], text.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    let l = lines(&out);
    assert_eq!(l.len(), packets.len());
    for (line, (_, format, family)) in l.iter().zip(&packets) {
        let cip = if *family == "ipv4" {
            "203.0.113.9"
        } else {
            "2001:db8:c100::9"
        };
        let want = format!(
            r#""option":{{"format":"{format}","family":"{family}","cip":"{cip}","cport":50001}}"#
        );
        assert!(line.contains(&want), "{want} not in {line}");
        assert!(!line.contains("vip") && !line.contains("error"), "{line}");
        // The outer tuple: the datagram's own ports (behind the opp header for opp).
        assert!(line.contains(r#""sport":40123,"dport":8080}"#), "{line}");
        if *format == "dpvs-uoa-opp" {
            assert!(line.contains(r#""protocol":17,"#), "{line}");
        }
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "10 packets: 10 with the option (10 in DPVS formats: 4 dpvs-toa, 2 dpvs-uoa-ipo, \
             4 dpvs-uoa-opp), 0 without, 0 malformed"
        ),
        "{stderr}"
    );
    // Without DPVS packets the summary is as it always was.
    let out = run_stdin(&["decode"], (hex(&sample_packets()[0]) + "\n").as_bytes());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 packets: 1 with the option, 0 without"),
        "{stderr}"
    );
}

#[test]
fn dpvs_in_a_pcap_and_beside_the_unified_option() {
    use common::dpvs::*;
    // A unified option and a TOA in one packet: the unified one is "option", TOA "dpvs".
    let mut ack = transport(IPPROTO_TCP, b"");
    ack[13] = 0x10;
    let both = tcp_in_add_toa(
        &ipv4(&v4_option(&carried4()), IPPROTO_TCP, &ack),
        Caddr::In([203, 0, 113, 9]),
        50001,
    );
    let frames: Vec<Vec<u8>> = dpvs_packets()
        .iter()
        .map(|(p, _, _)| frame(1, p))
        .chain([frame(1, &both)])
        .collect();
    let out = run_stdin(&["decode"], &pcap(false, true, 1, &frames));
    assert_eq!(out.status.code(), Some(0));
    let l = lines(&out);
    assert_eq!(l.len(), 11);
    assert!(l[6].contains(r#""format":"dpvs-uoa-opp""#), "{}", l[6]);
    assert!(l[10].contains(OPTION44), "{}", l[10]);
    assert!(
        l[10].contains(
            r#""dpvs":{"format":"dpvs-toa","family":"ipv4","cip":"203.0.113.9","cport":50001}"#
        ),
        "{}",
        l[10]
    );
}

#[test]
fn dpvs_malformed_shapes_are_named() {
    use common::dpvs::*;
    let uoa = ipopt_uoa(Caddr::In([203, 0, 113, 9]), 50001);
    let udp = transport(IPPROTO_UDP, b"q");
    let opp = |o: Vec<u8>| ipv4(&[], IPPROTO_OPT, &[&o[..], &udp].concat());
    let mut wrong_len = uoa.clone();
    wrong_len[1] = 12;
    wrong_len.resize(12, 0);
    let cases = [
        (opp(opphdr(3, 17, &uoa)), "dpvs_opp_bad_version"),
        (opp(opphdr(1, 6, &uoa)), "dpvs_opp_not_udp"),
        (opp(opphdr(1, 17, &[1, 1, 1, 1])), "dpvs_opp_no_address"),
        (opp(opphdr(2, 17, &uoa)), "dpvs_opp_version_mismatch"),
        (opp(opphdr(1, 17, &wrong_len)), "dpvs_uoa_bad_length"),
        // In the IPv4 header a type-31 option of a length neither format has is the unified
        // parser's finding (it looks first).
        (ipv4(&wrong_len, IPPROTO_UDP, &udp), "v4_bad_option_length"),
        (
            ipv4(&[], IPPROTO_TCP, &{
                let mut t = transport(IPPROTO_TCP, b"");
                t[12] = 0x60;
                t[13] = 0x10;
                t.extend([254, 9, 0, 0]);
                t
            }),
            "dpvs_tcp_option_past_header",
        ),
    ];
    let text: String = cases.iter().map(|(p, _)| hex(p) + "\n").collect();
    let out = run_stdin(&["decode"], text.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    let l = lines(&out);
    for (line, (_, name)) in l.iter().zip(&cases) {
        assert!(
            line.contains(&format!(r#""error":"{name}""#)),
            "{name} not in {line}"
        );
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("7 malformed"), "{stderr}");
}
