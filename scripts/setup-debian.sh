#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Set up the second target, Debian's own Rust-enabled kernel (scripts/setup.sh --kernel
# debian-7.3 runs this), unattended and cached under $CACHE/debian-7.3:
#   1. a Debian 13 (trixie) build root, from this machine's own Debian mirror, with trixie's
#      rustc, rust-src, bindgen and gcc: the compilers Debian built that kernel with (Rust
#      symbol names depend on the exact rustc, so the host's Debian 12 one cannot be used);
#   2. the newest kernel of the series in trixie-backports (or $TOA_UOA_DEBIAN_KVER): its
#      source and headers packages installed in the root, and the kernel tree prepared there
#      by scripts/prepare-kernel-tree.sh, the same script a real server runs (README);
#   3. Debian's kernel image and modules packages, unpacked (not rebuilt) for scripts/vm.sh:
#      $CACHE/debian-7.3/KVER/lib/modules/KVER/{vmlinuz,kernel/...}.
#
#   scripts/setup-debian.sh               set up (cached: seconds when nothing changed)
#   scripts/setup-debian.sh --print-kdir  print the prepared tree's path on the host (no work)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" = --print-kdir ]; then
	kver=$(debian_kver)
	[ -n "$kver" ] && [ -f "$(debian_kver_dir "$kver")/done" ] ||
		die "the $DEBIAN_KERNEL kernel is not set up: run scripts/setup.sh --kernel $DEBIAN_KERNEL"
	echo "$DEBIAN_ROOT$(debian_tree "$kver")"
	exit 0
