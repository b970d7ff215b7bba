#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Set up everything toa_uoa needs on a fresh Debian 12 machine, unattended and idempotent:
# the Debian packages (the Rust toolchain pinned to its series, 1.85: the newest revision of
# it the archive has), bindgen-cli, the kernel source and the Rust-enabled test kernel, built
# once into $TOA_UOA_CACHE (default ~/.cache/toa_uoa) and reused after.
#
#   scripts/setup.sh                 set up, build the test kernel if not cached
#   scripts/setup.sh --print-kdir    print the test kernel's build directory (no work)
#   scripts/setup.sh --variant debug set up the debug kernel (kernel/debug.config on top)
#   scripts/setup.sh --kernel debian-7.3 [--print-kdir]
#                                    set up the second target, Debian's own kernel
#                                    (scripts/setup-debian.sh: trixie build root, prepared
#                                    tree, Debian's image and modules), after the packages
set -euo pipefail
. "$(dirname "$0")/lib.sh"

VARIANT=default
PRINT_KDIR=0
KERNEL=test
while [ $# -gt 0 ]; do
	case $1 in
	--print-kdir) PRINT_KDIR=1 ;;
	--variant) VARIANT=$2; shift ;;
	--kernel) KERNEL=$(kernel_arg "$2"); shift ;;
	*) die "setup.sh: unknown argument '$1'" ;;
	esac
	shift
done

EXTRA_FRAGMENTS=()
if [ "$VARIANT" != default ]; then
	[ -f "$TOP/kernel/$VARIANT.config" ] || die "no fragment kernel/$VARIANT.config for variant '$VARIANT'"
	EXTRA_FRAGMENTS=("$TOP/kernel/$VARIANT.config")
fi

if [ "$KERNEL" = "$DEBIAN_KERNEL" ] && [ "$PRINT_KDIR" = 1 ]; then
	exec "$TOP/scripts/setup-debian.sh" --print-kdir
fi
if [ "$PRINT_KDIR" = 1 ]; then
	[ -n "$(kernel_pkg_version)" ] || die "linux-source-6.12 is not installed: run scripts/setup.sh"
	[ -n "$(rust_version)" ] || die "the Rust $RUST_SERIES toolchain (${RUST_PACKAGES[*]}) is not installed: run scripts/setup.sh"
	echo "$(kernel_build_dir "$VARIANT" "${EXTRA_FRAGMENTS[@]}")/build"
	exit 0
fi

# The Rust toolchain ($RUST_PACKAGES) is installed by install_rust. gcc and g++: the guest
# tests build C programs and check the UAPI header as C and C++; the host test
# userspace/uoa/tests/layout.rs compiles the header with cc. The python3-* packages and mypy:
# the host tests install the Python package (python/) into a venv offline, with Debian's
# setuptools and wheel as the build backend, and type-check it; strace: guest test 70
# counts the Python look-up's system calls. golang-go (Go 1.19 on Debian
# 12): the Go package go/uoa, its tests and the example server guest test 72 runs (standard
# library only: nothing is downloaded).
PACKAGES=(
	clang lld llvm libclang-dev flex bison bc cpio kmod libelf-dev libssl-dev make gcc g++ golang-go
	qemu-system-x86 busybox-static linux-source-6.12
	iproute2 nftables socat curl python3 libnetfilter-queue-dev tcpdump strace
	python3-pip python3-setuptools python3-wheel python3-venv mypy
	debootstrap zstd xz-utils
)
# Installed without their recommendations: dkms recommends the headers of Debian's own
# kernel, which nothing here builds against; wireshark-common (dumpcap, for the guest test
# that decodes a pcapng capture) recommends the Wireshark GUI.
PACKAGES_NO_RECOMMENDS=(dkms wireshark-common)

SUDO=()
APT_UPDATED=
# apt_update: root (or password-less sudo) and apt-get checked, the package lists updated;
# once per run.
apt_update() {
	[ -z "$APT_UPDATED" ] || return 0
	if [ "$(id -u)" != 0 ]; then
		sudo -n true 2>/dev/null || die "need root (or password-less sudo) to install: $*"
		SUDO=(sudo -n)
	fi
	command -v apt-get >/dev/null || die "apt-get not found: this set-up expects Debian 12 (bookworm)"
	"${SUDO[@]}" apt-get update -qq || die "apt-get update failed: is the Debian mirror reachable?"
	APT_UPDATED=1
}

