// SPDX-License-Identifier: GPL-2.0

//! toa_uoa: gives applications on a real server behind a FullNAT load balancer the real
//! client address (and the virtual service address) that the balancer carries in IPv4
//! option 31 or an IPv6 Destination Options option 31. TCP applications get them from
//! getpeername()/getsockname(), UDP applications through getsockopt(UOA_SO_GET_LOOKUP*).
//!
//! This file holds the module's life cycle: read the parameters, register everything in
//! order, and undo it in reverse order on failure or unload; and the [`ffi::Handler`] that
//! connects the kernel's callbacks to the logic.
//!
//! The files, each using only those listed before it: `option_codec` (the option), `flow`
//! (record and look-up tuples), `abi`, `mem`, `records` (the table), `trust`, `stats`,
//! `compat_v0` and `sockopt` (the look-up ABI) are plain Rust, also built and tested on the
//! host (`mem` is the kernel's allocation shim there), and so are `state` (a namespace's
//! state, and the traits the logic sees a namespace through), `path` (what the kernel path
//! decides: packets, getname, look-ups) and `expiry`; then `ffi` (the kernel), `netns` (a
//! namespace on the kernel's side, the traits' implementation), `hooks` (packets and sockets
//! as the kernel hands them over).

use kernel::error::Result;
use kernel::init::InPlaceInit;
use kernel::prelude::*;

use crate::ffi::{
    Handler, HookNet, HookOps, Net, NetCtx, PernetRegistration, Probed, SeqFile, Skb, SockView,
    SocketOps, SocketProbe, SockoptCall, SockoptRegistration,
};
use crate::option_codec::Family;
use crate::path::Sock;

mod abi;
mod compat_v0;
mod expiry;
mod ffi;
mod flow;
mod hooks;
mod mem;
mod netns;
// The codec's items are `pub` for its host crate (the tests, the fuzzer and the decode
// tool use all of it); the module uses the parser only.
#[allow(unreachable_pub, dead_code)]
mod option_codec;
// DPVS's formats (dpvs_compat): as option_codec, `pub` for the host crate.
#[allow(unreachable_pub, dead_code)]
mod dpvs_codec;
mod path;
mod records;
mod sockopt;
mod state;
mod stats;
mod trust;

// The one Rust-side kernel difference: 6.13 renamed `author` to `authors` (Kbuild sets
// the cfg from the tree's version).
#[cfg(not(toa_uoa_module_authors))]
module! {
    type: ToaUoa,
    name: "toa_uoa",
    author: "toa_uoa developers",
    description: "Real client address from the type-31 IP option for TCP (getpeername) and UDP (getsockopt)",
    license: "GPL",
}
#[cfg(toa_uoa_module_authors)]
module! {
    type: ToaUoa,
    name: "toa_uoa",
    authors: ["toa_uoa developers"],
    description: "Real client address from the type-31 IP option for TCP (getpeername) and UDP (getsockopt)",
    license: "GPL",
}

/// The kernel's callbacks, to the logic.
struct Callbacks;

static HOOK_OPS: HookOps = HookOps::new::<Callbacks>();

impl Handler for Callbacks {
    fn hook_ops() -> &'static HookOps {
        &HOOK_OPS
    }

    fn packet(net: &HookNet<'_>, skb: &Skb<'_>, family: Family) {
        hooks::packet(net, skb, family)
    }

    fn getsockopt(net: Net<'_>, sock: &Sock, optname: i32, call: &mut SockoptCall<'_>) -> Result {
        netns::getsockopt(net, sock, optname, call)
    }

    fn getname_wanted(net: Net<'_>, sock: &SockView) -> bool {
        hooks::getname_wanted(&net, sock)
    }

    fn getname(net: Net<'_>, sock: &SockView, peer: bool, out: &mut [u8; 28]) -> Option<usize> {
        hooks::getname(&net, sock, peer, out)
    }

    fn accepted(net: Net<'_>, sock: &SockView) -> path::Accepted {
        path::accepted(&net, &sock.sock)
    }

    fn keeps_connected(net: Net<'_>, sock: &SockView) -> bool {
        path::keeps_connected(&net, &sock.sock)
    }

    fn gc(ctx: NetCtx<'_>) -> u64 {
        netns::gc(&ctx)
    }

    fn stats(net: Net<'_>, seq: &SeqFile<'_>) {
        netns::stats(net, seq)
    }
}

/// Everything the module registers. Fields drop in declaration order, the reverse of the
/// order they are made in (`new`): getname and look-ups stop before the namespaces' state
/// goes.
#[pin_data]
struct Registrations {
    #[pin]
    listen: SocketProbe<Callbacks, { Probed::Listen as usize }>,
    #[pin]
    connect: SocketProbe<Callbacks, { Probed::DgramConnect as usize }>,
    sockets: SocketOps,
    #[pin]
    sockopt6: SockoptRegistration<Callbacks>,
    #[pin]
    sockopt4: SockoptRegistration<Callbacks>,
    #[pin]
    pernet: PernetRegistration<Callbacks>,
}

impl Registrations {
    fn new(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        kernel::try_pin_init!(Self {
            pernet <- PernetRegistration::new(),
            sockopt4 <- SockoptRegistration::new(module, false),
            sockopt6 <- SockoptRegistration::new(module, true),
            sockets: SocketOps::new::<Callbacks>()?,
            connect <- SocketProbe::new(),
            listen <- SocketProbe::new(),
        }? Error)
    }
}

/// The module: its registrations, pinned in one allocation.
struct ToaUoa {
    /// DPVS toa.ko's NAT64 look-up, when loaded with dpvs_compat=1 (dropped first).
    _nat64: Option<Pin<KBox<SockoptRegistration<Callbacks>>>>,
    _registrations: Pin<KBox<Registrations>>,
    params: ffi::Params,
}

impl kernel::Module for ToaUoa {
    fn init(module: &'static ThisModule) -> Result<Self> {
        // trusted_sources was parsed (and a bad list refused) when the kernel set the
        // parameter, before this runs.
        let params = ffi::params();
        let registrations = KBox::pin_init(Registrations::new(module), GFP_KERNEL)?;
        // Only when asked for at load: DPVS's toa.ko holds the same optname.
        let nat64 = if ffi::dpvs_compat() {
            Some(KBox::pin_init(
                SockoptRegistration::new_nat64(module),
                GFP_KERNEL,
            )?)
        } else {
            None
        };
        let any = ffi::with_trusted(|s| {
            pr_info!(
                "loaded: max_records={} idle_timeout={}s trusted_sources={}\n",
                params.max_records,
                params.idle_timeout_secs,
                s.describe()
            );
            s.trust.prefixes().is_empty()
        });
        // Last: nothing may fail once sockets hold module references.
        ffi::attach_existing();
        ffi::loaded();
        if any {
            // The default keeps `insmod` working out of the box; the operator is told once
            // what it means and how to change it.
            pr_warn!(
                "trusted_sources is empty: options from every source are believed; load with trusted_sources=<your balancers' SNAT prefixes>, or write them to /sys/module/toa_uoa/parameters/trusted_sources (README, \"Security\")\n"
            );
        }
        Ok(ToaUoa {
            _nat64: nat64,
            _registrations: registrations,
            params,
        })
    }
}

impl Drop for ToaUoa {
    fn drop(&mut self) {
        pr_info!(
            "unloaded (max_records={} idle_timeout={}s)\n",
            self.params.max_records,
            self.params.idle_timeout_secs
        );
    }
}
