//! `toa-uoa`: the operator's command-line tool for the toa_uoa module.
//!
//! Subcommands live in their own modules and are dispatched from here: `decode` (captures)
//! and `stats` (a namespace's counters, verdicts, Prometheus textfile output).

mod decode;
mod json;
mod pcap;
mod pcapng;
mod stats;

use std::process::ExitCode;

/// Exit status: everything read and decoded (malformed options are findings, not failures).
pub const EXIT_OK: u8 = 0;
/// Exit status: the input could not be read at all (missing file, not pcap nor hex, bad header).
pub const EXIT_UNREADABLE: u8 = 1;
/// Exit status: bad command line.
pub const EXIT_USAGE: u8 = 2;
/// Exit status: the input was read to the end or to a point it could not be read past, and some
/// of it was damaged (a line that is not hex, a cut or corrupt pcap record); every packet that
/// could be read was still decoded and printed.
pub const EXIT_DAMAGED: u8 = 3;

const USAGE: &str = "\
usage: toa-uoa <command> [arguments]

commands:
  decode [FILE]   decode the toa_uoa address option (IPv4 option 31 / IPv6 Destination
                  Options option 31), or DPVS's TOA (TCP option 254) and UOA (IPv4 option
                  31 of 8/20 bytes, IP protocol 248) formats, of every packet in FILE, or
                  standard input if FILE is omitted or '-'. FILE is a pcap or pcapng
                  capture (tcpdump -w, dumpcap; Ethernet, Linux cooked SLL/SLL2 or raw
                  IP) or text with one raw IP packet per line in hex ('#' starts a
                  comment). Prints one JSON object per packet on standard output.
  stats [--netns NAME | --pid PID] [--interval SECONDS [--count N]] [--prometheus FILE|-]
                  show a network namespace's counters (/proc/net/toa_uoa), their rates over
                  an interval and the 'worry when' verdicts of docs/OPERATORS.md, or write
                  them in node_exporter's textfile format ('toa-uoa stats --help')
  help            print this text

options:
  -h, --help      print this text
  -V, --version   print the version

exit status (decode): 0 all input decoded; 1 input unreadable; 2 usage error;
             3 input partly damaged (reported in the output, the rest still decoded)
exit status (stats): 0 counters read; 1 not readable (module not loaded, no such
             namespace or process, permission) or output not written; 2 usage error
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    ExitCode::from(run(&args))
}

fn run(args: &[String]) -> u8 {
    let Some(command) = args.first() else {
        eprint!("{USAGE}");
        return EXIT_USAGE;
    };
    let rest = args.get(1..).unwrap_or(&[]);
    match command.as_str() {
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            EXIT_OK
        }
        "-V" | "--version" => {
            println!("toa-uoa {}", env!("CARGO_PKG_VERSION"));
            EXIT_OK
        }
        "decode" => decode::main(rest),
        "stats" => stats::main(rest),
        other => {
            eprintln!("toa-uoa: unknown command '{other}'\n");
            eprint!("{USAGE}");
            EXIT_USAGE
        }
    }
}
