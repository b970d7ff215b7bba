//! The kernel path's decisions (`path.rs`, `expiry.rs`) run on the host against a fake
//! namespace: packets built by the codec's test builders (written from the wire format), the
//! record table, counters, sockets and the clock all visible to the test.

use std::cell::{Cell, RefCell, RefMut};
use std::string::String;
use std::vec;
use std::vec::Vec;

use toa_uoa_codec as wire;

#[path = "../../codec/tests/common/mod.rs"]
mod packets;

use crate::expiry;
use crate::flow::{Key, AF_INET, AF_INET6};
use crate::option_codec::{Carried, Family, IPPROTO_TCP, IPPROTO_UDP};
use crate::path::{self, Sock, Task, HEAD_LEN, SOCKADDR_IN6_LEN};
use crate::records::Table;
use crate::sockopt::{MAX_LEN, UOA_SO_GET_LOOKUP1};
use crate::state::{LastRefresh, Locked, Namespace, NamespaceState};
use crate::stats::{self, Counter, TOTAL};
use crate::trust::Trust;

/// A namespace's state as the fake keeps it.
struct FakeState {
    locked: RefCell<Locked>,
    trust: RefCell<Trust>,
    counters: RefCell<Vec<u64>>,
    /// TCP sockets that exist: their tuple, and whether each is a full socket.
    sockets: RefCell<Vec<(Key, bool)>>,
    /// The tuples record_arrived was told of, with their answers.
    arrived: RefCell<Vec<(Key, path::Answers)>>,
    now: Cell<u64>,
    grow_asked: Cell<u32>,
    logs: RefCell<Vec<String>>,
    /// This "CPU"'s last refresh; `None`: the context has none (every packet takes the lock).
    last_refresh: Option<RefCell<LastRefresh>>,
    trust_version: Cell<u64>,
}

/// A namespace: its state once activated.
struct FakeNet {
    state: FakeState,
    active: Cell<bool>,
    /// Whether activation finds memory.
    memory: bool,
    live: bool,
}

impl FakeNet {
    fn new(trusted: &str) -> FakeNet {
        FakeNet {
            state: FakeState {
                locked: RefCell::new(Locked::new(Table::new_small(4000, 7).unwrap())),
                trust: RefCell::new(Trust::parse(trusted.as_bytes()).unwrap()),
                counters: RefCell::new(vec![0; TOTAL as usize]),
                sockets: RefCell::new(Vec::new()),
                arrived: RefCell::new(Vec::new()),
                now: Cell::new(1000),
                grow_asked: Cell::new(0),
                logs: RefCell::new(Vec::new()),
                last_refresh: Some(RefCell::new(LastRefresh::default())),
                trust_version: Cell::new(0),
            },
            active: Cell::new(false),
            memory: true,
            live: true,
        }
    }

    fn counter(&self, c: Counter) -> u64 {
        self.state.counters.borrow()[c.index() as usize]
    }

    fn malformed(&self) -> u64 {
        let counters = self.state.counters.borrow();
        counters[stats::FIXED as usize..].iter().sum()
    }

    fn records(&self) -> u32 {
        self.state.locked.borrow().table.len()
    }
}

impl Namespace for FakeNet {
    type State<'s> = &'s FakeState;

    fn state(&self) -> Option<&FakeState> {
        self.active.get().then_some(&self.state)
    }

    fn activate(&self) -> Option<&FakeState> {
        if self.memory {
            self.active.set(true);
        }
        self.state()
    }

    fn live(&self) -> bool {
        self.live
    }

    fn has_records(&self, tcp: bool) -> bool {
        let proto = if tcp { IPPROTO_TCP } else { IPPROTO_UDP };
        self.state.locked.borrow().table.len_of(proto) != 0
    }

    fn trusted_source(&self, family: Family, addr: &[u8; 16]) -> bool {
        self.state.trust.borrow().allows(family, addr)
    }
}

impl NamespaceState for &FakeState {
    type Guard<'g>
        = RefMut<'g, Locked>
    where
        Self: 'g;

    fn lock(&self) -> RefMut<'_, Locked> {
        self.locked.borrow_mut()
    }

    fn count_index(&self, idx: u32) {
        self.counters.borrow_mut()[idx as usize] += 1;
    }

    fn trusted(&self, family: Family, addr: &[u8; 16]) -> bool {
        self.trust.borrow().allows(family, addr)
    }

    fn record_arrived(&self, key: &Key, carried: &Carried) {
        self.arrived
            .borrow_mut()
            .push((*key, path::Answers::of(carried)));
    }

    fn tcp_socket(&self, key: &Key, full: bool) -> bool {
        self.sockets
            .borrow()
            .iter()
            .any(|(k, is_full)| k == key && (*is_full || !full))
    }

    fn grow_soon(&self) {
        self.grow_asked.set(self.grow_asked.get() + 1);
    }

    fn now(&self) -> u64 {
        self.now.get()
    }

    fn table_changes(&self) -> u64 {
        self.locked.borrow().table.changes()
    }

    fn trust_version(&self) -> u64 {
        self.trust_version.get()
    }

    fn with_last_refresh<R>(&self, f: impl FnOnce(&mut LastRefresh) -> R) -> Option<R> {
        let r = self.last_refresh.as_ref()?;
        Some(f(&mut r.borrow_mut()))
    }

    fn log_malformed(&self, kind: &str, _family: Family, _saddr: &[u8; 16]) {
        self.logs.borrow_mut().push(format!("malformed {kind}"));
    }

    fn log_untrusted(&self, _family: Family, _saddr: &[u8; 16]) {
        self.logs.borrow_mut().push(String::from("untrusted"));
    }
}

/// The codec crate's carried value as the module's.
fn ours(c: &wire::Carried) -> Carried {
    Carried {
        family: match c.family {
            wire::Family::V4 => Family::V4,
            wire::Family::V6 => Family::V6,
        },
        cip: c.cip,
        cport: c.cport,
        vip: c.vip,
        vport: c.vport,
    }
}

fn wire_family(f: Family) -> wire::Family {
    match f {
        Family::V4 => wire::Family::V4,
        Family::V6 => wire::Family::V6,
    }
}

/// A packet from the balancer (LIP:LPORT) to this server (RIP:RPORT) carrying `c`; a TCP
/// one is a SYN unless `ack`.
fn option_packet(outer: Family, c: &wire::Carried, protocol: u8, ack: bool) -> Vec<u8> {
    let mut p = packets::packet_with_option(wire_family(outer), c, protocol);
    if protocol == IPPROTO_TCP && ack {
        set_tcp_flags(&mut p, 0x10);
    }
    p
}

