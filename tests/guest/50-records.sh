#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Records over time and across namespaces: idle expiry (off the packet path), the
# max_records bound with eviction counted, refreshes without the lock, namespaces made
# after load get the module, and a namespace's records go with it; unload with namespaces
# alive is clean.
. "$(dirname "$0")/lib.sh"

require_module --unloaded

# send N [SPORT0]: N datagrams with the option from N distinct source ports.
send() {
	local i
	for i in $(seq 0 $(($1 - 1))); do
		ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" $LB4 $((${2:-7000} + i)) $RS4 9 $CIP4 $((1000 + i)) $VIP4 53
	done
}

expiry() {
	insmod "$KO" idle_timeout=2
	setup_pair
	send 2
	# Not records_live: on a slow (debug) kernel the first record may already be idle for
	# 2 s by the time it is read.
	expect_eq new "$(proc_stat "$rs" records_new)" 2
	expect_stat "$rs" records_live 0 30
	expect_eq expired "$(proc_stat "$rs" records_expired)" 2
}

# A live TCP connection keeps its record past idle_timeout (its answer must not change
# under it), however quiet; once the client has closed it (the server's side then leaves no
# TIME_WAIT), the record expires and records_live is back to 0.
tcp_lives_with_its_connection() {
	insmod "$KO" idle_timeout=2
	setup_pair
	local tmp i
	tmp=$(make_tmpdir)
	cat >"$tmp/server.py" <<'PY'
import os, socket, sys, time
addr, d = sys.argv[1], sys.argv[2]
s = socket.socket()
s.bind((addr, 9500))
s.listen()
open(os.path.join(d, "ready"), "w").close()
c, _ = s.accept()
while not os.path.exists(os.path.join(d, "ask")):
    time.sleep(0.05)
print("peer", *c.getpeername()[:2], flush=True)
c.recv(100)  # returns when the client closes
c.close()
PY
	cat >"$tmp/client.py" <<'PY'
import os, socket, sys, time
sys.path.insert(0, sys.argv[1])
from uoa_send import ipv4_option
tools, src, dst, cip, vip, d = sys.argv[1:7]
s = socket.socket()
s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, ipv4_option(cip, 40000, vip, 80))
s.bind((src, 40500))
s.connect((dst, 9500))
while not os.path.exists(os.path.join(d, "close")):
    time.sleep(0.05)
s.close()
PY
	ip netns exec "$rs" python3 "$tmp/server.py" $RS4 "$tmp" >"$tmp/peers" &
	local srv=$!
	wait_for "$tmp/ready"
	ip netns exec "$lb" python3 "$tmp/client.py" "$TOOLS" $LB4 $RS4 $CIP4 $VIP4 "$tmp" &
	local cli=$!
	# Quiet for three idle periods (the sweep runs every second here).
	sleep 7
	touch "$tmp/ask"
	for i in $(seq 1 50); do grep -q '^peer' "$tmp/peers" && break; sleep 0.1; done
	expect_eq "peer after 7 s idle" "$(awk '$1 == "peer" { print $2, $3 }' "$tmp/peers")" "$CIP4 40000"
	expect_eq "live after 7 s idle" "$(proc_stat "$rs" records_live)" 1
	expect_eq "expired while connected" "$(proc_stat "$rs" records_expired)" 0
	touch "$tmp/close"
	wait $cli
	wait $srv
	expect_stat "$rs" records_live 0 10
	expect_eq expired "$(proc_stat "$rs" records_expired)" 1
}

# A look-up uses the record, so it counts as traffic: looked up every 0.5 s, a UDP record
# outlives idle_timeout several times over; left alone, it expires.
lookups_keep_it() {
	insmod "$KO" idle_timeout=2
	setup_pair
	send 1 7500
	ip netns exec "$rs" env TOP="$TOP" python3 - <<'PY' >&2
import os, socket, sys, time
sys.path.insert(0, os.environ["TOP"] + "/python")
import toa_uoa
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(12):
    toa_uoa.lookup_v1(s, ("10.0.0.1", 7500), ("10.0.0.2", 9))
    time.sleep(0.5)
print("still there after 6 s of look-ups, idle_timeout 2 s")
PY
	expect_eq "expired while looked up" "$(proc_stat "$rs" records_expired)" 0
	expect_stat "$rs" records_live 0 10
}

