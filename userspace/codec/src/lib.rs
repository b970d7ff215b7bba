//! Host build of the kernel module's `option_codec.rs` and `dpvs_codec.rs`.
//!
//! The file is included by path, not copied, so the tests, the property tests, the fuzzer and
//! the `toa-uoa` tool all run the exact code the module runs. The file carries the rules it
//! promises itself (`#![deny(...)]` at its top: core only, no unsafe, nothing that can panic or
//! overflow); clippy enforces them on every `cargo clippy` of this workspace.
#![no_std]

// What the kernel's own build (6.12 Makefile) warns about, so the module build stays quiet
// (not in the file: the module keeps the codec's items `pub` inside a private module).
#[deny(unreachable_pub, clippy::all, clippy::ignored_unit_patterns)]
#[path = "../../../option_codec.rs"]
mod option_codec;

pub use option_codec::*;

// DPVS's formats (TOA, UOA "ipo" and "opp"), read beside the unified option. Private here as in
// the module, where it is `crate::dpvs_codec` next to `crate::option_codec`; its items are
// reached through `dpvs` (their names, `parse_packet`, `Error`, `Parsed`, are option_codec's
// too).
#[deny(unreachable_pub, clippy::all, clippy::ignored_unit_patterns)]
#[path = "../../../dpvs_codec.rs"]
mod dpvs_codec;

/// DPVS's client-address formats: the parser of `dpvs_codec.rs`.
pub mod dpvs {
    pub use crate::dpvs_codec::*;
}