fi
[ $# -eq 0 ] || die "setup-debian.sh: unknown argument '$1'"
if [ "$(id -u)" != 0 ]; then
	# debootstrap and chroot need root: as setup.sh does for apt, use password-less sudo.
	sudo -n true 2>/dev/null || die "the Debian build root needs root (debootstrap, chroot), or password-less sudo"
	exec sudo -n env HOME="$HOME" TOA_UOA_CACHE="$CACHE" "$0" "$@"
fi
for c in debootstrap unshare chroot dpkg-deb; do
	command -v $c >/dev/null || die "$c not found (scripts/setup.sh installs it)"
done

# What the build root holds; a change here makes a new root (the key below).
ROOT_PACKAGES=(rustc rust-src rust-clippy bindgen libclang-dev gcc make bc flex bison cpio kmod
	libelf-dev libssl-dev dwarves python3 xz-utils zstd ca-certificates)
# dkms's recommendations are Debian's own kernel headers metapackages: not wanted.
ROOT_PACKAGES_NO_RECOMMENDS=(dkms)

MIRROR=$(debian_mirror)
KEY=$(printf '%s\n' "$DEBIAN_SUITE" "${ROOT_PACKAGES[*]}" "${ROOT_PACKAGES_NO_RECOMMENDS[*]}" | sha256sum | cut -c1-12)

make_root() {
	if [ "$(cat "$DEBIAN_ROOT/.toa_uoa-root" 2>/dev/null)" = "$KEY" ]; then
		step "Debian $DEBIAN_SUITE build root: cached in $DEBIAN_ROOT"
		return
	fi
	if [ ! -f "$DEBIAN_ROOT/.toa_uoa-bootstrapped" ]; then
		rm -rf "$DEBIAN_ROOT"
		mkdir -p "$DEBIAN_DIR"
		step "Debian $DEBIAN_SUITE build root: debootstrap (about a minute; log: $DEBIAN_DIR/debootstrap.log)"
		debootstrap --variant=minbase "$DEBIAN_SUITE" "$DEBIAN_ROOT" "$MIRROR" >"$DEBIAN_DIR/debootstrap.log" 2>&1 ||
			die "debootstrap $DEBIAN_SUITE failed (log: $DEBIAN_DIR/debootstrap.log)"
		touch "$DEBIAN_ROOT/.toa_uoa-bootstrapped"
	fi
	write_sources
	step "Debian $DEBIAN_SUITE build root: rustc, bindgen, gcc (log: $DEBIAN_DIR/apt.log)"
	root_apt update
	root_apt install -y --no-install-recommends "${ROOT_PACKAGES[@]}"
	root_apt install -y --no-install-recommends "${ROOT_PACKAGES_NO_RECOMMENDS[@]}"
	echo "$KEY" >"$DEBIAN_ROOT/.toa_uoa-root"
}

# The suite and its backports, from the same mirror as the host's own sources.
write_sources() {
	rm -f "$DEBIAN_ROOT/etc/apt/sources.list"
	cat >"$DEBIAN_ROOT/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $DEBIAN_SUITE $DEBIAN_SUITE-updates $DEBIAN_SUITE-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	# The host's apt settings (a proxy, say) apply in the root too.
	cp /etc/resolv.conf "$DEBIAN_ROOT/etc/resolv.conf" 2>/dev/null || true
}

root_apt() {
	echo "+ apt-get $*" >>"$DEBIAN_DIR/apt.log"
	debian_chroot apt-get -q -o Dpkg::Use-Pty=0 "$@" >>"$DEBIAN_DIR/apt.log" 2>&1 ||
		die "apt-get $* failed in the build root (log: $DEBIAN_DIR/apt.log)"
}

# The newest $DEBIAN_SERIES kernel in the archive whose source package is the same version.
resolve_kver() {
	if [ -n "${TOA_UOA_DEBIAN_KVER:-}" ]; then
		echo "$TOA_UOA_DEBIAN_KVER"
		return
	fi
	local kver
	kver=$(debian_chroot apt-cache pkgnames "linux-headers-$DEBIAN_SERIES." |
		sed -n "s/^linux-headers-\($DEBIAN_SERIES\.[0-9]*+deb[0-9]*-$DEBIAN_FLAVOUR\)\$/\1/p" | sort -V | tail -n 1)
	[ -n "$kver" ] || die "no linux-headers-$DEBIAN_SERIES.*-$DEBIAN_FLAVOUR in $DEBIAN_SUITE-backports"
	echo "$kver"
}

# Debian's kernel binary, modules and their indexes (linux-base), unpacked as they are, and the tree prepared in the root.
setup_kver() {
	local kver=$1 dir src_ver up
	dir=$(debian_kver_dir "$kver")
	if [ -f "$dir/done" ]; then
		step "Debian kernel $kver: cached in $dir"
		return
	fi
	up=${kver%%+*}
	step "Debian kernel $kver: source and headers packages (log: $DEBIAN_DIR/apt.log)"
	root_apt install -y --no-install-recommends "linux-source-$DEBIAN_SERIES" "linux-headers-$kver"
	src_ver=$(debian_chroot dpkg-query -W -f='${Version}' "linux-source-$DEBIAN_SERIES")
	case $src_ver in
	"$up"-*) ;;
	*) die "linux-source-$DEBIAN_SERIES is $src_ver, not $up as linux-headers-$kver: the archive is mid-update; retry later or set TOA_UOA_DEBIAN_KVER" ;;
	esac
	rm -rf "$dir"
	mkdir -p "$dir/debs"
	step "Debian kernel $kver: image and modules packages"
	download_debs "$kver" "$dir/debs"
	local deb
	for deb in "$dir"/debs/*.deb; do
		dpkg-deb -x "$deb" "$dir" || die "cannot unpack $deb"
	done
	# The packages use the merged /usr layout; depmod -b and modprobe -d look in ROOT/lib.
	[ -e "$dir/lib" ] || ln -s usr/lib "$dir/lib"
	[ -f "$(debian_vmlinuz "$kver")" ] || die "no vmlinuz in linux-binary-$kver"
	[ -d "$dir/lib/modules/$kver/kernel" ] || die "no lib/modules/$kver in linux-modules-$kver"
	# modules.dep for the guest's modprobe (the package leaves it to its postinst).
	depmod -b "$dir" "$kver" || die "depmod on the unpacked modules of $kver failed"
	rm -rf "$dir/debs"
	step "Debian kernel $kver: preparing the kernel tree in the build root (about 5 minutes; log: $dir/prepare.log)"
	debian_chroot "$TOP/scripts/prepare-kernel-tree.sh" --kver "$kver" --out "$(debian_tree "$kver")" \
		>"$dir/prepare.log" 2>&1 || die "preparing the kernel tree failed (last lines: $(tail -n 3 "$dir/prepare.log" | tr '\n' ' '))"
	touch "$dir/done"
}

# download_debs KVER DIR: Debian's kernel image and modules packages into DIR. apt-get
# download writes where it runs, inside the root; the files are moved out to the cache.
download_debs() {
	local kver=$1 dir=$2
	debian_chroot /bin/sh -c "mkdir -p /var/tmp/toa_uoa-debs && cd /var/tmp/toa_uoa-debs && rm -f ./*.deb &&
		apt-get download -q linux-base-$kver linux-binary-$kver linux-modules-$kver" >>"$DEBIAN_DIR/apt.log" 2>&1 ||
		die "apt-get download linux-base-$kver linux-binary-$kver linux-modules-$kver failed (log: $DEBIAN_DIR/apt.log)"
	mv "$DEBIAN_ROOT"/var/tmp/toa_uoa-debs/*.deb "$dir/"
}

mkdir -p "$DEBIAN_DIR"
exec 8>"$DEBIAN_DIR/.setup.lock"
flock 8
: >"$DEBIAN_DIR/apt.log"
make_root
write_sources
# The archive decides the version; offline, the version prepared last is used as it is.
if debian_chroot apt-get -q update >>"$DEBIAN_DIR/apt.log" 2>&1; then
	KVER=$(resolve_kver)
elif [ -n "$(debian_kver)" ] && [ -f "$(debian_kver_dir "$(debian_kver)")/done" ]; then
	KVER=$(debian_kver)
	step "apt-get update failed in the build root (log: $DEBIAN_DIR/apt.log): using the cached $KVER"
else
	die "apt-get update failed in the build root (log: $DEBIAN_DIR/apt.log): is the Debian mirror reachable?"
fi
setup_kver "$KVER"
echo "$KVER" >"$DEBIAN_DIR/current"
step "Debian kernel $KVER: ready (tree: $DEBIAN_ROOT$(debian_tree "$KVER"))"
