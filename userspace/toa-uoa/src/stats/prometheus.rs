//! node_exporter's textfile collector format (the Prometheus text exposition format): one
//! metric family per line of `/proc/net/toa_uoa`, `# HELP` and `# TYPE` before its sample,
//! every sample labelled with the namespace; written to a file atomically.
//!
//! Names: a counter `name` is `toa_uoa_<name>_total`, a gauge `toa_uoa_<name>`; the
//! `malformed_<kind>` counters are one family, `toa_uoa_malformed_total{kind="<kind>"}`.

use super::counters::{help, kind, Kind, Snapshot, MALFORMED, MALFORMED_HELP};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A label value with `\`, `"` and newlines escaped.
fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// The metric family of a line of the file.
pub fn metric_name(name: &str) -> String {
    if name.starts_with(MALFORMED) {
        return "toa_uoa_malformed_total".to_string();
    }
    match kind(name) {
        Kind::Gauge => format!("toa_uoa_{name}"),
        Kind::Counter => format!("toa_uoa_{name}_total"),
    }
}

/// The exposition of one reading of namespace `namespace`.
pub fn render(snap: &Snapshot, namespace: &str) -> String {
    let ns = escape_label(namespace);
    let mut out = String::new();
    let mut malformed_done = false;
    for (name, value) in snap.iter() {
        if name.starts_with(MALFORMED) {
            // One family, its samples together, at the place of the first.
            if malformed_done {
                continue;
            }
            malformed_done = true;
            let family = metric_name(name);
            let _ = writeln!(out, "# HELP {family} {MALFORMED_HELP}");
            let _ = writeln!(out, "# TYPE {family} counter");
            for (n, v) in snap.iter().filter(|(n, _)| n.starts_with(MALFORMED)) {
                let k = escape_label(&n[MALFORMED.len()..]);
                let _ = writeln!(out, "{family}{{namespace=\"{ns}\",kind=\"{k}\"}} {v}");
            }
            continue;
        }
        let family = metric_name(name);
        let help_text = help(name)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{name} in /proc/net/toa_uoa."));
        let ty = match kind(name) {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        };
        let _ = writeln!(out, "# HELP {family} {help_text}");
        let _ = writeln!(out, "# TYPE {family} {ty}");
        let _ = writeln!(out, "{family}{{namespace=\"{ns}\"}} {value}");
    }
    out
}

/// `FILE.tmp` beside `path`.
fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

