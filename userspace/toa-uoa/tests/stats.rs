//! End-to-end tests of `toa-uoa stats` that need no module: its command line, and what it
//! says when it cannot read the counters. (With the module loaded: tests/guest/75-stats-cli.sh.)

use std::path::Path;
use std::process::{Command, Output};

fn stats(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_toa-uoa"))
        .arg("stats")
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help() {
    let o = stats(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.starts_with("usage: toa-uoa stats [--netns NAME | --pid PID]"),
        "{text}"
    );
    let top = Command::new(env!("CARGO_BIN_EXE_toa-uoa"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&top.stdout).contains("\n  stats [--netns NAME | --pid PID]"));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["--bogus"][..],
        &["--count", "2"],
        &["--interval", "-1"],
        &["--netns", "a", "--netns", "b"],
        &["--pid"],
    ] {
        let o = stats(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&o).starts_with("toa-uoa stats: "),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn namespace_not_found() {
    let o = stats(&["--netns", "toa-uoa-no-such-namespace"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "toa-uoa stats: no network namespace 'toa-uoa-no-such-namespace': \
         /run/netns/toa-uoa-no-such-namespace does not exist ('ip netns list' names them)\n"
    );
}

#[test]
fn process_not_found() {
    let o = stats(&["--pid", "4194305"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "toa-uoa stats: no process 4194305 (no /proc/4194305)\n"
    );
}

#[test]
fn module_not_loaded() {
    if Path::new("/sys/module/toa_uoa").exists() || Path::new("/proc/net/toa_uoa").exists() {
        eprintln!("toa_uoa is loaded on this machine: not tested here");
        return;
    }
    let o = stats(&[]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.starts_with("toa-uoa stats: no /proc/net/toa_uoa in this process's namespace ("),
        "{e}"
    );
    assert!(e.contains("the toa_uoa module is not loaded"), "{e}");
    // Nor is a Prometheus file written (nor its temporary file).
    let prom = std::env::temp_dir().join(format!("toa-uoa-stats-{}.prom", std::process::id()));
    let o = stats(&["--prometheus", prom.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!prom.exists());
    assert!(!Path::new(&format!("{}.tmp", prom.display())).exists());
    // The same for a process's namespace.
    let pid = std::process::id().to_string();
    let o = stats(&["--pid", &pid]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with(&format!(
            "toa-uoa stats: no /proc/{pid}/net/toa_uoa in the namespace of process {pid}: the toa_uoa module is not loaded"
        )),
        "{}",
        stderr(&o)
    );
}
