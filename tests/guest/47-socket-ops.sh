#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The module's socket operations (README, "How getname is answered"): TCP listeners and the
# connections they accept from a balancer hold the module, each with one module reference,
# which sockets_held in /proc/net/toa_uoa counts.
# - A listener that existed before insmod answers accept/getpeername from records too.
# - While sockets hold it, rmmod is refused ("in use"); writing 0 to the getname parameter
#   gives every socket its kernel operations back (connections keep working, with the
#   kernel's answers), and rmmod then succeeds.
# - A connection from outside trusted_sources, without an option, gets the kernel's
#   operations at accept (it costs nothing afterwards); one with a record keeps the module's.
# - TCP_ULP and IPV6_ADDRFORM, which replace a socket's operations, get the kernel's to work
#   on: a socket they convert no longer holds the module, one they refuse still does.
# - A connection with a record has its own answering copy (socket_answers), from accept, or
#   from the packet that brings its record; freed when it is closed, kept until the unload
#   when the socket gets the kernel's operations back while open (socket_answers_given_back).
. "$(dirname "$0")/lib.sh"

require_module --unloaded
setup_pair
tmp=$(make_tmpdir)

held() { proc_stat "$rs" sockets_held; }
answers() { proc_stat "$rs" socket_answers; }
given_back() { proc_stat "$rs" socket_answers_given_back; }
refcnt() { cat /sys/module/toa_uoa/refcnt; }

# server.py ADDR PORT DIR ACTION...: listens, touches DIR/listening, then for each ACTION
# waits for DIR/go.N and does it, printing what it saw and touching DIR/done.N.
# Actions: accept, peer, ulp, addrform, echo, close, end.
cat >"$tmp/server.py" <<'PY'
import os, socket, sys, time
addr, port, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
l = socket.socket(fam, socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((addr, port)); l.listen(8)
open(os.path.join(d, "listening"), "w").close()
c = None
for n, act in enumerate(sys.argv[4:]):
    while not os.path.exists(os.path.join(d, "go.%d" % n)):
        time.sleep(0.05)
    if act == "accept":
        c, a = l.accept()
        print("accept", a[0], a[1], flush=True)
    elif act == "peer":
        a = c.getpeername()
        print("peer", a[0], a[1], flush=True)
    elif act == "ulp":
        try:
            c.setsockopt(socket.IPPROTO_TCP, 31, b"tls")  # TCP_ULP
            print("ulp ok", flush=True)
        except OSError as e:
            print("ulp refused", e.errno, flush=True)
    elif act == "addrform":
        c.setsockopt(socket.IPPROTO_IPV6, 1, socket.AF_INET)  # IPV6_ADDRFORM
        print("addrform family", c.getsockopt(socket.SOL_SOCKET, 39), flush=True)  # SO_DOMAIN
    elif act == "echo":
        c.sendall(c.recv(100))
        print("echo ok", flush=True)
    elif act == "close":
        # The client waits for the end of the stream: no reset for unread data.
        c.shutdown(socket.SHUT_WR)
        while c.recv(100):
            pass
        c.close()
    open(os.path.join(d, "done.%d" % n), "w").close()
l.close()
PY

# start NAME ADDR PORT ACTION...: the server in $rs, its steps driven by step NAME N.
start() {
	local name=$1
	shift
	mkdir -p "$tmp/$name"
	ip netns exec "$rs" python3 "$tmp/server.py" "$1" "$2" "$tmp/$name" "${@:3}" >"$tmp/$name/out" &
	echo $! >"$tmp/$name/pid"
	wait_for "$tmp/$name/listening"
}
step() {
	touch "$tmp/$1/go.$2"
	wait_for "$tmp/$1/done.$2"
}
said() { awk -v w="$2" '$1 == w { $1 = ""; sub(/^ /, ""); print }' "$tmp/$1/out" | tail -n 1; }
finish() {
	wait "$(cat "$tmp/$1/pid")"
	sed 's/^/# /' "$tmp/$1/out" >&2
}
# client SRC SPORT DST DPORT WHEN: one connection through the balancer, in the background
# (it sends a line and waits for the server to close).
client() {
	ip netns exec "$lb" python3 "$TOOLS/toa_connect.py" "$1" "$2" "$3" "$4" $CIP4 40000 $VIP4 8080 \
		--when "$5" --send "hello" &
	cpid=$!
}
cpid=

listener_before_load() {
	start a $RS4 7001 accept peer peer close end
	insmod "$KO"
	expect_eq "held after load (the listener)" "$(held)" 1
	expect_eq "module references" "$(refcnt)" 1
	client $LB4 17001 $RS4 7001 syn
	step a 0
	step a 1
	expect_eq accept "$(said a accept)" "$CIP4 40000"
	expect_eq getpeername "$(said a peer)" "$CIP4 40000"
	expect_eq "held with the connection" "$(held)" 2
	expect_eq "module references" "$(refcnt)" 2
	expect_eq "the connection's own answers" "$(answers)" 1
	local out
	if out=$(rmmod toa_uoa 2>&1); then
		fail "rmmod succeeded while sockets held the module"
	fi
	echo "# rmmod said: $out" >&2
	case $out in *"in use"*) ;; *) fail "rmmod did not say the module is in use: $out" ;; esac
	echo 0 >/sys/module/toa_uoa/parameters/getname
	expect_eq "held after getname=0" "$(held)" 0
	expect_eq "module references after getname=0" "$(refcnt)" 0
	expect_eq "answers after getname=0" "$(answers)" 0
	expect_eq "answers given back while open" "$(given_back)" 1
	step a 2
	expect_eq "getpeername with the kernel's operations" "$(said a peer)" "$LB4 17001"
	rmmod toa_uoa || fail "rmmod refused after getname=0"
	step a 3
	step a 4
	finish a
	wait "$cpid"
}