/// The same flow without an option; a TCP one is a SYN unless `ack`.
fn plain_packet(outer: Family, protocol: u8, ack: bool) -> Vec<u8> {
    let rest = packets::transport(protocol, b"hello");
    let mut p = match outer {
        Family::V4 => packets::ipv4(&[], protocol, &rest),
        Family::V6 => packets::ipv6(protocol, &[], &rest),
    };
    if protocol == IPPROTO_TCP && ack {
        set_tcp_flags(&mut p, 0x10);
    }
    p
}

fn set_tcp_flags(p: &mut [u8], flags: u8) {
    let t = crate::option_codec::find_transport(p).unwrap();
    p[t.offset + 13] = flags;
}

/// The flow's key as the server sees it.
fn key(outer: Family, protocol: u8) -> Key {
    let (saddr, daddr) = match outer {
        Family::V4 => (v4(packets::LIP4), v4(packets::RIP4)),
        Family::V6 => (packets::LIP6, packets::RIP6),
    };
    Key {
        proto: protocol,
        family: outer,
        saddr,
        sport: packets::LPORT,
        daddr,
        dport: packets::RPORT,
    }
}

fn v4(a: [u8; 4]) -> [u8; 16] {
    let mut x = [0u8; 16];
    x[..4].copy_from_slice(&a);
    x
}

/// The accepted socket of the flow (an AF_INET6 one for an IPv6 flow).
fn sock(outer: Family, protocol: u8) -> Sock {
    let mut s = Sock {
        protocol,
        state: 1, // TCP_ESTABLISHED
        peer_port: packets::LPORT,
        local_port: packets::RPORT,
        ..Sock::default()
    };
    match outer {
        Family::V4 => {
            s.family = AF_INET;
            s.peer4 = packets::LIP4;
            s.local4 = packets::RIP4;
        }
        Family::V6 => {
            s.family = AF_INET6;
            s.peer6 = packets::LIP6;
            s.local6 = packets::RIP6;
        }
    }
    s
}

/// A packet through the path without dpvs_compat.
fn rx(net: &FakeNet, p: &[u8]) {
    assert_eq!(path::rx(net, p, false), None);
}

/// getpeername (`peer`) or getsockname through the path, with room for anything.
fn getname(net: &FakeNet, s: &Sock, peer: bool) -> Option<Vec<u8>> {
    let mut out = [0u8; SOCKADDR_IN6_LEN];
    let n = path::getname(net, s, peer, || 128, &mut out)?;
    Some(out[..n].to_vec())
}

/// The sockaddr the answer should be.
fn sockaddr(family: Family, addr: &[u8; 16], port: u16) -> Vec<u8> {
    let mut out = [0u8; SOCKADDR_IN6_LEN];
    let n = path::sockaddr(family, addr, port, &mut out);
    out[..n].to_vec()
}

const FAMILIES: [Family; 2] = [Family::V4, Family::V6];

/// [`path::passes`] on `p`'s first bytes, its IPv4 options read from `p`.
fn passes(p: &[u8], outer: Family, tcp_may_matter: impl FnOnce(usize) -> bool) -> bool {
    let opts = |len: usize| path::options_may_hold(&p[20..len]);
    path::passes(
        &p[..HEAD_LEN.min(p.len())],
        outer,
        false,
        opts,
        tcp_may_matter,
    )
}

#[test]
fn packets_without_options_leave_at_the_header() {
    for outer in FAMILIES {
        let udp = plain_packet(outer, IPPROTO_UDP, false);
        let syn = plain_packet(outer, IPPROTO_TCP, false);
        let opt = option_packet(outer, &packets::carried4(), IPPROTO_UDP, false);
        assert!(passes(&udp, outer, |_| panic!("not asked for UDP")));
        assert!(!passes(&opt, outer, |_| false), "{outer:?} option");
        // A TCP packet stays only if a SYN could matter (the namespace holds TCP records).
        assert!(passes(&syn, outer, |_| false));
        assert!(!passes(&syn, outer, |_| true));
        // Too short to tell: looked at.
        assert!(!passes(&udp[..3], outer, |_| false));
    }
    // IPv6 extension headers that can hold or hide the option: hop-by-hop, routing,
    // fragment, destination options.
    for nh in [0u8, 43, 44, 60] {
        let p = packets::ipv6(nh, &[], &[]);
        assert!(!passes(&p, Family::V6, |_| false), "{nh}");
    }
    assert!(path::is_syn(0x02) && !path::is_syn(0x12) && !path::is_syn(0x10));
}

#[test]
fn ipv4_options_without_a_31_leave_at_the_header() {
    let rest = packets::transport(IPPROTO_UDP, b"hello");
    // Eight NOPs; a timestamp option (type 68, length 12, pointer 5, no stamps yet) and NOPs;
    // router alert.
    let nops = packets::ipv4(&[1; 8], IPPROTO_UDP, &rest);
    let ts = packets::ipv4(
        &[68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0],
        IPPROTO_UDP,
        &rest,
    );
    let ra = packets::ipv4(&[148, 4, 0, 0], IPPROTO_UDP, &rest);
    for p in [&nops, &ts, &ra] {
        assert!(passes(p, Family::V4, |_| panic!("not asked for UDP")));
        // What the parser would have found: nothing, and nothing wrong.
        assert_eq!(crate::option_codec::parse_packet(p), Ok(None));
    }
    // A byte 31 anywhere in them (here a timestamp's data) and the packet is looked at,
    // as is our option behind NOPs; a TCP packet with NOPs is a TCP packet (a SYN matters
    // if the namespace holds TCP records).
    let ts31 = packets::ipv4(&[68, 12, 5, 0, 0, 0, 0, 31, 0, 0, 0, 0], IPPROTO_UDP, &rest);
    assert!(!passes(&ts31, Family::V4, |_| false));
    let mut opt = vec![1u8; 4];
    opt.extend(packets::v4_option(&packets::carried4()));
    let behind = packets::ipv4(&opt, IPPROTO_UDP, &rest);
    assert!(!passes(&behind, Family::V4, |_| false));
    let syn = packets::ipv4(&[1; 8], IPPROTO_TCP, &packets::transport(IPPROTO_TCP, b""));
    assert!(passes(&syn, Family::V4, |_| false));
    // (TCP's header starts after the options.)
    assert!(!passes(&syn, Family::V4, |len| len == 28));
}

