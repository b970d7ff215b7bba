#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A real `dkms add / build / install` of toa_uoa against the test kernel, the way an
# operator runs it (docs/OPERATORS.md, "Install with DKMS"), except that every tree is
# private: DKMS's own tree, the source tree (/usr/src) and the install tree (/lib/modules)
# all live under $CACHE/dkms, so the host's DKMS state and /lib/modules are left alone.
# depmod then runs on that root (-b), and the guest test 80-dkms.sh loads the module from
# it with `modprobe -d`, as `modprobe toa_uoa` would after a system-wide install.
#
# For Debian's kernel (--kernel debian-7.3) it runs in the Debian 13 build root, with DKMS
# given Debian's own headers package as the kernel source, as on a real server: dkms.conf
# then prepares (here: finds already prepared) the full tree the module is built against.
#
#   scripts/dkms-install.sh [--kernel NAME]   prints the install root on its last line
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KERNEL=test
[ "${1:-}" != --kernel ] || KERNEL=$(kernel_arg "$2")
if [ "$KERNEL" = "$DEBIAN_KERNEL" ]; then
	# The trees live in the checkout's build directory, which the build root and the guest see.
	KVER=$(debian_kver)
	D=$TOP/build/$DEBIAN_KERNEL/dkms
	debian_chroot env TOA_UOA_DKMS_DIR="$D" TOA_UOA_DKMS_KDIR="/usr/src/linux-headers-$KVER" \
		"$TOP/scripts/dkms-install.sh" | tail -n 1
	exit "${PIPESTATUS[0]}"
fi

KDIR=${TOA_UOA_DKMS_KDIR:-$("$TOP/scripts/setup.sh" --print-kdir | tail -n 1)}
command -v dkms >/dev/null || die "dkms not installed (scripts/setup.sh installs it)"
[ -f "$KDIR/Module.symvers" ] || die "no kernel build tree or headers in $KDIR"
KVER=$(make -s -C "$KDIR" kernelrelease)
VER=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$TOP/dkms.conf")
[ -n "$VER" ] || die "no PACKAGE_VERSION in dkms.conf"

D=${TOA_UOA_DKMS_DIR:-$CACHE/dkms}
ROOT=$D/root
rm -rf "$D"
mkdir -p "$D/tree" "$D/src/toa_uoa-$VER" "$ROOT/lib/modules/$KVER"
# The files an operator copies to /usr/src/toa_uoa-$VER: if one is missing here, the
# build below fails, so the list in docs/OPERATORS.md is checked too.
(cd "$TOP" && cp $(module_sources) "$D/src/toa_uoa-$VER/" &&
	mkdir "$D/src/toa_uoa-$VER/scripts" && cp scripts/prepare-kernel-tree.sh "$D/src/toa_uoa-$VER/scripts/")

DKMS=(dkms --dkmstree "$D/tree" --sourcetree "$D/src" --installtree "$ROOT/lib/modules")
step "dkms add / build / install toa_uoa $VER for $KVER"
# Everything goes to the log; it is printed only when a step fails.
log=$D/dkms.log
run() {
	echo "+ $*" >>"$log"
	"$@" >>"$log" 2>&1 || { cat "$log" >&2; find "$D/tree" -name make.log -exec cat {} + >&2; die "failed: $*"; }
}
run "${DKMS[@]}" add -m toa_uoa -v "$VER"
run "${DKMS[@]}" build -m toa_uoa -v "$VER" -k "$KVER" --kernelsourcedir "$KDIR"
# depmod is run below on the private root: dkms's own would look in /lib/modules/$KVER.
run "${DKMS[@]}" install -m toa_uoa -v "$VER" -k "$KVER" --kernelsourcedir "$KDIR" --no-depmod
# A headers package may have no System.map (Debian's has none): depmod then checks nothing.
symbols=()
[ ! -s "$KDIR/System.map" ] || symbols=(-F "$KDIR/System.map")
run depmod -b "$ROOT" "${symbols[@]}" "$KVER"

# DKMS compresses the module as the kernel's own are (Debian's: toa_uoa.ko.xz).
ko=$(ls "$ROOT/lib/modules/$KVER/updates/dkms/"toa_uoa.ko* 2>/dev/null | head -n 1)
[ -n "$ko" ] || die "dkms install left no toa_uoa.ko in $ROOT/lib/modules/$KVER/updates/dkms"
status=$("${DKMS[@]}" status -m toa_uoa -v "$VER" -k "$KVER")
echo "$status"
case $status in *installed*) ;; *) die "dkms status does not say installed: $status" ;; esac
grep -q 'updates/dkms/toa_uoa.ko[.a-z]*:' "$ROOT/lib/modules/$KVER/modules.dep" || die "depmod did not index the module"
echo "$ROOT"
