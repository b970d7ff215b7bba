//! `toa-uoa decode`: print what the type-31 option of each packet says, as JSON lines; DPVS's
//! own formats (TOA, UOA "ipo" and "opp", `dpvs_codec.rs`) are named and decoded too.
//!
//! Input is a pcap capture or hex text (one raw IP packet per line), told apart by the first
//! four bytes. Every packet gets one output line, whatever is wrong with it; only input that
//! cannot be read at all stops the command before the end.

use crate::json::{addr, family_name, Object};
use crate::pcap::{self, Next, Reader, Record, Skip};
use crate::pcapng::{self, NextPacket};
use crate::{EXIT_DAMAGED, EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use toa_uoa_codec::dpvs::{self, Kind};
use toa_uoa_codec::{find_transport, outer_addresses, outer_tuple, parse_packet};

const HELP: &str = "\
usage: toa-uoa decode [FILE]

Reads FILE (or standard input if FILE is omitted or '-'): a pcap capture (as 'tcpdump -w'
writes it: Ethernet, Linux cooked SLL/SLL2 or raw IP; either byte order; us or ns timestamps)
or text with one raw IP packet per line in hex (blank lines and '#' comments skipped).
Prints one JSON object per packet:
  {\"packet\":N, \"outer\":{family,saddr,daddr,protocol,sport,dport},
   \"option\":{format,family,cip,cport,vip,vport}}   the option and what it carries
   \"option\":null                            no option in this packet
   \"error\":\"<name>\"                         a malformed option (never trusted)
format is \"unified\" (the type-31 option of 16/40 bytes), or one of DPVS's formats,
\"dpvs-toa\" (TCP option 254), \"dpvs-uoa-ipo\" (IPv4 option 31 of 8/20 bytes) or
\"dpvs-uoa-opp\" (IP protocol 248 header), which carry the client only (no vip, vport);
a DPVS format's malformed shape is an error \"dpvs_<name>\". A packet with both a unified
option and a DPVS one shows the unified one as \"option\" and the other as \"dpvs\".
A summary goes to standard error. Exit status: 0 all input decoded; 1 input unreadable;
2 usage error; 3 input partly damaged (reported in the output, the rest still decoded).
";

/// What was seen, for the summary line and the exit status.
#[derive(Default)]
struct Stats {
    packets: u64,
    with_option: u64,
    /// Of `with_option`, those in DPVS's formats, by [`Kind::index`].
    dpvs: [u64; Kind::COUNT],
    without_option: u64,
    malformed: u64,
    skipped: u64,
    damaged: u64,
}

/// Why decoding stopped early.
enum Stop {
    /// The output could not be written (a closed pipe ends the command quietly).
    Output(io::Error),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Stop::Output(e)
    }
}

pub fn main(args: &[String]) -> u8 {
    let mut path: Option<&str> = None;
    for arg in args {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return EXIT_OK;
            }
            "-" => path = Some("-"),
            a if a.starts_with('-') => {
                eprintln!("toa-uoa decode: unknown option '{a}'\n");
                eprint!("{HELP}");
                return EXIT_USAGE;
            }
            a => {
                if path.is_some() {
                    eprintln!("toa-uoa decode: give at most one input file\n");
                    eprint!("{HELP}");
                    return EXIT_USAGE;
                }
                path = Some(a);
            }
        }
    }
    let (name, mut input): (String, Box<dyn Read>) = match path {
        None | Some("-") => ("standard input".to_string(), Box::new(io::stdin().lock())),
        Some(p) => match File::open(p) {
            Ok(f) => (p.to_string(), Box::new(f)),
            Err(e) => {
                eprintln!("toa-uoa decode: cannot open {p}: {e}");
                return EXIT_UNREADABLE;
            }
        },
    };

    let mut magic = [0u8; 4];
    let n = match pcap::read_full(&mut input, &mut magic) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("toa-uoa decode: cannot read {name}: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let head = &magic[..n];
    let mut out = BufWriter::new(io::stdout().lock());
    let mut stats = Stats::default();
    let result = if n == 4 && pcap::is_pcap_magic(magic) {
        let reader = match Reader::open(magic, BufReader::new(input)) {
            Ok(r) => r,
            Err(msg) => {
                eprintln!("toa-uoa decode: {name}: {msg}");
                return EXIT_UNREADABLE;
            }
        };
        decode_pcap(reader, &mut out, &mut stats)
    } else if n == 4 && pcap::is_pcapng_magic(magic) {
        let input = BufReader::new(io::Cursor::new(magic).chain(input));
        let reader = match pcapng::Reader::open(input) {
            Ok(r) => r,
            Err(msg) => {
                eprintln!("toa-uoa decode: {name}: {msg}");
                return EXIT_UNREADABLE;
            }
        };
        decode_pcapng(reader, &mut out, &mut stats)
    } else if head
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        // Text: taken as hex lines; a line that is not hex is reported as such, not fatal.
        let text = BufReader::new(io::Cursor::new(head.to_vec()).chain(input));
        decode_hex(text, &mut out, &mut stats)
    } else {
        let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
        eprintln!(
            "toa-uoa decode: {name}: neither a pcap file nor hex text (starts with bytes {})",
            hex.join(" ")
        );
        return EXIT_UNREADABLE;
    };
    let result = result.and_then(|()| out.flush().map_err(Stop::from));
    match result {
        Ok(()) => {}
        Err(Stop::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => return EXIT_OK,
        Err(Stop::Output(e)) => {
            eprintln!("toa-uoa decode: cannot write output: {e}");
            return EXIT_UNREADABLE;
        }
    }
    let dpvs_total: u64 = stats.dpvs.iter().sum();
    let dpvs_summary = if dpvs_total > 0 {
        let each: Vec<String> = Kind::ALL
            .iter()
            .map(|k| format!("{} {}", stats.dpvs[k.index()], k.name()))
            .collect();
        format!(" ({dpvs_total} in DPVS formats: {})", each.join(", "))
    } else {
        String::new()
    };
    eprintln!(
        "toa-uoa decode: {} packets: {} with the option{}, {} without, {} malformed, {} not IP{}",
        stats.packets,
        stats.with_option,
        dpvs_summary,
        stats.without_option,
        stats.malformed,
        stats.skipped,
        if stats.damaged > 0 {
            format!("; {} damaged input records", stats.damaged)
        } else {
            String::new()
        }
    );
    if stats.damaged > 0 {
        EXIT_DAMAGED
    } else {
        EXIT_OK
    }
}

