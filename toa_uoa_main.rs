// SPDX-License-Identifier: GPL-2.0

//! toa_uoa: gives applications on a real server behind a FullNAT load balancer the real
//! client address (and the virtual service address) that the balancer carries in IPv4
//! option 31 or an IPv6 Destination Options option 31. TCP applications get them from
//! getpeername()/getsockname(), UDP applications through getsockopt(UOA_SO_GET_LOOKUP*).
//!
//! This file holds the module's life cycle: read the parameters, register everything in
//! order, and undo it in reverse order on failure or unload.

use kernel::prelude::*;

mod compat_v0;
mod ffi;
mod hooks;
mod mem;
mod netns;
// The codec's items are `pub` for its host crate (the tests, the fuzzer and the decode
// tool use all of it); the module uses the parser only.
#[allow(unreachable_pub, dead_code)]
mod option_codec;
mod records;
mod sockopt;
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

/// The module's registrations. Fields drop in declaration order, the reverse of the
/// order they were made in: look-ups stop before the namespaces' state goes.
struct ToaUoa {
    _getname: ffi::GetnameRegistration,
    _sockopt: ffi::SockoptRegistration,
    _pernet: ffi::PernetRegistration,
    params: ffi::Params,
}

impl kernel::Module for ToaUoa {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let params = ffi::params();
        let trust = match trust::Trust::parse(ffi::trusted_sources()) {
            Ok(t) => t,
            Err(e) => {
                pr_err!(
                    "trusted_sources refused ({:?}): a comma-separated list of a.b.c.d/len and x:x::x/len, at most {}\n",
                    e,
                    trust::MAX_PREFIXES
                );
                return Err(EINVAL);
            }
        };
        let pernet = ffi::PernetRegistration::new(stats::TOTAL)?;
        let sockopt = ffi::SockoptRegistration::new()?;
        let getname = ffi::GetnameRegistration::new()?;
        pr_info!(
            "loaded: max_records={} idle_timeout={}s trusted_sources={}\n",
            params.max_records,
            params.idle_timeout_secs,
            match core::str::from_utf8(ffi::trusted_sources()) {
                _ if trust.prefixes().is_empty() => "any",
                Ok(s) => s,
                Err(_) => "set",
            }
        );
        if trust.prefixes().is_empty() {
            // The default keeps `insmod` working out of the box; the operator is told once
            // what it means and how to change it.
            pr_warn!(
                "trusted_sources is empty: options from every source are believed; load with trusted_sources=<your balancers' SNAT prefixes> (README, \"Security\")\n"
            );
        }
        Ok(ToaUoa {
            _getname: getname,
            _sockopt: sockopt,
            _pernet: pernet,
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
