#!/usr/bin/env bash
# Build toa_uoa.ko against the cached test kernel with clippy as the compiler driver, and
# fail on any compiler or clippy warning; check the Rust formatting. Used by test.sh and
# demo.sh; `make` alone builds without the checks.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TOP"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
make CLIPPY=1 >"$log" 2>&1 || { cat "$log"; die "module build failed"; }
if grep -E '^(warning|error)' "$log"; then
	cat "$log"
	die "the module build has warnings (see above)"
fi
# The test-only helper module (holds the UOA optnames like DPVS's uoa.ko).
make -C "$("$TOP/scripts/setup.sh" --print-kdir)" M="$TOP/tests/kmod" LLVM=1 >"$log" 2>&1 ||
	{ cat "$log"; die "test module build failed"; }
RUSTFMT=$(command -v rustfmt || true)
if [ -n "$RUSTFMT" ]; then
	"$RUSTFMT" --check --edition 2021 src/*.rs || die "rustfmt: src/*.rs not formatted (run rustfmt --edition 2021 src/*.rs)"
fi
step "built $TOP/toa_uoa.ko ($(stat -c %s toa_uoa.ko) bytes, clippy and rustfmt clean)"