/// Decodes hex text: one packet per line, `#` to the end of a line is a comment, whitespace
/// and `:` between digits are ignored, a leading `0x` is allowed.
fn decode_hex<R: BufRead, W: Write>(
    mut input: R,
    out: &mut W,
    stats: &mut Stats,
) -> Result<(), Stop> {
    let mut line = Vec::new();
    let mut line_no = 0u64;
    loop {
        line.clear();
        let n = match input.read_until(b'\n', &mut line) {
            Ok(n) => n,
            Err(e) => {
                stats.damaged += 1;
                let mut o = Object::new();
                o.num("line", line_no + 1)
                    .str("input_error", "read_error")
                    .str("detail", &e.to_string());
                writeln!(out, "{}", o.finish())?;
                eprintln!("toa-uoa decode: read error after line {line_no}: {e}");
                return Ok(());
            }
        };
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        let content = match line.iter().position(|&b| b == b'#') {
            Some(i) => &line[..i],
            None => &line[..],
        };
        let mut digits: Vec<u8> = content
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace() && *b != b':')
            .collect();
        if digits.is_empty() {
            continue;
        }
        if digits.starts_with(b"0x") || digits.starts_with(b"0X") {
            digits.drain(..2);
        }
        stats.packets += 1;
        let mut o = Object::new();
        o.num("packet", stats.packets).num("line", line_no);
        match unhex(&digits) {
            Ok(pkt) => describe(&pkt, &mut o, stats),
            Err(detail) => {
                stats.damaged += 1;
                o.str("input_error", "bad_hex").str("detail", detail);
            }
        }
        writeln!(out, "{}", o.finish())?;
    }
}

