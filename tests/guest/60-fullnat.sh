#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# End to end through a FullNAT balancer (tests/demo/fullnat.sh's scenario, with assertions):
# client -> balancer (toa-uoa-lb inserting the option on a TUN device, then nftables DNAT +
# SNAT) -> server with unmodified applications. With toa_uoa loaded the server sees
# the client namespace's address and port (http.server's log, accept, getpeername), the VIP
# from getsockname, and the UDP v1 look-up answers CIP:CPORT VIP:VPORT; a datagram that would
# exceed the MTU with the option passes unmodified and is counted; after rmmod the server sees
# the balancer's SNAT address. IPv4 (44) and IPv6 (66), and across families (46, 64: the
# balancer translates between the families, the option carries the client's own family),
# TCP and UDP.
. "$(dirname "$0")/lib.sh"
# The scenario's namespaces are made here (setup_ns, below), not by fullnat.sh.
FN_MKNS=:
. "$TOP/tests/demo/fullnat.sh"

[ -x "$FN_LB" ] || skip_all "toa-uoa-lb not built: (cd userspace && cargo build --release -p toa-uoa-lb)"
for tool in nft curl socat gcc python3; do
	command -v $tool >/dev/null || skip_all "no $tool"
done
require_module "trusted_sources=$BS4/32,$BS6/128"

FN_TMP=$(make_tmpdir)
# Under random names (fn_client-XXXXXX...) instead of fullnat.sh's fixed ones.
setup_ns fn_client fn_lb fn_server
# shellcheck disable=SC2154 # set by setup_ns
NS_C=$fn_client NS_B=$fn_lb NS_S=$fn_server
# In this shell, not in a check: the processes must be known to the cleanup.
fn_prepare
_pids+=("${FN_PIDS[@]}") # stopped (and waited for) by lib.sh's cleanup

# tcp_case CASE STATE (CASE: 4, 6, 46 or 64; the answers are in the client's family)
tcp_case() {
	local fam=$1 st=$2 name=tcp$1.$2 len cport
	cport=$(fn_cport "$st" "$fam" tcp)
	fn_tcp "$fam" "$name" "$cport"
	sed 's/^/# /' "$FN_TMP/$name" >&2
	local c vip bs s famname=ipv$(fn_cfam "$fam") sfam=ipv$(fn_sfam "$fam") slen
	c=$(fn_addr "$fam" C) vip=$(fn_addr "$fam" VIP) bs=$(fn_addr "$fam" BS) s=$(fn_addr "$fam" S)
	if [ "$(fn_cfam "$fam")" = 4 ]; then len=16; else len=28; fi
	if [ "$(fn_sfam "$fam")" = 4 ]; then slen=16; else slen=28; fi
	if [ "$st" = with ]; then
		if [ "$fam" = 64 ]; then
			# Python's accept() gives an AF_INET socket a 16-byte buffer: the 28-byte
			# sockaddr_in6 is cut after 8 address bytes, as the kernel always truncates,
			# and Python decodes the rest from its own uninitialised buffer
			# (docs/APPLICATIONS.md); toa_getname, with a sockaddr_storage, sees it whole.
			python3 -c 'import ipaddress, sys; a, b = (ipaddress.ip_address(x).packed for x in sys.argv[1:]); sys.exit(a[:8] != b[:8])' \
				"$(fn_get "$name" http)" "$c" || fail "http.server log: $(fn_get "$name" http), not $c's first 64 bits"
		else
			expect_eq "http.server log" "$(fn_get "$name" http)" "$c"
		fi
		expect_eq accept "$(fn_get "$name" accept)" "$famname $c $((cport + 1)) $len"
		expect_eq getpeername "$(fn_get "$name" getpeername)" "$famname $c $((cport + 1)) $len"
		expect_eq getsockname "$(fn_get "$name" getsockname)" "$famname $vip 81 $len"
	else
		expect_eq "http.server log" "$(fn_get "$name" http)" "$bs"
		expect_eq "accept address" "$(fn_get "$name" accept | cut -d' ' -f1-2)" "$sfam $bs"
		expect_eq getsockname "$(fn_get "$name" getsockname)" "$sfam $s 8081 $slen"
	fi
}

