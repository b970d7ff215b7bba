#!/usr/bin/env bash
# Runs in the guest: load the module, show what it says and its parameters, unload it.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
echo "== guest kernel: $(uname -r)"
dmesg -C
insmod "$TOP/toa_uoa.ko"
echo "== insmod toa_uoa.ko; the kernel log says:"
dmesg | sed 's/^/   /'
echo "== parameters (/sys/module/toa_uoa/parameters):"
for p in /sys/module/toa_uoa/parameters/*; do echo "   ${p##*/} = $(cat "$p")"; done
rmmod toa_uoa
echo "== rmmod toa_uoa: $(dmesg | tail -1)"
