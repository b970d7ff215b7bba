#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# TCP (TOA) with unmodified servers: accept(), getpeername() and getsockname() answer
# CIP:CPORT and VIP:VPORT in the carried family, in the four cases 44 46 64 66, whether
# the option comes from the SYN on or only from the first data packet on; python3's
# http.server logs the client; connections without the option and other namespaces are
# untouched; after rmmod everything is as before.
. "$(dirname "$0")/lib.sh"

require_module
setup_pair
tmp=$(make_tmpdir)
gcc -O1 -Wall -o "$tmp/toa_getname" "$TOOLS/toa_getname.c" || exit 1

port=20000

# serve NAME SRC DST CIP VIP WHEN [args]: one connection from SRC in $lb to DST:port in $rs
# through toa_getname (listening on DST, or on $BIND if set); its answers land in $tmp/NAME.
serve() {
	local name=$1 src=$2 dst=$3 cip=$4 vip=$5 when=$6
	shift 6
	port=$((port + 1))
	rm -f "$tmp/ready"
	ip netns exec "$rs" "$tmp/toa_getname" "${BIND:-$dst}" $port --ready "$tmp/ready" "$@" >"$tmp/$name" &
	local srv=$!
	wait_for "$tmp/ready"
	ip netns exec "$lb" python3 "$TOOLS/toa_connect.py" "$src" $((port + 10000)) "$dst" $port \
		"$cip" 40000 "$vip" 8080 --when "$when" --send hello
	wait $srv
	sed 's/^/# /' "$tmp/$name" >&2
}

line() {
	awk -v w="$2" 'sub(/:$/, "", $1) >= 0 && $1 == w { $1 = ""; sub(/^ /, ""); print }' "$tmp/$1"
}

# expect_toa NAME FAMILY CIP VIP LEN: accept, getpeername and getsockname as carried.
expect_toa() {
	expect_eq "$1 accept" "$(line "$1" accept)" "$2 $3 40000 $5"
	expect_eq "$1 getpeername" "$(line "$1" getpeername)" "$2 $3 40000 $5"
	expect_eq "$1 getsockname" "$(line "$1" getsockname)" "$2 $4 8080 $5"
}

case_44() { port=20100; serve 44 $LB4 $RS4 $CIP4 $VIP4 syn; expect_toa 44 ipv4 $CIP4 $VIP4 16; }
case_46() { port=20200; serve 46 $LB6 $RS6 $CIP4 $VIP4 syn; expect_toa 46 ipv4 $CIP4 $VIP4 16; }
case_64() { port=20300; serve 64 $LB4 $RS4 $CIP6 $VIP6 syn; expect_toa 64 ipv6 $CIP6 $VIP6 28; }
case_66() { port=20400; serve 66 $LB6 $RS6 $CIP6 $VIP6 syn; expect_toa 66 ipv6 $CIP6 $VIP6 28; }

# A dual-stack listener on [::] accepting over IPv4 (an AF_INET6 socket whose peer is
# IPv4-mapped): as on every socket the carried family decides (PROTOCOL.md section 4), so an
# IPv4 client comes back as a sockaddr_in, an IPv6 one as a sockaddr_in6; without the
# option the kernel's own IPv4-mapped answer stands.
dual_stack() {
	port=21000
	BIND=:: serve ds44 $LB4 $RS4 $CIP4 $VIP4 syn
	expect_toa ds44 ipv4 $CIP4 $VIP4 16
	BIND=:: serve ds64 $LB4 $RS4 $CIP6 $VIP6 ack-only
	expect_toa ds64 ipv6 $CIP6 $VIP6 28
	BIND=:: serve dsnone $LB4 $RS4 $CIP4 $VIP4 never
	expect_eq "no option: accept" "$(line dsnone accept)" "ipv6 ::ffff:$LB4 $((port + 10000)) 28"
	expect_eq "no option: getsockname" "$(line dsnone getsockname)" "ipv6 ::ffff:$RS4 $port 28"
}

# Option only from the first data packet on: accept() has already returned the balancer's
# address (nothing was known yet); getpeername after the data is the client's.
data_only() {
	port=20500
	serve data $LB4 $RS4 $CIP4 $VIP4 data
	expect_eq "accept" "$(line data accept)" "ipv4 $LB4 $((port + 10000)) 16"
	expect_eq "getpeername" "$(line data getpeername)" "ipv4 $CIP4 40000 16"
	expect_eq "getsockname" "$(line data getsockname)" "ipv4 $VIP4 8080 16"
}

# Option only on the ACK that completes the handshake, never again (how DPVS sends it): the
# record is there before accept() returns, and the data packets after carry none.
ack_only() {
	local fam=$1 src=$2 dst=$3 cip=$4 vip=$5 len=$6
	port=$((20000 + RANDOM % 5000))
	serve "ack$fam" "$src" "$dst" "$cip" "$vip" ack-only
	expect_toa "ack$fam" "$7" "$cip" "$vip" "$len"
}

