//! `toa-uoa-lb`: the balancer stage of toa_uoa as an NFQUEUE program.
//!
//! ```text
//! toa-uoa-lb [--queue N] [--mtu BYTES] [--stats FILE] [--ready FILE] [--verbose]
//! ```
//!
//! Reads packets from NFQUEUE `N` (default 0), inserts the type-31 option carrying the packet's
//! own source (CIP:CPORT) and destination (VIP:VPORT) as [`toa_uoa_lb::process`] does, and
//! reinjects every packet with NF_ACCEPT: rewritten, or unmodified (and counted) when it already
//! has IP options or IPv6 extension headers, is a fragment, is not TCP/UDP, or would exceed
//! `--mtu` (default 1500) with the option. The queue rule belongs in PREROUTING between
//! conntrack and DNAT (priority -150), matching packets to VIP:VPORT: see
//! docs/fullnat-demo.md. `--stats FILE` rewrites FILE with `name value` counters after each
//! packet; `--ready FILE` is created once the queue is bound.
use std::io::Write;
use std::process::ExitCode;

use toa_uoa_lb::{carried_from_packet, process, Stats};

struct Args {
    queue: u16,
    mtu: usize,
    stats: Option<String>,
    ready: Option<String>,
    verbose: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        queue: 0,
        mtu: 1500,
        stats: None,
        ready: None,
        verbose: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--queue" => {
                a.queue = value("--queue")?
                    .parse()
                    .map_err(|e| format!("--queue: {e}"))?
            }
            "--mtu" => {
                a.mtu = value("--mtu")?
                    .parse()
                    .map_err(|e| format!("--mtu: {e}"))?
            }
            "--stats" => a.stats = Some(value("--stats")?),
            "--ready" => a.ready = Some(value("--ready")?),
            "--verbose" | "-v" => a.verbose = true,
            "--help" | "-h" => {
                return Err(
                    "usage: toa-uoa-lb [--queue N] [--mtu BYTES] [--stats FILE] [--ready FILE] [--verbose]"
                        .into(),
                )
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
    let mut queue = nfq::Queue::open().map_err(|e| format!("opening NFQUEUE: {e}"))?;
    queue
        .bind(args.queue)
        .map_err(|e| format!("binding queue {}: {e}", args.queue))?;
    // If this program falls behind, packets go through unmodified rather than being dropped.
    queue
        .set_fail_open(args.queue, true)
        .map_err(|e| format!("fail-open: {e}"))?;
    let mut stats = Stats::default();
    if let Some(path) = &args.stats {
        write_stats(path, &stats).map_err(|e| format!("{path}: {e}"))?;
    }
    if let Some(path) = &args.ready {
        std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?;
    }
    eprintln!(
        "toa-uoa-lb: queue {} bound, mtu {}, inserting the type-31 option",
        args.queue, args.mtu
    );
    loop {
        let mut msg = queue.recv().map_err(|e| format!("recv: {e}"))?;
        let result = process(msg.get_payload(), args.mtu);
        stats.count(&result, msg.get_payload());
        if args.verbose {
            let what = match &result {
                Ok(new) => format!("+{} bytes", new.len() - msg.get_payload().len()),
                Err(skip) => format!("unmodified ({})", skip.name()),
            };
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "toa-uoa-lb: {} {what}", describe(msg.get_payload()));
        }
        if let Ok(new) = result {
            msg.set_payload(new);
        }
        msg.set_verdict(nfq::Verdict::Accept);
        queue.verdict(msg).map_err(|e| format!("verdict: {e}"))?;
        if let Some(path) = &args.stats {
            write_stats(path, &stats).map_err(|e| format!("{path}: {e}"))?;
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