untrusted_peer_gets_kernel_ops() {
	insmod "$KO" trusted_sources=$LB4/32
	start b $RS6 7002 accept peer close accept peer close end
	expect_eq "held (the listener)" "$(held)" 1
	ip netns exec "$lb" python3 "$TOOLS/toa_connect.py" $LB6 17002 $RS6 7002 $CIP4 40000 $VIP4 8080 \
		--when never --send hello &
	cpid=$!
	step b 0
	step b 1
	expect_eq "untrusted peer: kernel's answer" "$(said b peer)" "$LB6 17002"
	expect_eq "untrusted peer without option: not held" "$(held)" 1
	step b 2
	wait "$cpid"
	echo >/sys/module/toa_uoa/parameters/trusted_sources
	ip netns exec "$lb" python3 "$TOOLS/toa_connect.py" $LB6 17003 $RS6 7002 $CIP4 40000 $VIP4 8080 \
		--when never --send hello &
	cpid=$!
	step b 3
	step b 4
	expect_eq "trusted peer without option (a later packet may bring one): held" "$(held)" 2
	expect_eq "waiting for a record: no answers of its own" "$(answers)" 0
	step b 5
	step b 6
	finish b
	wait "$cpid"
	expect_eq "held after the server ended" "$(held)" 0
}

tcp_ulp() {
	start c $RS4 7004 accept peer ulp peer close end
	client $LB4 17004 $RS4 7004 syn
	step c 0
	step c 1
	expect_eq "held before TCP_ULP" "$(held)" 2
	local before
	before=$(given_back)
	step c 2
	step c 3
	echo "# TCP_ULP tls: $(said c ulp)" >&2
	case $(said c ulp) in
	ok)
		expect_eq "TCP_ULP tls converted the socket: not held" "$(held)" 1
		expect_eq "getpeername after tls" "$(said c peer)" "$LB4 17004"
		expect_eq "its answers, given back" "$(given_back)" $((before + 1))
		;;
	refused*)
		expect_eq "TCP_ULP refused: still held" "$(held)" 2
		expect_eq "getpeername after the refusal" "$(said c peer)" "$CIP4 40000"
		expect_eq "its answers, kept" "$(answers)" 1
		expect_eq "none given back" "$(given_back)" "$before"
		;;
	*) fail "no TCP_ULP outcome" ;;
	esac
	step c 4
	step c 5
	finish c
	wait "$cpid"
	expect_eq "module references after the server ended" "$(refcnt)" 0
}

ipv6_addrform() {
	start d :: 7005 accept peer addrform peer echo close end
	client $LB4 17005 $RS4 7005 syn
	step d 0
	step d 1
	expect_eq "dual-stack accept, IPv4 client: getpeername" "$(said d peer)" "$CIP4 40000"
	expect_eq "held before IPV6_ADDRFORM" "$(held)" 2
	expect_eq "answers before IPV6_ADDRFORM" "$(answers)" 1
	step d 2
	expect_eq "IPV6_ADDRFORM made it AF_INET" "$(said d addrform)" "family $(python3 -c 'import socket; print(socket.AF_INET)')"
	expect_eq "converted socket: not held" "$(held)" 1
	expect_eq "answers after IPV6_ADDRFORM" "$(answers)" 0
	step d 3
	expect_eq "getpeername after IPV6_ADDRFORM (kernel's)" "$(said d peer)" "$LB4 17005"
	step d 4
	expect_eq "the converted socket still works" "$(said d echo)" "ok"
	step d 5
	step d 6
	finish d
	wait "$cpid"
	expect_eq "module references after the server ended" "$(refcnt)" 0
}

# Option from the first data packet on: accepted waiting, given its answers by that packet.
answers_from_a_later_packet() {
	start e $RS4 7006 accept echo peer close end
	client $LB4 17006 $RS4 7006 data
	step e 0
	expect_eq "accepted before its record: no answers of its own" "$(answers)" 0
	step e 1
	expect_eq "the data packet brought its answers" "$(answers)" 1
	step e 2
	expect_eq "getpeername" "$(said e peer)" "$CIP4 40000"
	step e 3
	step e 4
	finish e
	wait "$cpid"
	expect_eq "answers after the server ended" "$(answers)" 0
}

check listener_before_load_rmmod_and_getname_off listener_before_load
check untrusted_peer_gets_kernel_ops untrusted_peer_gets_kernel_ops
check tcp_ulp_gives_back_or_keeps tcp_ulp
check ipv6_addrform_gives_back ipv6_addrform
check answers_from_a_later_packet answers_from_a_later_packet
done_testing
