#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build toa_uoa.ko with clippy as the compiler driver and fail on any compiler or clippy
# warning; check the Rust formatting. Used by test.sh and demo.sh; `make` alone builds
# without the checks.
#
#   scripts/build.sh                      for the test kernel: ./toa_uoa.ko, tests/kmod/*.ko
#   scripts/build.sh --kernel debian-7.3  for Debian's kernel, in its build root (with the
#                                         kernel's own rustc and gcc): build/debian-7.3/toa_uoa.ko
#                                         and build/debian-7.3/kmod/*.ko
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TOP"

KERNEL=test
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) KERNEL=$(kernel_arg "$2"); shift ;;
	*) die "build.sh: unknown argument '$1'" ;;
	esac
	shift
done

# no_warnings LOG: fails, showing the log, if the build warned.
no_warnings() {
	if grep -E '^(warning|error)|: warning:' "$1"; then
		cat "$1"
		die "the module build has warnings (see above)"
	fi
}

if [ "$KERNEL" = "$DEBIAN_KERNEL" ]; then
	kver=$(debian_kver)
	kdir=$("$TOP/scripts/setup.sh" --kernel "$DEBIAN_KERNEL" --print-kdir)
	out=$TOP/build/$DEBIAN_KERNEL
	MODULE_MAKE_ARGS=(CLIPPY=1)
	KMOD_MAKE_ARGS=("CC=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\).*/\1/p' "$kdir/.config")")
	KDIR_HOST=$kdir build_module_copy "$(debian_tree "$kver")" "$out" debian_chroot
	no_warnings "$out/build.log"
	step "built $out/toa_uoa.ko for $kver ($(stat -c %s "$out/toa_uoa.ko") bytes, clippy clean)"
	exit 0
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
make CLIPPY=1 >"$log" 2>&1 || { cat "$log"; die "module build failed"; }
no_warnings "$log"
# The test-only helper module (holds the UOA optnames like DPVS's uoa.ko).
make -C "$("$TOP/scripts/setup.sh" --print-kdir)" M="$TOP/tests/kmod" LLVM=1 >"$log" 2>&1 ||
	{ cat "$log"; die "test module build failed"; }
RUSTFMT=$(command -v rustfmt || true)
if [ -n "$RUSTFMT" ]; then
	# shellcheck disable=SC2046 # one word per file
	"$RUSTFMT" --check --edition 2021 $(module_sources | grep '\.rs$') ||
		die "rustfmt: the module's .rs files are not formatted (run rustfmt --edition 2021 *.rs)"
fi
step "built $TOP/toa_uoa.ko ($(stat -c %s toa_uoa.ko) bytes, clippy and rustfmt clean)"
