//! Where the counters are read: `/proc/net/toa_uoa` of this process's network namespace, of a
//! named one (entered with setns(2)), or of a process's (`/proc/PID/net/toa_uoa`, no setns).

use super::counters::Snapshot;
use std::fs::{self, File};
use std::io::{self, ErrorKind};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// The namespace asked for on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The tool's own network namespace.
    Own,
    /// `/run/netns/NAME` (as `ip netns` names them), or a path to a namespace file if NAME has
    /// a `/` in it (e.g. `/proc/1234/ns/net`, a container runtime's file).
    Netns(String),
    /// The network namespace of process PID.
    Pid(u32),
}

/// A namespace's counters file, ready to be read again and again.
pub struct Source {
    path: PathBuf,
    /// The namespace as the `namespace` label names it.
    pub label: String,
    /// The namespace as the report and the messages name it.
    pub describe: String,
    pid: Option<u32>,
}

const NOT_LOADED: &str = "the toa_uoa module is not loaded (lsmod | grep toa_uoa; load it with \
                          'modprobe toa_uoa' or 'insmod toa_uoa.ko')";

impl Source {
    /// Gets ready to read `target`'s counters: for [`Target::Netns`] this enters the namespace
    /// (the process stays in it; it is single-threaded).
    pub fn open(target: &Target) -> Result<Self, String> {
        match target {
            Target::Own => {
                let label = own_label();
                Ok(Source {
                    path: PathBuf::from("/proc/net/toa_uoa"),
                    describe: format!("this process's namespace ({label})"),
                    label,
                    pid: None,
                })
            }
            Target::Netns(name) => {
                enter(name)?;
                Ok(Source {
                    path: PathBuf::from("/proc/net/toa_uoa"),
                    label: name.clone(),
                    describe: format!("namespace {name}"),
                    pid: None,
                })
            }
            Target::Pid(pid) => {
                let dir = PathBuf::from(format!("/proc/{pid}"));
                if !dir.exists() {
                    return Err(format!("no process {pid} (no {})", dir.display()));
                }
                Ok(Source {
                    path: dir.join("net/toa_uoa"),
                    label: format!("pid:{pid}"),
                    describe: format!("the namespace of process {pid}"),
                    pid: Some(*pid),
                })
            }
        }
    }

    /// One reading.
    pub fn read(&self) -> Result<Snapshot, String> {
        let text = fs::read_to_string(&self.path).map_err(|e| self.read_error(&e))?;
        Snapshot::parse(&text).map_err(|e| {
            format!(
                "{} is not a counters file this version can read: {e}",
                self.path.display()
            )
        })
    }

    fn read_error(&self, e: &io::Error) -> String {
        let path = self.path.display();
        match e.kind() {
            ErrorKind::NotFound => match self.pid {
                Some(pid) if !Path::new(&format!("/proc/{pid}")).exists() => {
                    format!("process {pid} is gone")
                }
                _ if Path::new("/sys/module/toa_uoa").exists() => {
                    format!("no {path} in {}, though toa_uoa is loaded", self.describe)
                }
                _ => format!("no {path} in {}: {NOT_LOADED}", self.describe),
            },
            ErrorKind::PermissionDenied => {
                format!("cannot read {path}: permission denied (run as root)")
            }
            _ => format!("cannot read {path}: {e}"),
        }
    }
}

/// The label of the tool's own namespace: "host" if it is the init process's, else "self".
fn own_label() -> String {
    let own = fs::read_link("/proc/self/ns/net");
    let init = fs::read_link("/proc/1/ns/net");
    match (own, init) {
        (Ok(a), Ok(b)) if a == b => "host".to_string(),
        _ => "self".to_string(),
    }
}

/// The file of the named namespace.
pub fn netns_path(name: &str) -> Result<PathBuf, String> {
    if name.contains('/') {
        return Ok(PathBuf::from(name));
    }
    if name.is_empty() || name == "." || name == ".." {
        return Err(format!("'{name}' is not a namespace name"));
    }
    Ok(Path::new("/run/netns").join(name))
}

/// Enters the network namespace `name` (setns(2), which needs CAP_SYS_ADMIN).
fn enter(name: &str) -> Result<(), String> {
    let path = netns_path(name)?;
    let shown = path.display();
    let file = File::open(&path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => format!(
            "no network namespace '{name}': {shown} does not exist ('ip netns list' names them)"
        ),
        ErrorKind::PermissionDenied => {
            format!("cannot open {shown}: permission denied (run as root)")
        }
        _ => format!("cannot open {shown}: {e}"),
    })?;
    // SAFETY: setns(2) on a descriptor this function owns, alive for the call; it changes
    // only this process's network namespace (the tool has no other thread).
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    Err(match e.raw_os_error() {
        Some(libc::EPERM) => format!(
            "cannot enter network namespace '{name}': permission denied (entering a namespace \
             needs CAP_SYS_ADMIN: run as root)"
        ),
        Some(libc::EINVAL) => format!("{shown} is not a network namespace"),
        _ => format!("cannot enter network namespace '{name}': {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_paths() {
        assert_eq!(netns_path("rs-1").unwrap(), Path::new("/run/netns/rs-1"));
        assert_eq!(
            netns_path("/proc/7/ns/net").unwrap(),
            Path::new("/proc/7/ns/net")
        );
        assert!(netns_path("").is_err());
        assert!(netns_path("..").is_err());
    }

    #[test]
    fn missing_namespace_is_said_so() {
        let e = match Source::open(&Target::Netns("toa-uoa-test-no-such-namespace".into())) {
            Err(e) => e,
            Ok(_) => panic!("opened"),
        };
        assert!(
            e.starts_with("no network namespace 'toa-uoa-test-no-such-namespace': /run/netns/toa-uoa-test-no-such-namespace does not exist"),
            "{e}"
        );
    }

    #[test]
    fn missing_process_is_said_so() {
        // Above the kernel's pid_max limit (4194304): no such process can exist.
        let e = Source::open(&Target::Pid(4_194_305)).err().unwrap();
        assert_eq!(e, "no process 4194305 (no /proc/4194305)");
    }

    #[test]
    fn not_a_network_namespace() {
        // The current process's user namespace file: opening works, setns refuses (EINVAL
        // for a namespace of another type; EPERM without the capability).
        let e = enter("/proc/self/ns/user").err().unwrap();
        assert!(
            e == "/proc/self/ns/user is not a network namespace" || e.contains("permission denied"),
            "{e}"
        );
    }
}
