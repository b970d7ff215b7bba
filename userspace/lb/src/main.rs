//! `toa-uoa-lb`: the balancer stage of toa_uoa as a TUN program.
//!
//! ```text
//! toa-uoa-lb [--tun NAME] [--mtu BYTES] [--format unified|dpvs-ipo|dpvs-opp]
//!            [--translate OUTER_VIP=INNER_VIP,POOL]... [--stats FILE] [--ready FILE] [--verbose]
//! ```
//!
//! Reads the packets the balancer routes to the TUN device `NAME` (default `toa-lb0`; created
//! if it does not exist, or a persistent one made with `ip tuntap add` is attached to), inserts
//! the type-31 option carrying the packet's own source (CIP:CPORT) and destination (VIP:VPORT)
//! as [`toa_uoa_lb::process`] does, and writes every packet back to the device: rewritten, or
//! unmodified (and counted) when it already has IP options or IPv6 extension headers, is a
//! fragment, is not TCP/UDP, or would exceed `--mtu` (default 1500) with the option. Written
//! back, the packet arrives on the device, and the balancer's DNAT and SNAT rules (on that
//! input device) send it to the real server: see docs/fullnat-demo.md.
//!
//! `--format` (default `unified`) chooses what is inserted. `dpvs-ipo` and `dpvs-opp` play a
//! DPVS balancer (see [`toa_uoa_lb::dpvs`]): TCP gets TOA (option 254, the client only) on the
//! segments DPVS gives it (the handshake-completing ACK and the client's data before the
//! server's first data; other segments go through unmodified, counted as
//! `skipped_toa_not_due`); UDP gets UOA as an IPv4 option (`dpvs-ipo`; IPv6 datagrams go
//! through unmodified, `skipped_ipo_not_ipv4`) or in a protocol 248 header before UDP
//! (`dpvs-opp`). An opp datagram is not UDP to the balancer's nftables NAT behind the stage
//! (its ports are behind the opp header): it needs a path where nothing translates ports
//! after the stage.
//!
//! `--translate` (repeatable) adds the cross-family cases (46, 64): packets for `OUTER_VIP`
//! are rewritten into the other family, from `POOL` to `INNER_VIP`, with the option carrying
//! the client's own tuple, and replies to `POOL` back into the client's family; see
//! [`toa_uoa_lb::nat`].
//!
//! Why not NFQUEUE: Debian's 7.3 kernel (6.12 does not yet) has `nfnetlink_queue` refuse a
//! verdict whose new payload adds or changes IPv4 options or IPv6 extension headers, and drop
//! the packet. `--stats FILE` rewrites FILE with `name value` counters (within 100 ms of a
//! burst's last packet, and every second while packets keep coming); `--ready FILE` is
//! created once the device is open. `--help` prints the usage.
use std::io::{Read, Write};
use std::process::ExitCode;

mod tun;

use toa_uoa_lb::nat::{Outcome, Translation, Translator};
use toa_uoa_lb::{carried_from_packet, Format, Stage, Stats};

struct Args {
    tun: String,
    mtu: usize,
    format: Format,
    stats: Option<String>,
    ready: Option<String>,
    verbose: bool,
    translations: Vec<Translation>,
}

const USAGE: &str = "\
usage: toa-uoa-lb [--tun NAME] [--mtu BYTES] [--format unified|dpvs-ipo|dpvs-opp]
                  [--translate OUTER_VIP=INNER_VIP,POOL]... [--stats FILE] [--ready FILE] [--verbose]

  --tun NAME        the TUN device (default toa-lb0; created if missing)
  --mtu BYTES       packets that would exceed it with the option go through without (default 1500)
  --format FORMAT   what is inserted (default unified):
                      unified   the type-31 option (IPv4 option / IPv6 Destination Option)
                                carrying CIP:CPORT and VIP:VPORT, on every TCP/UDP packet
                      dpvs-ipo  as a DPVS balancer with uoa_mode ipo: TCP option 254 (TOA) on
                                the handshake-completing ACK and the client's first data,
                                IPv4 option 31 of 8/20 bytes (UOA) on UDP over IPv4
                      dpvs-opp  as DPVS's default uoa_mode opp: TOA for TCP, and for UDP a
                                protocol 248 header holding UOA before the UDP header
                                (nftables cannot NAT its ports: no port NAT after the stage)
                    DPVS's formats carry the client (CIP:CPORT) only.
  --translate OUTER_VIP=INNER_VIP,POOL
                    translate between families (46, 64) for OUTER_VIP (repeatable)
  --stats FILE      write 'name value' counters to FILE
  --ready FILE      create FILE once the device is open
  --verbose, -v     one line per packet on standard error
  --help, -h        this text";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        tun: "toa-lb0".into(),
        mtu: 1500,
        format: Format::Unified,
        stats: None,
        ready: None,
        verbose: false,
        translations: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--tun" => a.tun = value("--tun")?,
            "--mtu" => a.mtu = value("--mtu")?.parse().map_err(|e| format!("--mtu: {e}"))?,
            "--format" => a.format = Format::parse(&value("--format")?)?,
            "--stats" => a.stats = Some(value("--stats")?),
            "--ready" => a.ready = Some(value("--ready")?),
            "--translate" => a
                .translations
                .push(Translation::parse(&value("--translate")?)?),
            "--verbose" | "-v" => a.verbose = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other} (see --help)")),
        }
    }
    Ok(a)
}