fn unhex(digits: &[u8]) -> Result<Vec<u8>, &'static str> {
    if digits.len() % 2 != 0 {
        return Err("odd number of hex digits");
    }
    let val = |d: u8| -> Result<u8, &'static str> {
        match d {
            b'0'..=b'9' => Ok(d - b'0'),
            b'a'..=b'f' => Ok(d - b'a' + 10),
            b'A'..=b'F' => Ok(d - b'A' + 10),
            _ => Err("not a hex digit"),
        }
    };
    digits
        .chunks(2)
        .map(|pair| Ok(val(pair[0])? << 4 | val(pair[1])?))
        .collect()
}

/// Decodes a pcap capture record by record until its end or a point it cannot be read past.
fn decode_pcap<R: Read, W: Write>(
    mut reader: Reader<R>,
    out: &mut W,
    stats: &mut Stats,
) -> Result<(), Stop> {
    loop {
        match reader.next_record() {
            Next::End => return Ok(()),
            Next::Damaged(msg) => return damaged(&msg, out, stats),
            Next::Record(rec) => record(&rec, reader.linktype, reader.nanos, out, stats)?,
        }
    }
}

/// Decodes a pcapng capture packet by packet, the same way.
fn decode_pcapng<R: Read, W: Write>(
    mut reader: pcapng::Reader<R>,
    out: &mut W,
    stats: &mut Stats,
) -> Result<(), Stop> {
    loop {
        match reader.next_packet() {
            NextPacket::End => return Ok(()),
            NextPacket::Damaged(msg) => return damaged(&msg, out, stats),
            NextPacket::Packet(p) => record(&p.record, p.linktype, p.nanos, out, stats)?,
        }
    }
}

/// Says where and why a capture cannot be read further: what came before it was decoded.
fn damaged<W: Write>(msg: &str, out: &mut W, stats: &mut Stats) -> Result<(), Stop> {
    stats.damaged += 1;
    let mut o = Object::new();
    o.num("packet", stats.packets + 1)
        .str("input_error", "pcap_damaged")
        .str("detail", msg);
    writeln!(out, "{}", o.finish())?;
    eprintln!(
        "toa-uoa decode: capture damaged after packet {}: {msg}",
        stats.packets
    );
    Ok(())
}

/// One captured frame of `linktype`: its line.
fn record<W: Write>(
    rec: &Record,
    linktype: u32,
    nanos: bool,
    out: &mut W,
    stats: &mut Stats,
) -> Result<(), Stop> {
    stats.packets += 1;
    let mut o = Object::new();
    o.num("packet", stats.packets);
    let time = if nanos {
        format!("{}.{:09}", rec.ts_sec, rec.ts_frac)
    } else {
        format!("{}.{:06}", rec.ts_sec, rec.ts_frac)
    };
    o.str("time", &time);
    if u64::from(rec.orig_len) > rec.data.len() as u64 {
        o.bool("cut_by_snaplen", true);
    }
    match pcap::ip_packet(linktype, &rec.data) {
        Ok(pkt) => describe(pkt, &mut o, stats),
        Err(Skip::NotIp(ethertype)) => {
            stats.skipped += 1;
            o.str("skipped", "not_ip")
                .str("ethertype", &format!("0x{ethertype:04x}"));
        }
        Err(Skip::Short) => {
            stats.skipped += 1;
            o.str("skipped", "short_frame");
        }
        Err(Skip::LinkType(l)) => {
            stats.skipped += 1;
            o.str("skipped", "unsupported_link_type")
                .num("linktype", u64::from(l));
        }
    }
    writeln!(out, "{}", o.finish())?;
    Ok(())
}

