#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Prepare, once per kernel version, the build tree toa_uoa is compiled against on a Debian
# server running Debian's own Rust-enabled kernel (README, "Install on a real server").
#
# Debian's headers package has the kernel's .config and Module.symvers but not the Rust
# metadata (rust/*.rmeta) a Rust module is compiled against. This script rebuilds exactly
# that part from Debian's source package: the source unpacked, the headers' .config, the
# same release string, `make modules_prepare` with the compilers the kernel was built with,
# and the headers' Module.symvers copied in. Modules built against the result load into
# Debian's kernel binary. It checks, before any work, that the kernel has Rust and kprobe
# support and that rustc, bindgen and the C compiler are the ones the kernel names.
#
#   scripts/prepare-kernel-tree.sh [--kver KVER] [--out DIR] [--force]
#     --kver KVER  the kernel release (default: the running kernel, uname -r)
#     --out DIR    where the tree goes (default /usr/src/toa_uoa-linux-KVER)
#     --force      prepare again even if DIR is already prepared for KVER
#   then:  make KDIR=DIR   (in the toa_uoa checkout)
#
# Needs (Debian 13): linux-source-X.Y linux-headers-KVER rustc rust-src bindgen libclang-dev
# gcc make bc flex bison libelf-dev libssl-dev dwarves python3 xz-utils (README lists the apt
# line).
set -euo pipefail

die() {
	echo "prepare-kernel-tree: $*" >&2
	exit 1
}
say() {
	printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"
}

KVER=$(uname -r)
OUT=""
FORCE=0
while [ $# -gt 0 ]; do
	case $1 in
	--kver) KVER=$2; shift ;;
	--out) OUT=$2; shift ;;
	--force) FORCE=1 ;;
	-h | --help) sed -n '3,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (--help)" ;;
	esac
	shift
done
[ -n "$OUT" ] || OUT=/usr/src/toa_uoa-linux-$KVER

if [ $FORCE = 0 ] && [ "$(cat "$OUT/.toa_uoa-prepared" 2>/dev/null)" = "$KVER" ]; then
	say "$OUT is already prepared for $KVER (--force to redo)"
	exit 0
fi

# Debian's release string: upstream version, then its own suffix (7.3.4+deb13-amd64).
UPSTREAM=${KVER%%[+-]*}
SERIES=$(echo "$UPSTREAM" | cut -d. -f1,2)
SUFFIX=${KVER#"$UPSTREAM"}
HEADERS=/usr/src/linux-headers-$KVER
TARBALL=/usr/src/linux-source-$SERIES.tar.xz

[ -f "$HEADERS/.config" ] && [ -f "$HEADERS/Module.symvers" ] ||
	die "no $HEADERS/.config and Module.symvers: apt install linux-headers-$KVER"
[ -f "$TARBALL" ] || die "no $TARBALL: apt install linux-source-$SERIES (from the same archive as the kernel)"

config() {
	sed -n "s/^$1=//p" "$HEADERS/.config" | sed 's/^"\(.*\)"$/\1/'
}
[ "$(config CONFIG_RUST)" = y ] ||
	die "kernel $KVER is built without Rust support (CONFIG_RUST is not set): toa_uoa cannot be loaded into it"
[ "$(config CONFIG_KRETPROBES)" = y ] ||
	die "kernel $KVER has no CONFIG_KRETPROBES: toa_uoa needs it for getpeername/getsockname"

# The toolchain must be the kernel's own: Rust symbol names carry the compiler's identity.
want_rustc=$(config CONFIG_RUSTC_VERSION_TEXT)
have_rustc=$(rustc --version 2>/dev/null || echo "no rustc")
[ "$have_rustc" = "$want_rustc" ] ||
	die "kernel $KVER was built with '$want_rustc', this machine has '$have_rustc': install that rustc (Debian: the rustc package of the kernel's release)"
want_bindgen=$(config CONFIG_BINDGEN_VERSION_TEXT)
have_bindgen=$(bindgen --version 2>/dev/null || echo "no bindgen")
[ "$have_bindgen" = "$want_bindgen" ] ||
	die "kernel $KVER was built with '$want_bindgen', this machine has '$have_bindgen' (apt install bindgen)"
CC=$(config CONFIG_CC_VERSION_TEXT | cut -d' ' -f1)
[ "$(config CONFIG_CC_IS_GCC)" = y ] || die "kernel $KVER is not GCC-built: this script knows Debian's kernels only"
command -v "$CC" >/dev/null || die "kernel $KVER was built with $CC, which is not installed (apt install $CC)"
rustc --print sysroot >/dev/null
[ -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library/core" ] ||
	die "rustc has no library source (apt install rust-src)"

KMAKE=(make -s -C "$OUT" CC="$CC" HOSTCC="$CC")
say "unpacking $TARBALL into $OUT"
rm -rf "$OUT"
mkdir -p "$OUT"
tar -xf "$TARBALL" -C "$OUT" --strip-components=1 || die "cannot unpack $TARBALL"
cp "$HEADERS/.config" "$OUT/.config"
printf '%s\n' "$SUFFIX" >"$OUT/localversion"
"${KMAKE[@]}" olddefconfig
release=$("${KMAKE[@]}" kernelrelease)
[ "$release" = "$KVER" ] ||
	die "the prepared tree says it is '$release', not '$KVER': linux-source-$SERIES is not the running kernel's version (upgrade both, or reboot into the new kernel)"
say "make modules_prepare for $KVER with $CC and $have_rustc (about 5 minutes on 2 cores)"
"${KMAKE[@]}" -j"$(nproc)" modules_prepare
cp "$HEADERS/Module.symvers" "$OUT/Module.symvers"

# The kernel crate's symbol names (they hash the compiler and crate) must be Debian's.
sym=$(sed -n 's/^EXPORT_SYMBOL_RUST_GPL(\(_R[A-Za-z0-9_]*6kernel[A-Za-z0-9_]*\));$/\1/p' \
	"$OUT/rust/exports_kernel_generated.h" | sed -n 1p)
[ -n "$sym" ] || die "no kernel crate exports in rust/exports_kernel_generated.h: the Rust build did not run"
grep -q "	$sym	" "$OUT/Module.symvers" ||
	die "the kernel crate built here ($sym) is not the one $KVER exports: rustc or the source differs from the kernel's"

# Written last: a tree without it is half-made and is made again.
echo "$KVER" >"$OUT/.toa_uoa-prepared"
say "prepared $OUT for $KVER: now  make KDIR=$OUT"
