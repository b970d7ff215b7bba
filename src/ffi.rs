// SPDX-License-Identifier: GPL-2.0

//! The unsafe boundary with the kernel's C: the module-local bindings generated from
//! `ffi.h` and small safe wrappers over them. Every `unsafe` call into C lives here.

#[allow(
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    unreachable_pub,
    clippy::all,
    clippy::undocumented_unsafe_blocks
)]
mod bindings {
    include!("bindings_generated.rs");
}

/// The module's load-time parameters, as validated by `helpers.c`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Params {
    /// Most records kept per network namespace.
    pub(crate) max_records: u32,
    /// Seconds a record lives without traffic.
    pub(crate) idle_timeout_secs: u32,
}

/// Reads the module parameters.
pub(crate) fn params() -> Params {
    Params {
        // SAFETY: the helpers only read a static with READ_ONCE; they take no arguments.
        max_records: unsafe { bindings::toa_uoa_param_max_records() },
        // SAFETY: as above.
        idle_timeout_secs: unsafe { bindings::toa_uoa_param_idle_timeout() },
    }
}