#[test]
fn an_option_records_and_getname_answers_in_all_cases() {
    for outer in FAMILIES {
        for c in [packets::carried4(), packets::carried6()] {
            for protocol in [IPPROTO_TCP, IPPROTO_UDP] {
                let net = FakeNet::new("");
                let p = option_packet(outer, &c, protocol, false);
                rx(&net, &p);
                assert_eq!(net.records(), 1);
                assert_eq!(net.counter(Counter::OptionsValid), 1);
                assert_eq!(net.counter(Counter::RecordsNew), 1);
                assert_eq!(net.state.grow_asked.get(), 1, "first record: grow asked");
                let s = sock(outer, protocol);
                assert!(path::getname_wanted(&net, &s));
                let want = ours(&c);
                assert_eq!(
                    getname(&net, &s, true),
                    Some(sockaddr(want.family, &want.cip, want.cport))
                );
                assert_eq!(
                    getname(&net, &s, false),
                    Some(sockaddr(want.family, &want.vip, want.vport))
                );
                assert_eq!(net.counter(Counter::GetnameRewritten), 2);
                // The same option again only refreshes.
                rx(&net, &p);
                assert_eq!(net.counter(Counter::RecordsRefreshed), 1);
                assert_eq!(net.state.grow_asked.get(), 1, "asked once");
            }
        }
    }
}

#[test]
fn a_plain_packet_does_not_make_the_state() {
    let net = FakeNet::new("");
    rx(&net, &plain_packet(Family::V4, IPPROTO_TCP, false));
    assert!(!net.active.get());
    // Without memory an option is dropped quietly: nothing to count it in.
    let mut net = FakeNet::new("");
    net.memory = false;
    rx(
        &net,
        &option_packet(Family::V4, &packets::carried4(), IPPROTO_UDP, false),
    );
    assert!(!net.active.get());
    assert_eq!(net.records(), 0);
}

#[test]
fn untrusted_and_malformed_options_are_counted_and_named() {
    let net = FakeNet::new("10.0.0.0/8");
    let c = packets::carried4();
    rx(&net, &option_packet(Family::V4, &c, IPPROTO_UDP, false));
    assert_eq!(net.records(), 0);
    assert_eq!(net.counter(Counter::OptionsUntrusted), 1);
    assert_eq!(*net.state.logs.borrow(), ["untrusted"]);

    let net = FakeNet::new("");
    let mut p = option_packet(Family::V4, &c, IPPROTO_UDP, false);
    p[21] = 13; // the type-31 option's length: neither 16 nor 40
    rx(&net, &p);
    assert_eq!(net.records(), 0);
    assert_eq!(net.malformed(), 1);
    assert_eq!(net.state.logs.borrow().len(), 1);
    assert!(net.state.logs.borrow()[0].starts_with("malformed "));
}

#[test]
fn options_on_other_transports_are_counted_not_recorded() {
    let net = FakeNet::new("");
    let c = packets::carried4();
    let p = packets::ipv4(&packets::v4_option(&c), 132, &[0; 12]); // SCTP
    rx(&net, &p);
    assert_eq!(net.records(), 0);
    assert_eq!(net.counter(Counter::OptionsNotTcpUdp), 1);
}

#[test]
fn a_syn_forgets_the_tuple_unless_its_connection_is_live() {
    for outer in FAMILIES {
        let net = FakeNet::new("");
        let k = key(outer, IPPROTO_TCP);
        let opt = option_packet(outer, &packets::carried4(), IPPROTO_TCP, true);
        let syn = plain_packet(outer, IPPROTO_TCP, false);
        rx(&net, &opt);
        assert_eq!(net.records(), 1);
        // A live connection on the tuple: the SYN opens nothing, the record stays.
        net.state.sockets.borrow_mut().push((k, true));
        rx(&net, &syn);
        assert_eq!(net.records(), 1);
        // A TIME_WAIT one is not live: a new connection, the old record goes.
        net.state.sockets.borrow_mut()[0].1 = false;
        rx(&net, &syn);
        assert_eq!(net.records(), 0);
        assert_eq!(net.counter(Counter::RecordsForgottenBySyn), 1);
        // A plain ACK forgets nothing.
        rx(&net, &opt);
        rx(&net, &plain_packet(outer, IPPROTO_TCP, true));
        assert_eq!(net.records(), 1);
    }
    // A SYN from outside the trusted sources forgets nothing.
    let net = FakeNet::new("198.51.100.7/32");
    rx(
        &net,
        &option_packet(Family::V4, &packets::carried4(), IPPROTO_TCP, true),
    );
    assert_eq!(net.records(), 1);
    net.state.locked.borrow_mut().table.clear();
    let trusted = FakeNet::new("10.0.0.0/8");
    rx(
        &trusted,
        &option_packet(Family::V4, &packets::carried4(), IPPROTO_TCP, true),
    );
    assert_eq!(trusted.records(), 0, "untrusted option");
}

#[test]
fn a_tcp_record_changes_only_on_a_syn_of_a_new_connection() {
    let net = FakeNet::new("");
    let (a, b) = (packets::carried4(), packets::carried6());
    let s = sock(Family::V4, IPPROTO_TCP);
    rx(&net, &option_packet(Family::V4, &a, IPPROTO_TCP, true));
    // Other addresses on an ACK: ignored (a forged packet needs no sequence number here).
    rx(&net, &option_packet(Family::V4, &b, IPPROTO_TCP, true));
    assert_eq!(net.counter(Counter::OptionsIgnoredLiveTcp), 1);
    let ca = ours(&a);
    assert_eq!(
        getname(&net, &s, true),
        Some(sockaddr(ca.family, &ca.cip, ca.cport))
    );
    // On a SYN with a live connection on the tuple: ignored too.
    net.state
        .sockets
        .borrow_mut()
        .push((key(Family::V4, IPPROTO_TCP), true));
    rx(&net, &option_packet(Family::V4, &b, IPPROTO_TCP, false));
    assert_eq!(net.counter(Counter::OptionsIgnoredLiveTcp), 2);
    // On a SYN of a new connection: replaced.
    net.state.sockets.borrow_mut().clear();
    rx(&net, &option_packet(Family::V4, &b, IPPROTO_TCP, false));
    assert_eq!(net.counter(Counter::RecordsReplaced), 1);
    let cb = ours(&b);
    assert_eq!(
        getname(&net, &s, true),
        Some(sockaddr(cb.family, &cb.cip, cb.cport))
    );
}