fn write_stats(path: &str, stats: &Stats) -> std::io::Result<()> {
    let tmp = format!("{path}.tmp");
    std::fs::write(&tmp, stats.render())?;
    std::fs::rename(tmp, path)
}

fn describe(pkt: &[u8]) -> String {
    match carried_from_packet(pkt) {
        Ok((h, c)) => {
            let addr = |b: &[u8]| match <[u8; 4]>::try_from(b) {
                Ok(v4) => std::net::Ipv4Addr::from(v4).to_string(),
                Err(_) => <[u8; 16]>::try_from(b)
                    .map(|v6| format!("[{}]", std::net::Ipv6Addr::from(v6)))
                    .unwrap_or_default(),
            };
            format!(
                "{} {}:{} -> {}:{}",
                if h.protocol == 6 { "tcp" } else { "udp" },
                addr(c.cip_bytes()),
                c.cport,
                addr(c.vip_bytes()),
                c.vport
            )
        }
        Err(_) => format!("{} bytes", pkt.len()),
    }
}

fn run(args: Args) -> Result<(), String> {
    let mut dev =
        tun::open(&args.tun).map_err(|e| format!("opening TUN device {}: {e}", args.tun))?;
    let mut stats = Stats::default();
    let mut translator = Translator::with_format(args.translations.clone(), args.format);
    let mut stage = Stage::new(args.format);
    if let Some(path) = &args.stats {
        write_stats(path, &stats).map_err(|e| format!("{path}: {e}"))?;
    }
    if let Some(path) = &args.ready {
        std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?;
    }
    let what = match args.format {
        Format::Unified => "the type-31 option".to_string(),
        f => format!("DPVS's formats ({})", f.name()),
    };
    eprintln!(
        "toa-uoa-lb: TUN device {} open, mtu {}, inserting {what}",
        args.tun, args.mtu
    );
    // The largest IP packet (64 KiB) plus the largest option.
    let mut buf = vec![0u8; 65536 + 64];
    // Counters not yet in the stats file, and when it was last written.
    let mut dirty = false;
    let mut written = std::time::Instant::now();
    loop {
        if dirty && !tun::readable_within(&dev, 100).map_err(|e| format!("poll: {e}"))? {
            if let Some(path) = &args.stats {
                write_stats(path, &stats).map_err(|e| format!("{path}: {e}"))?;
            }
            dirty = false;
            written = std::time::Instant::now();
            continue;
        }
        if dirty && written.elapsed() >= std::time::Duration::from_secs(1) {
            if let Some(path) = &args.stats {
                write_stats(path, &stats).map_err(|e| format!("{path}: {e}"))?;
            }
            written = std::time::Instant::now();
        }
        dirty = true;
        let n = dev.read(&mut buf).map_err(|e| format!("read: {e}"))?;
        let pkt = &buf[..n];
        if !translator.is_empty() {
            let (out, what) = match translator.process(pkt, args.mtu) {
                Outcome::NotOurs => (None, String::new()),
                Outcome::Forward(new) => {
                    if pkt.first().map(|b| b >> 4) == Some(4) {
                        stats.translated_46 += 1;
                    } else {
                        stats.translated_64 += 1;
                    }
                    (Some(Some(new)), "translated, option inserted".to_string())
                }
                Outcome::Reply(new) => {
                    stats.replies_translated += 1;
                    (Some(Some(new)), "reply translated".to_string())
                }
                Outcome::Dropped(skip) => {
                    stats.translation_dropped += 1;
                    (Some(None), format!("dropped ({})", skip.name()))
                }
            };
            if let Some(out) = out {
                stats.packets += 1;
                if args.verbose {
                    let mut err = std::io::stderr().lock();
                    let _ = writeln!(err, "toa-uoa-lb: {} {what}", describe(pkt));
                }
                if let Some(new) = out {
                    if let Err(e) = dev.write(&new) {
                        eprintln!("toa-uoa-lb: {}: written back: {e}", describe(pkt));
                    }
                }
                continue;
            }
        }
        let result = stage.process(pkt, args.mtu);
        stats.count(&result, pkt, args.format);
        if args.verbose {
            let what = match &result {
                Ok(new) => format!("+{} bytes", new.len() - pkt.len()),
                Err(skip) => format!("unmodified ({})", skip.name()),
            };
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "toa-uoa-lb: {} {what}", describe(pkt));
        }
        let out = match &result {
            Ok(new) => new.as_slice(),
            Err(_) => pkt,
        };
        // The kernel refuses what it cannot take (say, a packet it finds malformed): that
        // packet is lost, as on a wire, and the stage goes on.
        if let Err(e) = dev.write(out) {
            eprintln!("toa-uoa-lb: {}: written back: {e}", describe(pkt));
        }
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("toa-uoa-lb: {e}");
            ExitCode::FAILURE
        }
    }
}
