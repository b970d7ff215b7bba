// SPDX-License-Identifier: GPL-2.0

//! The allocations the record table makes, for the kernel (a host crate that includes
//! `records.rs` provides the same names over `Box` and `Vec`).

use kernel::alloc::{flags, KBox, KVVec};

/// An owned record node.
pub(crate) type Boxed<T> = KBox<T>;

/// Allocates a node on the packet path: softirq context, so GFP_ATOMIC, and a failure is
/// counted by the caller, never fatal.
pub(crate) fn try_box<T>(v: T) -> Option<Boxed<T>> {
    KBox::new(v, flags::GFP_ATOMIC | flags::__GFP_NOWARN).ok()
}

/// The bucket array: allocated once per namespace, in process context; kvmalloc because
/// it can be larger than a page.
pub(crate) type Slots<T> = KVVec<T>;

/// `n` elements made by `f`, or `None` if the memory is not there.
pub(crate) fn try_slots<T>(n: usize, mut f: impl FnMut() -> T) -> Option<Slots<T>> {
    let mut v = KVVec::with_capacity(n, flags::GFP_KERNEL).ok()?;
    for _ in 0..n {
        // Within the capacity just reserved: push does not allocate.
        v.push(f(), flags::GFP_KERNEL).ok()?;
    }
    Some(v)
}
