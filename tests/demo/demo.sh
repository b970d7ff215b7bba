#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs in the guest (scripts/demo.sh boots it): the module loads and says what it is, then the
# FullNAT end-to-end demo (tests/demo/fullnat.sh): a client reaches a VIP through an nftables
# FullNAT balancer running toa-uoa-lb, and unmodified server applications are shown what they
# see with toa_uoa.ko loaded and without it.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
KO=${TOA_UOA_KO:-$TOP/toa_uoa.ko}
echo "== guest kernel: $(uname -r)"
before=$(dmesg | wc -l)
insmod "$KO"
echo "== insmod toa_uoa.ko; the kernel log says:"
dmesg | tail -n +"$((before + 1))" | sed 's/^/   /'
echo "== parameters (/sys/module/toa_uoa/parameters):"
for p in /sys/module/toa_uoa/parameters/*; do echo "   ${p##*/} = $(cat "$p")"; done
rmmod toa_uoa
echo "== rmmod toa_uoa: $(dmesg | tail -1)"
echo
exec "$TOP/tests/demo/fullnat.sh"
