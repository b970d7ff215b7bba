#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Stress run (separate from the quick suite; bounded in time and count, stops by itself):
# option floods from several CPUs with concurrent v0/v1 look-ups and getpeername calls,
# then N load/unload cycles under that load, then N namespace create/destroy cycles under
# it; at the end the counters of a last quiet period must add up
# (records_new = live + expired + evicted + forgotten), the kernel log must be clean and, on
# the debug kernel, a kmemleak scan must find nothing. Prints KTAP and "N passed, N failed".
# Runs in the guest:  scripts/vm.sh run -- tests/stress/stress.sh [CYCLES]
set -euo pipefail
. "$(dirname "$0")/../guest/lib.sh"
CYCLES=${1:-100}
require_module --unloaded
KMEMLEAK=/sys/kernel/debug/kmemleak
[ ! -w $KMEMLEAK ] || echo clear >$KMEMLEAK
dmesg_start=$(dmesg | wc -l)
insmod "$KO" max_records=4096
setup_pair
tmp=$(make_tmpdir)
# The load stops when the last period begins (a stop file); this bound is only for a run
# that never gets there, and leaves room for a debug kernel's slow cycles (up to ~10 s each).
export TOP STRESS_SECS=$((60 + CYCLES * 30))

cat >"$tmp/flood.py" <<'PY'
# Option-carrying datagrams from many tuples, IPv4 and IPv6, both carried families.
import os, sys, socket, time
sys.path.insert(0, os.environ["TOP"] + "/tests/tools")
from uoa_send import ipv4_option, ipv6_dstopt, IPV6_DSTOPTS
base = int(sys.argv[1])
socks = []
for i in range(64):
    if i % 2:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("fd00::1", base + i))
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_DSTOPTS, ipv6_dstopt("2001:db8::%x" % i, i, "2001:db8:1::1", 80))
        socks.append((s, ("fd00::2", 9500)))
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.0.0.1", base + i))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, ipv4_option("192.0.2.%d" % (i + 1), i, "198.51.100.1", 80))
        socks.append((s, ("10.0.0.2", 9500)))
end = time.time() + float(os.environ["STRESS_SECS"])
n = 0
while time.time() < end and not os.path.exists(sys.argv[2]):
    for s, dst in socks:
        try:
            s.sendto(b"x", dst); n += 1
        except OSError:
            pass
print("sent", n)
PY

cat >"$tmp/lookups.py" <<'PY'
# v1 and v0 look-ups of the flood's tuples, and getpeername on a TCP connection.
import os, sys, socket, time
sys.path.insert(0, os.environ["TOP"] + "/python")
import toa_uoa
base, stop = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
end = time.time() + float(os.environ["STRESS_SECS"])
hits = misses = 0
while time.time() < end and not os.path.exists(stop):
    for i in range(64):
        peer = ("fd00::1" if i % 2 else "10.0.0.1", base + i)
        local = ("fd00::2" if i % 2 else "10.0.0.2", 9500)
        try:
            toa_uoa.lookup_v1(s, peer, local) if i % 4 < 2 else toa_uoa.lookup_v0(s, peer, local, (18, 56, 58)[i % 3])
            hits += 1
        except OSError:
            misses += 1
print("lookups", hits, misses)
PY

cat >"$tmp/tcp.py" <<'PY'
# A server calling getpeername/getsockname in a loop on connections whose packets carry
# the option, and the client side sending a byte now and then.
import os, sys, socket, time, threading
sys.path.insert(0, os.environ["TOP"] + "/tests/tools")
from uoa_send import ipv4_option
role, stop = sys.argv[1], sys.argv[2]
end = time.time() + float(os.environ["STRESS_SECS"])
if role == "server":
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("10.0.0.2", 9600)); l.listen(16)
    conns = []
    def acc():
        while True:
            conns.append(l.accept()[0])
    threading.Thread(target=acc, daemon=True).start()
    calls = 0
    while time.time() < end and not os.path.exists(stop):
        for c in list(conns):
            c.getpeername(); c.getsockname(); calls += 2
            try:
                c.recv(100, socket.MSG_DONTWAIT)
            except OSError:
                pass
        time.sleep(0.001)
    print("getname calls", calls)
else:
    cs = []
    for i in range(4):
        c = socket.socket(); c.bind(("10.0.0.1", 9610 + i))
        c.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, ipv4_option("192.0.2.200", 50000 + i, "198.51.100.1", 80))
        c.connect(("10.0.0.2", 9600)); cs.append(c)
    while time.time() < end and not os.path.exists(stop):
        for c in cs:
            c.send(b".")
        time.sleep(0.1)
PY

