#!/usr/bin/env bash
# A real `dkms add / build / install` of toa_uoa against the test kernel, the way an
# operator runs it (docs/OPERATORS.md, "Install with DKMS"), except that every tree is
# private: DKMS's own tree, the source tree (/usr/src) and the install tree (/lib/modules)
# all live under $CACHE/dkms, so the host's DKMS state and /lib/modules are left alone.
# depmod then runs on that root (-b), and the guest test 80-dkms.sh loads the module from
# it with `modprobe -d`, as `modprobe toa_uoa` would after a system-wide install.
#
#   scripts/dkms-install.sh [KDIR]     prints the install root on its last line
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KDIR=${1:-$("$TOP/scripts/setup.sh" --print-kdir | tail -n 1)}
command -v dkms >/dev/null || die "dkms not installed (scripts/setup.sh installs it)"
[ -f "$KDIR/Module.symvers" ] || die "no built kernel in $KDIR"
KVER=$(make -s -C "$KDIR" kernelrelease)
VER=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$TOP/dkms.conf")
[ -n "$VER" ] || die "no PACKAGE_VERSION in dkms.conf"

D=$CACHE/dkms
ROOT=$D/root
rm -rf "$D"
mkdir -p "$D/tree" "$D/src/toa_uoa-$VER" "$ROOT/lib/modules/$KVER"
# The files an operator copies to /usr/src/toa_uoa-$VER: if one is missing here, the
# build below fails, so the list in docs/OPERATORS.md is checked too.
(cd "$TOP" && cp -r dkms.conf Makefile Kbuild option_codec.rs src "$D/src/toa_uoa-$VER/")

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
run depmod -b "$ROOT" -F "$KDIR/System.map" "$KVER"

ko=$ROOT/lib/modules/$KVER/updates/dkms/toa_uoa.ko
[ -f "$ko" ] || die "dkms install left no $ko"
status=$("${DKMS[@]}" status -m toa_uoa -v "$VER" -k "$KVER")
echo "$status"
case $status in *installed*) ;; *) die "dkms status does not say installed: $status" ;; esac
grep -q 'updates/dkms/toa_uoa.ko:' "$ROOT/lib/modules/$KVER/modules.dep" || die "depmod did not index the module"
echo "$ROOT"
