#!/bin/sh
# Builds records.rs (with option_codec.rs, which it uses) as a #![no_std] library at the
# optimisation level the kernel uses, with overflow checks on as in CONFIG_RUST_OVERFLOW_CHECKS,
# and fails if the object refers to any panic routine: the file promises that nothing can make
# it panic (no indexing, no overflowing arithmetic, no unwrap), and this checks the promise on
# the machine code. The allocation shim is a core-only stand-in (an owning pointer type over
# `&'static mut` that drops its contents, allocations that fail), enough to compile every path
# of the table. The stub (no_panic/lib.rs) is compiled only, never run.
# Also type-checks it with the lints the kernel passes (missing_docs, unreachable_pub).
# Uses $RUSTC (default: rustc on PATH); the kernel's /usr/bin/rustc 1.85 is the one that matters.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"${RUSTC:-rustc}" --edition 2021 --crate-type lib --crate-name records_check \
    -C opt-level=2 -C panic=abort -C debug-assertions=off -C overflow-checks=on \
    -W missing_docs -W unreachable_pub -W rust_2018_idioms -D warnings \
    -A private_interfaces -A private_bounds \
    --emit obj -o "$tmp/records.o" "$here/no_panic/lib.rs"
if nm -u "$tmp/records.o" | grep -i 'panic'; then
    echo "check-no-panic: FAIL: records.rs can reach a panic (symbols above)" >&2
    exit 1
fi
echo "check-no-panic: ok ($("${RUSTC:-rustc}" --version)): records.rs refers to no panic symbol"
