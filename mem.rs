// SPDX-License-Identifier: GPL-2.0

//! The allocations the record table makes, for the kernel (a host crate that includes
//! `records.rs` provides the same names over `Box` and `Vec`).

use kernel::alloc::{flags, Flags, KBox, KVVec};

/// An owned record node.
pub(crate) type Boxed<T> = KBox<T>;

/// Allocates a node on the packet path: softirq context, so GFP_ATOMIC, and a failure is
/// counted by the caller, never fatal.
pub(crate) fn try_box<T>(v: T) -> Option<Boxed<T>> {
    KBox::new(v, flags::GFP_ATOMIC | flags::__GFP_NOWARN).ok()
}

/// A bucket array; kvmalloc because it can be larger than a page.
pub(crate) type Slots<T> = KVVec<T>;

/// `n` elements made by `f`, or `None` if the memory is not there. Process context: the
/// full-size bucket array, vmalloc'ed if large.
pub(crate) fn try_slots<T>(n: usize, f: impl FnMut() -> T) -> Option<Slots<T>> {
    slots_with(n, f, flags::GFP_KERNEL)
}

/// As [`try_slots`], in atomic context (the packet path): for a small array only, as
/// kvmalloc then falls back to nothing but kmalloc.
pub(crate) fn try_slots_atomic<T>(n: usize, f: impl FnMut() -> T) -> Option<Slots<T>> {
    slots_with(n, f, flags::GFP_ATOMIC | flags::__GFP_NOWARN)
}

fn slots_with<T>(n: usize, mut f: impl FnMut() -> T, gfp: Flags) -> Option<Slots<T>> {
    let mut v = KVVec::with_capacity(n, gfp).ok()?;
    for _ in 0..n {
        // Within the capacity just reserved: push does not allocate.
        v.push(f(), gfp).ok()?;
    }
    Some(v)
}