cat >"$tmp/churn.py" <<'PY'
# One option-carrying datagram over loopback per family, in a namespace about to go.
import os, sys, socket
sys.path.insert(0, os.environ["TOP"] + "/tests/tools")
from uoa_send import ipv4_option, ipv6_dstopt, IPV6_DSTOPTS
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, ipv4_option("192.0.2.9", 4000, "198.51.100.9", 80))
s.sendto(b"x", ("127.0.0.1", 9700))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.setsockopt(socket.IPPROTO_IPV6, IPV6_DSTOPTS, ipv6_dstopt("2001:db8::9", 4000, "2001:db8:1::9", 80))
s6.sendto(b"x", ("::1", 9700))
PY

stop=$tmp/stop
for b in 20000 21000; do
	ip netns exec "$lb" python3 "$tmp/flood.py" $b "$stop" >"$tmp/flood$b.out" 2>&1 &
	_pids+=($!)
	ip netns exec "$rs" python3 "$tmp/lookups.py" $b "$stop" >"$tmp/lookups$b.out" 2>&1 &
	_pids+=($!)
done
ip netns exec "$rs" python3 "$tmp/tcp.py" server "$stop" >"$tmp/tcp-server.out" 2>&1 &
_pids+=($!)
sleep 2
ip netns exec "$lb" python3 "$tmp/tcp.py" client "$stop" >"$tmp/tcp-client.out" 2>&1 &
_pids+=($!)

load_cycles() {
	local i
	sleep 5
	for i in $(seq 1 "$CYCLES"); do
		release_and_rmmod || fail "rmmod failed in cycle $i"
		insmod "$KO" max_records=4096 || fail "insmod failed in cycle $i"
	done
	echo "$CYCLES load/unload cycles" >&2
}

# Each namespace gets records of its own (options over its loopback, both families) and
# is destroyed with them live: its teardown frees them.
netns_cycles() {
	local i live churn
	for i in $(seq 1 "$CYCLES"); do
		setup_ns churn
		ip netns exec "$churn" python3 "$tmp/churn.py" || fail "no options sent in $churn (cycle $i)"
		live=$(ip netns exec "$churn" awk '$1 == "records_live" { print $2 }' /proc/net/toa_uoa)
		[ "${live:-0}" -ge 2 ] || fail "$churn (cycle $i): records_live '$live' after two options"
		cleanup_ns "$churn"
	done
	echo "$CYCLES namespace cycles, each destroyed with its records live" >&2
}

# The last period: stop the traffic, reload, send a known amount from more tuples than the
# table holds, and check from one snapshot of the statistics that every option and every
# record is accounted for. (Expiry is tested in the quick suite; here the timeout is long
# so that no record expires between the floods and the snapshot.)
counters_add_up() {
	touch "$stop"
	sleep 2
	release_and_rmmod
	insmod "$KO" max_records=100 idle_timeout=600
	rm -f "$stop"
	STRESS_SECS=5 ip netns exec "$lb" python3 "$tmp/flood.py" 22000 "$stop" >&2
	STRESS_SECS=5 ip netns exec "$lb" python3 "$tmp/flood.py" 23000 "$stop" >&2
	local s snap
	snap=$(ip netns exec "$rs" cat /proc/net/toa_uoa)
	for s in options_valid records_new records_replaced records_refreshed records_evicted \
		records_dropped_at_limit records_expired records_forgotten_by_syn records_live; do
		eval "$s=\$(awk -v n=$s '\$1 == n { print \$2 }' <<<\"\$snap\")"
		echo "$s ${!s}" >&2
	done
	[ "$records_live" -le 100 ] || fail "records_live $records_live above max_records 100"
	expect_eq "options = new + replaced + refreshed + dropped" "$options_valid" \
		$((records_new + records_replaced + records_refreshed + records_dropped_at_limit))
	expect_eq "new = live + expired + evicted + forgotten" "$records_new" \
		$((records_live + records_expired + records_evicted + records_forgotten_by_syn))
	[ "$records_evicted" -gt 0 ] || fail "128 tuples into 100 records evicted none"
}

kernel_clean() {
	touch "$stop"
	local p
	for p in "${_pids[@]}"; do wait "$p" || true; done
	cat "$tmp"/*.out >&2
	unload_module
	local splats
	splats=$(dmesg | tail -n +"$((dmesg_start + 1))" |
		grep -E 'Oops|BUG:|WARNING:|KASAN|UBSAN|kmemleak|circular locking|possible recursive|lockdep|rcu.*stall|Call Trace' || true)
	[ -z "$splats" ] || fail "kernel log: $splats"
	if [ -w $KMEMLEAK ]; then
		echo scan >$KMEMLEAK; sleep 6; echo scan >$KMEMLEAK
		local leaks
		leaks=$(cat $KMEMLEAK)
		[ -z "$leaks" ] || fail "kmemleak: $leaks"
		echo "kmemleak: clean" >&2
	fi
}

check "load_unload_${CYCLES}_cycles_under_load" load_cycles
check "netns_${CYCLES}_cycles_under_load" netns_cycles
check counters_add_up counters_add_up
check kernel_clean kernel_clean
ok=$((_ktap_n - _ktap_failed))
done_testing && rc=0 || rc=1
echo "$ok passed, $_ktap_failed failed"
exit $rc
