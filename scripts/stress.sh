#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The stress run (tests/stress/stress.sh; not part of the quick suite): option floods from
# both vCPUs with concurrent v0/v1 look-ups and getpeername calls, N load/unload cycles and
# N namespace create/destroy cycles under that load, then the counters must add up and the
# kernel log must be clean (and, on the debug kernel, a kmemleak scan).
#   scripts/stress.sh [--debug] [N]     N cycles of each kind, default 100
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TOP"

variant=default cycles=100
while [ $# -gt 0 ]; do
	case $1 in
	--debug) variant=debug ;;
	[0-9]*) cycles=$1 ;;
	*) die "usage: scripts/stress.sh [--debug] [N]" ;;
	esac
	shift
done

scripts/setup.sh --variant "$variant"
kdir=$(scripts/setup.sh --variant "$variant" --print-kdir)
if [ $variant = debug ]; then
	mod=$(debug_module_dir)
	step "module build for the debug kernel ($mod)"
	build_module_copy "$kdir" "$mod"
	export TOA_UOA_KO=$mod/toa_uoa.ko
else
	scripts/build.sh
fi
step "stress run: $cycles cycles on the $variant kernel"
scripts/vm.sh run --kdir "$kdir" --timeout 7200 --dmesg "$CACHE/last-stress-$variant-dmesg.log" -- \
	tests/stress/stress.sh "$cycles"