# udp_case CASE STATE
udp_case() {
	local fam=$1 st=$2 name=udp$1.$2 cport
	cport=$(fn_cport "$st" "$fam" udp)
	fn_udp "$fam" "$name" "$cport"
	sed 's/^/# /' "$FN_TMP/$name" >&2
	local c vip bs
	c=$(fn_addr "$fam" C) vip=$(fn_addr "$fam" VIP) bs=$(fn_addr "$fam" BS)
	expect_eq "recvfrom address" "$(fn_get "$name" from | cut -d' ' -f1)" "$bs"
	if [ "$st" = with ]; then
		expect_eq "v1 look-up" "$(fn_get "$name" v1)" "$c $cport $vip 53"
	else
		expect_eq "v1 look-up" "$(fn_get "$name" v1)" "ENOPROTOOPT"
	fi
}

lb_inserted() {
	sed 's/^/# /' "$FN_TMP/lb.stats" >&2
	[ "$(fn_lb_stat inserted_ipv4)" -gt 0 ] || fail "no IPv4 packet rewritten"
	[ "$(fn_lb_stat inserted_ipv6)" -gt 0 ] || fail "no IPv6 packet rewritten"
	[ "$(proc_stat $NS_S options_valid)" -gt 0 ] || fail "the server's module saw no option"
}

# Both translations were used, both ways, and nothing meant for them was dropped.
lb_translated() {
	[ "$(fn_lb_stat translated_46)" -gt 0 ] || fail "no 46 packet translated"
	[ "$(fn_lb_stat translated_64)" -gt 0 ] || fail "no 64 packet translated"
	[ "$(fn_lb_stat replies_translated)" -gt 0 ] || fail "no reply translated"
	expect_eq translation_dropped "$(fn_lb_stat translation_dropped)" 0
}

# 20 + 8 + 1472 = 1500 bytes: with the option it would not fit the MTU, so it goes through
# as it came (received, no record for its tuple) and the balancer stage counts it.
udp_too_big() {
	local before
	before=$(fn_lb_stat skipped_too_big)
	fn_udp 4 big 40099 1472
	sed 's/^/# /' "$FN_TMP/big" >&2
	expect_eq "recvfrom" "$(fn_get big from)" "$BS4 40099"
	expect_eq "v1 look-up" "$(fn_get big v1)" "ENOENT"
	# toa-uoa-lb writes its counters within 100 ms of a burst's last packet.
	local i
	for i in $(seq 1 20); do
		[ "$(fn_lb_stat skipped_too_big)" = "$((before + 1))" ] && break
		sleep 0.1
	done
	expect_eq "skipped_too_big" "$(fn_lb_stat skipped_too_big)" "$((before + 1))"
}

check fullnat_tcp_44_module tcp_case 4 with
check fullnat_udp_44_module udp_case 4 with
check fullnat_tcp_66_module tcp_case 6 with
check fullnat_udp_66_module udp_case 6 with
check fullnat_tcp_46_module tcp_case 46 with
check fullnat_udp_46_module udp_case 46 with
check fullnat_tcp_64_module tcp_case 64 with
check fullnat_udp_64_module udp_case 64 with
check fullnat_lb_inserted_both_families lb_inserted
check fullnat_lb_translated_46_64 lb_translated
check fullnat_udp_over_mtu_unmodified udp_too_big
check fullnat_rmmod release_and_rmmod
check fullnat_tcp_44_no_module tcp_case 4 without
check fullnat_udp_44_no_module udp_case 4 without
check fullnat_tcp_66_no_module tcp_case 6 without
check fullnat_udp_66_no_module udp_case 6 without
check fullnat_tcp_46_no_module tcp_case 46 without
check fullnat_udp_46_no_module udp_case 46 without
check fullnat_tcp_64_no_module tcp_case 64 without
check fullnat_udp_64_no_module udp_case 64 without
done_testing
