//! Host build of the kernel module's `option_codec.rs`.
//!
//! The file is included by path, not copied, so the tests, the property tests, the fuzzer and
//! the `toa-uoa` tool all run the exact code the module runs. The lints below hold that file to
//! the rules it promises (core only, no unsafe, nothing that can panic or overflow): clippy
//! enforces them on every `cargo clippy` of this workspace.
#![no_std]

#[deny(
    unsafe_code,
    missing_docs,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    clippy::as_conversions,
    // What the kernel's own build (6.12 Makefile) warns about, so the module build stays quiet.
    unreachable_pub,
    rust_2018_idioms,
    clippy::all,
    clippy::ignored_unit_patterns,
    clippy::mut_mut,
    clippy::needless_bitwise_bool,
    clippy::needless_continue,
    clippy::dbg_macro
)]
#[path = "../../../option_codec.rs"]
mod option_codec;

pub use option_codec::*;
