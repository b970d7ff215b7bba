#!/bin/sh
# Builds option_codec.rs and dpvs_codec.rs (which uses it) alone, as a #![no_std] library at the
# optimisation level the kernel uses, and fails if the object refers to any panic routine: the
# files promise that no input can make them panic (no indexing, no overflowing arithmetic, no
# unwrap), and this checks the promise on the machine code rather than by reading. Uses $RUSTC
# (default: rustc on PATH); the kernel's /usr/bin/rustc 1.85 is the one that matters most.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../../option_codec.rs"
dpvs="$here/../../dpvs_codec.rs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#![no_std]\n#[path = "%s"]\npub mod option_codec;\n#[path = "%s"]\npub mod dpvs_codec;\n' \
    "$src" "$dpvs" > "$tmp/lib.rs"
"${RUSTC:-rustc}" --edition 2021 --crate-type lib --crate-name option_codec_check \
    -C opt-level=2 -C panic=abort -C debug-assertions=off -C overflow-checks=on \
    --emit obj -o "$tmp/codec.o" "$tmp/lib.rs"
if nm -u "$tmp/codec.o" | grep -i 'panic'; then
    echo "check-no-panic: FAIL: option_codec.rs or dpvs_codec.rs can reach a panic (symbols above)" >&2
    exit 1
fi
echo "check-no-panic: ok ($("${RUSTC:-rustc}" --version)): option_codec.rs, dpvs_codec.rs: no panic symbol referenced"
