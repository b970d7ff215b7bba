#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `toa-uoa decode` on captures written by real capture tools in the guest, with the capture
# filter docs/decode.md gives: dumpcap's pcapng and tcpdump's pcap, on a plain and on a
# VLAN-tagged link. The options the balancer sent are named in the output (client, service);
# packets without an option are not captured. (Link types the tool does not unwrap, damaged
# files: the host tests, userspace/toa-uoa/tests/cli.rs.)
. "$(dirname "$0")/lib.sh"

TOA_UOA=$TOP/userspace/target/release/toa-uoa
[ -x "$TOA_UOA" ] || skip_all "toa-uoa not built: (cd userspace && cargo build --release -p toa-uoa)"
for tool in dumpcap tcpdump; do
	command -v $tool >/dev/null || skip_all "no $tool (scripts/setup.sh installs it)"
done
# The module is not needed to decode; loaded, it must not change what is captured.
require_module

# docs/decode.md's filter (the same text: a change there must be made here too).
F='(ip[0] & 0xf > 5 or ip6[6] = 60 or ip6[6] = 0) or (vlan and (ip[0] & 0xf > 5 or ip6[6] = 60 or ip6[6] = 0))'
tmp=$(make_tmpdir)
setup_pair

send() { ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" "$@"; }

# capture TOOL FILE: starts TOOL on veth-rs in namespace rs with the filter (its pid in
# $capture_pid); returns once it is capturing.
capture() {
	local tool=$1 file=$2
	rm -f "$file" "$file.err"
	case $tool in
	dumpcap) ip netns exec "$rs" dumpcap -q -i veth-rs -s 256 -f "$F" -w "$file" 2>"$file.err" & ;;
	tcpdump) ip netns exec "$rs" tcpdump -i veth-rs -s 256 -U -w "$file" "$F" 2>"$file.err" & ;;
	esac
	capture_pid=$!
	_pids+=($capture_pid)
	# Both tools say so once the filter is set.
	local i
	for i in $(seq 1 100); do
		grep -qi "capturing\|listening" "$file.err" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "$tool did not start: $(cat "$file.err")"
}

# decoded FILE: what the tool printed.
decoded() { "$TOA_UOA" decode "$1"; }

decode_case() {
	local tool=$1 file=$tmp/cap.$1
	capture "$tool" "$file"
	# Plain link, IPv4 and IPv6 outer headers, IPv4 and IPv6 clients; then one over the VLAN.
	send $LB4 5001 $RS4 9 $CIP4 40001 $VIP4 80
	send $LB6 5002 $RS6 9 $CIP6 40002 $VIP6 443
	send $LB4 5003 $RS4 9 $CIP6 40003 $VIP6 443
	# A frame tagged VLAN 100 (built by hand: the test kernel has no VLAN devices; the capture
	# sees the tag whatever the receiver does with it).
	ip netns exec "$lb" python3 "$TOOLS/vlan_send.py" veth-lb 100 10.100.0.1 5004 10.100.0.2 9 \
		$CIP4 40004 $VIP4 80
	# Without an option: not captured by the filter (a sixth packet would not come).
	send $LB4 5005 $RS4 9 $CIP4 1 $VIP4 2 --no-option
	send $LB6 5006 $RS6 9 $CIP4 40006 $VIP4 80
	# Stopped as an operator would (Ctrl-C): the file is complete.
	sleep 1
	kill -INT $capture_pid
	wait $capture_pid || true
	local head out
	head=$(od -An -tx1 -N4 "$file" | tr -d ' ')
	case $tool in
	dumpcap) expect_eq "$tool writes pcapng" "$head" 0a0d0d0a ;;
	tcpdump) [ "$head" = d4c3b2a1 ] || [ "$head" = a1b2c3d4 ] || fail "tcpdump: magic $head" ;;
	esac
	out=$(decoded "$file") || fail "decode exited $?: $out"
	echo "$out" >&2
	# The link's own IPv6 multicast listener reports start with a Hop-by-Hop header, which
	# the filter keeps too (docs/decode.md): only the test's datagrams are counted.
	expect_eq "$tool datagrams" "$(echo "$out" | grep -c '"dport":9}')" 5
	echo "$out" | grep -q "\"cip\":\"$CIP4\",\"cport\":40001,\"vip\":\"$VIP4\",\"vport\":80" || fail "44 not decoded"
	echo "$out" | grep -q "\"cip\":\"$CIP6\",\"cport\":40002" || fail "66 not decoded"
	echo "$out" | grep -q "\"cip\":\"$CIP6\",\"cport\":40003" || fail "64 not decoded"
	echo "$out" | grep -q "\"saddr\":\"10.100.0.1\".*\"cport\":40004" || fail "VLAN-tagged not decoded"
	echo "$out" | grep -q "\"cip\":\"$CIP4\",\"cport\":40006" || fail "46 not decoded"
	! echo "$out" | grep -q '"cport":1,' || fail "a packet without the option was captured"
}

check capture_dumpcap_pcapng decode_case dumpcap
check capture_tcpdump_pcap decode_case tcpdump
done_testing
