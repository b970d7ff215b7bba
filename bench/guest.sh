#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The in-guest part of the toa_uoa benchmark suite (bench/run.sh boots the guest and runs
# this). Measures, with the module loaded and not loaded in the same boot, in alternating
# rounds (ABBA order: even rounds unloaded first, odd rounds loaded first):
#   udp_plain  UDP flood without options, pps delivered to the receiving socket
#   tcp        one TCP stream, bytes/s delivered
#   udp_opt1   UDP flood, every packet with the option, one tuple
#   udp_optN   UDP flood, every packet with the option, a new tuple per packet
#   getname    getpeername/getsockname calls/s on a connection with a record and one
#              without (also with a no-op kretprobe module instead of toa_uoa)
#   lookup     getsockopt v1/v0 calls/s, hits and misses, on tables of 1k/100k/1M records
#   mem        /proc/meminfo Slab before and after the tables, peak while filling
# Raw results: one line per measurement, tab separated: section metric state round value
#
#   bench/guest.sh [--quick] OUT.tsv
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$BENCH")
KO=${TOA_UOA_KO:-$TOP/toa_uoa.ko}
NOOP_KO=${NOOP_KO:-$BENCH/build/noop_kretprobe/noop_kretprobe.ko}

QUICK=0
[ "${1:-}" = --quick ] && { QUICK=1; shift; }
OUT=${1:?usage: guest.sh [--quick] OUT.tsv}
if [ $QUICK = 1 ]; then
	ROUNDS=2 SECS=1 GSECS=0.3 LSECS=0.5 SIZES="1000 100000"
else
	ROUNDS=5 SECS=2 GSECS=1 LSECS=1 SIZES="1000 100000 1048576"
fi
MAXREC=1048576
W=$(mktemp -d)
LG=$W/loadgen
RS=10.0.0.2
T0=$(date +%s)

log() { echo "bench: [$(($(date +%s) - T0))s] $*" >&2; }
emit() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$OUT"; }
info() { printf 'info\t%s\t-\t-\t%s\n' "$1" "$2" >>"$OUT"; }
# kv FILE KEY: the value of KEY=value in FILE
kv() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p" | head -1; }

cleanup() {
	local n
	for n in lb rs; do
		ip netns pids $n 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del $n 2>/dev/null || true
	done
	rmmod toa_uoa 2>/dev/null || true
	rmmod noop_kretprobe 2>/dev/null || true
}
trap cleanup EXIT

gcc -O2 -Wall -o "$LG" "$BENCH/loadgen.c"

# ---- the machine ----
: >"$OUT"
info date "$(date -u +%Y-%m-%dT%H:%MZ)"
info kernel "$(uname -r)"
info nproc "$(nproc)"
info cpus_in_cpuinfo "$(grep -c ^processor /proc/cpuinfo)"
info cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
info memtotal_kb "$(awk '/^MemTotal/ {print $2}' /proc/meminfo)"
info mode "$([ $QUICK = 1 ] && echo quick || echo full)"
info rounds "$ROUNDS"
info secs "$SECS"
info module_sha256 "$(sha256sum "$KO" | cut -c1-16)"
[ -z "${BENCH_GIT:-}" ] || info git "$BENCH_GIT"
[ -z "${BENCH_HOST_LOAD:-}" ] || info host_loadavg_at_start "$BENCH_HOST_LOAD"
[ -z "${BENCH_CLOCK:-}" ] || info clock "$BENCH_CLOCK"

# ---- two namespaces over veth: lb 10.0.0.1 (sender, CPU 0) -> rs 10.0.0.2 (CPU 1) ----
. "$BENCH/netns.sh"
bench_pair
NPROC=$(nproc)
TX_CPU=0 RX_CPU=$((NPROC > 1 ? 1 : 0))
inlb() { ip netns exec lb taskset -c $TX_CPU "$@"; }
inrs() { ip netns exec rs taskset -c $RX_CPU "$@"; }

state_now=""
# set_state unloaded|loaded|noop
set_state() {
	rmmod toa_uoa 2>/dev/null || true
	rmmod noop_kretprobe 2>/dev/null || true
	case $1 in
	loaded) insmod "$KO" max_records=$MAXREC idle_timeout=3600 ;;
	noop) insmod "$NOOP_KO" ;;
	esac
	state_now=$1
}

stat_rs() { ip netns exec rs awk -v n="$1" '$1 == n { print $2 }' /proc/net/toa_uoa; }

wait_ready() {
	local i
	for i in $(seq 1 200); do
		grep -q ready "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "bench: $1 never got ready" >&2
	return 1
}