#[test]
fn getname_is_declined_where_no_record_can_answer() {
    let mut net = FakeNet::new("");
    rx(
        &net,
        &option_packet(Family::V4, &packets::carried4(), IPPROTO_TCP, true),
    );
    let s = sock(Family::V4, IPPROTO_TCP);
    assert!(path::getname_wanted(&net, &s));
    for state in [path::TCP_LISTEN, path::TCP_CLOSE, path::TCP_SYN_SENT] {
        assert!(!path::getname_wanted(&net, &Sock { state, ..s }));
    }
    assert!(!path::getname_wanted(&net, &Sock { peer_port: 0, ..s }));
    // UDP: the namespace has no UDP record.
    assert!(!path::getname_wanted(
        &net,
        &Sock {
            protocol: IPPROTO_UDP,
            ..s
        }
    ));
    assert!(!path::getname_wanted(&net, &Sock { protocol: 132, ..s }));
    net.live = false;
    assert!(!path::getname_wanted(&net, &s));
    // Wanted but another tuple: no answer, the kernel's stands.
    net.live = true;
    assert_eq!(getname(&net, &Sock { local_port: 1, ..s }, true), None);
}

#[test]
fn an_ipv4_mapped_peer_is_the_ipv4_flow() {
    let net = FakeNet::new("");
    let c = packets::carried4();
    rx(&net, &option_packet(Family::V4, &c, IPPROTO_TCP, true));
    let mut mapped = [0u8; 16];
    mapped[10..12].copy_from_slice(&[0xff, 0xff]);
    let mut peer6 = mapped;
    peer6[12..].copy_from_slice(&packets::LIP4);
    let s = Sock {
        family: AF_INET6,
        peer6,
        peer4: packets::LIP4,
        local4: packets::RIP4,
        ..sock(Family::V4, IPPROTO_TCP)
    };
    assert_eq!(path::key_of_sock(&s), key(Family::V4, IPPROTO_TCP));
    let w = ours(&c);
    assert_eq!(
        getname(&net, &s, true),
        Some(sockaddr(w.family, &w.cip, w.cport))
    );
}

#[test]
fn the_getname_buffer_room_follows_the_task() {
    const GETPEERNAME: i64 = 52;
    let storage = [GETPEERNAME, 51];
    let user = Task {
        kthread: false,
        compat: false,
        syscall: GETPEERNAME,
    };
    assert_eq!(path::getname_room(&user, AF_INET, &storage), 128);
    let other = Task { syscall: 0, ..user };
    assert_eq!(path::getname_room(&other, AF_INET, &storage), 16);
    assert_eq!(path::getname_room(&other, AF_INET6, &storage), 28);
    let kthread = Task {
        kthread: true,
        ..user
    };
    assert_eq!(path::getname_room(&kthread, AF_INET, &storage), 16);
    let compat = Task {
        compat: true,
        ..user
    };
    assert_eq!(path::getname_room(&compat, AF_INET, &storage), 16);

    // The 64 case: an IPv6 client on an IPv4 socket needs 28 bytes; with 16 the kernel's
    // answer stands, counted.
    let net = FakeNet::new("");
    rx(
        &net,
        &option_packet(Family::V4, &packets::carried6(), IPPROTO_TCP, true),
    );
    let mut out = [0u8; SOCKADDR_IN6_LEN];
    let s = sock(Family::V4, IPPROTO_TCP);
    assert_eq!(path::getname(&net, &s, true, || 16, &mut out), None);
    assert_eq!(net.counter(Counter::GetnameKeptForKernel), 1);
    assert_eq!(path::getname(&net, &s, true, || 128, &mut out), Some(28));
}

#[test]
fn getsockopt_lookups_are_counted() {
    let net = FakeNet::new("");
    let c = packets::carried4();
    rx(&net, &option_packet(Family::V4, &c, IPPROTO_UDP, false));
    let ctx = net.state().unwrap();
    // v1: type AF_INET, sport, dport, saddr, daddr (the datagram's tuple).
    let mut input = vec![0u8; 40];
    input[..4].copy_from_slice(&u32::from(AF_INET).to_ne_bytes());
    input[4..6].copy_from_slice(&packets::LPORT.to_be_bytes());
    input[6..8].copy_from_slice(&packets::RPORT.to_be_bytes());
    input[8..12].copy_from_slice(&packets::LIP4);
    input[12..16].copy_from_slice(&packets::RIP4);
    let mut out = [0u8; MAX_LEN];
    let r = path::lookup(
        Some(&ctx),
        IPPROTO_UDP,
        UOA_SO_GET_LOOKUP1,
        40,
        &input,
        &mut out,
    );
    assert_eq!(r, Ok(40));
    assert_eq!(&out[8..12], &ours(&c).cip[..4]);
    // Records are per transport: the same tuple on a TCP socket has none.
    let r = path::lookup(
        Some(&ctx),
        IPPROTO_TCP,
        UOA_SO_GET_LOOKUP1,
        40,
        &input,
        &mut out,
    );
    assert_eq!(r, Err(crate::abi::AbiError::NoRecord));
    let r = path::lookup(
        Some(&ctx),
        IPPROTO_UDP,
        UOA_SO_GET_LOOKUP1,
        39,
        &input,
        &mut out,
    );
    assert_eq!(r, Err(crate::abi::AbiError::Invalid));
    assert_eq!(net.counter(Counter::LookupsV1Hit), 1);
    assert_eq!(net.counter(Counter::LookupsV1Miss), 1);
    assert_eq!(net.counter(Counter::LookupsRefused), 1);
    // No state: the same answer, uncounted.
    let r = path::lookup(
        None::<&&FakeState>,
        IPPROTO_UDP,
        UOA_SO_GET_LOOKUP1,
        40,
        &input,
        &mut out,
    );
    assert_eq!(r, Err(crate::abi::AbiError::NoRecord));
}