/// Writes `text` to `path` atomically: to `path.tmp` (which the textfile collector does not
/// read: it reads `*.prom`), flushed to disk, then renamed over `path`. A failure removes the
/// temporary file and leaves `path` as it was.
pub fn write_atomic(path: &Path, text: &str) -> io::Result<()> {
    let tmp = tmp_path(path);
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::super::counters::SAMPLE;
    use super::*;

    #[test]
    fn names_and_types() {
        assert_eq!(metric_name("records_new"), "toa_uoa_records_new_total");
        assert_eq!(metric_name("records_live"), "toa_uoa_records_live");
        assert_eq!(metric_name("max_records"), "toa_uoa_max_records");
        assert_eq!(metric_name("namespace_active"), "toa_uoa_namespace_active");
        assert_eq!(metric_name("malformed_bad_ihl"), "toa_uoa_malformed_total");
        assert_eq!(metric_name("a_future_one"), "toa_uoa_a_future_one_total");
    }

    #[test]
    fn renders_the_sample() {
        let s = Snapshot::parse(SAMPLE).unwrap();
        let text = render(&s, "rs-1");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            &lines[..3],
            [
                "# HELP toa_uoa_options_valid_total Well-formed type-31 options seen on TCP or UDP packets from trusted sources.",
                "# TYPE toa_uoa_options_valid_total counter",
                "toa_uoa_options_valid_total{namespace=\"rs-1\"} 12",
            ]
        );
        for want in [
            "# TYPE toa_uoa_records_live gauge",
            "toa_uoa_records_live{namespace=\"rs-1\"} 10",
            "# TYPE toa_uoa_max_records gauge",
            "toa_uoa_max_records{namespace=\"rs-1\"} 65536",
            "# TYPE toa_uoa_namespace_active gauge",
            "toa_uoa_namespace_active{namespace=\"rs-1\"} 1",
            "# TYPE toa_uoa_namespace_activation_failed_total counter",
            "toa_uoa_options_untrusted_total{namespace=\"rs-1\"} 2",
            "# TYPE toa_uoa_malformed_total counter",
            "toa_uoa_malformed_total{namespace=\"rs-1\",kind=\"truncated\"} 0",
            "toa_uoa_malformed_total{namespace=\"rs-1\",kind=\"bad_ihl\"} 1",
        ] {
            assert!(lines.contains(&want), "no line {want:?} in\n{text}");
        }
        // One HELP and one TYPE per family, before its samples; every sample is a line of the
        // file, and every line of the file is a sample.
        let families: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        let mut sorted = families.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), families.len(), "a family twice: {families:?}");
        assert_eq!(families.len(), 27 - 2 + 1);
        let samples = lines.iter().filter(|l| !l.starts_with('#')).count();
        assert_eq!(samples, 27);
        check_exposition(&text);
    }

    /// The exposition format's rules the textfile collector enforces: a family's HELP, then
    /// TYPE, then its samples, contiguous; metric and label names of [a-zA-Z_:][a-zA-Z0-9_:]*;
    /// values numbers; no timestamps; a final newline.
    fn check_exposition(text: &str) {
        assert!(text.ends_with('\n'));
        let valid_name = |n: &str| {
            !n.is_empty()
                && !n.starts_with(|c: char| c.is_ascii_digit())
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        };
        let mut current: Option<String> = None;
        let mut seen = Vec::new();
        let mut expect_type = false;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap();
                assert!(valid_name(name), "{line}");
                assert!(!seen.contains(&name.to_string()), "{name} twice");
                seen.push(name.to_string());
                current = Some(name.to_string());
                expect_type = true;
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut w = rest.split(' ');
                assert_eq!(Some(w.next().unwrap()), current.as_deref(), "{line}");
                assert!(matches!(w.next(), Some("counter" | "gauge")), "{line}");
                assert!(expect_type, "{line}");
                expect_type = false;
            } else {
                assert!(!expect_type, "sample before TYPE: {line}");
                let (series, value) = line.rsplit_once(' ').unwrap();
                value
                    .parse::<u64>()
                    .unwrap_or_else(|_| panic!("value: {line}"));
                let (name, labels) = series.split_once('{').unwrap();
                assert_eq!(
                    Some(name),
                    current.as_deref(),
                    "sample of another family: {line}"
                );
                assert!(labels.ends_with('}'), "{line}");
                let mut rest = &labels[..labels.len() - 1];
                while !rest.is_empty() {
                    let (label, after) = rest.split_once("=\"").unwrap();
                    assert!(valid_name(label), "{line}");
                    // The value ends at the first '"' not escaped.
                    let mut end = None;
                    let mut esc = false;
                    for (i, c) in after.char_indices() {
                        match (esc, c) {
                            (true, _) => esc = false,
                            (false, '\\') => esc = true,
                            (false, '"') => {
                                end = Some(i);
                                break;
                            }
                            _ => {}
                        }
                    }
                    let end = end.unwrap_or_else(|| panic!("unterminated label: {line}"));
                    rest = after[end + 1..]
                        .strip_prefix(',')
                        .unwrap_or(&after[end + 1..]);
                }
            }
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let s = Snapshot::parse("records_new 1\n").unwrap();
        let text = render(&s, "a\"b\\c\nd");
        assert!(
            text.contains("toa_uoa_records_new_total{namespace=\"a\\\"b\\\\c\\nd\"} 1\n"),
            "{text}"
        );
        check_exposition(&text);
    }

    #[test]
    fn unknown_counters_are_exported_too() {
        let s = Snapshot::parse("options_valid 1\nsomething_new 7\n").unwrap();
        let text = render(&s, "x");
        assert!(text
            .contains("# HELP toa_uoa_something_new_total something_new in /proc/net/toa_uoa.\n"));
        assert!(text.contains("toa_uoa_something_new_total{namespace=\"x\"} 7\n"));
        check_exposition(&text);
    }

    #[test]
    fn atomic_write() {
        let dir = std::env::temp_dir().join(format!("toa-uoa-prom-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("toa_uoa.prom");
        write_atomic(&path, "first\n").unwrap();
        write_atomic(&path, "second\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "second\n");
        assert!(!tmp_path(&path).exists());
        // A directory that does not exist: an error, nothing left behind.
        let bad = dir.join("no/such/dir/x.prom");
        assert!(write_atomic(&bad, "x").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
