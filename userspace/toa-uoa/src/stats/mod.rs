//! `toa-uoa stats`: a namespace's `/proc/net/toa_uoa`, with rates over an interval and the
//! "worry when" verdicts of docs/OPERATORS.md, or in node_exporter's textfile format.

mod counters;
mod prometheus;
mod source;
mod verdict;

use crate::{EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE};
use counters::{kind, Snapshot};
use source::{Source, Target};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};
use verdict::{format_rate, verdicts, Level, Window};

const HELP: &str = "\
usage: toa-uoa stats [--netns NAME | --pid PID] [--interval SECONDS [--count N]]
                     [--prometheus FILE|-]

Reads the toa_uoa counters (/proc/net/toa_uoa) of a network namespace and prints each with
its value, then the verdicts: OK, or WORRY with what it means and what to do, one rule per
counter for which docs/OPERATORS.md (section 4, \"worry when\") gives one.

  --netns NAME       the namespace /run/netns/NAME (as 'ip netns' names them; a NAME with a
                     '/' is a namespace file's path, e.g. /proc/PID/ns/net); entering it
                     needs root (CAP_SYS_ADMIN)
  --pid PID          the namespace of process PID (reads /proc/PID/net/toa_uoa)
                     (default: the tool's own namespace)
  --interval SECONDS reads twice, SECONDS apart (fractions allowed), and shows each counter's
                     change and rate per second; the verdicts then look at that interval only
                     (without it: at everything since the namespace came up)
  --count N          with --interval: N reports, one per interval (default 1; 0: until
                     interrupted)
  --prometheus FILE  instead of the report, writes the counters in node_exporter's textfile
                     collector format to FILE (atomically: FILE.tmp, then renamed), with a
                     label namespace=\"NAME\" (\"pid:PID\"; \"host\" or \"self\" for the tool's
                     own); '-' writes to standard output. With --interval, after each one.

exit status: 0 read (whatever the verdicts); 1 the counters cannot be read (module not
             loaded, namespace or process not found, permission) or FILE not written;
             2 usage error
";

#[derive(Debug, PartialEq)]
struct Options {
    target: Target,
    interval: Option<f64>,
    /// Reports to make; 0: no end.
    count: u64,
    prometheus: Option<String>,
}

fn parse_args(args: &[String]) -> Result<Option<Options>, String> {
    let mut target = Target::Own;
    let mut interval = None;
    let mut count = None;
    let mut prometheus = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it.next().cloned().ok_or(format!("{flag} needs a value")),
            }
        };
        match flag {
            "-h" | "--help" => return Ok(None),
            "--netns" | "--pid" if target != Target::Own => {
                return Err("give one of --netns and --pid, once".to_string())
            }
            "--netns" => target = Target::Netns(value()?),
            "--pid" => {
                let v = value()?;
                match v.parse::<u32>() {
                    Ok(p) if p > 0 => target = Target::Pid(p),
                    _ => return Err(format!("--pid: '{v}' is not a process id")),
                }
            }
            "--interval" => {
                let v = value()?;
                match v.parse::<f64>() {
                    Ok(s) if s.is_finite() && s > 0.0 && s <= 86400.0 => interval = Some(s),
                    _ => {
                        return Err(format!(
                            "--interval: '{v}' is not a number of seconds above 0 (at most 86400)"
                        ))
                    }
                }
            }
            "--count" => {
                let v = value()?;
                count = Some(
                    v.parse::<u64>()
                        .map_err(|_| format!("--count: '{v}' is not a count"))?,
                );
            }
            "--prometheus" => prometheus = Some(value()?),
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    if count.is_some() && interval.is_none() {
        return Err("--count needs --interval".to_string());
    }
    if matches!(&prometheus, Some(p) if p.is_empty()) {
        return Err("--prometheus needs a file name, or '-'".to_string());
    }
    Ok(Some(Options {
        target,
        interval,
        count: count.unwrap_or(1),
        prometheus,
    }))
}

/// The report of one window of `namespace` (as [`Source::describe`] says it): the counters'
/// table, then the verdicts.
fn report(w: &Window<'_>, namespace: &str) -> String {
    let mut rows: Vec<[String; 4]> = vec![[
        "counter".into(),
        "value".into(),
        String::new(),
        String::new(),
    ]];
    if w.before.is_some() {
        rows[0][2] = "change".into();
        rows[0][3] = "per_second".into();
    }
    for (name, value) in w.now.iter() {
        let (change, rate) = match w.change(name, kind(name)) {
            Some((c, r)) => (
                format!("{c:+}"),
                r.map_or_else(|| "-".to_string(), format_rate),
            ),
            None => (String::new(), String::new()),
        };
        rows.push([name.to_string(), value.to_string(), change, rate]);
    }
    let width = |i: usize| rows.iter().map(|r| r[i].len()).max().unwrap_or(0);
    let (w0, w1, w2, w3) = (width(0), width(1), width(2), width(3));

    let mut out = String::new();
    let _ = match w.before {
        None => writeln!(out, "toa_uoa counters of {namespace}, since it came up:"),
        Some((_, secs)) => writeln!(
            out,
            "toa_uoa counters of {namespace}, over the last {secs:.1} s:"
        ),
    };
    for r in &rows {
        let line = format!("{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}", r[0], r[1], r[2], r[3]);
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(
        out,
        "verdicts (docs/OPERATORS.md section 4, \"worry when\"):"
    );
    for v in verdicts(w) {
        let _ = writeln!(out, "{:<5}  {}: {}", v.level.word(), v.rule, v.finding);
        if v.level == Level::Worry {
            let _ = writeln!(out, "{:<5}  what to do: {}", "", v.action);
        }
    }
    out
}

/// Where the results go.
enum Sink {
    Report,
    Prometheus(String),
}

/// Writes one window's results; Err(status) ends the command.
fn emit(sink: &Sink, w: &Window<'_>, source: &Source, first: bool) -> Result<(), u8> {
    let (text, file) = match sink {
        Sink::Report => (
            format!(
                "{}{}",
                if first { "" } else { "\n" },
                report(w, &source.describe)
            ),
            None,
        ),
        Sink::Prometheus(f) => (prometheus::render(w.now, &source.label), Some(f.as_str())),
    };
    match file {
        Some(f) if f != "-" => prometheus::write_atomic(Path::new(f), &text).map_err(|e| {
            eprintln!("toa-uoa stats: cannot write {f}: {e}");
            EXIT_UNREADABLE
        }),
        _ => {
            let mut out = io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => Ok(()),
                // A closed pipe (`| head`) ends the command quietly.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(EXIT_OK),
                Err(e) => {
                    eprintln!("toa-uoa stats: cannot write output: {e}");
                    Err(EXIT_UNREADABLE)
                }
            }
        }
    }
}

pub fn main(args: &[String]) -> u8 {
    let opts = match parse_args(args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{HELP}");
            return EXIT_OK;
        }
        Err(msg) => {
            eprintln!("toa-uoa stats: {msg}\n");
            eprint!("{HELP}");
            return EXIT_USAGE;
        }
    };
    match run(&opts) {
        Ok(()) => EXIT_OK,
        Err(status) => status,
    }
}

