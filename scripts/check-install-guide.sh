#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Follows README's "Install on a real server" block as a new user would, and fails if any
# step fails: in a fresh Debian 13 root (debootstrap, apt sources as Debian 13's installer
# writes them, this checkout's files copied to /root/toa_uoa), every command of the block up
# to the build runs as written, with network, from step 1's backports kernel to `make`; the
# commands after it (insmod, dmesg, /proc/net/toa_uoa) then run in a guest booted on Debian's
# own kernel (scripts/vm.sh --kernel debian-7.3) with the module that build made.
# The differences to a real server: the root runs on this machine's kernel, so `uname -r`
# there is made to print the guest kernel's release; `reboot` is skipped; apt's questions are
# answered yes (APT::Get::Assume-Yes), as the user at the terminal would.
# Not part of scripts/test.sh (it downloads the packages and prepares a tree: about 10 minutes).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$TOP/scripts/setup.sh" --kernel "$DEBIAN_KERNEL" >/dev/null
KVER=$(debian_kver)
GUIDE=$DEBIAN_DIR/guide-root
MIRROR=$(debian_mirror)

# The README block: the lines of the fenced block after the install-guide marker, with
# continuation lines joined.
block=$(awk '/<!-- install-guide:/ { f = 1; next } f && /^```sh/ { inb = 1; next }
	inb && /^```/ { exit } inb { print }' "$TOP/README.md" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta')
[ -n "$block" ] || die "no install-guide block in README.md"
# Up to the build in the root; from the first insmod on, in the guest.
root_part=$(printf '%s\n' "$block" | awk '/^insmod / { exit } { print }' | grep -v '^reboot$')
guest_part=$(printf '%s\n' "$block" | awk '/^insmod / { f = 1 } f')
[ -n "$guest_part" ] || die "the install-guide block has no insmod step"

step "fresh Debian 13 root for the walk-through: $GUIDE"
rm -rf "$GUIDE"
mkdir -p "$GUIDE"
debootstrap --variant=minbase "$DEBIAN_SUITE" "$GUIDE" "$MIRROR" >"$DEBIAN_DIR/guide-debootstrap.log" 2>&1 ||
	die "debootstrap failed (log: $DEBIAN_DIR/guide-debootstrap.log)"
rm -f "$GUIDE/etc/apt/sources.list"
cat >"$GUIDE/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $MIRROR
Suites: trixie trixie-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
cp /etc/resolv.conf "$GUIDE/etc/resolv.conf" 2>/dev/null || true
echo 'APT::Get::Assume-Yes "true";' >"$GUIDE/etc/apt/apt.conf.d/90-check-install-guide"
cat >"$GUIDE/usr/local/bin/uname" <<SHIM
#!/bin/sh
# check-install-guide.sh: the guide's kernel is the guest's, not the build machine's.
[ "\$1" = -r ] && { echo '$KVER'; exit 0; }
exec /usr/bin/uname "\$@"
SHIM
chmod +x "$GUIDE/usr/local/bin/uname"
mkdir -p "$GUIDE/root/toa_uoa"
(cd "$TOP" && git ls-files -z | xargs -0 cp --parents -t "$GUIDE/root/toa_uoa")

step "the guide's steps up to the build, in the root (log: $DEBIAN_DIR/guide.log)"
printf '%s\n' "$root_part" | sed 's/^/    /'
DEBIAN_ROOT=$GUIDE debian_chroot /bin/bash -c "set -euxo pipefail; cd /root/toa_uoa; $root_part" \
	>"$DEBIAN_DIR/guide.log" 2>&1 || { tail -n 20 "$DEBIAN_DIR/guide.log"; die "a step of the install guide failed"; }
[ -f "$GUIDE/root/toa_uoa/toa_uoa.ko" ] || die "the guide's build left no toa_uoa.ko"

step "the guide's remaining steps, in a guest on Debian's kernel $KVER"
printf '%s\n' "$guest_part" | sed 's/^/    /'
scripts/vm.sh --kernel "$DEBIAN_KERNEL" run -- /bin/bash -c "set -euxo pipefail; cd '$GUIDE/root/toa_uoa'
	[ \"\$(uname -r)\" = '$KVER' ]
	$guest_part
	grep -q 'toa_uoa: loaded' <(dmesg)"
step "install guide followed: every step passed"