bounded() {
	insmod "$KO" max_records=3
	setup_pair
	send 8
	local live evicted dropped new
	live=$(proc_stat "$rs" records_live)
	evicted=$(proc_stat "$rs" records_evicted)
	dropped=$(proc_stat "$rs" records_dropped_at_limit)
	new=$(proc_stat "$rs" records_new)
	echo "live=$live new=$new evicted=$evicted dropped=$dropped" >&2
	[ "$live" -le 3 ] || fail "records_live $live above max_records 3"
	# every option is accounted for: recorded (and maybe evicted since) or dropped
	expect_eq "new + dropped" $((new + dropped)) 8
	expect_eq "live = new - evicted" "$live" $((new - evicted))
}

# The same option on one flow, packet after packet: each is counted as a refresh, most
# without the table's lock (the CPU's last refresh, in its jiffy); a change of
# trusted_sources ends that at once: the next option from the now untrusted balancer is
# ignored, not refreshed.
lockless_refresh() {
	insmod "$KO"
	setup_pair
	ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" $LB4 7600 $RS4 9 $CIP4 1000 $VIP4 53 --count 200
	local refreshed lockless
	expect_eq valid "$(proc_stat "$rs" options_valid)" 200
	expect_eq new "$(proc_stat "$rs" records_new)" 1
	refreshed=$(proc_stat "$rs" records_refreshed)
	lockless=$(proc_stat "$rs" records_refreshed_lockless)
	echo "refreshed=$refreshed of which lockless=$lockless" >&2
	expect_eq refreshed "$refreshed" 199
	[ "$lockless" -ge 1 ] && [ "$lockless" -le "$refreshed" ] ||
		fail "records_refreshed_lockless $lockless: none, or more than the refreshes"
	echo 192.0.2.0/24 >/sys/module/toa_uoa/parameters/trusted_sources
	ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" $LB4 7600 $RS4 9 $CIP4 1000 $VIP4 53
	echo "" >/sys/module/toa_uoa/parameters/trusted_sources
	expect_eq "untrusted after the change" "$(proc_stat "$rs" options_untrusted)" 1
	expect_eq "no refresh after the change" "$(proc_stat "$rs" records_refreshed)" 199
	expect_eq "lockless unchanged" "$(proc_stat "$rs" records_refreshed_lockless)" "$lockless"
}

later_namespace() {
	insmod "$KO"
	setup_pair # made after the load
	[ -r /proc/net/toa_uoa ] || fail "no /proc/net/toa_uoa in the initial namespace"
	send 1
	expect_eq "rs live" "$(proc_stat "$rs" records_live)" 1
	expect_eq "init ns live" "$(awk '$1 == "records_live" { print $2 }' /proc/net/toa_uoa)" 0
}

namespace_goes_with_records() {
	insmod "$KO"
	setup_pair
	send 3
	expect_eq live "$(proc_stat "$rs" records_live)" 3
	# The same name again: a new namespace, none of the old one's records.
	cleanup_ns "$rs"
	add_ns "$rs"
	expect_eq "new rs live" "$(proc_stat "$rs" records_live)" 0
	# and the module unloads with namespaces (and their records) still there
	rmmod toa_uoa
}

check idle_expiry expiry
unload_module
cleanup_all_ns
check tcp_record_lives_with_its_connection tcp_lives_with_its_connection
unload_module
cleanup_all_ns
check lookup_refreshes_idle_time lookups_keep_it
unload_module
cleanup_all_ns
check same_option_refreshes_without_the_lock lockless_refresh
unload_module
cleanup_all_ns
check max_records_bounds_the_table bounded
unload_module
cleanup_all_ns
check namespace_made_after_load later_namespace
unload_module
cleanup_all_ns
check namespace_records_go_with_it namespace_goes_with_records
done_testing