fn read(source: &Source) -> Result<(Snapshot, Instant), u8> {
    let snap = source.read().map_err(|msg| {
        eprintln!("toa-uoa stats: {msg}");
        EXIT_UNREADABLE
    })?;
    Ok((snap, Instant::now()))
}

fn run(opts: &Options) -> Result<(), u8> {
    let source = Source::open(&opts.target).map_err(|msg| {
        eprintln!("toa-uoa stats: {msg}");
        EXIT_UNREADABLE
    })?;
    let sink = match &opts.prometheus {
        Some(f) => Sink::Prometheus(f.clone()),
        None => Sink::Report,
    };
    let (mut prev, mut at) = read(&source)?;
    let Some(secs) = opts.interval else {
        return emit(
            &sink,
            &Window {
                now: &prev,
                before: None,
            },
            &source,
            true,
        );
    };
    if matches!(sink, Sink::Report) {
        eprintln!(
            "toa-uoa stats: {}: counters read; rates over the next {secs} s",
            source.describe
        );
    }
    let period = Duration::from_secs_f64(secs);
    let mut done = 0u64;
    loop {
        std::thread::sleep((at + period).saturating_duration_since(Instant::now()));
        let (now, now_at) = read(&source)?;
        let elapsed = now_at.duration_since(at).as_secs_f64();
        let w = Window {
            now: &now,
            before: Some((&prev, elapsed)),
        };
        emit(&sink, &w, &source, done == 0)?;
        done += 1;
        if opts.count != 0 && done >= opts.count {
            return Ok(());
        }
        (prev, at) = (now, now_at);
    }
}

#[cfg(test)]
mod tests {
    use super::counters::SAMPLE;
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn parse(a: &[&str]) -> Result<Option<Options>, String> {
        parse_args(&args(a))
    }

