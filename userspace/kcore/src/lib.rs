//! Host build of the kernel module's core-only files that are not the codec: the record table
//! (`src/records.rs`), with the codec (`option_codec.rs`) it depends on.
//!
//! Both files are included by path, not copied, so the tests here run the exact code the module
//! runs. `mem` stands in for the kernel's allocation shim with `Box` and `Vec`, and can be told
//! to fail, so that allocation failure is tested too. The crate is `no_std` outside the tests,
//! like the kernel: a `std` item used by mistake in the included files fails the build here.
#![cfg_attr(not(test), no_std)]

extern crate std;

// The codec is tested in its own crate (toa-uoa-codec); here it only provides the types the
// record table uses, so most of it is unused.
#[allow(dead_code, unreachable_pub)]
#[path = "../../../option_codec.rs"]
mod option_codec;
// DPVS's formats, which the kernel path reads with dpvs_compat.
#[allow(dead_code, unreachable_pub)]
#[path = "../../../dpvs_codec.rs"]
mod dpvs_codec;

mod mem;

// The record and look-up tuples, and the look-up ABI's shared pieces.
#[cfg_attr(not(test), allow(dead_code))]
#[path = "../../../abi.rs"]
mod abi;
#[cfg_attr(not(test), allow(dead_code))]
#[path = "../../../flow.rs"]
mod flow;

// Each included file carries its own lints (`#![deny(...)]` at its top), as the module build
// sees them. Outside the tests nothing in this crate uses the table, hence the dead-code
// allowance.
#[cfg_attr(not(test), allow(dead_code))]
#[path = "../../../records.rs"]
mod records;

// The getsockopt ABI translation (v1 and the three v0 layouts), byte-exact with
// PROTOCOL.md section 4: tested in abi_tests.rs.
#[cfg_attr(not(test), allow(dead_code))]
#[path = "../../../compat_v0.rs"]
mod compat_v0;
#[cfg_attr(not(test), allow(dead_code))]
#[path = "../../../sockopt.rs"]
mod sockopt;

#[cfg(test)]
mod abi_tests;
#[cfg(test)]
mod tests;

// The trusted_sources setting's parser and matcher.
#[cfg_attr(not(test), allow(dead_code))]
#[path = "../../../trust.rs"]
mod trust;
#[cfg(test)]
mod trust_tests;

// The kernel path's decisions (packets, getname, look-ups, expiry) over the traits a
// namespace is seen through, which the tests implement with a fake namespace.
#[allow(dead_code)]
#[path = "../../../stats.rs"]
mod stats;
// (Some items are the kernel side's only.)
#[allow(dead_code)]
#[path = "../../../state.rs"]
mod state;
// (Some items are the kernel side's only.)
#[allow(dead_code)]
#[path = "../../../path.rs"]
mod path;
// (Some items are the kernel side's only.)
#[allow(dead_code)]
#[path = "../../../expiry.rs"]
mod expiry;
#[cfg(test)]
mod path_tests;
