#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The in-guest part of the toa_uoa benchmark suite (bench/run.sh boots the guest and runs
# this). Measures, with the module loaded and not loaded in the same boot, in alternating
# rounds (ABBA order: even rounds unloaded first, odd rounds loaded first):
#   udp_plain  UDP flood without options, pps delivered to the receiving socket
#   tcp        one TCP stream, bytes/s delivered
#   udp_opt1   UDP flood, every packet with the option, one tuple
#   udp_optN   UDP flood, every packet with the option, a new tuple per packet
#   udp_nopt   UDP flood, IP options but not ours (eight NOPs), one tuple
#   conn_opt   short TCP connections (connect, accept, getpeername, close) per second,
#              the client's packets with the option
#   conn_plain the same without the option
#   getname    getpeername/getsockname calls/s on a connection with a record and one
#              without (also with a no-op kretprobe module instead of toa_uoa)
#   lookup     getsockopt v1/v0 calls/s, hits and misses, on tables of 1k/100k/1M records
#   mem        /proc/meminfo Slab before and after the tables, peak while filling
# and, with --part two-senders (a boot of its own: it needs vCPUs that really run at once,
# so a wall clock and one emulator thread per vCPU, where everything above is
# instruction-counted):
#   smp_opt1   UDP with the option, one sender (CPU 0) and two (CPUs 0 and 1) at once,
#              one tuple per sender; smp_optN the same with a new tuple per packet;
#              smp_control the same for a loop that touches no memory (the host's share)
# Raw results: one line per measurement, tab separated: section metric state round value
#
#   bench/guest.sh [--quick] [--part main|two-senders] [--only SECTIONS] OUT.tsv
# SECTIONS (main part only): a comma-separated list of packets, conn, getname, lookup (the
# look-ups and the memory rows); all of them if not given.
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$BENCH")
KO=${TOA_UOA_KO:-$TOP/toa_uoa.ko}
NOOP_KO=${NOOP_KO:-$BENCH/build/noop_kretprobe/noop_kretprobe.ko}
NOOP_HOOK_KO=${NOOP_HOOK_KO:-$BENCH/build/noop_hook/noop_hook.ko}
# The no-op hooks' state (set_state hook), where their module was built.
HOOK=""
[ ! -f "$NOOP_HOOK_KO" ] || HOOK=hook
# Another build of the module, measured beside this one in the packet rows (run.sh --versus).
VERSUS_KO=${VERSUS_KO:-}

QUICK=0 PART=main ONLY=packets,conn,getname,lookup
while [ $# -gt 1 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--part) PART=$2; shift ;;
	--only) ONLY=$2; shift ;;
	*) break ;;
	esac
	shift
done
OUT=${1:?usage: guest.sh [--quick] [--part main|two-senders] [--only SECTIONS] OUT.tsv}
# want SECTION: whether the main part runs SECTION.
want() { case ",$ONLY," in *",$1,"*) return 0 ;; esac; return 1; }
case $PART in main | two-senders) ;; *) echo "guest.sh: unknown part $PART" >&2; exit 2 ;; esac
# SMP_*: the two-sender part (wall clock): more, shorter rounds than the instruction-counted
# ones, because the host's own load moves its rates and rounds it disturbed are left out.
if [ $QUICK = 1 ]; then
	ROUNDS=2 SECS=1 GSECS=0.3 LSECS=0.5 SIZES="1000 100000" SMP_ROUNDS=3 SMP_SECS=0.5 SMP_BUDGET=120
else
	ROUNDS=5 SECS=2 GSECS=1 LSECS=1 SIZES="1000 100000 1048576" SMP_ROUNDS=7 SMP_SECS=1 SMP_BUDGET=600
fi
MAXREC=1048576
W=$(mktemp -d)
LG=$W/loadgen
RS=10.0.0.2
T0=$(date +%s)

log() { echo "bench: [$(($(date +%s) - T0))s] $*" >&2; }
emit() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$OUT"; }
# The two-sender boot's run information goes into the same file: its keys get a prefix.
INFO_PREFIX=""
[ $PART = main ] || INFO_PREFIX=smp_
info() { printf 'info\t%s\t-\t-\t%s\n' "$INFO_PREFIX$1" "$2" >>"$OUT"; }
# kv FILE KEY: the value of KEY=value in FILE
kv() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p" | head -1; }