    #[test]
    fn command_lines() {
        assert_eq!(
            parse(&[]).unwrap().unwrap(),
            Options {
                target: Target::Own,
                interval: None,
                count: 1,
                prometheus: None
            }
        );
        assert_eq!(
            parse(&[
                "--netns",
                "rs-1",
                "--interval",
                "2.5",
                "--count",
                "0",
                "--prometheus=-"
            ])
            .unwrap()
            .unwrap(),
            Options {
                target: Target::Netns("rs-1".into()),
                interval: Some(2.5),
                count: 0,
                prometheus: Some("-".into())
            }
        );
        assert_eq!(
            parse(&["--pid=42"]).unwrap().unwrap().target,
            Target::Pid(42)
        );
        assert_eq!(parse(&["--help"]).unwrap(), None);
        for (bad, msg) in [
            (&["--netns"][..], "--netns needs a value"),
            (
                &["--netns", "a", "--pid", "1"],
                "give one of --netns and --pid, once",
            ),
            (&["--pid", "x"], "--pid: 'x' is not a process id"),
            (&["--pid", "0"], "--pid: '0' is not a process id"),
            (
                &["--interval", "0"],
                "--interval: '0' is not a number of seconds above 0 (at most 86400)",
            ),
            (
                &["--interval", "nan"],
                "--interval: 'nan' is not a number of seconds above 0 (at most 86400)",
            ),
            (&["--count", "3"], "--count needs --interval"),
            (
                &["--interval", "1", "--count", "-1"],
                "--count: '-1' is not a count",
            ),
            (&["--prometheus="], "--prometheus needs a file name, or '-'"),
            (&["extra"], "unknown argument 'extra'"),
        ] {
            assert_eq!(parse(bad), Err(msg.to_string()), "{bad:?}");
        }
    }

    #[test]
    fn report_of_one_reading() {
        let s = Snapshot::parse(SAMPLE).unwrap();
        let r = report(
            &Window {
                now: &s,
                before: None,
            },
            "namespace rs-1",
        );
        let lines: Vec<&str> = r.lines().collect();
        assert_eq!(
            lines[0],
            "toa_uoa counters of namespace rs-1, since it came up:"
        );
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            ["counter", "value"]
        );
        assert_eq!(
            lines[2].split_whitespace().collect::<Vec<_>>(),
            ["options_valid", "12"]
        );
        // Every line of the file, in order, then the verdicts.
        let names: Vec<&str> = lines[2..29]
            .iter()
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        let want: Vec<&str> = s.iter().map(|(n, _)| n).collect();
        assert_eq!(names, want);
        assert_eq!(
            lines[29],
            "verdicts (docs/OPERATORS.md section 4, \"worry when\"):"
        );
        assert!(
            lines.contains(&"OK     records_evicted: did not grow since the namespace came up"),
            "{r}"
        );
        let i = lines
            .iter()
            .position(|l| {
                l.starts_with("WORRY  options_untrusted: grew by 2 since the namespace came up: ")
            })
            .unwrap_or_else(|| panic!("{r}"));
        assert!(
            lines[i + 1].starts_with("       what to do: 'dmesg | grep toa_uoa'"),
            "{r}"
        );
    }

    #[test]
    fn report_over_an_interval() {
        let before = Snapshot::parse(SAMPLE).unwrap();
        let now = Snapshot::parse(
            &SAMPLE
                .replace("options_valid 12", "options_valid 32")
                .replace("records_live 10", "records_live 4"),
        )
        .unwrap();
        let r = report(
            &Window {
                now: &now,
                before: Some((&before, 8.0)),
            },
            "namespace rs-1",
        );
        let row = |name: &str| -> Vec<String> {
            r.lines()
                .find(|l| l.split(' ').next() == Some(name))
                .unwrap_or_else(|| panic!("{name} in {r}"))
                .split_whitespace()
                .map(str::to_string)
                .collect()
        };
        assert!(r.starts_with("toa_uoa counters of namespace rs-1, over the last 8.0 s:\n"));
        assert_eq!(row("counter"), ["counter", "value", "change", "per_second"]);
        assert_eq!(row("options_valid"), ["options_valid", "32", "+20", "2.50"]);
        assert_eq!(
            row("options_untrusted"),
            ["options_untrusted", "2", "+0", "0"]
        );
        assert_eq!(row("records_live"), ["records_live", "4", "-6", "-"]);
        assert_eq!(row("max_records"), ["max_records", "65536", "+0", "-"]);
        assert!(
            r.contains("\nOK     options_untrusted: did not grow in the last 8.0 s\n"),
            "{r}"
        );
        assert!(!r.contains("WORRY"), "{r}");
    }
}