# udp_snmp: InDatagrams+RcvbufErrors+NoPorts of rs, the datagrams that reached UDP.
udp_snmp() {
	ip netns exec rs awk '/^Udp:/ { if (!h) { for (i = 2; i <= NF; i++) n[$i] = i; h = 1 }
		else { print $n["InDatagrams"] + $n["RcvbufErrors"] + $n["NoPorts"] } }' /proc/net/snmp
}

# udp_run MODE PORT ROUND [record]: the sender floods for SECS into a socket that never
# reads (udp-sink). The whole receive path (veth, IP, the LOCAL_IN hook, UDP, the socket
# queue) runs in the sender's softirq on its CPU, so the sender's rate is the path's
# rate; the kernel's own UDP counters say how many datagrams reached UDP (pps).
udp_run() {
	local mode=$1 port=$2 r=$3 metric=udp_plain a b
	[ "$mode" = fixed ] && metric=udp_opt1
	[ "$mode" = vary ] && metric=udp_optN
	inrs "$LG" udp-sink "$port" >"$W/recv" &
	local rpid=$!
	wait_ready "$W/recv"
	# The option floods measure the per-packet cost: a namespace's one-time set-up at its
	# first option (the table made, then grown to max_records by a kernel worker, about
	# 2 MiB at max_records=1M) happens before, in a short unrecorded flood of one tuple to
	# another port (both states alike). BENCHMARKS.md gives that set-up's own cost.
	if [ "$mode" != none ]; then
		inlb "$LG" udp-send $RS $((port + 500)) 0.2 fixed >/dev/null
		sleep 0.3
	fi
	a=$(udp_snmp)
	inlb "$LG" udp-send $RS "$port" "$SECS" "$mode" >"$W/send"
	sleep 0.2
	b=$(udp_snmp)
	kill $rpid; wait $rpid 2>/dev/null || true
	[ "${4:-}" = record ] || return 0
	emit "$metric" pps "$state_now" "$r" "$(awk -v n=$((b - a)) -v t="$(kv "$W/send" secs)" 'BEGIN { printf "%.0f", n / t }')"
	emit "$metric" sent_pps "$state_now" "$r" "$(kv "$W/send" pps)"
	emit "$metric" delivered_fraction "$state_now" "$r" "$(awk -v n=$((b - a)) -v s="$(kv "$W/send" sent)" 'BEGIN { printf "%.4f", n / s }')"
	if [ "$state_now" = loaded ] && [ "$mode" = vary ]; then
		emit "$metric" records_new loaded "$r" "$(stat_rs records_new)"
		emit "$metric" records_evicted loaded "$r" "$(stat_rs records_evicted)"
		emit "$metric" records_alloc_failed loaded "$r" "$(stat_rs records_alloc_failed)"
	fi
}

tcp_run() {
	local port=$1 r=$2 record=${3:-}
	inrs "$LG" tcp-recv "$port" >"$W/recv" &
	local rpid=$!
	wait_ready "$W/recv"
	inlb "$LG" tcp-send $RS "$port" "$SECS" >"$W/send"
	wait $rpid
	[ "$record" = record ] || return 0
	emit tcp Bps "$state_now" "$r" "$(kv "$W/recv" Bps)"
}

getname_run() {
	local port=$1 r=$2 k
	inrs "$LG" getname-srv "$port" "$GSECS" >"$W/gsrv" &
	local spid=$!
	wait_ready "$W/gsrv"
	inlb "$LG" tcp-conn $RS "$port" &
	local cpid=$!
	wait $spid
	wait $cpid || true
	[ "$r" != - ] || return 0
	for k in rec_peer rec_sock norec_peer norec_sock; do
		emit getname "$k" "$state_now" "$r" "$(kv "$W/gsrv" $k)"
	done
	if [ $r = 0 ]; then
		info "getname_${state_now}_answers" "$(tr ' ' '\n' <"$W/gsrv" | grep _addr= | tr '\n' ' ')"
	fi
}

# ---- 1, 2: the packet path, ABBA rounds (after one unrecorded warm-up pass per state:
# TCG translates kernel code on first use) ----
port=9000
for s in unloaded loaded; do
	set_state "$s"
	log "warm-up $s"
	port=$((port + 1)); udp_run none $port -
	port=$((port + 1)); tcp_run $port -
	port=$((port + 1)); udp_run vary $port -
done
for r in $(seq 0 $((ROUNDS - 1))); do
	order="unloaded loaded"
	[ $((r % 2)) = 1 ] && order="loaded unloaded"
	for s in $order; do
		set_state "$s"
		log "round $r $s: udp plain, tcp, udp option one tuple, udp option new tuples"
		port=$((port + 1)); udp_run none $port "$r" record
		port=$((port + 1)); tcp_run $port "$r" record
		port=$((port + 1)); udp_run fixed $port "$r" record
		port=$((port + 1)); udp_run vary $port "$r" record
	done