#[test]
fn expiry_grows_first_then_sweeps_idle_records_keeping_live_connections() {
    let net = FakeNet::new("");
    let idle = 300;
    let udp = option_packet(Family::V4, &packets::carried4(), IPPROTO_UDP, false);
    let tcp = option_packet(Family::V6, &packets::carried4(), IPPROTO_TCP, true);
    rx(&net, &udp);
    rx(&net, &tcp);
    let ctx = net.state().unwrap();
    let small = ctx.lock().table.buckets();
    let mut rescheds = 0;
    // The first run only grows the table.
    expiry::gc(&ctx, idle, || rescheds += 1);
    {
        let l = ctx.lock();
        assert!(l.table.buckets() > small);
        assert_eq!(l.table.buckets(), l.table.buckets_wanted());
        assert_eq!(l.table.len(), 2);
    }
    // Not idle yet: nothing goes.
    net.state.now.set(1000 + idle - 1);
    expiry::gc(&ctx, idle, || rescheds += 1);
    assert_eq!(net.records(), 2);
    // Idle: the UDP record goes; the TCP one stays while its connection exists (TIME_WAIT
    // included), and goes with it.
    net.state
        .sockets
        .borrow_mut()
        .push((key(Family::V6, IPPROTO_TCP), false));
    net.state.now.set(1000 + idle + 1);
    expiry::gc(&ctx, idle, || rescheds += 1);
    assert_eq!(net.records(), 1);
    assert_eq!(net.counter(Counter::RecordsExpired), 1);
    net.state.sockets.borrow_mut().clear();
    net.state.now.set(1000 + 3 * idle);
    expiry::gc(&ctx, idle, || rescheds += 1);
    assert_eq!(net.records(), 0);
    assert_eq!(net.counter(Counter::RecordsExpired), 2);
    assert!(
        rescheds > 0,
        "the sweep lets the scheduler in between chunks"
    );
}

#[test]
fn an_accepted_socket_answers_waits_or_gets_the_kernel_operations() {
    use path::Accepted::{Answer, Kernel, Pending};
    for outer in FAMILIES {
        let trusted_other = match outer {
            Family::V4 => "203.0.113.0/24",
            Family::V6 => "2001:db8:ffff::/48",
        };
        let s = sock(outer, IPPROTO_TCP);
        // Not trusted, no record: the kernel's operations.
        assert_eq!(path::accepted(&FakeNet::new(trusted_other), &s), Kernel);
        // Trusted (every source, the default), no record yet: waits for one.
        assert_eq!(path::accepted(&FakeNet::new(""), &s), Pending);
        // A record (made while the source was trusted): answers, even if not trusted now.
        let net = FakeNet::new("");
        rx(
            &net,
            &option_packet(outer, &packets::carried4(), IPPROTO_TCP, false),
        );
        let untrusted_now = FakeNet {
            state: FakeState {
                trust: RefCell::new(Trust::parse(trusted_other.as_bytes()).unwrap()),
                ..net.state
            },
            ..net
        };
        assert_eq!(
            path::accepted(&untrusted_now, &s),
            Answer(path::Answers::of(&ours(&packets::carried4())))
        );
        // Never a UDP socket, a listener, a socket without a peer, or a namespace going away.
        for other in [
            sock(outer, IPPROTO_UDP),
            Sock {
                state: path::TCP_LISTEN,
                ..s
            },
            Sock { peer_port: 0, ..s },
        ] {
            assert_eq!(path::accepted(&untrusted_now, &other), Kernel);
        }
        let going = FakeNet {
            live: false,
            ..untrusted_now
        };
        assert_eq!(path::accepted(&going, &s), Kernel);
    }
}

#[test]
fn a_tcp_record_after_the_handshake_tells_the_waiting_socket() {
    let c = packets::carried4();
    // On the SYN: no socket can be waiting yet.
    let net = FakeNet::new("");
    rx(&net, &option_packet(Family::V4, &c, IPPROTO_TCP, false));
    assert!(net.state.arrived.borrow().is_empty());
    // On a later packet (the first data packet): the tuple's socket is told, once.
    let net = FakeNet::new("");
    let p = option_packet(Family::V4, &c, IPPROTO_TCP, true);
    rx(&net, &p);
    rx(&net, &p);
    assert_eq!(
        *net.state.arrived.borrow(),
        vec![(key(Family::V4, IPPROTO_TCP), path::Answers::of(&ours(&c)))]
    );
    // UDP records have no waiting socket.
    let net = FakeNet::new("");
    rx(&net, &option_packet(Family::V4, &c, IPPROTO_UDP, true));
    assert!(net.state.arrived.borrow().is_empty());
}

#[test]
fn a_connection_answers_are_its_record_sockaddrs() {
    // IPv4 client and VIP: sockaddr_in each (family, port in network order, address).
    let c4 = ours(&packets::carried4());
    let a = path::Answers::of(&c4);
    let peer = a.get(true).unwrap();
    assert_eq!(peer.len(), path::SOCKADDR_IN_LEN);
    assert_eq!(&peer[..2], &2u16.to_ne_bytes());
    assert_eq!(&peer[2..4], &c4.cport.to_be_bytes());
    assert_eq!(&peer[4..8], &c4.cip[..4]);
    let name = a.get(false).unwrap();
    assert_eq!(&name[2..4], &c4.vport.to_be_bytes());
    assert_eq!(&name[4..8], &c4.vip[..4]);
    // IPv6: sockaddr_in6, 28 bytes.
    let c6 = ours(&packets::carried6());
    let a = path::Answers::of(&c6);
    assert_eq!(a.get(true).unwrap().len(), path::SOCKADDR_IN6_LEN);
    assert_eq!(&a.get(true).unwrap()[8..24], &c6.cip);
    assert_eq!(&a.get(false).unwrap()[8..24], &c6.vip);
    // No VIP (DPVS's formats): getsockname keeps the kernel's answer.
    let novip = Carried {
        vip: [0; 16],
        vport: 0,
        ..c4
    };
    let a = path::Answers::of(&novip);
    assert!(a.get(true).is_some());
    assert_eq!(a.get(false), None);
    // Only an answer longer than any caller's buffer asks for the room.
    assert_eq!(
        path::fits(path::SOCKADDR_IN_LEN, || unreachable!()),
        (true, Counter::GetnameRewritten)
    );
    assert_eq!(
        path::fits(path::SOCKADDR_IN6_LEN, || path::SOCKADDR_IN_LEN),
        (false, Counter::GetnameKeptForKernel)
    );
    assert_eq!(
        path::fits(path::SOCKADDR_IN6_LEN, || 128),
        (true, Counter::GetnameRewritten)
    );
}

