#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The guest suite on the debug variant of the test kernel (kernel/debug.config: KASAN,
# lockdep, DEBUG_ATOMIC_SLEEP, KMEMLEAK, UBSAN, DEBUG_OBJECTS): the module is built for
# that kernel in a separate directory under the cache, the suite runs with it, and any
# report from the checkers (in the kernel log, or from a kmemleak scan) fails the run.
#   KTEST_FILTER=regex  run only the guest tests whose file name matches
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TOP"

step "set-up (debug kernel variant; first time: about 15 minutes)"
scripts/setup.sh --variant debug
kdir=$(scripts/setup.sh --variant debug --print-kdir)

mod=$(debug_module_dir)
step "module build for the debug kernel ($mod)"
build_module_copy "$kdir" "$mod"

step "guest suite on the debug kernel"
export TOA_UOA_KO=$mod/toa_uoa.ko TOA_UOA_SQUATTER=$mod/kmod/uoa_squatter.ko KTEST_TIMEOUT=${KTEST_TIMEOUT:-1200}
rc=0
scripts/vm.sh run --kdir "$kdir" --timeout 5400 --dmesg "$CACHE/last-debug-dmesg.log" -- tests/guest/run.sh || rc=$?
[ $rc -eq 0 ] || { step "FAILED on the debug kernel (its log: $CACHE/last-debug-dmesg.log)"; exit 1; }
step "debug suite passed"