done

# ---- 3b: getpeername/getsockname ----
have_noop=0
[ -f "$NOOP_KO" ] && have_noop=1
for s in unloaded loaded noop; do
	[ $s = noop ] && [ $have_noop = 0 ] && continue
	set_state "$s"
	log "warm-up $s: getpeername/getsockname"
	port=$((port + 1)); getname_run $port -
done
for r in $(seq 0 $((ROUNDS - 1))); do
	order="unloaded loaded noop"
	[ $((r % 2)) = 1 ] && order="noop loaded unloaded"
	for s in $order; do
		[ $s = noop ] && [ $have_noop = 0 ] && continue
		set_state "$s"
		log "round $r $s: getpeername/getsockname"
		port=$((port + 1)); getname_run $port "$r"
	done
done

# ---- 3a, 4: look-ups against growing tables, and the memory they take ----
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
set_state unloaded
inrs "$LG" lookup $RS 9000 1000 "$LSECS" v1 >/dev/null
for r in $(seq 0 $((ROUNDS - 1))); do
	inrs "$LG" lookup $RS 9000 1000 "$LSECS" v1 >"$W/lk"
	emit lookup v1_unloaded_enoprotoopt 0 "$r" "$(kv "$W/lk" cps)"
done
sync
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
sleep 1
# The fills and look-ups go to rs:9000, where a socket takes them (no ICMP errors).
inrs "$LG" udp-sink 9000 >"$W/sink9000" &
wait_ready "$W/sink9000"
emit mem slab_kb before_load 0 "$(meminfo Slab)"
emit mem sunreclaim_kb before_load 0 "$(meminfo SUnreclaim)"
emit mem memfree_kb before_load 0 "$(meminfo MemFree)"
set_state loaded
# The namespace's table is made at its first option and grown to max_records then: one
# record first, so that "empty" is the full-size table the records below are added to.
inlb "$LG" udp-send $RS 9000 0.1 fixed >/dev/null
sleep 1
emit mem slab_kb empty 0 "$(meminfo Slab)"
emit mem sunreclaim_kb empty 0 "$(meminfo SUnreclaim)"
emit mem memfree_kb empty 0 "$(meminfo MemFree)"
peak_file=$W/peak
for n in $SIZES; do
	log "filling the table to $n records"
	( peak=0; while :; do v=$(meminfo Slab); [ "$v" -gt "$peak" ] && { peak=$v; echo $peak >"$peak_file"; }; sleep 0.2; done ) &
	mon=$!
	t=0
	while [ "$(stat_rs records_live)" -lt "$n" ] && [ $t -lt 2 ]; do
		inlb "$LG" udp-send $RS 9000 0 vary "$n" >"$W/send"
		t=$((t + 1))
		sleep 0.5
	done
	sleep 1
	kill $mon; wait $mon 2>/dev/null || true
	live=$(stat_rs records_live)
	emit mem records_live "$n" 0 "$live"
	emit mem slab_kb "$n" 0 "$(meminfo Slab)"
	emit mem sunreclaim_kb "$n" 0 "$(meminfo SUnreclaim)"
	emit mem memfree_kb "$n" 0 "$(meminfo MemFree)"
	emit mem slab_peak_kb "$n" 0 "$(cat "$peak_file")"
	emit mem fill_passes "$n" 0 "$t"
	log "table $n: $live records; look-ups"
	for r in $(seq 0 $((ROUNDS - 1))); do
		for v in v1 v0 v1miss v0miss; do
			inrs "$LG" lookup $RS 9000 "$n" "$LSECS" $v >"$W/lk"
			emit lookup "$v" "$n" "$r" "$(kv "$W/lk" cps)"
			[ $r = 0 ] && info "lookup_${v}_${n}" "$(cat "$W/lk")"
		done
		# The control: hits on the first 1000 records only, so the memory touched stays
		# as small as in the 1000-record table while the table itself is full size.
		inrs "$LG" lookup $RS 9000 1000 "$LSECS" v1 >"$W/lk"
		emit lookup v1hot "$n" "$r" "$(kv "$W/lk" cps)"
	done
done
emit mem records_dropped_at_limit end 0 "$(stat_rs records_dropped_at_limit)"
emit mem records_evicted end 0 "$(stat_rs records_evicted)"
emit mem records_alloc_failed end 0 "$(stat_rs records_alloc_failed)"
set_state unloaded
sleep 1
emit mem slab_kb after_unload 0 "$(meminfo Slab)"
emit mem memfree_kb after_unload 0 "$(meminfo MemFree)"
info guest_seconds "$(($(date +%s) - T0))"
info dmesg_warnings "$(dmesg | grep -ciE 'warning|oops|bug:' || true)"
log "done in $(($(date +%s) - T0)) s"
