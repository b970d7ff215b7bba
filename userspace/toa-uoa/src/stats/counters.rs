//! One reading of `/proc/net/toa_uoa` (`name value` per line) and what the tool knows about
//! each counter: its kind (a gauge or a counter that only grows) and its meaning, as the
//! README's counter table says it.

use std::fmt;

/// One reading of the file: its counters, in the file's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    entries: Vec<(String, u64)>,
}

/// Why a reading is not a `/proc/net/toa_uoa` file.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    pub reason: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl Snapshot {
    /// Parses the file: one `name value` line per counter, `name` of ASCII letters, digits and
    /// `_`, `value` a decimal u64. Blank lines are allowed; anything else is an error (the file
    /// is not the module's, or a version of it this tool cannot read).
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut entries: Vec<(String, u64)> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let err = |reason| ParseError {
                line: i + 1,
                reason,
            };
            let mut words = line.split_ascii_whitespace();
            let Some(name) = words.next() else { continue };
            let value = words.next().ok_or(err("no value after the name"))?;
            if words.next().is_some() {
                return Err(err("more than 'name value'"));
            }
            if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(err(
                    "a name of other characters than letters, digits and '_'",
                ));
            }
            let value: u64 = value
                .parse()
                .map_err(|_| err("a value that is not a number"))?;
            if entries.iter().any(|(n, _)| n == name) {
                return Err(err("a name seen twice"));
            }
            entries.push((name.to_string(), value));
        }
        if entries.is_empty() {
            return Err(ParseError {
                line: 0,
                reason: "no counters at all",
            });
        }
        Ok(Snapshot { entries })
    }

    /// The value of counter `name`, if the file has it.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, v)| v)
    }

    /// The counters in the file's order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), *v))
    }
}

/// The prefix of the per-kind malformed-option counters.
pub const MALFORMED: &str = "malformed_";

/// A gauge (a value now, may go down) or a counter (only grows while the module is loaded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

/// The kind of a line of the file: `records_live`, `max_records` and `namespace_active` are
/// values now; every other line counts events.
pub fn kind(name: &str) -> Kind {
    match name {
        "records_live" | "max_records" | "namespace_active" => Kind::Gauge,
        _ => Kind::Counter,
    }
}

/// What a counter means (README, "Statistics"); None for a name this tool does not know (a
/// counter added by a newer module) and for the malformed ones (see [`MALFORMED_HELP`]).
pub fn help(name: &str) -> Option<&'static str> {
    Some(match name {
        "options_valid" => "Well-formed type-31 options seen on TCP or UDP packets from trusted sources.",
        "options_not_tcp_udp" => "Well-formed options on other transports (ignored).",
        "records_new" => "Records made for a tuple that had none.",
        "records_replaced" => "Records replaced by a newer option with other addresses.",
        "records_refreshed" => "The same option again: only the record's time refreshed.",
        "records_refreshed_lockless" => {
            "Of records_refreshed: the CPU's last option packet again, in its jiffy (not parsed, no lock)."
        }
        "records_evicted" => "Records evicted (oldest nearby) to make room at max_records.",
        "records_dropped_at_limit" => {
            "Options not recorded: table full and nothing nearby it may evict."
        }
        "records_alloc_failed" => "Options not recorded: no memory (GFP_ATOMIC).",
        "records_expired" => "Records removed after idle_timeout.",
        "lookups_v1_hit" => "getsockopt v1 look-ups answered.",
        "lookups_v1_miss" => "getsockopt v1 look-ups without a record.",
        "lookups_v0_hit" => "getsockopt v0 look-ups answered.",
        "lookups_v0_miss" => "getsockopt v0 look-ups without a record.",
        "lookups_refused" => "Look-ups refused for bad input (EINVAL, EFAULT, EAFNOSUPPORT).",
        "records_forgotten_by_syn" => {
            "Records removed because a new TCP connection (SYN) reused their tuple."
        }
        "getname_rewritten" => "accept/getpeername/getsockname answers given from a record.",
        "options_untrusted" => "Options from sources outside trusted_sources, ignored.",
        "records_live" => "Records in the table now.",
        "max_records" => "The most records the namespace's table may hold (max_records).",
        "options_dpvs_toa" => "DPVS TOA options (TCP option 254) read with dpvs_compat.",
        "options_dpvs_uoa_ipo" => "DPVS UOA ipo options (IPv4 option 31, length 8 or 20) read with dpvs_compat.",
        "options_dpvs_uoa_opp" => "DPVS UOA opp headers (IP protocol 248) read with dpvs_compat, and removed.",
        "options_dpvs_malformed" => "DPVS options rejected by their parser (the kernel log names the check).",
        "accepts_waiting" => {
            "Module-wide: accept() calls waiting in the module's accept, each holding a module reference."
        }
        "sockets_held" => {
            "Module-wide: sockets with the module's socket operations, each holding a module reference."
        }
        "socket_answers" => {
            "Module-wide: TCP connections with their own answering copy of the socket operations (328 bytes each)."
        }
        "socket_answers_given_back" => {
            "Module-wide: answering copies of connections given the kernel's operations back while open, kept until the unload."
        }
        "socket_answers_alloc_failed" => {
            "Module-wide: answering copies not made for want of memory (those connections look their record up at each getname)."
        }
        "socket_probes_missed" => {
            "Module-wide: listen()/UDP connect() calls the probes could not follow (those sockets kept the kernel's operations)."
        }
        "options_ignored_live_tcp" => {
            "Options for a live TCP connection's tuple carrying other addresses than its record, ignored."
        }
        "getname_kept_for_kernel" => {
            "Answers from a record not given (IPv6 client, IPv4 socket) to a getname from outside the getname system calls."
        }
        "namespace_active" => "1 once the namespace has its table and counters, else 0.",
        "namespace_activation_failed" => {
            "Module-wide: namespaces whose table could not be made at an option for want of memory."
        }
        _ => return None,
    })
}