# Debian packages: install only what is missing (dpkg knows the exact version).
# install_packages [APT-OPTION...] -- PACKAGE[=VERSION]...
install_packages() {
	local opts=() missing=() p name want have
	while [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	for p in "$@"; do
		name=${p%%=*}
		want=${p#*=}
		have=$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$name" 2>/dev/null || true)
		case $have in
		ii*) [ "$p" = "$name" ] || [ "${have#ii }" = "$want" ] || [ "${have:3}" = "$want" ] || missing+=("$p") ;;
		*) missing+=("$p") ;;
		esac
	done
	[ ${#missing[@]} -eq 0 ] && { step "Debian packages: all present ($#)"; return; }
	step "Debian packages: installing ${missing[*]}"
	apt_update "${missing[@]}"
	DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --allow-downgrades "${opts[@]}" "${missing[@]}" \
		>"$CACHE/apt.log" 2>&1 || die "apt-get install failed (log: $CACHE/apt.log): ${missing[*]}"
}

# The Rust toolchain: kept if installed at one revision of $RUST_SERIES, else the newest
# revision of the series in the archive (a downgrade if a later series was installed).
install_rust() {
	local ver
	ver=$(rust_version)
	if [ -n "$ver" ]; then
		step "Rust $RUST_SERIES toolchain: $ver present"
		return
	fi
	apt_update "${RUST_PACKAGES[@]}"
	ver=$(rust_archive_version)
	[ -n "$ver" ] || die "no rustc-web $RUST_SERIES.* in the apt archive (apt-cache madison rustc-web): bookworm's main suite should have one"
	install_packages -- "${RUST_PACKAGES[@]/%/=$ver}"
	[ "$(rust_version)" = "$ver" ] || die "the Rust toolchain is not at $ver after installing it (${RUST_PACKAGES[*]})"
}

install_bindgen() {
	if "$BINDGEN" --version 2>/dev/null | grep -q "bindgen $BINDGEN_VERSION\$"; then
		step "bindgen-cli $BINDGEN_VERSION: present"
		return
	fi
	command -v cargo >/dev/null || die "cargo not found: bindgen-cli is installed with cargo (rustup)"
	step "bindgen-cli $BINDGEN_VERSION: installing with cargo (about 2 minutes)"
	cargo install --quiet bindgen-cli --version "$BINDGEN_VERSION" --locked >"$CACHE/bindgen.log" 2>&1 ||
		die "cargo install bindgen-cli failed (log: $CACHE/bindgen.log): is crates.io reachable?"
}

# The kernel tree: the Debian source unpacked once, then an O= build per config key.
build_kernel() {
	local ver src dir build
	ver=$(kernel_pkg_version)
	[ -n "$ver" ] || die "linux-source-6.12 is not installed"
	src=$CACHE/src/linux-$ver
	dir=$(kernel_build_dir "$VARIANT" "${EXTRA_FRAGMENTS[@]}")
	build=$dir/build
	if [ -f "$dir/done" ]; then
		step "test kernel ($VARIANT): cached in $dir"
		return
	fi
	if [ ! -f "$src/.unpacked" ]; then
		step "kernel source $ver: unpacking"
		rm -rf "$src"
		mkdir -p "$src"
		tar -xf "$KERNEL_TARBALL" -C "$src" --strip-components=1 || die "cannot unpack $KERNEL_TARBALL"
		touch "$src/.unpacked"
	fi
	rm -rf "$dir"
	mkdir -p "$build"
	local kmake=(make -s -C "$src" O="$build" "${KMAKE_VARS[@]}")
	"${kmake[@]}" rustavailable >"$dir/rustavailable.log" 2>&1 ||
		die "the kernel says Rust is not available (log: $dir/rustavailable.log)"
	step "test kernel ($VARIANT): configuring (tinyconfig + ${FRAGMENT#"$TOP"/} ${EXTRA_FRAGMENTS[*]/#"$TOP"\//})"
	"${kmake[@]}" tinyconfig >"$dir/config.log" 2>&1 || die "make tinyconfig failed (log: $dir/config.log)"
	"$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$FRAGMENT" "${EXTRA_FRAGMENTS[@]}" \
		>>"$dir/config.log" 2>&1 || die "merge_config.sh failed (log: $dir/config.log)"
	"${kmake[@]}" olddefconfig >>"$dir/config.log" 2>&1 || die "make olddefconfig failed (log: $dir/config.log)"
	local line bad=()
	while IFS= read -r line; do
		case $line in
		CONFIG_*=n) grep -qx "# ${line%=n} is not set" "$build/.config" || bad+=("$line") ;;
		CONFIG_*) grep -qx "$line" "$build/.config" || bad+=("$line") ;;
		esac
	done < <(cat "$FRAGMENT" "${EXTRA_FRAGMENTS[@]}")
	[ ${#bad[@]} -eq 0 ] || die "config options that did not stick (a dependency is missing): ${bad[*]}"
	step "test kernel ($VARIANT): building on $(nproc) cores (about 8 minutes; log: $dir/build.log)"
	"${kmake[@]}" -j"$(nproc)" bzImage modules >"$dir/build.log" 2>&1 ||
		die "kernel build failed (last lines: $(tail -n 3 "$dir/build.log" | tr '\n' ' '))"
	touch "$dir/done"
	step "test kernel ($VARIANT): built in $dir"
}

mkdir -p "$CACHE"
exec 9>"$CACHE/.setup.lock"
flock 9
install_rust
install_packages -- "${PACKAGES[@]}"
install_packages --no-install-recommends -- "${PACKAGES_NO_RECOMMENDS[@]}"
install_bindgen
if [ "$KERNEL" = "$DEBIAN_KERNEL" ]; then
	exec 9>&-
	exec "$TOP/scripts/setup-debian.sh"
fi
# One build per variant at a time; other variants (and the packages' users) need not wait.
exec 9>&-
exec 8>"$CACHE/.build-$VARIANT.lock"
flock 8
build_kernel