/// Cuts link-layer padding (and an Ethernet FCS) off the end of an IP packet, using the length
/// its own header declares. A declared 0 (GRO, jumbograms) or a declared length longer than
/// what was captured leaves the bytes as they are.
fn trim_to_declared(pkt: &[u8]) -> &[u8] {
    let be16 = |at: usize| {
        pkt.get(at..at + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    };
    let declared = match pkt.first().map(|b| b >> 4) {
        Some(4) => be16(2).filter(|&t| t >= 20),
        Some(6) => be16(4).filter(|&p| p > 0).map(|p| p + 40),
        _ => None,
    };
    match declared {
        Some(d) if d < pkt.len() => &pkt[..d],
        _ => pkt,
    }
}

/// Adds the outer tuple and the option (or its error) of one IP packet to `o`.
///
/// The unified option (option_codec) comes first; DPVS's formats (dpvs_codec) are named when
/// the unified parser finds nothing or calls the packet malformed (an "ipo" option is type 31
/// of a length it does not know), and shown beside a unified option as `dpvs`.
fn describe(pkt: &[u8], o: &mut Object, stats: &mut Stats) {
    let pkt = trim_to_declared(pkt);
    let unified = parse_packet(pkt);
    let dpvs = dpvs::parse_packet(pkt);
    match outer_addresses(pkt) {
        Some((family, saddr, daddr)) => {
            let mut outer = Object::new();
            outer
                .str("family", family_name(family))
                .str("saddr", &addr(family, &saddr))
                .str("daddr", &addr(family, &daddr));
            // Behind an opp header: the UDP datagram the module gives UDP once it is removed.
            let opp = match &dpvs {
                Ok(Some(d)) if d.kind == Kind::UoaOpp => d.outer_tuple(pkt),
                _ => None,
            };
            if let Some(tuple) = opp {
                outer
                    .num("protocol", u64::from(tuple.protocol))
                    .num("sport", u64::from(tuple.sport))
                    .num("dport", u64::from(tuple.dport));
            } else if let Ok(t) = find_transport(pkt) {
                outer.num("protocol", u64::from(t.protocol));
                if let Some(tuple) = outer_tuple(pkt, t.protocol, t.offset) {
                    outer
                        .num("sport", u64::from(tuple.sport))
                        .num("dport", u64::from(tuple.dport));
                }
            }
            o.object("outer", outer);
        }
        None => {
            o.null("outer");
        }
    }
    match (unified, dpvs) {
        (Ok(Some(p)), dpvs) => {
            stats.with_option += 1;
            let c = p.carried;
            let mut opt = Object::new();
            opt.str("format", "unified")
                .str("family", family_name(c.family))
                .str("cip", &addr(c.family, &c.cip))
                .num("cport", u64::from(c.cport))
                .str("vip", &addr(c.family, &c.vip))
                .num("vport", u64::from(c.vport));
            o.object("option", opt);
            if let Ok(Some(d)) = dpvs {
                o.object("dpvs", dpvs_object(&d));
            }
        }
        (_, Ok(Some(d))) => {
            stats.with_option += 1;
            stats.dpvs[d.kind.index()] += 1;
            o.object("option", dpvs_object(&d));
        }
        (Ok(None), Ok(None)) => {
            stats.without_option += 1;
            o.null("option");
        }
        (Ok(None), Err(e)) => {
            stats.malformed += 1;
            o.str("error", &format!("dpvs_{}", e.name()));
        }
        (Err(e), _) => {
            stats.malformed += 1;
            o.str("error", e.name());
        }
    }
}

/// A DPVS record as an `option` object: the format and the client (DPVS carries no VIP).
fn dpvs_object(d: &dpvs::Parsed) -> Object {
    let c = d.client;
    let mut opt = Object::new();
    opt.str("format", d.kind.name())
        .str("family", family_name(c.family))
        .str("cip", &addr(c.family, &c.cip))
        .num("cport", u64::from(c.cport));
    opt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unhex_works() {
        assert_eq!(unhex(b"00ffA5"), Ok(vec![0, 0xff, 0xa5]));
        assert!(unhex(b"abc").is_err());
        assert!(unhex(b"zz").is_err());
    }

    #[test]
    fn trims_padding_only() {
        let mut v4 = vec![0x45, 0, 0, 20];
        v4.resize(26, 0);
        assert_eq!(trim_to_declared(&v4).len(), 20);
        v4[3] = 0; // declared 0: leave alone
        assert_eq!(trim_to_declared(&v4).len(), 26);
        v4[3] = 40; // longer than captured: leave alone
        assert_eq!(trim_to_declared(&v4).len(), 26);
        let mut v6 = vec![0x60, 0, 0, 0, 0, 8];
        v6.resize(60, 0);
        assert_eq!(trim_to_declared(&v6).len(), 48);
        assert_eq!(trim_to_declared(&[]).len(), 0);
    }
}
