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
mod sockopt;

module! {
    type: ToaUoa,
    name: "toa_uoa",
    author: "toa_uoa developers",
    description: "Real client address from the type-31 IP option for TCP (getpeername) and UDP (getsockopt)",
    license: "GPL",
}

struct ToaUoa {
    params: ffi::Params,
}

impl kernel::Module for ToaUoa {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let params = ffi::params();
        pr_info!(
            "loaded: max_records={} idle_timeout={}s\n",
            params.max_records,
            params.idle_timeout_secs
        );
        Ok(ToaUoa { params })
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