/// What the `malformed_<kind>` counters mean.
pub const MALFORMED_HELP: &str = "Options rejected by the parser, by the check that failed (kind).";

/// The file as the module writes it (6.12 test kernel, a namespace that saw options).
#[cfg(test)]
pub const SAMPLE: &str = "\
options_valid 12
options_not_tcp_udp 0
records_new 10
records_replaced 1
records_refreshed 1
records_evicted 0
records_dropped_at_limit 0
records_alloc_failed 0
records_expired 0
lookups_v1_hit 4
lookups_v1_miss 1
lookups_v0_hit 0
lookups_v0_miss 0
lookups_refused 0
records_forgotten_by_syn 0
getname_rewritten 3
options_untrusted 2
getname_kept_for_kernel 0
options_ignored_live_tcp 0
malformed_truncated 0
malformed_bad_ihl 1
records_live 10
max_records 65536
sockets_held 2
socket_probes_missed 0
namespace_active 1
namespace_activation_failed 0
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_module_file() {
        let s = Snapshot::parse(SAMPLE).unwrap();
        assert_eq!(s.iter().count(), 27);
        assert_eq!(s.get("options_valid"), Some(12));
        assert_eq!(s.get("malformed_bad_ihl"), Some(1));
        assert_eq!(s.get("max_records"), Some(65536));
        assert_eq!(s.get("nonexistent"), None);
        // The file's order is kept.
        assert_eq!(s.iter().next(), Some(("options_valid", 12)));
        assert_eq!(s.iter().last(), Some(("namespace_activation_failed", 0)));
    }

    #[test]
    fn largest_value_and_blank_lines() {
        let s = Snapshot::parse("\na 18446744073709551615\n\n b 0 \n").unwrap();
        assert_eq!(s.get("a"), Some(u64::MAX));
        assert_eq!(s.get("b"), Some(0));
    }

    #[test]
    fn refuses_what_is_not_the_file() {
        let bad = |t: &str, line, reason| {
            assert_eq!(
                Snapshot::parse(t),
                Err(ParseError { line, reason }),
                "{t:?}"
            )
        };
        bad("", 0, "no counters at all");
        bad("a 1\nb\n", 2, "no value after the name");
        bad("a 1 2\n", 1, "more than 'name value'");
        bad("a -1\n", 1, "a value that is not a number");
        bad(
            "a 18446744073709551616\n",
            1,
            "a value that is not a number",
        );
        bad("a 0x10\n", 1, "a value that is not a number");
        bad(
            "a-b 1\n",
            1,
            "a name of other characters than letters, digits and '_'",
        );
        bad("a 1\na 2\n", 2, "a name seen twice");
    }

    #[test]
    fn kinds() {
        for g in ["records_live", "max_records", "namespace_active"] {
            assert_eq!(kind(g), Kind::Gauge, "{g}");
        }
        for c in [
            "options_valid",
            "namespace_activation_failed",
            "malformed_truncated",
            "some_future_counter",
        ] {
            assert_eq!(kind(c), Kind::Counter, "{c}");
        }
    }

    /// The names the module writes, from its own sources: stats.rs's NAMES, the codec's
    /// malformed kinds, then netns.rs's `seq.line(b"...")` lines.
    fn module_names() -> Vec<String> {
        let stats_rs = include_str!("../../../../stats.rs");
        let netns_rs = include_str!("../../../../netns.rs");
        let start = stats_rs.find("const NAMES").unwrap();
        let end = start + stats_rs[start..].find("];").unwrap();
        let mut names: Vec<String> = stats_rs[start..end]
            .split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        assert!(names.len() > 10, "{names:?}");
        names.extend(
            toa_uoa_codec::Error::ALL
                .iter()
                .map(|e| format!("{MALFORMED}{}", e.name())),
        );
        let tail: Vec<String> = netns_rs
            .split("seq.line(b\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_string())
            .collect();
        assert!(tail.contains(&"records_live".to_string()), "{tail:?}");
        names.extend(tail);
        names
    }

    #[test]
    fn knows_every_counter_the_module_writes() {
        let names = module_names();
        let text: String = names.iter().map(|n| format!("{n} 7\n")).collect();
        let s = Snapshot::parse(&text).unwrap();
        assert_eq!(s.iter().count(), names.len());
        for name in names.iter().filter(|n| !n.starts_with(MALFORMED)) {
            assert!(help(name).is_some(), "no help for {name}");
        }
        // The sample here is the module's file, cut short of most malformed kinds.
        let sample = Snapshot::parse(SAMPLE).unwrap();
        for (name, _) in sample.iter() {
            assert!(
                names.iter().any(|n| n == name),
                "{name} is not the module's"
            );
        }
    }
}
