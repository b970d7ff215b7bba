#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The module's main job on a fresh machine: set up (once; cached), build toa_uoa.ko, boot
# the test kernel under QEMU and show the module at work in the guest: a client reaching a
# VIP through a FullNAT balancer (nftables + toa-uoa-lb), the server's view with and without it.
#   scripts/demo.sh                      on the project's 6.12 test kernel
#   scripts/demo.sh --kernel debian-7.3  on Debian 13's own backports kernel
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TOP"

KERNEL=test
[ "${1:-}" != --kernel ] || KERNEL=$(kernel_arg "${2:-}")
step "set-up (first run: Debian packages, bindgen, test kernel build: about 10 minutes)"
scripts/setup.sh
step "building toa_uoa.ko"
scripts/build.sh
if [ "$KERNEL" = "$DEBIAN_KERNEL" ]; then
	step "set-up of Debian's kernel (first run: a Debian 13 build root and the kernel tree: about 8 minutes)"
	scripts/setup.sh --kernel "$KERNEL"
	scripts/build.sh --kernel "$KERNEL"
	export TOA_UOA_KO=$TOP/build/$KERNEL/toa_uoa.ko
fi
step "building toa-uoa-lb, the balancer stage (first run: under a minute)"
(cd userspace && cargo build --release --quiet -p toa-uoa-lb)
step "booting the $KERNEL kernel ($(scripts/vm.sh accel --kernel "$KERNEL")) and running the demo"
scripts/vm.sh --kernel "$KERNEL" run -- tests/demo/demo.sh
