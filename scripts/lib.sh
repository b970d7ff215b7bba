# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Shared settings of the toa_uoa scripts: where the cache lives, how the kernel is made.
# Sourced, never run.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${TOA_UOA_CACHE:-$HOME/.cache/toa_uoa}

# The Rust toolchain the 6.12 kernel is built with: Debian's rustc-web 1.85 ships the
# `core` source the kernel compiles itself; rustup's toolchain on PATH does not, and a
# proc-macro from a different rustc cannot be loaded, so every Rust tool is named here.
# The series is pinned, not the revision: a Debian point release replaces the 1.85 revision
# in the archive (and the old one leaves it), so set-up installs the newest 1.85 the
# archive has (bookworm-security also carries a later series, which is not taken), and the
# kernel cache is keyed by the revision installed.
RUST_SERIES=1.85
RUST_PACKAGES=(rustc-web rust-web-src cargo-web libstd-rust-web-dev rust-web-clippy)
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

# rust_in_series VERSION: whether a Debian version of rustc-web is of $RUST_SERIES.
rust_in_series() {
	case ${1#[0-9]:} in "$RUST_SERIES".*) return 0 ;; esac
	return 1
}

# rust_version: the installed Rust toolchain's version (e.g. 1.85.0+dfsg3-1~deb12u3) when
# every one of $RUST_PACKAGES is installed at that one version of $RUST_SERIES; else nothing.
rust_version() {
	local p v ver=
	for p in "${RUST_PACKAGES[@]}"; do
		v=$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$p" 2>/dev/null || true)
		case $v in ii*) v=${v:3} ;; *) return 0 ;; esac
		[ -z "$ver" ] || [ "$v" = "$ver" ] || return 0
		ver=$v
	done
	! rust_in_series "$ver" || echo "$ver"
}

# rust_archive_version: the newest version of rustc-web of $RUST_SERIES that the apt sources
# offer (after apt-get update), or nothing.
rust_archive_version() {
	local v best=
	while read -r v; do
		rust_in_series "$v" || continue
		[ -z "$best" ] || dpkg --compare-versions "$v" gt "$best" || continue
		best=$v
	done < <(apt-cache madison rustc-web 2>/dev/null | awk -F'|' '{ gsub(/[ \t]/, "", $2); print $2 }')
	echo "$best"
}

