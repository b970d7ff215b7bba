#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# DPVS's default UDP format, "opp" (dpvs_compat=1): a private protocol-248 header between the
# IP header and UDP, holding the client. The module removes it at LOCAL_IN, so an unmodified
# UDP server receives the datagram as the client sent it (payload, ports; the checksums
# verify), over IPv4 and IPv6, for IPv4 and IPv6 clients; its v1 look-up answers the client
# (no VIP). Without dpvs_compat, or with a malformed opp header, the datagram does not reach
# UDP (as without the module), and the malformed one is counted.
. "$(dirname "$0")/lib.sh"

require_module dpvs_compat=1
setup_pair
tmp=$(make_tmpdir)
# Neighbours resolved first (a datagram to each address, then a moment): a raw datagram sent
# before may wait for, or be lost with, its ARP/ND resolution.
ip netns exec "$lb" python3 -c '
import socket, sys, time
for fam, a in ((socket.AF_INET, sys.argv[1]), (socket.AF_INET6, sys.argv[2])):
    socket.socket(fam, socket.SOCK_DGRAM).sendto(b"x", (a, 9))
time.sleep(1)' $RS4 $RS6

# opp_exchange NAME SRC DST CIP [dpvs_send.py option...]: one opp datagram from SRC:5555 to a
# v1 look-up server on DST; the server's output in $tmp/NAME (nothing if no datagram came).
opp_exchange() {
	local name=$1 src=$2 dst=$3 cip=$4 port=$((6000 + RANDOM % 1000))
	shift 4
	rm -f "$tmp/$name.ready"
	ip netns exec "$rs" timeout 5 python3 "$TOOLS/uoa_server.py" "$dst" $port --methods v1,v0_58 \
		--ready "$tmp/$name.ready" >"$tmp/$name" 2>&1 &
	local srv=$!
	wait_for "$tmp/$name.ready"
	ip netns exec "$lb" python3 "$TOOLS/dpvs_send.py" opp "$src" 5555 "$dst" $port "$cip" 40000 \
		--payload hello "$@"
	wait $srv || true
	sed 's/^/# /' "$tmp/$name" >&2
}

# expect_v1 NAME CIP ZERO: the server got the datagram from the balancer and looked the
# client up: v1 answers CIP:40000 and an all-zero VIP (ZERO in the client's family); v0
# (DPVS uoa.ko's 58-byte struct uoa_param_map, as DPVS's applications ask) CIP:40000.
expect_v1() {
	expect_eq "$1 recvfrom" "$(awk '$1 == "#" && $2 == "got" { print $(NF - 1) }' "$tmp/$1")" "$4"
	expect_eq "$1 v1" "$(awk '$1 == "v1" { $1 = ""; sub(/^ /, ""); print }' "$tmp/$1")" "$2 40000 $3 0"
	expect_eq "$1 v0 (58 bytes)" "$(awk '$1 == "v0_58" { $1 = ""; sub(/^ /, ""); print }' "$tmp/$1")" "$2 40000"
}

case_44() { opp_exchange o44 $LB4 $RS4 $CIP4; expect_v1 o44 $CIP4 0.0.0.0 $LB4; }
case_64() { opp_exchange o64 $LB4 $RS4 $CIP6; expect_v1 o64 $CIP6 :: $LB4; }
case_46() { opp_exchange o46 $LB6 $RS6 $CIP4; expect_v1 o46 $CIP4 0.0.0.0 $LB6; }
case_66() { opp_exchange o66 $LB6 $RS6 $CIP6; expect_v1 o66 $CIP6 :: $LB6; }

counted() {
	expect_eq options_dpvs_uoa_opp "$(proc_stat "$rs" options_dpvs_uoa_opp)" 4
	expect_eq options_valid "$(proc_stat "$rs" options_valid)" 0
}

malformed_not_delivered() {
	local before
	before=$(proc_stat "$rs" options_dpvs_malformed)
	opp_exchange bad $LB4 $RS4 $CIP4 --opp-protocol 6
	if grep -q "^# got" "$tmp/bad"; then fail "a malformed opp datagram reached UDP"; fi
	expect_eq options_dpvs_malformed "$(proc_stat "$rs" options_dpvs_malformed)" $((before + 1))
}

# An ipo-shaped option of a length neither DPVS's (8, 20) nor the unified one's (16, 40), in a
# header the IP stack accepts (a 12-byte type-31 option): the datagram reaches UDP, nothing is
# recorded (the v1 look-up: ENOENT), and it is counted as malformed.
ipo_bad_length() {
	local port=$((7000 + RANDOM % 1000)) before after
	before=$(ip netns exec "$rs" awk '$1 ~ /^malformed_|^options_dpvs_malformed/ { n += $2 } END { print n + 0 }' /proc/net/toa_uoa)
	rm -f "$tmp/ipo.ready"
	ip netns exec "$rs" timeout 5 python3 "$TOOLS/uoa_server.py" $RS4 $port --methods v1 \
		--ready "$tmp/ipo.ready" >"$tmp/ipo" 2>&1 &
	local srv=$!
	wait_for "$tmp/ipo.ready"
	ip netns exec "$lb" python3 "$TOOLS/dpvs_send.py" ipo $LB4 5556 $RS4 $port $CIP4 40000 \
		--payload hello --raw-options 1f0c00000000000000000000
	wait $srv || true
	sed 's/^/# /' "$tmp/ipo" >&2
	grep -q "^# got" "$tmp/ipo" || fail "the datagram did not reach UDP"
	expect_eq "v1 look-up" "$(awk '$1 == "v1" { print $2 }' "$tmp/ipo")" ENOENT
	after=$(ip netns exec "$rs" awk '$1 ~ /^malformed_|^options_dpvs_malformed/ { n += $2 } END { print n + 0 }' /proc/net/toa_uoa)
	expect_eq "malformed counted" "$after" $((before + 1))
}

compat_off_not_delivered() {
	echo 0 >/sys/module/toa_uoa/parameters/dpvs_compat
	opp_exchange off $LB4 $RS4 $CIP4
	if grep -q "^# got" "$tmp/off"; then fail "an opp datagram reached UDP without dpvs_compat"; fi
	echo 1 >/sys/module/toa_uoa/parameters/dpvs_compat
}

check dpvs_opp_44 case_44
check dpvs_opp_64 case_64
check dpvs_opp_46 case_46
check dpvs_opp_66 case_66
check dpvs_opp_counted counted
check dpvs_opp_malformed_not_delivered malformed_not_delivered
check dpvs_ipo_bad_length_counted ipo_bad_length
check dpvs_opp_compat_off_not_delivered compat_off_not_delivered
done_testing
