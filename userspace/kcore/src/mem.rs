//! Host stand-in for the kernel module's allocation shim (`crate::mem` in the kernel crate:
//! `KBox` with an atomic allocation, `KVVec`).
//!
//! Same names and shapes, built on `Box` and `Vec`. Each thread can make the allocations fail
//! on demand, as the kernel's may, so that the tests reach the failure paths.

use core::cell::Cell;
use std::boxed::Box;
use std::vec::Vec;

/// Owning pointer to one value (the kernel's `KBox`).
pub(crate) type Boxed<T> = Box<T>;

/// An array of `n` values allocated once (the kernel's `KVVec`).
pub(crate) type Slots<T> = Vec<T>;

std::thread_local! {
    /// How many more `try_box` calls succeed on this thread; `None`: all of them.
    static BOX_BUDGET: Cell<Option<u64>> = const { Cell::new(None) };
    /// Whether `try_slots` fails on this thread.
    static SLOTS_FAIL: Cell<bool> = const { Cell::new(false) };
}

/// Allocates `v` in a box; `None` when the allocation fails (here: when the test said so).
pub(crate) fn try_box<T>(v: T) -> Option<Boxed<T>> {
    let allowed = BOX_BUDGET.with(|b| match b.get() {
        None => true,
        Some(0) => false,
        Some(n) => {
            b.set(Some(n.saturating_sub(1)));
            true
        }
    });
    allowed.then(|| Box::new(v))
}

/// Allocates `n` values made by `f`; `None` when the allocation fails.
pub(crate) fn try_slots<T>(n: usize, f: impl FnMut() -> T) -> Option<Slots<T>> {
    if SLOTS_FAIL.with(Cell::get) {
        return None;
    }
    let mut v = Vec::new();
    v.try_reserve_exact(n).ok()?;
    v.extend(core::iter::repeat_with(f).take(n));
    Some(v)
}

/// As [`try_slots`] (the kernel's allocates atomically, for a small array on the packet path).
pub(crate) fn try_slots_atomic<T>(n: usize, f: impl FnMut() -> T) -> Option<Slots<T>> {
    try_slots(n, f)
}

/// Lets the next `n` `try_box` calls on this thread succeed and fails the rest; `None` lifts
/// the limit.
#[cfg(test)]
pub(crate) fn set_box_budget(n: Option<u64>) {
    BOX_BUDGET.with(|b| b.set(n));
}

/// Makes `try_slots` on this thread fail (`true`) or work (`false`).
#[cfg(test)]
pub(crate) fn set_slots_fail(fail: bool) {
    SLOTS_FAIL.with(|s| s.set(fail));
}
