#!/usr/bin/env bash
# The module's main job on a fresh machine: set up (once; cached), build toa_uoa.ko, boot
# the test kernel under QEMU and show the module at work in the guest: a client reaching a
# VIP through a FullNAT balancer (nftables + toa-uoa-lb), the server's view with and without it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TOP"

step "set-up (first run: Debian packages, bindgen, test kernel build: about 10 minutes)"
scripts/setup.sh
step "building toa_uoa.ko"
scripts/build.sh
step "building toa-uoa-lb, the balancer stage (first run: fetches and builds the nfq crate, under a minute)"
(cd userspace && cargo build --release --quiet -p toa-uoa-lb)
step "booting the test kernel ($(scripts/vm.sh accel)) and running the demo"
scripts/vm.sh run -- tests/demo/demo.sh