# The cache key of a kernel build: source version, fragment, toolchain. Any change
# gives a new directory, so an old build is never reused for a different config.
# $1: variant name (the fragment files listed after it are hashed too).
kernel_key() {
	local variant=$1
	shift
	{
		kernel_pkg_version
		echo "$(rust_version) $BINDGEN_VERSION"
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

# The module's source files, as an operator copies them to /usr/src/toa_uoa-VERSION: the
# build files and every .rs, .c and .h at the top (what kbuild generates there excepted).
module_sources() {
	(cd "$TOP" && ls Kbuild Makefile dkms.conf ./*.rs ./*.c ./*.h | sed 's#^\./##' |
		grep -vx -e bindings_generated.rs -e '.*\.mod\.c')
}

# build_module_copy KDIR DIR [RUNNER...]: toa_uoa.ko and the test-only modules (tests/kmod)
# built for the kernel in KDIR from a copy of the sources in DIR, so the checkout's own build
# (for the test kernel) is left alone. RUNNER, if given, runs the make commands (the Debian
# kernel's are run in its build root). Extra make variables: $MODULE_MAKE_ARGS (an array).
build_module_copy() {
	local kdir=$1 mod=$2
	shift 2
	local llvm=()
	grep -qs '^CONFIG_CC_IS_CLANG=y' "${KDIR_HOST:-$kdir}/.config" && llvm=(LLVM=1)
	mkdir -p "$mod"
	rm -rf "$mod/src" "$mod/kmod" "$mod"/*.rs "$mod"/*.c "$mod"/*.h
	mkdir -p "$mod/kmod"
	# Sources only: the checkout's tests/kmod may hold objects built for the other kernel.
	(cd "$TOP" && cp $(module_sources) "$mod/" && cp tests/kmod/Kbuild tests/kmod/*.c "$mod/kmod/")
	"$@" make -C "$mod" KDIR="$kdir" "${MODULE_MAKE_ARGS[@]}" >"$mod/build.log" 2>&1 ||
		{ cat "$mod/build.log"; die "module build failed"; }
	"$@" make -C "$kdir" M="$mod/kmod" "${llvm[@]}" "${KMOD_MAKE_ARGS[@]}" >>"$mod/build.log" 2>&1 ||
		{ cat "$mod/build.log"; die "test module build failed"; }
}
MODULE_MAKE_ARGS=()
KMOD_MAKE_ARGS=()

# --- The second target: Debian's own Rust-enabled kernel -------------------------------------
# Debian 13 (trixie) backports ships a kernel series built with CONFIG_RUST=y. The series is
# named here and nowhere else; the newest version of it in the archive is taken at set-up
# (TOA_UOA_DEBIAN_KVER pins one, e.g. 7.3.4+deb13-amd64) and keys the cache, so a point
# release of Debian's kernel is picked up by the next set-up, never mixed with the old one.
DEBIAN_KERNEL=debian-7.3
DEBIAN_SERIES=7.3
DEBIAN_SUITE=trixie
DEBIAN_FLAVOUR=amd64
DEBIAN_DIR=$CACHE/$DEBIAN_KERNEL
# The trixie build root: Debian 13's own rustc/bindgen/gcc, which built that kernel.
DEBIAN_ROOT=$DEBIAN_DIR/root

# kernel_arg NAME: checks a --kernel argument ("test", the default, or debian-7.3).
kernel_arg() {
	case $1 in
	test | "$DEBIAN_KERNEL") echo "$1" ;;
	*) die "unknown kernel '$1' (known: test, $DEBIAN_KERNEL)" ;;
	esac
}

# The Debian kernel version set-up prepared last (e.g. 7.3.4+deb13-amd64), or nothing.
debian_kver() {
	cat "$DEBIAN_DIR/current" 2>/dev/null || true
}

# Where set-up leaves one Debian kernel version's pieces on the host: the image and
# modules packages unpacked (lib/modules/KVER, with Debian's vmlinuz in it), and "done".
debian_kver_dir() {
	echo "$DEBIAN_DIR/$1"
}

# debian_vmlinuz KVER: Debian's kernel binary, from its linux-binary package.
debian_vmlinuz() {
	echo "$DEBIAN_DIR/$1/lib/modules/$1/vmlinuz"
}

# The prepared kernel tree for KVER as the build root sees it, and as the host sees it.
debian_tree() {
	echo "/usr/src/toa_uoa-linux-$1"
}

# debian_mirror: the Debian mirror this machine's own apt sources use (deb822 .sources or
# one-line sources.list), overridable with TOA_UOA_DEBIAN_MIRROR. Never a host written here.
debian_mirror() {
	if [ -n "${TOA_UOA_DEBIAN_MIRROR:-}" ]; then
		echo "$TOA_UOA_DEBIAN_MIRROR"
		return
	fi
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# The first URI of a "deb" stanza that is not the security archive.
		uri=$(awk '
			function flush() { if (deb && !sec && u != "" && !found) { print u; found = 1 } deb = sec = 0; u = "" }
			/^[ \t]*$/ { flush(); next }
			/^Types:/ && / deb( |$)/ { deb = 1 }
			/^Suites:/ && /-security/ { sec = 1 }
			/^URIs:/ { u = $2 }
			END { flush() }' "$f")
		[ -z "$uri" ] || { echo "${uri%/}"; return; }
	done
	uri=$(cat /etc/apt/sources.list 2>/dev/null | awk '$1 == "deb" && $0 !~ /-security/ {
		for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; exit } }')
	[ -n "$uri" ] || die "no Debian mirror in this machine's apt sources (set TOA_UOA_DEBIAN_MIRROR)"
	echo "${uri%/}"
}

# debian_chroot CMD...: CMD as root in the trixie build root, with /proc, /dev, a fresh
# /tmp and this checkout (at its own path) mounted; the mounts live in a private mount
# namespace, so they go away with the command, however it ends.
debian_chroot() {
	[ -x "$DEBIAN_ROOT/usr/bin/apt-get" ] || die "no Debian build root at $DEBIAN_ROOT: run scripts/setup.sh --kernel $DEBIAN_KERNEL"
	local sudo=()
	[ "$(id -u)" = 0 ] || sudo=(sudo -n)
	"${sudo[@]}" unshare --mount --propagation private -- /bin/bash -c '
		set -e
		r=$1 top=$2
		shift 2
		mount -t proc proc "$r/proc"
		mount --rbind /dev "$r/dev"
		mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
		mkdir -p "$r$top"
		mount --bind "$top" "$r$top"
		exec chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
	' debian_chroot "$DEBIAN_ROOT" "$TOP" "$@"
}
