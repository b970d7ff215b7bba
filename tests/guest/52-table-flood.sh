#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Table flood: ten times max_records distinct tuples at full speed. The table stays at its
# bound (memory too), the newest tuples still get records (the policy evicts the oldest
# record near the new one's bucket, so new traffic wins), and the counters explain every
# option: options_valid = records_new + records_dropped_at_limit (+ refreshed/replaced),
# records_new = records_live + records_evicted. A UDP flood does not take a live TCP
# connection's record.
. "$(dirname "$0")/lib.sh"

require_module max_records=1000
setup_pair
export TOP

slab_kb() { awk '$1 == "Slab:" { print $2 }' /proc/meminfo; }

flood() {
	local before after
	before=$(slab_kb)
	ip netns exec "$lb" python3 "$TOOLS/flood_tuples.py" 10000 >&2
	after=$(slab_kb)
	local snap s
	snap=$(ip netns exec "$rs" cat /proc/net/toa_uoa)
	for s in options_valid records_new records_evicted records_dropped_at_limit records_live \
		records_replaced records_refreshed; do
		eval "$s=\$(awk -v n=$s '\$1 == n { print \$2 }' <<<\"\$snap\")"
		echo "$s ${!s}" >&2
	done
	echo "slab: ${before} kB before, ${after} kB after" >&2
	expect_eq options_valid "$options_valid" 10000
	[ "$records_live" -le 1000 ] || fail "records_live $records_live > max_records"
	expect_eq "options accounted" $((records_new + records_dropped_at_limit + records_replaced + records_refreshed)) 10000
	expect_eq "records accounted" "$records_new" $((records_live + records_evicted))
	# 1000 records of 96 bytes (kmalloc-96) and the bucket array: well under 1 MB of slab
	# growth, whatever the flood's size (other kernel activity adds some noise).
	# On the debug kernel KASAN's quarantine keeps freed (evicted) records a while and every
	# object carries redzones: allow for that there.
	local bound=2048
	[ ! -e /sys/kernel/debug/kasan ] && ! grep -q 'KASAN' /proc/version 2>/dev/null &&
		[ ! -e /sys/kernel/debug/kmemleak ] || bound=16384
	[ $((after - before)) -lt $bound ] || fail "slab grew by $((after - before)) kB (bound $bound kB)"
}

newest_have_records() {
	ip netns exec "$rs" python3 - <<'PY' >&2
import os, sys, socket
sys.path.insert(0, os.environ["TOP"] + "/python")
import toa_uoa
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
hits = 0
for sport in range(10000 + 10000 - 100, 20000):
    try:
        toa_uoa.lookup_v1(s, ("10.0.0.1", sport), ("10.0.0.2", 9999)); hits += 1
    except OSError:
        pass
print("of the newest 100 tuples,", hits, "have records")
sys.exit(0 if hits >= 90 else 1)
PY
}

# A live TCP connection's record survives a UDP flood at the limit: UDP churn evicts UDP
# records only.
tcp_survives_udp_flood() {
	local tmp out
	tmp=$(make_tmpdir)
	out=$tmp/peer
	ip netns exec "$rs" python3 - $RS4 9900 "$tmp/ready" "$tmp/go" >"$out" <<'PY' &
import os, socket, sys, time
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen()
open(sys.argv[3], "w").close()
c, _ = s.accept()
c.recv(100)
while not os.path.exists(sys.argv[4]):
    time.sleep(0.05)
print("peer", *c.getpeername()[:2])
c.close()
PY
	local srv=$!
	wait_for "$tmp/ready"
	ip netns exec "$lb" python3 "$TOOLS/toa_connect.py" $LB4 40900 $RS4 9900 $CIP4 40000 $VIP4 80 \
		--when syn --send hi >&2 &
	local cli=$!
	sleep 1
	ip netns exec "$lb" python3 "$TOOLS/flood_tuples.py" 5000 9998 >&2
	touch "$tmp/go"
	wait $srv
	wait $cli
	expect_eq "peer after the flood" "$(awk '$1 == "peer" { print $2, $3 }' "$out")" "$CIP4 40000"
}

check table_flood_10x_bounded flood
check table_flood_newest_traffic_recorded newest_have_records
check table_flood_spares_tcp tcp_survives_udp_flood
done_testing