#[test]
fn a_connected_udp_socket_takes_the_module_operations_only_with_a_record() {
    for outer in FAMILIES {
        let net = FakeNet::new("");
        let s = sock(outer, IPPROTO_UDP);
        // Trusted peer, no record (a resolver's socket, say): the kernel's.
        assert!(!path::keeps_connected(&net, &s));
        rx(
            &net,
            &option_packet(outer, &packets::carried6(), IPPROTO_UDP, false),
        );
        assert!(path::keeps_connected(&net, &s));
        // Another peer port: another tuple, no record.
        assert!(!path::keeps_connected(&net, &Sock { peer_port: 1, ..s }));
        assert!(!path::keeps_connected(&net, &sock(outer, IPPROTO_TCP)));
    }
}

#[test]
fn dpvs_formats_record_the_client_only_with_dpvs_compat() {
    use packets::dpvs::{insert_ipopt_uoa, tcp_in_add_toa, Caddr};
    let cip4 = [203, 0, 113, 9];
    let mut cip6 = [0u8; 16];
    cip6[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    cip6[15] = 9;
    let cases: [(Family, u8, Caddr, Counter); 4] = [
        (
            Family::V4,
            IPPROTO_TCP,
            Caddr::In(cip4),
            Counter::OptionsDpvsToa,
        ),
        (
            Family::V6,
            IPPROTO_TCP,
            Caddr::In6(cip6),
            Counter::OptionsDpvsToa,
        ),
        (
            Family::V4,
            IPPROTO_UDP,
            Caddr::In(cip4),
            Counter::OptionsDpvsUoaIpo,
        ),
        (
            Family::V4,
            IPPROTO_UDP,
            Caddr::In6(cip6),
            Counter::OptionsDpvsUoaIpo,
        ),
    ];
    for (outer, protocol, caddr, counter) in cases {
        // TOA goes on the ACK completing the handshake (never a SYN).
        let plain = plain_packet(outer, protocol, true);
        let p = if protocol == IPPROTO_TCP {
            tcp_in_add_toa(&plain, caddr, 40000)
        } else {
            insert_ipopt_uoa(&plain, caddr, 40000)
        };
        // Without dpvs_compat: a TOA packet is an ordinary packet, an ipo is malformed.
        let net = FakeNet::new("");
        rx(&net, &p);
        assert_eq!(net.records(), 0);
        assert_eq!(net.counter(counter), 0);
        // With it: the client, no VIP.
        let net = FakeNet::new("");
        path::rx(&net, &p, true);
        assert_eq!(net.records(), 1, "{outer:?} {protocol} {caddr:?}");
        assert_eq!(net.counter(counter), 1);
        assert_eq!(net.counter(Counter::OptionsValid), 0);
        let s = sock(outer, protocol);
        let (family, cip) = match caddr {
            Caddr::In(a) => (Family::V4, v4(a)),
            Caddr::In6(a) => (Family::V6, a),
        };
        assert_eq!(getname(&net, &s, true), Some(sockaddr(family, &cip, 40000)));
        // getsockname: the record has no VIP, the socket's own address stands.
        assert_eq!(getname(&net, &s, false), None);
        // From outside trusted_sources: counted as untrusted, not recorded.
        let net = FakeNet::new("192.0.2.0/24,2001:db8:ffff::/48");
        path::rx(&net, &p, true);
        assert_eq!(net.records(), 0);
        assert_eq!(net.counter(Counter::OptionsUntrusted), 1);
    }
}

#[test]
fn a_unified_option_wins_over_toa_and_a_bad_toa_is_counted() {
    use packets::dpvs::{tcp_in_add_toa, tcpopt_addr, Caddr};
    let c = packets::carried4();
    let p = tcp_in_add_toa(
        &option_packet(Family::V4, &c, IPPROTO_TCP, true),
        Caddr::In([203, 0, 113, 9]),
        40000,
    );
    let net = FakeNet::new("");
    path::rx(&net, &p, true);
    assert_eq!(net.counter(Counter::OptionsValid), 1);
    assert_eq!(net.counter(Counter::OptionsDpvsToa), 0);
    let want = ours(&c);
    let s = sock(Family::V4, IPPROTO_TCP);
    assert_eq!(
        getname(&net, &s, true),
        Some(sockaddr(want.family, &want.cip, want.cport))
    );
    // An ipo before the unified option in the same IPv4 header: the unified one wins too.
    use packets::dpvs::insert_ipopt_uoa;
    let both = insert_ipopt_uoa(
        &option_packet(Family::V4, &c, IPPROTO_UDP, false),
        Caddr::In([203, 0, 113, 9]),
        40000,
    );
    let net = FakeNet::new("");
    path::rx(&net, &both, true);
    assert_eq!(net.counter(Counter::OptionsValid), 1);
    assert_eq!(net.counter(Counter::OptionsDpvsUoaIpo), 0);
    assert_eq!(
        getname(&net, &sock(Family::V4, IPPROTO_UDP), true),
        Some(sockaddr(want.family, &want.cip, want.cport))
    );
    // Without dpvs_compat the same packet is malformed (an 8-byte type-31 option).
    let net = FakeNet::new("");
    rx(&net, &both);
    assert_eq!(net.records(), 0);
    // A TOA whose length byte is wrong: counted as a malformed DPVS option, logged.
    let mut bad = tcp_in_add_toa(
        &plain_packet(Family::V4, IPPROTO_TCP, true),
        Caddr::In([203, 0, 113, 9]),
        40000,
    );
    let at = bad
        .windows(2)
        .position(|w| w == &tcpopt_addr(Caddr::In([203, 0, 113, 9]), 40000)[..2])
        .unwrap();
    bad[at + 1] = 30;
    let net = FakeNet::new("");
    path::rx(&net, &bad, true);
    assert_eq!(net.records(), 0);
    assert_eq!(net.counter(Counter::OptionsDpvsMalformed), 1);
    assert_eq!(net.state.logs.borrow().len(), 1);
}

#[test]
fn tcp_packets_leave_early_unless_a_syn_may_forget_or_toa_may_be_first() {
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    let five = 5 << 4;
    let eight = 8 << 4;
    // SYN: only if the namespace has TCP records.
    assert!(path::tcp_matters([five, SYN], false, || None, || true));
    assert!(!path::tcp_matters(
        [five, SYN],
        true,
        || Some(254),
        || false
    ));
    // Not a SYN: only with dpvs_compat, options, and kind 254 first.
    assert!(!path::tcp_matters(
        [eight, ACK],
        false,
        || Some(254),
        || true
    ));
    assert!(!path::tcp_matters([five, ACK], true, || Some(254), || true));
    assert!(!path::tcp_matters([eight, ACK], true, || Some(1), || true));
    assert!(path::tcp_matters(
        [eight, ACK],
        true,
        || Some(254),
        || false
    ));
}

#[test]
fn the_nat64_look_up_answers_an_ipv6_client_as_dpvs_toa_does() {
    use path::Nat64Error::{Invalid, NotConnected};
    let mut out = [0xa5u8; path::NAT64_PEER_LEN];
    let net = FakeNet::new("");
    let s = sock(Family::V4, IPPROTO_TCP);
    // No state, no record: EINVAL.
    assert_eq!(path::nat64_peer(&net, &s, 20, &mut out), Err(Invalid));
    rx(
        &net,
        &option_packet(Family::V4, &packets::carried6(), IPPROTO_TCP, false),
    );
    assert_eq!(path::nat64_peer(&net, &s, 19, &mut out), Err(Invalid));
    let unconnected = Sock { peer_port: 0, ..s };
    assert_eq!(
        path::nat64_peer(&net, &unconnected, 20, &mut out),
        Err(NotConnected)
    );
    assert_eq!(path::nat64_peer(&net, &s, 20, &mut out), Ok(()));
    let want = ours(&packets::carried6());
    assert_eq!(&out[..16], &want.cip);
    assert_eq!(&out[16..18], &want.cport.to_be_bytes());
    assert_eq!(&out[18..], &[0, 0]);
    // An IPv4 client: EINVAL.
    let net = FakeNet::new("");
    rx(
        &net,
        &option_packet(Family::V4, &packets::carried4(), IPPROTO_TCP, false),
    );
    assert_eq!(path::nat64_peer(&net, &s, 20, &mut out), Err(Invalid));
}

#[test]
fn an_opp_datagram_is_recorded_and_its_header_handed_back_for_removal() {
    use packets::dpvs::{insert_opp_uoa, Caddr};
    for outer in FAMILIES {
        let plain = plain_packet(outer, IPPROTO_UDP, false);
        let p = insert_opp_uoa(&plain, Caddr::In([203, 0, 113, 9]), 40000);
        // Without dpvs_compat: nothing to remove, nothing recorded.
        let net = FakeNet::new("");
        assert_eq!(path::rx(&net, &p, false), None);
        assert_eq!(net.records(), 0);
        // With it: the header, where the UDP header follows it; the client recorded.
        let net = FakeNet::new("");
        let opp = path::rx(&net, &p, true).expect("an opp header to remove");
        // The UDP header and payload behind it (DPVS computes the IPv6 UDP checksum afresh).
        let (udp, want) = (&p[opp.offset + opp.len..], &plain[opp.offset..]);
        assert_eq!((&udp[..6], &udp[8..]), (&want[..6], &want[8..]));
        assert_eq!(net.records(), 1);
        assert_eq!(net.counter(Counter::OptionsDpvsUoaOpp), 1);
        // From an untrusted source: still removed (the datagram is the client's), not recorded.
        let net = FakeNet::new("192.0.2.0/24,2001:db8:ffff::/48");
        assert!(path::rx(&net, &p, true).is_some());
        assert_eq!(net.records(), 0);
        assert_eq!(net.counter(Counter::OptionsUntrusted), 1);
    }
}

/// `p` (a packet of the test flow) with source port `sport`.
fn with_sport(mut p: Vec<u8>, sport: u16) -> Vec<u8> {
    let t = crate::option_codec::find_transport(&p).unwrap();
    p[t.offset..t.offset + 2].copy_from_slice(&sport.to_be_bytes());
    p
}

#[test]
fn a_repeated_option_in_its_jiffy_is_counted_without_the_table() {
    for outer in FAMILIES {
        let net = FakeNet::new("");
        let p = option_packet(outer, &packets::carried4(), IPPROTO_UDP, false);
        // The first packet makes the record, the second refreshes it under the lock (and is
        // the last refresh), the next ones are counted without it.
        for _ in 0..4 {
            rx(&net, &p);
        }
        let lockless = || net.counter(Counter::RecordsRefreshedLockless);
        assert_eq!(lockless(), 2, "{outer:?}");
        assert_eq!(net.counter(Counter::OptionsValid), 4);
        assert_eq!(net.counter(Counter::RecordsNew), 1);
        assert_eq!(net.counter(Counter::RecordsRefreshed), 3);
        // The next jiffy refreshes the record under the lock: its last-seen time moves.
        net.state.now.set(1001);
        rx(&net, &p);
        assert_eq!(lockless(), 2);
        assert_eq!(net.counter(Counter::RecordsRefreshed), 4);
        rx(&net, &p);
        assert_eq!(lockless(), 3);
        // Another tuple, or other addresses on the same tuple, are not the last refresh.
        rx(&net, &with_sport(p.clone(), 1));
        rx(
            &net,
            &option_packet(outer, &packets::carried6(), IPPROTO_UDP, false),
        );
        assert_eq!(lockless(), 3);
        assert_eq!(net.counter(Counter::RecordsNew), 2);
        assert_eq!(net.counter(Counter::RecordsReplaced), 1);
    }
}

#[test]
fn a_tcp_handshakes_ack_after_its_syn_is_counted_without_the_table() {
    for outer in FAMILIES {
        let net = FakeNet::new("");
        let c = packets::carried4();
        // The SYN's new record is the last refresh (TCP only): its ACK needs no lock.
        rx(&net, &option_packet(outer, &c, IPPROTO_TCP, true));
        rx(&net, &option_packet(outer, &c, IPPROTO_TCP, false));
        let lockless = || net.counter(Counter::RecordsRefreshedLockless);
        assert_eq!(lockless(), 1, "{outer:?}");
        assert_eq!(net.counter(Counter::RecordsNew), 1);
        assert_eq!(net.counter(Counter::RecordsRefreshed), 1);
        // A UDP flow's first datagram is not: its second takes the lock.
        let u = FakeNet::new("");
        rx(&u, &option_packet(outer, &c, IPPROTO_UDP, false));
        rx(&u, &option_packet(outer, &c, IPPROTO_UDP, false));
        assert_eq!(u.counter(Counter::RecordsRefreshedLockless), 0);
        assert_eq!(u.counter(Counter::RecordsRefreshed), 1);
    }
}

#[test]
fn a_record_removed_in_the_jiffy_is_made_again() {
    for outer in FAMILIES {
        let net = FakeNet::new("");
        let c = packets::carried4();
        let ack = option_packet(outer, &c, IPPROTO_TCP, true);
        rx(&net, &ack);
        assert_eq!(net.records(), 1);
        // A SYN without the option on the tuple (no connection there) forgets the record;
        // the same option again, in the same jiffy, makes it again.
        rx(&net, &plain_packet(outer, IPPROTO_TCP, false));
        assert_eq!(net.records(), 0, "{outer:?}");
        rx(&net, &ack);
        assert_eq!(net.records(), 1);
        assert_eq!(net.counter(Counter::RecordsNew), 2);
        assert_eq!(net.counter(Counter::RecordsRefreshedLockless), 0);
    }
}

#[test]
fn a_change_of_trusted_sources_ends_the_last_refresh() {
    let net = FakeNet::new("");
    let p = option_packet(Family::V4, &packets::carried4(), IPPROTO_UDP, false);
    for _ in 0..3 {
        rx(&net, &p);
    }
    assert_eq!(net.counter(Counter::RecordsRefreshedLockless), 1);
    // The balancer's address is no longer trusted: the option is ignored at once.
    *net.state.trust.borrow_mut() = Trust::parse(b"203.0.113.0/24").unwrap();
    net.state.trust_version.set(1);
    rx(&net, &p);
    assert_eq!(net.counter(Counter::RecordsRefreshedLockless), 1);
    assert_eq!(net.counter(Counter::OptionsUntrusted), 1);
}

/// What a namespace shows after a run: counters (but the lockless refreshes), records, and
/// each flow's record.
fn outcome(net: &FakeNet, keys: &[Key]) -> (Vec<u64>, u32, Vec<Option<Carried>>) {
    let now = net.state.now.get();
    let mut l = net.state.locked.borrow_mut();
    let records = keys
        .iter()
        .map(|k| l.table.lookup(&crate::flow::Query::exact(*k), now))
        .collect();
    // Which refreshes took the lock is all that may differ.
    let mut counters = net.state.counters.borrow().clone();
    counters[Counter::RecordsRefreshedLockless.index() as usize] = 0;
    (counters, l.table.len(), records)
}

proptest::proptest! {
    /// Any run of option packets (TCP and UDP, SYN or not, both outer families, a few flows
    /// and addresses, any byte of them changed: the fields a flow's packets do not share,
    /// or any other), SYNs without the option, expiry runs, connections that open and close,
    /// time that moves or stands, ends the same with the last refresh as without it: the
    /// same counters, the same records.
    #[test]
    fn the_last_refresh_changes_nothing_but_the_lock(
        steps in proptest::collection::vec(
            (0u8..6, 0u16..3, 0u8..2, proptest::bool::ANY, proptest::bool::ANY,
             proptest::option::of((0usize..12, proptest::num::u8::ANY))),
            1..60),
    ) {
        let with = FakeNet::new("");
        let mut without = FakeNet::new("");
        without.state.last_refresh = None;
        let carried = [packets::carried4(), packets::carried6()];
        let mut keys = Vec::new();
        for outer in FAMILIES {
            for proto in [IPPROTO_TCP, IPPROTO_UDP] {
                for sport in 0..3u16 {
                    keys.push(Key { sport: 1 + sport, ..key(outer, proto) });
                }
            }
        }
        for (op, flow, which, tcp, v6, tweak) in steps {
            let proto = if tcp { IPPROTO_TCP } else { IPPROTO_UDP };
            let outer = if v6 { Family::V6 } else { Family::V4 };
            let c = &carried[usize::from(which)];
            let mut p = match op {
                0 | 1 => with_sport(option_packet(outer, c, proto, op == 1), 1 + flow),
                _ => with_sport(plain_packet(outer, IPPROTO_TCP, false), 1 + flow),
            };
            // One byte changed: mostly in the fixed header (where the fields a flow's
            // packets do not share are), else anywhere.
            if let Some((at, value)) = tweak {
                let at = if at < 10 { at } else { usize::from(value) % p.len() };
                p[at] = value;
            }
            for net in [&with, &without] {
                match op {
                    0..=2 => {
                        path::rx(net, &p, false);
                    }
                    3 => net.state.now.set(net.state.now.get() + 1),
                    4 => expiry::gc(&&net.state, u64::from(which), || {}),
                    _ => {
                        // The tuple's connection opens or closes (what a SYN and expiry see).
                        let k = Key { sport: 1 + flow, ..key(outer, IPPROTO_TCP) };
                        let mut s = net.state.sockets.borrow_mut();
                        if s.iter().any(|(x, _)| *x == k) {
                            s.retain(|(x, _)| *x != k);
                        } else {
                            s.push((k, true));
                        }
                    }
                }
            }
        }
        proptest::prop_assert_eq!(outcome(&with, &keys), outcome(&without, &keys));
    }
}

#[test]
fn what_a_flow_does_not_share_is_not_compared() {
    for outer in FAMILIES {
        let net = FakeNet::new("");
        let p = option_packet(outer, &packets::carried4(), IPPROTO_UDP, false);
        rx(&net, &p);
        rx(&net, &p);
        // IPv4: TOS, total length, ID, TTL, checksum; IPv6: traffic class, flow label,
        // payload length, hop limit.
        let fields: &[usize] = match outer {
            Family::V4 => &[1, 2, 3, 4, 5, 8, 10, 11],
            Family::V6 => &[1, 2, 3, 4, 5, 7],
        };
        for &at in fields {
            let mut q = p.clone();
            q[at] ^= 0x5a;
            rx(&net, &q);
        }
        assert_eq!(
            net.counter(Counter::RecordsRefreshedLockless),
            fields.len() as u64,
            "{outer:?}"
        );
        // Any other byte up to the ports is: that packet is not taken for the last one.
        let t = crate::option_codec::find_transport(&p).unwrap();
        let others = (0..t.offset + 4).filter(|i| !fields.contains(i)).count();
        for at in (0..t.offset + 4).filter(|i| !fields.contains(i)) {
            let mut q = p.clone();
            q[at] ^= 0x11;
            let before = net.counter(Counter::RecordsRefreshedLockless);
            path::rx(&net, &q, false);
            assert_eq!(
                net.counter(Counter::RecordsRefreshedLockless),
                before,
                "{outer:?}: byte {at} matters but was not compared"
            );
            // The same packet as the first, refreshed again (under the lock if `q` was the
            // last refresh).
            rx(&net, &p);
            rx(&net, &p);
        }
        assert!(others > 0);
    }
}
