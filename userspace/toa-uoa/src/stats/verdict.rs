//! The "worry when" verdicts: one rule per counter for which docs/OPERATORS.md's counter table
//! (section 4) says when to worry, worded as it is there, and nothing else.
//!
//! A counter "grows" if it went up over the interval (with `--interval`), or, from a single
//! reading, if it is above 0: it grew at some time since the namespace came up.

use super::counters::{Kind, Snapshot, MALFORMED};
use std::fmt::Write as _;

/// `records_live` is "near `max_records`" from this share of it on.
pub const NEAR_LIMIT_PERCENT: u64 = 90;

/// The readings the verdicts and the rates are taken from.
#[derive(Clone, Copy)]
pub struct Window<'a> {
    /// The reading now.
    pub now: &'a Snapshot,
    /// The reading an interval before, and the interval in seconds; None: the counters since
    /// the namespace came up.
    pub before: Option<(&'a Snapshot, f64)>,
}

impl Window<'_> {
    /// How much counter `name` grew over the window; None if the file has no such line. A
    /// counter lower than before was reset (the module reloaded, the namespace re-made): all
    /// of its value is growth.
    pub fn growth(&self, name: &str) -> Option<u64> {
        let now = self.now.get(name)?;
        Some(match self.before.and_then(|(b, _)| b.get(name)) {
            Some(before) if before <= now => now - before,
            _ => now,
        })
    }

    /// The change of line `name` over the interval (a gauge may go down), and its rate per
    /// second for a counter; None without an interval.
    pub fn change(&self, name: &str, kind: Kind) -> Option<(i128, Option<f64>)> {
        let (before, secs) = self.before?;
        let now = self.now.get(name)?;
        match kind {
            Kind::Gauge => Some((
                i128::from(now) - i128::from(before.get(name).unwrap_or(0)),
                None,
            )),
            Kind::Counter => {
                let g = self.growth(name)?;
                Some((i128::from(g), Some(rate(g, secs))))
            }
        }
    }

    fn when(&self) -> String {
        match self.before {
            None => "since the namespace came up".to_string(),
            Some((_, secs)) => format!("in the last {secs:.1} s"),
        }
    }

    /// " (2.50/s)" with an interval, else "".
    fn per_second(&self, growth: u64) -> String {
        match self.before {
            None => String::new(),
            Some((_, secs)) => format!(" ({}/s)", format_rate(rate(growth, secs))),
        }
    }
}

/// `growth` events over `secs` seconds, per second.
pub fn rate(growth: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        growth as f64 / secs
    } else {
        0.0
    }
}

/// A rate as the report shows it: "0", then 3 decimals below 1/s, 2 below 100/s, none above.
pub fn format_rate(r: f64) -> String {
    if r == 0.0 {
        "0".to_string()
    } else if r < 1.0 {
        format!("{r:.3}")
    } else if r < 100.0 {
        format!("{r:.2}")
    } else {
        format!("{r:.0}")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Ok,
    Worry,
}

impl Level {
    pub fn word(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Worry => "WORRY",
        }
    }
}

/// One rule's verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The counter (or counters) the rule reads.
    pub rule: &'static str,
    pub level: Level,
    /// What was seen and, for WORRY, what it means (as the docs say).
    pub finding: String,
    /// For WORRY: what to do.
    pub action: &'static str,
}

fn ok(rule: &'static str, finding: String) -> Verdict {
    Verdict {
        rule,
        level: Level::Ok,
        finding,
        action: "",
    }
}

fn worry(rule: &'static str, finding: String, action: &'static str) -> Verdict {
    Verdict {
        rule,
        level: Level::Worry,
        finding,
        action,
    }
}

const SECTION5: &str = "capture the balancer's traffic on this server and run 'toa-uoa decode' \
                        on it (docs/OPERATORS.md section 5)";

/// The rule "worry when it grows" for counter `name`.
fn grows(
    w: &Window<'_>,
    name: &'static str,
    meaning: &str,
    action: &'static str,
) -> Option<Verdict> {
    let g = w.growth(name)?;
    Some(if g == 0 {
        ok(name, format!("did not grow {}", w.when()))
    } else {
        worry(
            name,
            format!("grew by {g} {}{}: {meaning}", w.when(), w.per_second(g)),
            action,
        )
    })
}

