#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Where the packet path's time goes: perf (cpu-clock sampling, call graphs) in the guest,
# under instruction counting, while one CPU sends a UDP flood from namespace lb to rs with
# toa_uoa loaded. Prints the functions by inclusive share, toa_uoa's and netfilter's first.
#
#   bench/profile.sh [fixed|vary|none]     option on every packet, one tuple (default);
#                                          a new tuple per packet; no option
#   bench/profile.sh conn|conn-plain       short TCP connections (loadgen conn-rate), the
#                                          client's packets with the option; without it
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$BENCH")
MODE=${1:-fixed}

if [ -z "${TOA_UOA_IN_VM:-}" ]; then
	cd "$TOP"
	make -s >/dev/null
	out=$(mktemp -d)
	trap 'rm -rf "$out"' EXIT
	VM_OUT_COPY=$out scripts/vm.sh run --icount 2 --timeout 1200 -- "$BENCH/profile.sh" "$MODE"
	cat "$out/report.txt"
	exit 0
fi

LG=/tmp/loadgen
gcc -O2 -o $LG "$BENCH/loadgen.c"
. "$BENCH/netns.sh"
bench_pair
insmod "$TOP/toa_uoa.ko" max_records=1048576 idle_timeout=3600
case $MODE in
conn | conn-plain)
	v=opt
	[ "$MODE" = conn ] || v=none
	taskset -c 0 $LG conn-rate rs lb 10.0.0.2 9101 1 $v >/dev/null # warm-up
	perf record -q -a -g -e cpu-clock -F 20000 -o /tmp/perf.data -- \
		taskset -c 0 $LG conn-rate rs lb 10.0.0.2 9102 3 $v >/tmp/send 2>/dev/null || true
	;;
*)
	ip netns exec rs $LG udp-sink 9001 >/dev/null &
	sleep 1
	ip netns exec lb taskset -c 0 $LG udp-send 10.0.0.2 9001 1 "$MODE" >/dev/null # warm-up
	perf record -q -a -g -e cpu-clock -F 20000 -o /tmp/perf.data -- \
		ip netns exec lb taskset -c 0 $LG udp-send 10.0.0.2 9001 3 "$MODE" >/tmp/send 2>/dev/null || true
	;;
esac
{
	echo "mode=$MODE $(cat /tmp/send)"
	perf report -i /tmp/perf.data --children --sort sym --stdio -g none 2>/dev/null |
		grep -v '^#' | grep -v '^$' >/tmp/all || true
	grep -E 'toa_uoa|hand_to_rust|hook_ipv|nf_hook_slow' /tmp/all || true
	echo "--- all, by inclusive share"
	head -n 40 /tmp/all
	echo "--- all, by own share"
	perf report -i /tmp/perf.data --no-children --sort sym --stdio -g none 2>/dev/null |
		grep -v '^#' | grep -v '^$' | head -n 40 || true
} >"$VM_OUT/report.txt"
