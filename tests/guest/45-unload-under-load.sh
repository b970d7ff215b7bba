#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Unloading while option traffic flows, UDP look-ups run and a TCP server calls
# getpeername in a loop on its newest connection: the kernel stays clean (the runner checks
# its log), the programs keep running. Five cycles under that load: a new connection through
# the balancer answers with its client; getname=0 gives the listener and the connection the
# kernel's operations while the loop runs (the answer becomes the balancer's address); rmmod;
# insmod.
. "$(dirname "$0")/lib.sh"

require_module
setup_pair
tmp=$(make_tmpdir)
export TOP STOP=$tmp/tcp-stop

# Option floods: UDP datagrams with the option from changing source ports, for 60 s.
cat >"$tmp/flood.py" <<'PY'
import os, sys, socket, time
sys.path.insert(0, os.environ["TOP"] + "/tests/tools")
from uoa_send import ipv4_option
socks = []
for i in range(16):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.0.0.1", 12000 + i))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, ipv4_option("192.0.2.10", 40000 + i, "198.51.100.1", 80))
    socks.append(s)
end = time.time() + 600  # until the test stops it
while time.time() < end and not os.path.exists(os.environ["STOP"]):
    for s in socks:
        s.sendto(b"x", ("10.0.0.2", 9300))
PY
spawn ip netns exec "$lb" python3 "$tmp/flood.py"

# UDP look-ups in a loop (any answer or error is fine: the module comes and goes).
cat >"$tmp/lookups.py" <<'PY'
import os, sys, socket, time
sys.path.insert(0, os.environ["TOP"] + "/python")
import toa_uoa
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.0.2", 9300))
end = time.time() + 600  # until the test stops it
while time.time() < end and not os.path.exists(os.environ["STOP"]):
    for i in range(16):
        try:
            toa_uoa.lookup_v1(s, ("10.0.0.1", 12000 + i), ("10.0.0.2", 9300))
        except OSError:
            pass
PY
spawn ip netns exec "$rs" python3 "$tmp/lookups.py"

# TCP connections carrying the option, their server calling getpeername in a loop on the
# newest one (a thread accepts); it writes the last answer to a file each time round.
ip netns exec "$rs" python3 - "$tmp" <<'PY' &
import os, socket, sys, threading, time
tmp = sys.argv[1]
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("10.0.0.2", 9400)); l.listen(8)
cur = []
def accepter():
    while True:
        c, _ = l.accept()
        cur.append(c)
threading.Thread(target=accepter, daemon=True).start()
open(tmp + "/tcp-ready", "w").close()
end = time.time() + 600
while time.time() < end and not os.path.exists(tmp + "/tcp-stop"):
    if not cur:
        time.sleep(0.01)
        continue
    p = cur[-1].getpeername()
    with open(tmp + "/peer.new", "w") as f:
        f.write("%s %d\n" % p[:2])
    os.replace(tmp + "/peer.new", tmp + "/peer")
PY
tcp_srv=$!
_pids+=($tcp_srv)
wait_for "$tmp/tcp-ready"
# A client (client.py N: from port 9400+N, carrying CIP port 41000+N): every packet carries
# the option; it sends a byte every 0.2 s.
cat >"$tmp/client.py" <<'PY'
import os, sys, socket, time
sys.path.insert(0, os.environ["TOP"] + "/tests/tools")
from uoa_send import ipv4_option
n = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.0.0.1", 9400 + n))
s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, ipv4_option("192.0.2.99", 41000 + n, "198.51.100.1", 80))
s.connect(("10.0.0.2", 9400))
end = time.time() + 600  # until the test stops it
while time.time() < end and not os.path.exists(os.environ["STOP"]):
    s.send(b".")
    time.sleep(0.2)
PY

peer_is() {
	local i
	for i in $(seq 1 50); do
		[ "$(cat "$tmp/peer" 2>/dev/null)" = "$1" ] && return 0
		sleep 0.2
	done
	fail "getpeername: got '$(cat "$tmp/peer" 2>/dev/null)', want '$1'"
}

cycles() {
	local i
	for i in 1 2 3 4 5; do
		spawn ip netns exec "$lb" python3 "$tmp/client.py" $i
		peer_is "192.0.2.99 $((41000 + i))"
		sleep 1
		echo 0 >/sys/module/toa_uoa/parameters/getname
		# the kernel's operations, the module still loaded: what the kernel itself says
		peer_is "$LB4 $((9400 + i))"
		expect_eq "sockets held after getname=0" "$(proc_stat "$rs" sockets_held)" 0
		# The accepting thread still waits in the module's accept (it holds the reference
		# taken for its next socket): one connection lets it return.
		expect_eq "accepts waiting" "$(proc_stat "$rs" accepts_waiting)" 1
		ip netns exec "$lb" python3 -c "import socket; socket.create_connection(('$RS4', 9400)).close()"
		expect_stat "$rs" accepts_waiting 0
		rmmod_busy_retry || fail "rmmod failed in cycle $i"
		insmod "$KO" || fail "insmod failed in cycle $i"
		# The accepting thread waits in the kernel's accept, begun before the load: its next
		# connection is the kernel's; the one after has the module's operations again.
		ip netns exec "$lb" python3 -c "import socket; socket.create_connection(('$RS4', 9400)).close()"
		expect_stat "$rs" accepts_waiting 1
	done
}

still_alive() {
	kill -0 $tcp_srv || fail "the TCP server died"
	for p in "${_pids[@]}"; do kill -0 "$p" || fail "process $p died"; done
	# and the load really went through the module (counted since the last load)
	local n
	n=$(proc_stat "$rs" options_valid)
	echo "options_valid since the last load: $n" >&2
	[ "$n" -gt 50 ] || fail "only $n options seen: the flood did not run"
}

check five_unloads_under_load cycles
check programs_still_running still_alive
touch "$tmp/tcp-stop"
done_testing
