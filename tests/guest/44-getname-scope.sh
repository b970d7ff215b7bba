#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# getname rewrites only connected sockets: options sent from [::]:0 (the peer tuple of any
# unconnected or listening socket) make records, yet getsockname of an unconnected UDP socket
# and of a listening TCP socket, bound to the addresses those records name, stays the
# kernel's own answer; a connected socket on the same port still gets its record.
. "$(dirname "$0")/lib.sh"

require_module
setup_pair
tmp=$(make_tmpdir)

# Sockets bound in rs, their getsockname printed after the packets arrived.
cat >"$tmp/sockets.py" <<'PY'
import socket, sys, time
rs6, ready, go = sys.argv[1], sys.argv[2], sys.argv[3]
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.bind((rs6, 9701))
t = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
t.bind((rs6, 9702))
t.listen()
open(ready, "w").close()
while True:
    try:
        open(go).close()
        break
    except FileNotFoundError:
        time.sleep(0.05)
print("udp_unconnected", *u.getsockname()[:2])
print("tcp_listening", *t.getsockname()[:2])
PY

wildcard_records() {
	rm -f "$tmp/ready" "$tmp/go"
	ip netns exec "$rs" python3 "$tmp/sockets.py" $RS6 "$tmp/ready" "$tmp/go" >"$tmp/names" &
	local srv=$!
	wait_for "$tmp/ready"
	ip netns exec "$lb" python3 "$TOOLS/wildcard_source.py" udp $RS6 9701
	ip netns exec "$lb" python3 "$TOOLS/wildcard_source.py" tcp $RS6 9702
	# The packets arrived and made records: the test is not vacuous.
	expect_stat "$rs" records_new 2
	touch "$tmp/go"
	wait $srv
	sed 's/^/# /' "$tmp/names" >&2
	expect_eq "unconnected UDP" "$(awk '$1 == "udp_unconnected" { print $2, $3 }' "$tmp/names")" "$RS6 9701"
	expect_eq "listening TCP" "$(awk '$1 == "tcp_listening" { print $2, $3 }' "$tmp/names")" "$RS6 9702"
	expect_eq getname_rewritten "$(proc_stat "$rs" getname_rewritten)" 0
}

# The same port still works for what the module is for: a connected TCP socket with a record.
connected_still_rewritten() {
	local out=$tmp/conn
	rm -f "$tmp/ready"
	ip netns exec "$rs" python3 - $RS4 9703 "$tmp/ready" >"$out" <<'PY' &
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen()
open(sys.argv[3], "w").close()
c, peer = s.accept()
print("peer", *c.getpeername()[:2])
c.recv(100)
c.close()
PY
	local srv=$!
	wait_for "$tmp/ready"
	ip netns exec "$lb" python3 "$TOOLS/toa_connect.py" $LB4 40703 $RS4 9703 $CIP4 40000 $VIP4 80 --when syn --send hi
	wait $srv
	expect_eq "connected TCP peer" "$(awk '$1 == "peer" { print $2, $3 }' "$out")" "$CIP4 40000"
}

check getname_ignores_wildcard_records wildcard_records
check getname_connected_still_rewritten connected_still_rewritten
done_testing
