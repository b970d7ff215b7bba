# shellcheck shell=bash
# Shared settings of the toa_uoa scripts: where the cache lives, how the kernel is made.
# Sourced, never run.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${TOA_UOA_CACHE:-$HOME/.cache/toa_uoa}

# The Rust toolchain the 6.12 kernel is built with: Debian's rustc-web 1.85 ships the
# `core` source the kernel compiles itself; rustup's toolchain on PATH does not, and a
# proc-macro from a different rustc cannot be loaded, so every Rust tool is named here.
RUST_PIN=1.85.0+dfsg3-1~deb12u3
BINDGEN_VERSION=0.71.1
BINDGEN=$HOME/.cargo/bin/bindgen
KMAKE_VARS=(LLVM=1 RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
	CLIPPY_DRIVER=/usr/bin/clippy-driver BINDGEN="$BINDGEN"
	RUST_LIB_SRC=/usr/lib/rustlib/src/rust/library)

KERNEL_TARBALL=/usr/src/linux-source-6.12.tar.xz
FRAGMENT=$TOP/kernel/test-kernel.config

die() {
	echo "toa_uoa: $*" >&2
	exit 1
}

step() {
	printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"
}

# Version of the Debian kernel source package (e.g. 6.12.117-1~deb12u1).
kernel_pkg_version() {
	dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null
}

# The cache key of a kernel build: source version, fragment, toolchain. Any change
# gives a new directory, so an old build is never reused for a different config.
# $1: variant name (the fragment files listed after it are hashed too).
kernel_key() {
	local variant=$1
	shift
	{
		kernel_pkg_version
		echo "$RUST_PIN $BINDGEN_VERSION"
		cat "$FRAGMENT" "$@"
	} | sha256sum | cut -c1-12 | sed "s/^/$variant-/"
}

kernel_build_dir() {
	echo "$CACHE/kernel-$(kernel_pkg_version)-$(kernel_key "$@")"
}

# Where this checkout's module build for the debug kernel goes: one per checkout, so that
# two checkouts (a CI clone next to a working tree) never rebuild under each other's feet.
debug_module_dir() {
	echo "$CACHE/module-debug-$(printf %s "$TOP" | sha256sum | cut -c1-8)"
}

# build_module_copy KDIR DIR: toa_uoa.ko and the test-only module (tests/kmod) built for
# the kernel in KDIR from a copy of the sources in DIR, so the checkout's own build (for
# the default kernel) is left alone. Used for the debug kernel.
build_module_copy() {
	local kdir=$1 mod=$2
	mkdir -p "$mod"
	rm -rf "$mod/src" "$mod/kmod"
	mkdir -p "$mod/kmod"
	# Sources only: the checkout's tests/kmod may hold objects built for the other kernel.
	(cd "$TOP" && cp -r Kbuild Makefile option_codec.rs src "$mod/" && cp tests/kmod/Kbuild tests/kmod/*.c "$mod/kmod/")
	make -C "$mod" KDIR="$kdir" >"$mod/build.log" 2>&1 || { cat "$mod/build.log"; die "module build failed"; }
	make -C "$kdir" M="$mod/kmod" LLVM=1 >>"$mod/build.log" 2>&1 ||
		{ cat "$mod/build.log"; die "test module build failed"; }
}