/// Every rule the counters in the window allow (a rule whose counters the file lacks is left
/// out), in the order of docs/OPERATORS.md's table.
pub fn verdicts(w: &Window<'_>) -> Vec<Verdict> {
    let mut v: Vec<Option<Verdict>> = Vec::new();
    let active = w.now.get("namespace_active");

    // options_valid: "it stays 0 while traffic flows". In a namespace not active yet it is 0
    // by definition, and namespace_active's rule below says the same: checked once, there.
    if active != Some(0) {
        v.push(w.growth("options_valid").map(|g| {
            if g > 0 {
                ok("options_valid", format!("grew by {g} {}", w.when()))
            } else {
                worry(
                    "options_valid",
                    format!(
                        "no well-formed option from a trusted source {}: if balancer traffic \
                         flows to this namespace, the balancer does not send the option (an \
                         untrusted one is counted in options_untrusted instead)",
                        w.when()
                    ),
                    SECTION5,
                )
            }
        }));
    }
    v.push(grows(
        w,
        "records_evicted",
        "the table is full at max_records and records are evicted (clients may get the \
         balancer's address)",
        "raise max_records",
    ));
    v.push(grows(
        w,
        "records_dropped_at_limit",
        "options were not recorded: the table is full",
        "raise max_records",
    ));
    v.push(grows(
        w,
        "records_alloc_failed",
        "options were not recorded for want of memory: memory pressure",
        "find what takes the server's memory",
    ));
    // records_expired: "UDP clients quieter than idle_timeout then miss": expiry together
    // with look-up misses.
    if let (Some(expired), Some(v1), Some(v0)) = (
        w.growth("records_expired"),
        w.growth("lookups_v1_miss"),
        w.growth("lookups_v0_miss"),
    ) {
        let misses = v1 + v0;
        v.push(Some(if expired > 0 && misses > 0 {
            worry(
                "records_expired",
                format!(
                    "{expired} records expired and {misses} UDP look-ups missed {}: UDP \
                     clients quieter than idle_timeout miss",
                    w.when()
                ),
                "raise idle_timeout",
            )
        } else {
            ok(
                "records_expired",
                format!("{expired} expired, {misses} look-ups missed {}", w.when()),
            )
        }));
    }
    // Look-ups: "misses grow with hits flat: options missing or expired".
    for (rule, hit, miss) in [
        ("lookups_v1_miss", "lookups_v1_hit", "lookups_v1_miss"),
        ("lookups_v0_miss", "lookups_v0_hit", "lookups_v0_miss"),
    ] {
        if let (Some(h), Some(m)) = (w.growth(hit), w.growth(miss)) {
            v.push(Some(if m > 0 && h == 0 {
                worry(
                    rule,
                    format!(
                        "{m} misses and no hit {}: options missing or expired",
                        w.when()
                    ),
                    "check that options arrive (options_valid, docs/OPERATORS.md section 5) \
                     and that idle_timeout is longer than the clients' pauses",
                )
            } else {
                ok(rule, format!("{h} hits, {m} misses {}", w.when()))
            }));
        }
    }
    v.push(grows(
        w,
        "lookups_refused",
        "look-ups with bad input (EINVAL, EFAULT, EAFNOSUPPORT): an application bug (wrong \
         structure or family)",
        "fix the application's getsockopt call (docs/APPLICATIONS.md)",
    ));
    v.push(grows(
        w,
        "getname_kept_for_kernel",
        "answers from a record withheld (IPv6 client, IPv4 socket) from a caller outside the \
         getname system calls; with user-space servers, a 32-bit program or an io_uring worker \
         asks",
        "have such servers use the v1 look-up",
    ));
    v.push(grows(
        w,
        "options_untrusted",
        "options from outside trusted_sources were ignored: forged options, or \
         trusted_sources misses a balancer address",
        "'dmesg | grep toa_uoa' names the senders; add a balancer's address to \
         /sys/module/toa_uoa/parameters/trusted_sources (and /etc/modprobe.d), or find the \
         forger",
    ));
    // malformed_<kind>: "any grows", one rule for all kinds.
    let grown: Vec<(String, u64)> = w
        .now
        .iter()
        .filter(|(n, _)| n.starts_with(MALFORMED))
        .filter_map(|(n, _)| Some((n.to_string(), w.growth(n)?)))
        .collect();
    if !grown.is_empty() {
        let total: u64 = grown.iter().map(|(_, g)| g).sum();
        v.push(Some(if total == 0 {
            ok("malformed_*", format!("none grew {}", w.when()))
        } else {
            let mut which = String::new();
            for (n, g) in grown.iter().filter(|(_, g)| *g > 0) {
                let _ = write!(
                    which,
                    "{}{n} +{g}",
                    if which.is_empty() { "" } else { ", " }
                );
            }
            worry(
                "malformed_*",
                format!(
                    "{which} {}{}: a balancer sends broken options, or someone forges them",
                    w.when(),
                    w.per_second(total)
                ),
                "'dmesg | grep toa_uoa' names the senders; decode a capture (docs/OPERATORS.md \
                 section 5)",
            )
        }));
    }
    if let (Some(live), Some(max)) = (w.now.get("records_live"), w.now.get("max_records")) {
        let near =
            max > 0 && u128::from(live) * 100 >= u128::from(max) * u128::from(NEAR_LIMIT_PERCENT);
        v.push(Some(if near {
            worry(
                "records_live",
                format!("{live} records, near max_records {max} (at least {NEAR_LIMIT_PERCENT}%)"),
                "raise max_records",
            )
        } else {
            ok("records_live", format!("{live} of max_records {max}"))
        }));
    }
    v.push(grows(
        w,
        "socket_probes_missed",
        "listen() or UDP connect() calls the probes could not follow (more at once than \
         their instances): those sockets answer with the kernel's addresses",
        "echo 1 > /sys/module/toa_uoa/parameters/getname gives every listener the module's \
         operations again; the instances are fixed (4 per possible CPU, at least 64)",
    ));
    v.push(grows(
        w,
        "options_ignored_live_tcp",
        "someone forges packets for live connections, or a balancer changes a connection's \
         addresses mid-way",
        "decode a capture of the connection's packets (docs/OPERATORS.md section 5)",
    ));
    v.push(active.map(|a| {
        if a == 0 {
            worry(
                "namespace_active",
                "0: no option (well-formed or not) and no look-up reached this namespace: if \
                 balancer traffic flows to it, the option does not arrive"
                    .to_string(),
                SECTION5,
            )
        } else {
            ok("namespace_active", "1".to_string())
        }
    }));
    v.push(grows(
        w,
        "namespace_activation_failed",
        "namespaces (module-wide) whose table could not be made for want of memory: memory \
         pressure; those options were not recorded",
        "find what takes the server's memory",
    ));
    v.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::super::counters::SAMPLE;
    use super::*;

    fn snap(text: &str) -> Snapshot {
        Snapshot::parse(text).unwrap()
    }

    /// SAMPLE with some lines changed.
    fn sample_with(changes: &[(&str, u64)]) -> Snapshot {
        let mut text = String::new();
        for line in SAMPLE.lines() {
            let name = line.split(' ').next().unwrap();
            match changes.iter().find(|(n, _)| *n == name) {
                Some((n, v)) => text.push_str(&format!("{n} {v}\n")),
                None => text.push_str(&format!("{line}\n")),
            }
        }
        snap(&text)
    }

    fn find<'a>(v: &'a [Verdict], rule: &str) -> &'a Verdict {
        v.iter()
            .find(|x| x.rule == rule)
            .unwrap_or_else(|| panic!("no rule {rule}: {v:#?}"))
    }

    fn worries(v: &[Verdict]) -> Vec<&'static str> {
        v.iter()
            .filter(|x| x.level == Level::Worry)
            .map(|x| x.rule)
            .collect()
    }

    #[test]
    fn growth_and_change() {
        let a = snap("c 10\nrecords_live 5\n");
        let b = snap("c 30\nrecords_live 2\n");
        let w = Window {
            now: &b,
            before: Some((&a, 4.0)),
        };
        assert_eq!(w.growth("c"), Some(20));
        assert_eq!(w.change("c", Kind::Counter), Some((20, Some(5.0))));
        assert_eq!(w.change("records_live", Kind::Gauge), Some((-3, None)));
        assert_eq!(w.growth("missing"), None);
        // A counter that went down was reset: all of it is new.
        let w = Window {
            now: &a,
            before: Some((&b, 2.0)),
        };
        assert_eq!(w.growth("c"), Some(10));
        assert_eq!(w.change("c", Kind::Counter), Some((10, Some(5.0))));
        // One reading: growth since the namespace came up, no change column.
        let w = Window {
            now: &b,
            before: None,
        };
        assert_eq!(w.growth("c"), Some(30));
        assert_eq!(w.change("c", Kind::Counter), None);
    }

    #[test]
    fn rates() {
        assert_eq!(rate(20, 8.0), 2.5);
        assert_eq!(rate(5, 0.0), 0.0);
        assert_eq!(format_rate(0.0), "0");
        assert_eq!(format_rate(1.0 / 60.0), "0.017");
        assert_eq!(format_rate(2.5), "2.50");
        assert_eq!(format_rate(12345.6), "12346");
    }

    #[test]
    fn sample_since_start() {
        // SAMPLE: 2 untrusted options and a malformed bad_ihl since the namespace came up.
        let s = snap(SAMPLE);
        let v = verdicts(&Window {
            now: &s,
            before: None,
        });
        assert_eq!(worries(&v), ["options_untrusted", "malformed_*"], "{v:#?}");
        let m = find(&v, "malformed_*");
        assert!(
            m.finding
                .starts_with("malformed_bad_ihl +1 since the namespace came up:"),
            "{m:?}"
        );
        let u = find(&v, "options_untrusted");
        assert!(
            u.finding
                .starts_with("grew by 2 since the namespace came up: "),
            "{u:?}"
        );
        assert!(u.action.contains("dmesg"), "{u:?}");
        assert_eq!(find(&v, "records_evicted").level, Level::Ok);
        assert_eq!(find(&v, "options_valid").level, Level::Ok);
        assert_eq!(find(&v, "namespace_active").level, Level::Ok);
        // Every rule has its counters in SAMPLE: all sixteen are there.
        assert_eq!(v.len(), 16, "{v:#?}");
    }

    #[test]
    fn over_an_interval_only_growth_counts() {
        let before = snap(SAMPLE);
        let now = sample_with(&[("options_valid", 22), ("options_untrusted", 2)]);
        let v = verdicts(&Window {
            now: &now,
            before: Some((&before, 5.0)),
        });
        assert!(worries(&v).is_empty(), "{v:#?}");
        assert_eq!(
            find(&v, "options_untrusted").finding,
            "did not grow in the last 5.0 s"
        );
        assert_eq!(
            find(&v, "options_valid").finding,
            "grew by 10 in the last 5.0 s"
        );

        let now = sample_with(&[("options_valid", 12), ("options_untrusted", 12)]);
        let v = verdicts(&Window {
            now: &now,
            before: Some((&before, 4.0)),
        });
        assert_eq!(
            worries(&v),
            ["options_valid", "options_untrusted"],
            "{v:#?}"
        );
        assert!(find(&v, "options_untrusted")
            .finding
            .starts_with("grew by 10 in the last 4.0 s (2.50/s): options from outside"));
    }

    #[test]
    fn each_grows_rule_fires_on_its_counter() {
        for (name, action) in [
            ("records_evicted", "raise max_records"),
            ("records_dropped_at_limit", "raise max_records"),
            ("records_alloc_failed", "memory"),
            ("lookups_refused", "application"),
            ("getname_kept_for_kernel", "v1 look-up"),
            ("options_untrusted", "trusted_sources"),
            ("socket_probes_missed", "instances"),
            ("options_ignored_live_tcp", "capture"),
            ("namespace_activation_failed", "memory"),
        ] {
            let before = sample_with(&[("options_untrusted", 0), ("malformed_bad_ihl", 0)]);
            // The first match counts: the counter under test first.
            let now = sample_with(&[
                (name, before.get(name).unwrap() + 3),
                ("options_untrusted", 0),
                ("malformed_bad_ihl", 0),
                ("options_valid", 13),
            ]);
            let v = verdicts(&Window {
                now: &now,
                before: Some((&before, 1.0)),
            });
            assert_eq!(worries(&v), [name], "{v:#?}");
            let x = find(&v, name);
            assert!(
                x.finding
                    .starts_with("grew by 3 in the last 1.0 s (3.00/s): "),
                "{x:?}"
            );
            assert!(x.action.contains(action), "{x:?}");
        }
    }

    #[test]
    fn malformed_names_the_kinds_that_grew() {
        let before = snap(SAMPLE);
        let now = sample_with(&[("malformed_truncated", 4), ("malformed_bad_ihl", 3)]);
        let v = verdicts(&Window {
            now: &now,
            before: Some((&before, 2.0)),
        });
        let m = find(&v, "malformed_*");
        assert_eq!(m.level, Level::Worry);
        assert!(
            m.finding.starts_with("malformed_truncated +4, malformed_bad_ihl +2 in the last 2.0 s (3.00/s): a balancer sends broken"),
            "{m:?}"
        );
        let v = verdicts(&Window {
            now: &before,
            before: Some((&before, 2.0)),
        });
        assert_eq!(find(&v, "malformed_*").level, Level::Ok);
    }

    #[test]
    fn lookups_misses_with_hits_flat() {
        let before = snap(SAMPLE);
        // v1: misses grow, hits flat: worry. v0: both grow: fine.
        let now = sample_with(&[
            ("options_valid", 13),
            ("lookups_v1_miss", 9),
            ("lookups_v0_hit", 5),
            ("lookups_v0_miss", 5),
        ]);
        let v = verdicts(&Window {
            now: &now,
            before: Some((&before, 1.0)),
        });
        assert_eq!(worries(&v), ["lookups_v1_miss"], "{v:#?}");
        assert_eq!(
            find(&v, "lookups_v1_miss").finding,
            "8 misses and no hit in the last 1.0 s: options missing or expired"
        );
        assert_eq!(
            find(&v, "lookups_v0_miss").finding,
            "5 hits, 5 misses in the last 1.0 s"
        );
    }

    #[test]
    fn expiry_with_misses() {
        let before = snap(SAMPLE);
        let expired_only = sample_with(&[("records_expired", 3), ("options_valid", 13)]);
        let v = verdicts(&Window {
            now: &expired_only,
            before: Some((&before, 1.0)),
        });
        assert_eq!(find(&v, "records_expired").level, Level::Ok);
        let both = sample_with(&[
            ("records_expired", 3),
            ("options_valid", 13),
            ("lookups_v0_miss", 2),
            ("lookups_v0_hit", 1),
        ]);
        let v = verdicts(&Window {
            now: &both,
            before: Some((&before, 1.0)),
        });
        assert_eq!(worries(&v), ["records_expired"], "{v:#?}");
        assert!(find(&v, "records_expired").action.contains("idle_timeout"));
    }

    #[test]
    fn records_live_near_the_limit() {
        let at = |live| {
            let s = sample_with(&[("records_live", live), ("max_records", 1000)]);
            find(
                &verdicts(&Window {
                    now: &s,
                    before: None,
                }),
                "records_live",
            )
            .level
        };
        assert_eq!(at(899), Level::Ok);
        assert_eq!(at(900), Level::Worry);
        assert_eq!(at(1000), Level::Worry);
    }

    #[test]
    fn inactive_namespace_one_worry() {
        // What an idle namespace reads: every counter 0.
        let zero: String = SAMPLE
            .lines()
            .map(|l| {
                let n = l.split(' ').next().unwrap();
                format!("{n} {}\n", if n == "max_records" { 65536 } else { 0 })
            })
            .collect();
        let s = snap(&zero);
        let v = verdicts(&Window {
            now: &s,
            before: None,
        });
        assert_eq!(worries(&v), ["namespace_active"], "{v:#?}");
        assert!(v.iter().all(|x| x.rule != "options_valid"));
        // Active, but nothing valid: options_valid's rule speaks.
        let s = sample_with(&[("options_valid", 0)]);
        let v = verdicts(&Window {
            now: &s,
            before: None,
        });
        assert!(worries(&v).contains(&"options_valid"), "{v:#?}");
    }

    #[test]
    fn a_file_without_some_counters() {
        // An older or newer module: rules whose counters are missing are left out.
        let s = snap("options_valid 3\nnamespace_active 1\nsomething_new 4\n");
        let v = verdicts(&Window {
            now: &s,
            before: None,
        });
        let rules: Vec<_> = v.iter().map(|x| x.rule).collect();
        assert_eq!(rules, ["options_valid", "namespace_active"]);
    }
}
