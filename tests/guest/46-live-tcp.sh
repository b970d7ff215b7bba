#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A live TCP connection's record cannot be rewritten by forged packets: an ACK (any sequence
# number) or a SYN carrying other addresses for its tuple is ignored and counted
# (options_ignored_live_tcp), a SYN without an option forgets nothing; getpeername keeps the
# connection's client. Once the connection is gone, a new connection on the same tuple (its
# SYN meets the server's TIME_WAIT) gets its own option's client.
. "$(dirname "$0")/lib.sh"

require_module trusted_sources=$LB4/32
setup_pair
tmp=$(make_tmpdir)
FORGED_CIP=192.0.2.99

# A server that accepts connections on RS4:9800 and, for each file "ask.N" that appears,
# prints "N ADDR PORT" (getpeername of the current connection); "next" closes it and accepts
# the next one; "done" ends.
cat >"$tmp/server.py" <<'PY'
import os, socket, sys, time
d = sys.argv[1]
s = socket.socket()
s.bind(("10.0.0.2", 9800))
s.listen()
open(os.path.join(d, "listening"), "w").close()
n = 0
while True:
    c, _ = s.accept()
    c.recv(100)
    open(os.path.join(d, "accepted.%d" % n), "w").close()
    n += 1
    while True:
        names = sorted(f for f in os.listdir(d) if f.startswith("ask."))
        for f in names:
            os.rename(os.path.join(d, f), os.path.join(d, "asked" + f[3:]))
            print(f[4:], *c.getpeername()[:2], flush=True)
        if os.path.exists(os.path.join(d, "next")) or os.path.exists(os.path.join(d, "done")):
            break
        time.sleep(0.05)
    c.close()
    if os.path.exists(os.path.join(d, "done")):
        break
    os.remove(os.path.join(d, "next"))
PY

# ask N: the server's getpeername now.
ask() {
	touch "$tmp/ask.$1"
	local i
	for i in $(seq 1 100); do
		grep -q "^$1 " "$tmp/peers" && break
		sleep 0.05
	done
	awk -v n="$1" '$1 == n { print $2, $3 }' "$tmp/peers"
}

forge() {
	ip netns exec "$lb" python3 "$TOOLS/forge_tcp.py" $LB4 40800 $RS4 9800 "$@"
}

ip netns exec "$rs" python3 "$tmp/server.py" "$tmp" >"$tmp/peers" &
_pids+=($!)
wait_for "$tmp/listening"
ip netns exec "$lb" python3 "$TOOLS/toa_connect.py" $LB4 40800 $RS4 9800 $CIP4 40000 $VIP4 80 \
	--when syn --send hi >"$tmp/client1" 2>&1 &
client=$!
wait_for "$tmp/accepted.0"

live_connection_has_its_client() {
	expect_eq peer "$(ask 1)" "$CIP4 40000"
}

forged_ack_ignored() {
	forge --flags ack --seq 99 --option $FORGED_CIP 4444 $VIP4 80
	expect_stat "$rs" options_ignored_live_tcp 1
	expect_eq peer "$(ask 2)" "$CIP4 40000"
}

forged_syn_with_option_ignored() {
	forge --flags syn --option $FORGED_CIP 4444 $VIP4 80
	expect_stat "$rs" options_ignored_live_tcp 2
	expect_eq peer "$(ask 3)" "$CIP4 40000"
}

forged_syn_forgets_nothing() {
	forge --flags syn
	sleep 0.3
	expect_eq records_forgotten_by_syn "$(proc_stat "$rs" records_forgotten_by_syn)" 0
	expect_eq peer "$(ask 4)" "$CIP4 40000"
}

# The connection ends (the server closes first: its side of the tuple is in TIME_WAIT); a new
# connection from the same address and port carries another client on its SYN.
# gone PID: until the process PID (not a child of a check's subshell) has ended.
gone() {
	local i
	for i in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	fail "process $1 still running"
}

new_connection_on_the_tuple() {
	touch "$tmp/next"
	gone $client
	[ ! -s "$tmp/client1" ] || fail "first client: $(cat "$tmp/client1")"
	ip netns exec "$lb" python3 "$TOOLS/toa_connect.py" $LB4 40800 $RS4 9800 $FORGED_CIP 4444 $VIP4 80 \
		--when syn --send hi >"$tmp/client2" 2>&1 &
	local c2=$!
	wait_for "$tmp/accepted.1"
	expect_eq peer "$(ask 5)" "$FORGED_CIP 4444"
	touch "$tmp/done"
	wait $c2 || fail "second client: $(cat "$tmp/client2")"
	expect_stat "$rs" options_ignored_live_tcp 2
}

check live_connection_has_its_client live_connection_has_its_client
check forged_ack_ignored forged_ack_ignored
check forged_syn_with_option_ignored forged_syn_with_option_ignored
check forged_syn_forgets_nothing forged_syn_forgets_nothing
check new_connection_on_the_tuple new_connection_on_the_tuple
done_testing
