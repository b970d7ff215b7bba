#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A namespace that never sees an option costs almost nothing: its record table and counters
# are made at its first option (or look-up), and that first option is recorded, not lost.
# The memory an idle namespace costs is measured as what loading the module adds per
# namespace: insmod with IDLE_NS more namespaces present, against insmod with none.
. "$(dirname "$0")/lib.sh"

require_module --unloaded
# Enough namespaces that a few KiB of noise is a few bytes per namespace.
IDLE_NS=${IDLE_NS:-400}
# The limit checked: the issue's target is 1 KiB, which production kernels meet (see
# BENCHMARKS.md); a debug kernel's allocator (KASAN red zones, slab debugging) adds its own.
LIMIT=1024
[ ! -e /sys/kernel/debug/kasan ] && ! grep -q 'KASAN' /proc/version 2>/dev/null &&
	[ ! -e /sys/kernel/debug/kmemleak ] || LIMIT=4096
setup_pair
tmp=$(make_tmpdir)

idle_until_first_option() {
	local idle
	load_module
	setup_ns idle
	expect_eq "namespace_active before any option" "$(proc_stat "$idle" namespace_active)" 0
	expect_eq "records_live before any option" "$(proc_stat "$idle" records_live)" 0
	expect_eq "max_records shown all the same" "$(proc_stat "$idle" max_records)" 65536
	# Plain traffic (no option) leaves it idle.
	ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" $LB4 5555 $RS4 9800 $CIP4 40000 $VIP4 80 --no-option --count 3
	sleep 0.5
	expect_eq "namespace_active after plain packets" "$(proc_stat "$rs" namespace_active)" 0
	# The first option makes the state, and is recorded: the server's look-up answers.
	uoa_exchange "$tmp/first" $LB4 $RS4 9801 $CIP4 $VIP4
	grep -qx "v1 $CIP4 40000 $VIP4 80" "$tmp/first" || fail "first datagram's look-up: $(cat "$tmp/first")"
	expect_eq namespace_active "$(proc_stat "$rs" namespace_active)" 1
	expect_eq records_new "$(proc_stat "$rs" records_new)" 1
	expect_eq "namespace_active in the namespace that saw nothing" "$(proc_stat "$idle" namespace_active)" 0
	expect_eq namespace_activation_failed "$(proc_stat "$rs" namespace_activation_failed)" 0
}

# The table starts small and grows at its first record: every option that arrives after
# the first is recorded and kept across the growth (the flood outruns veth's backlog, so
# not every datagram arrives: what counts is that each one that did made a record).
grows_without_losing_records() {
	local valid
	ip netns exec "$lb" python3 "$TOOLS/flood_tuples.py" 2000 9802 >/dev/null
	sleep 1
	valid=$(proc_stat "$rs" options_valid)
	[ "$valid" -gt 1000 ] || fail "only $valid options arrived"
	expect_eq records_new "$(proc_stat "$rs" records_new)" "$valid"
	expect_eq records_live "$(proc_stat "$rs" records_live)" "$valid"
}

# kernel_bytes: slab + per-CPU + vmalloc memory in use, in bytes. Slab from the objects in
# use where /proc/slabinfo tells them (freed objects stay in their pages, and a later
# allocation reuses them: page counts would miss it), else from meminfo's page count.
kernel_bytes() {
	local slab
	if [ -r /proc/slabinfo ]; then
		slab=$(awk 'NR > 2 { b += $2 * $4 } END { printf "%d", b }' /proc/slabinfo)
		awk -v slab="$slab" '/^(Percpu|VmallocUsed):/ { kb += $2 } END { printf "%d\n", slab + kb * 1024 }' /proc/meminfo
	else
		awk '/^(Slab|Percpu|VmallocUsed):/ { kb += $2 } END { print kb * 1024 }' /proc/meminfo
	fi
}

# insmod_cost: bytes insmod adds (measured after the RCU-freed leftovers of hook
# registration are gone), the module unloaded again.
insmod_cost() {
	local before after
	unload_module
	sleep 1
	before=$(kernel_bytes)
	insmod "$KO"
	sleep 1
	after=$(kernel_bytes)
	rmmod toa_uoa
	echo $((after - before))
}

bytes_per_idle_namespace() {
	local i base many per batch best=
	batch=idle-$(mktemp -u XXXXXX)
	# Best of three: other activity only adds.
	for i in 1 2 3; do
		base=$(insmod_cost)
		[ -n "$best" ] && [ "$best" -le "$base" ] || best=$base
	done
	base=$best best=
	# Made, nothing more (not even lo up).
	add_ns --bare $(seq -f "$batch-%g" 1 "$IDLE_NS")
	for i in 1 2 3; do
		many=$(insmod_cost)
		[ -n "$best" ] && [ "$best" -le "$many" ] || best=$many
	done
	many=$best
	per=$(((many - base) / IDLE_NS))
	echo "insmod adds $base bytes with $(ip netns list | grep -vc "^$batch-") namespaces, $many with $IDLE_NS more: $per bytes per idle namespace (limit $LIMIT)" >&2
	[ "$per" -lt "$LIMIT" ] || fail "an idle namespace costs $per bytes"
}

check idle_until_first_option idle_until_first_option
check grows_without_losing_records grows_without_losing_records
check bytes_per_idle_namespace bytes_per_idle_namespace
done_testing