cleanup() {
	local n
	for n in lb rs; do
		ip netns pids $n 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del $n 2>/dev/null || true
	done
	[ ! -d /sys/module/toa_uoa ] || echo 0 >/sys/module/toa_uoa/parameters/getname
	rmmod toa_uoa 2>/dev/null || true
	rmmod noop_kretprobe 2>/dev/null || true
	rmmod noop_hook 2>/dev/null || true
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
if [ $PART = main ]; then
	info rounds "$ROUNDS"
	info secs "$SECS"
else
	info rounds "$SMP_ROUNDS"
	info secs "$SMP_SECS"
fi
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
# set_state unloaded|loaded|versus|noop|hook|packets_only (versus: the other build of
# run.sh --versus; noop: the no-op kretprobes, hook: the no-op netfilter hooks; bench/noop_*;
# packets_only: toa_uoa with getname=0)
set_state() {
	if [ -d /sys/module/toa_uoa ]; then
		# Listeners and their connections hold the module (its socket operations): give
		# them back first; an unload that still fails would spoil the "unloaded" rows.
		echo 0 >/sys/module/toa_uoa/parameters/getname
		rmmod toa_uoa || { log "rmmod toa_uoa: $(cat /sys/module/toa_uoa/refcnt) references left"; exit 1; }
	fi
	rmmod noop_kretprobe 2>/dev/null || true
	rmmod noop_hook 2>/dev/null || true
	case $1 in
	loaded) insmod "$KO" max_records=$MAXREC idle_timeout=3600 ;;
	versus) insmod "$VERSUS_KO" max_records=$MAXREC idle_timeout=3600 ;;
	# The packet path alone: getname=0 gives every socket the kernel's operations back.
	packets_only)
		insmod "$KO" max_records=$MAXREC idle_timeout=3600
		echo 0 >/sys/module/toa_uoa/parameters/getname
		;;
	noop) insmod "$NOOP_KO" ;;
	hook) insmod "$NOOP_HOOK_KO" ;;
	esac
	state_now=$1
	# A second for what an unload leaves to run later (its namespaces' tables freed after a
	# grace period), before the next measurement.
	sleep 1
}

# stat_rs NAME: a counter of rs's /proc/net/toa_uoa (0 if the module has no such counter).
stat_rs() { ip netns exec rs awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }' /proc/net/toa_uoa; }

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

# ns_setup PORT: rs's one-time set-up at its first option (its table made, then grown to
# max_records by a kernel worker, about 2 MiB at max_records=1M), in a short unrecorded
# flood of one tuple to PORT. The option rows measure the per-packet and per-connection
# cost: they run after it, in both states alike. BENCHMARKS.md gives the set-up's own cost.
ns_setup() {
	inlb "$LG" udp-send $RS "$1" 0.2 fixed >/dev/null
	sleep 0.3
}