# A connected UDP socket answers getpeername/getsockname like TCP.
connected_udp() {
	local port=21500
	rm -f "$tmp/ready"
	ip netns exec "$rs" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
open(sys.argv[3], "w").close()
data, peer = s.recvfrom(100)
s.connect(peer)
print("peer", *s.getpeername()[:2]); print("local", *s.getsockname()[:2])' $RS4 $port "$tmp/ready" >"$tmp/cudp" &
	local srv=$!
	wait_for "$tmp/ready"
	ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" $LB4 5700 $RS4 $port $CIP4 40000 $VIP4 53
	wait $srv
	expect_eq peer "$(line cudp peer)" "$CIP4 40000"
	expect_eq local "$(line cudp local)" "$VIP4 53"
}

# A 16-byte buffer on the 64 case: truncated, full length reported, as the kernel does.
short_buffer() {
	port=20600
	serve short $LB4 $RS4 $CIP6 $VIP6 syn --short
	expect_eq short "$(line short short)" "family 10 port 40000 len 28"
}

# Without the option: exactly what the kernel says.
no_option() {
	port=20700
	serve none $LB4 $RS4 $CIP4 $VIP4 never
	expect_eq accept "$(line none accept)" "ipv4 $LB4 $((port + 10000)) 16"
	expect_eq getpeername "$(line none getpeername)" "ipv4 $LB4 $((port + 10000)) 16"
	expect_eq getsockname "$(line none getsockname)" "ipv4 $RS4 $port 16"
}

# A later connection on the same tuple without the option must not inherit the record.
tuple_reuse() {
	port=20800
	serve reuse1 $LB4 $RS4 $CIP4 $VIP4 syn
	expect_eq first "$(line reuse1 getpeername)" "ipv4 $CIP4 40000 16"
	port=$((port - 1)) # the same server port, the same client port: the same tuple
	sleep 1
	serve reuse2 $LB4 $RS4 $CIP4 $VIP4 never
	expect_eq second "$(line reuse2 getpeername)" "ipv4 $LB4 $((port + 10000)) 16"
}

http_server_log() {
	ip netns exec "$rs" python3 -m http.server 8000 --bind $RS4 >"$tmp/http.log" 2>&1 &
	local srv=$!
	local i
	for i in $(seq 1 100); do
		ip netns exec "$rs" python3 -c "import socket; socket.create_connection(('$RS4', 8000)).close()" \
			2>/dev/null && break
		sleep 0.2
	done
	ip netns exec "$lb" python3 "$TOOLS/toa_connect.py" $LB4 31000 $RS4 8000 $CIP4 40000 $VIP4 80 --when syn
	kill $srv
	wait $srv || true
	sed 's/^/# /' "$tmp/http.log" >&2
	grep -q "^$CIP4 .*\"GET / HTTP/1.0\" 200" "$tmp/http.log" || fail "http.server did not log $CIP4"
}

# After the four cases (accept, getpeername, getsockname each): every answer counted, none
# kept back, no listen() missed by the probe; the servers are gone, and with them the
# sockets that held the module.
getname_counters() {
	expect_eq getname_rewritten "$(proc_stat "$rs" getname_rewritten)" 12
	expect_eq socket_probes_missed "$(proc_stat "$rs" socket_probes_missed)" 0
	expect_eq getname_kept_for_kernel "$(proc_stat "$rs" getname_kept_for_kernel)" 0
	expect_eq sockets_held "$(proc_stat "$rs" sockets_held)" 0
	expect_eq "module references" "$(cat /sys/module/toa_uoa/refcnt)" 0
}

unloaded_is_plain() {
	port=20900
	rmmod toa_uoa
	serve plain $LB4 $RS4 $CIP4 $VIP4 syn
	expect_eq accept "$(line plain accept)" "ipv4 $LB4 $((port + 10000)) 16"
	expect_eq getsockname "$(line plain getsockname)" "ipv4 $RS4 $port 16"
}

check toa_tcp_44 case_44
check toa_tcp_46 case_46
check toa_tcp_64 case_64
check toa_tcp_66 case_66
check toa_getname_counters getname_counters
check toa_option_on_handshake_ack_44 ack_only 44 $LB4 $RS4 $CIP4 $VIP4 16 ipv4
check toa_option_on_handshake_ack_66 ack_only 66 $LB6 $RS6 $CIP6 $VIP6 28 ipv6
check toa_option_on_handshake_ack_64 ack_only 64 $LB4 $RS4 $CIP6 $VIP6 28 ipv6
check toa_option_on_handshake_ack_46 ack_only 46 $LB6 $RS6 $CIP4 $VIP4 16 ipv4
check toa_dual_stack_listener_ipv4 dual_stack
check toa_option_on_first_data_packet data_only
check udp_connected_getpeername connected_udp
check toa_short_buffer_truncated short_buffer
check toa_no_option_untouched no_option
check toa_tuple_reuse_forgets tuple_reuse
check toa_http_server_logs_client http_server_log
check toa_after_rmmod_plain unloaded_is_plain
done_testing