# udp_run MODE PORT ROUND [record]: the sender floods for SECS into a socket that never
# reads (udp-sink). The whole receive path (veth, IP, the LOCAL_IN hook, UDP, the socket
# queue) runs in the sender's softirq on its CPU, so the sender's rate is the path's
# rate; the kernel's own UDP counters say how many datagrams reached UDP (pps).
udp_run() {
	local mode=$1 port=$2 r=$3 metric=udp_plain a b
	[ "$mode" = fixed ] && metric=udp_opt1
	[ "$mode" = vary ] && metric=udp_optN
	[ "$mode" = nop ] && metric=udp_nopt
	inrs "$LG" udp-sink "$port" >"$W/recv" &
	local rpid=$!
	wait_ready "$W/recv"
	if [ "$mode" = fixed ] || [ "$mode" = vary ]; then
		ns_setup $((port + 500))
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

# tcp_tw PORT: sockets in TIME_WAIT on either side of connections to rs:PORT (none
# expected: see conn_run).
tcp_tw() {
	local n t=0
	for n in lb rs; do
		t=$((t + $(ip netns exec $n ss -Htan state time-wait "( sport = :$1 or dport = :$1 )" | wc -l)))
	done
	echo $t
}

# conn_run opt|none PORT ROUND: short TCP connections for SECS (loadgen conn-rate). Client
# and server are one process on the sender's CPU with its sockets in lb and rs, so each
# connection's steps (both ends' system calls and the softirq work of every packet, the
# module's packet hook and getname work included) run one after the other on one CPU: the rate is
# the instruction count of a connection's whole life, without scheduling or idle time. The
# client closes with SO_LINGER 0 (RST) after the server's FIN: no TIME_WAIT on either side,
# so the client's ports never run out (checked: tw_after); it binds its ports in turn, so
# every connection of a run is a new tuple (a new record, loaded with the option).
conn_run() {
	local v=$1 port=$2 r=$3 metric=conn_plain k
	local -A c0 c1
	[ "$v" = opt ] && metric=conn_opt
	local counters="records_new records_replaced getname_rewritten"
	if [ "$state_now" = loaded ]; then
		for k in $counters; do c0[$k]=$(stat_rs $k); done
	fi
	taskset -c $TX_CPU "$LG" conn-rate rs lb $RS "$port" "$SECS" "$v" >"$W/conn"
	[ "$r" != - ] || return 0
	emit "$metric" cps "$state_now" "$r" "$(kv "$W/conn" cps)"
	emit "$metric" conns "$state_now" "$r" "$(kv "$W/conn" conns)"
	emit "$metric" tuples "$state_now" "$r" "$(kv "$W/conn" tuples)"
	# Answers that were the option's client (192.0.2.1:40000): all of them, loaded with the
	# option; none otherwise.
	emit "$metric" answers_from_option "$state_now" "$r" "$(kv "$W/conn" rewritten)"
	emit "$metric" tw_after "$state_now" "$r" "$(tcp_tw "$port")"
	if [ "$state_now" = loaded ]; then
		local line
		line=$(cat "$W/conn")
		for k in $counters; do
			c1[$k]=$(($(stat_rs $k) - c0[$k]))
			emit "$metric" "$k" loaded "$r" "${c1[$k]}"
			line="$line $k=${c1[$k]}"
		done
		info "${metric}_loaded_round$r" "$line"
	fi
}

# ---- The two-sender part (its own boot: --part two-senders) ----
# Both senders are in lb and flood rs over the one veth pair, each pinned to its CPU; the
# whole receive path of a sender's packets runs in that sender's softirq on its own CPU
# (veth hands a packet to the CPU that sent it), so two senders are two CPUs doing the
# path at once. What they share is what the path shares between CPUs: with the module,
# the namespace's table and its lock.
SMP_PORT=7000 # the senders flood SMP_PORT + k, each into a socket of its own
# A control outside [SMP_CONTROL_MIN, SMP_CONTROL_MAX] says the host took a share of the
# vCPUs' time: of one of the two (under), or of the one alone (over).
SMP_CONTROL_MIN=1.8 SMP_CONTROL_MAX=2.2
smp_first=0   # vary: the first tuple of the next run (new tuples for every run)

# smp_control ROUND WHEN: the host's share, measured with the guest idle otherwise: one
# register-only loop on CPU 0, then one on each CPU at once; their rate's ratio is 2 when
# the host runs both vCPU threads at full speed, 1 when it gives the guest one core.
smp_control() {
	local r=$1 when=$2 one two
	one=$("$LG" spin-cpus 0 "$SMP_CSECS" | sed -n 's/.* ips=//p')
	two=$("$LG" spin-cpus 0,1 "$SMP_CSECS" | sed -n 's/.* ips=//p')
	emit smp_control "scaling_$when" "$state_now" "$r" "$(awk -v a="$two" -v b="$one" 'BEGIN { printf "%.3f", a / b }')"
}

# smp_flood fixed|vary ROUND NSENDERS: one run of NSENDERS senders on CPUs 0.. at once.
smp_flood() {
	local mode=$1 r=$2 n=$3 cpus=0 metric=smp_opt1 a b new0=0
	[ "$n" = 2 ] && cpus=0,1
	[ "$mode" = vary ] && metric=smp_optN
	[ "$state_now" = loaded ] && new0=$(stat_rs records_new)
	a=$(udp_snmp)
	ip netns exec lb "$LG" udp-cpus $cpus $RS $SMP_PORT "$SMP_SECS" "$mode" $smp_first >"$W/smp"
	sleep 0.1
	b=$(udp_snmp)
	smp_first=$((smp_first + 50000000))
	[ "$r" != - ] || return 0
	emit $metric "pps$n" "$state_now" "$r" "$(kv "$W/smp" pps)"
	emit $metric "offered_fraction$n" "$state_now" "$r" "$(awk -v s="$(kv "$W/smp" total)" -v o="$(kv "$W/smp" offered)" 'BEGIN { printf "%.4f", s / o }')"
	emit smp_control "secs_${mode}_$n" "$state_now" "$r" "$(kv "$W/smp" secs_max)"
	emit $metric "delivered_fraction$n" "$state_now" "$r" "$(awk -v d=$((b - a)) -v s="$(kv "$W/smp" total)" 'BEGIN { printf "%.4f", d / s }')"
	if [ "$state_now" = loaded ] && [ "$mode" = vary ]; then
		emit $metric "records_new$n" loaded "$r" $(($(stat_rs records_new) - new0))
	fi
	[ "$r" != 0 ] || info "${metric#smp_}_${state_now}_senders$n" "$(cat "$W/smp")"
}

# smp_round_ok ROUND: whether the round counts: its four controls (before and after, both
# states) say the host ran both vCPUs at full speed, and no flood took more than half as
# long again as asked. A stalled flood is the emulator's, not the guest's: with the host's cores
# taken by other jobs, a vCPU thread holding a guest spinlock is descheduled while the
# other spins on it, and one sendmmsg of 64 packets has taken 18 s that way. report.py
# counts the rounds marked here (smp_round counted).
smp_round_ok() {
	awk -v r="$1" -v min="$SMP_CONTROL_MIN" -v max="$SMP_CONTROL_MAX" \
		-v long="$(awk -v s="$SMP_SECS" 'BEGIN { print 1.5 * s }')" -F'\t' '
		$1 == "smp_control" && $4 == r && $2 ~ /^scaling_/ { n++; if ($5 < min || $5 > max) bad = 1 }
		$1 == "smp_control" && $4 == r && $2 ~ /^secs_/ && $5 > long { bad = 1 }
		END { exit !(n == 4 && !bad) }' "$OUT"
}

# smp_block ROUND: one state's measurements in a round: the control, then for each mode one
# and two senders (in the order the round gives), then the control again.
smp_block() {
	local r=$1 mode order="1 2" n
	[ "$r" != - ] && [ $((r % 2)) = 1 ] && order="2 1"
	smp_first=0
	# The namespace's one-time table set-up happens before (as in udp_run), both states alike.
	ip netns exec lb "$LG" udp-send $RS $((SMP_PORT + 100)) 0.2 fixed >/dev/null
	sleep 0.3
	[ "$r" = - ] || smp_control "$r" before
	for mode in fixed vary; do
		for n in $order; do
			smp_flood $mode "$r" $n
		done
	done
	[ "$r" = - ] || smp_control "$r" after
}

two_senders() {
	local r s k
	[ "$NPROC" -ge 2 ] || { log "two senders: only $NPROC CPU, nothing to measure"; return 0; }
	SMP_CSECS=0.2
	for k in 0 1; do
		ip netns exec rs "$LG" udp-sink $((SMP_PORT + k)) >"$W/sink$k" &
		wait_ready "$W/sink$k"
	done
	ip netns exec rs "$LG" udp-sink $((SMP_PORT + 100)) >"$W/sink100" &
	wait_ready "$W/sink100"
	for s in unloaded loaded; do
		set_state "$s"
		log "two senders: warm-up $s"
		smp_block -
	done
	# Rounds the host disturbed do not count: after SMP_ROUNDS rounds, more are run until
	# SMP_ROUNDS count, up to twice as many in all and while within SMP_BUDGET seconds.
	local good=0 t1
	t1=$(date +%s)
	r=0
	while [ $r -lt "$SMP_ROUNDS" ] || { [ $good -lt "$SMP_ROUNDS" ] && [ $r -lt $((2 * SMP_ROUNDS)) ] &&
		[ $(($(date +%s) - t1)) -lt "$SMP_BUDGET" ]; }; do
		order="unloaded loaded"
		[ $((r % 2)) = 1 ] && order="loaded unloaded"
		for s in $order; do
			set_state "$s"
			log "two senders: round $r $s"
			smp_block "$r"
		done
		if smp_round_ok $r; then
			good=$((good + 1))
			emit smp_round counted - $r 1
		else
			emit smp_round counted - $r 0
			log "two senders: round $r disturbed by the host (a control outside [$SMP_CONTROL_MIN, $SMP_CONTROL_MAX], or a stalled flood)"
		fi
		r=$((r + 1))
	done
	info two_senders_rounds_counted "$good of $r"
}

finish() {
	info guest_seconds "$(($(date +%s) - T0))"
	info dmesg_warnings "$(dmesg | grep -ciE 'warning|oops|bug:' || true)"
	info dmesg_first_warning "$(dmesg | grep -iE -m1 'warning|oops|bug:' || true)"
	log "done in $(($(date +%s) - T0)) s"
}

if [ $PART = two-senders ]; then
	two_senders
	set_state unloaded
	finish
	exit 0
fi
# An error bash does not exit on (a bad arithmetic expression) leaves the if above and
# would go on with the other part here.
[ $PART = main ] || { echo "guest.sh: the $PART part failed" >&2; exit 1; }

port=9000
if want packets; then
# ---- 1, 2: the packet path, ABBA rounds (after one unrecorded warm-up pass per state:
# TCG translates kernel code on first use) ----
for s in unloaded loaded; do
	set_state "$s"
	log "warm-up $s"
	port=$((port + 1)); udp_run none $port -
	port=$((port + 1)); tcp_run $port -
	port=$((port + 1)); udp_run vary $port -
done
# The no-op hooks (a third state) take the UDP flood without options only: the floor of
# any module that sees every packet through netfilter.
versus=""
[ -z "$VERSUS_KO" ] || versus=versus
if [ -n "$versus" ]; then
	set_state versus
	log "warm-up versus"
	port=$((port + 1)); udp_run none $port -
	port=$((port + 1)); udp_run vary $port -
fi
for r in $(seq 0 $((ROUNDS - 1))); do
	order="unloaded loaded $versus $HOOK"
	[ $((r % 2)) = 1 ] && order="$HOOK $versus loaded unloaded"
	for s in $order; do
		if [ $s = hook ]; then
			set_state hook
			log "round $r hook: udp plain"
			port=$((port + 1)); udp_run none $port "$r" record
			continue
		fi
		set_state "$s"
		log "round $r $s: udp plain, tcp, udp option one tuple, udp option new tuples, udp other options"
		port=$((port + 1)); udp_run none $port "$r" record
		port=$((port + 1)); tcp_run $port "$r" record
		port=$((port + 1)); udp_run fixed $port "$r" record
		port=$((port + 1)); udp_run vary $port "$r" record
		port=$((port + 1)); udp_run nop $port "$r" record
	done
done

fi

if want conn; then
# ---- Short TCP connections, with the option and without, ABBA rounds after a warm-up
# pass per state. In each state the option run comes first, so the run without it finds
# the namespace holding TCP records: then every SYN without the option is looked up (the
# module forgets a record whose tuple starts again), the dearer case for such a SYN.
# Where a connection's cost is, in the same rounds: the no-op hooks (the floor of seeing
# every packet), and toa_uoa's packet path alone (packets_only: no accept or getname work).
for s in unloaded loaded $HOOK packets_only; do
	set_state "$s"
	ns_setup $((port + 500))
	log "warm-up $s: short TCP connections"
	port=$((port + 1)); conn_run opt $port -
	port=$((port + 1)); conn_run none $port -
done
for r in $(seq 0 $((ROUNDS - 1))); do
	order="unloaded loaded $HOOK packets_only"
	[ $((r % 2)) = 1 ] && order="packets_only $HOOK loaded unloaded"
	for s in $order; do
		set_state "$s"
		ns_setup $((port + 500))
		log "round $r $s: short TCP connections, with the option and without"
		port=$((port + 1)); conn_run opt $port "$r"
		port=$((port + 1)); conn_run none $port "$r"
	done
done

fi

if want getname; then
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

fi

if want lookup; then
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
fi
finish
