#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A DPVS balancer's formats (dpvs_compat=1): the FullNAT scenario of test 60 with toa-uoa-lb
# playing DPVS (--format dpvs-ipo: TCP option 254 "TOA" on the handshake-completing ACK and
# the first data; IPv4 option 31 of 8 or 20 bytes "UOA ipo" on UDP over IPv4). Unmodified
# servers: http.server's log, accept and getpeername show the client, in every family case,
# and DPVS toa.ko's NAT64 getsockopt (4096) answers an IPv6 client;
# getsockname keeps the server's own address (DPVS carries no VIP); the UDP v1 look-up answers
# the client with an all-zero VIP. Counted per format, none as the unified option's. With
# dpvs_compat=0 (written while loaded) the same connection shows the balancer's address.
. "$(dirname "$0")/lib.sh"
FN_MKNS=:
. "$TOP/tests/demo/fullnat.sh"

[ -x "$FN_LB" ] || skip_all "toa-uoa-lb not built: (cd userspace && cargo build --release -p toa-uoa-lb)"
for tool in nft curl socat gcc python3; do
	command -v $tool >/dev/null || skip_all "no $tool"
done
require_module "trusted_sources=$BS4/32,$BS6/128" dpvs_compat=1

FN_TMP=$(make_tmpdir)
setup_ns fn_client fn_lb fn_server
# shellcheck disable=SC2154 # set by setup_ns
NS_C=$fn_client NS_B=$fn_lb NS_S=$fn_server
FN_LB_FORMAT=dpvs-ipo
# DPVS toa.ko's NAT64 look-up too (getsockopt(IPPROTO_IP, 4096)), served with dpvs_compat=1.
FN_GETNAME_ARGS=--nat64
fn_prepare
_pids+=("${FN_PIDS[@]}")

# tcp_case CASE: the client in the client's family, the server's own address.
tcp_case() {
	local fam=$1 name=tcp$1.$2 cport c s len slen
	cport=$(fn_cport with "$fam" tcp)
	[ "$2" = with ] || cport=$((cport + 5))
	fn_tcp "$fam" "$name" "$cport"
	sed 's/^/# /' "$FN_TMP/$name" >&2
	c=$(fn_addr "$fam" C) s=$(fn_addr "$fam" S)
	if [ "$(fn_cfam "$fam")" = 4 ]; then len=16; else len=28; fi
	if [ "$(fn_sfam "$fam")" = 4 ]; then slen=16; else slen=28; fi
	if [ "$2" = with ]; then
		expect_eq accept "$(fn_get "$name" accept)" "ipv$(fn_cfam "$fam") $c $((cport + 1)) $len"
		expect_eq getpeername "$(fn_get "$name" getpeername)" "ipv$(fn_cfam "$fam") $c $((cport + 1)) $len"
		# The NAT64 look-up answers an IPv6 client only, as DPVS's toa.ko does.
		if [ "$(fn_cfam "$fam")" = 6 ]; then
			expect_eq "NAT64 look-up" "$(fn_get "$name" nat64)" "$c $((cport + 1)) len 20"
		else
			expect_eq "NAT64 look-up (IPv4 client)" "$(fn_get "$name" nat64)" "error EINVAL"
		fi
	else
		expect_eq "accept address" "$(fn_get "$name" accept | cut -d' ' -f1-2)" "ipv$(fn_sfam "$fam") $(fn_addr "$fam" BS)"
	fi
	expect_eq "getsockname (no VIP from DPVS)" "$(fn_get "$name" getsockname)" "ipv$(fn_sfam "$fam") $s 8081 $slen"
}

# udp_case CASE: ipo over IPv4 (44: 8 bytes, 64: 20 bytes).
udp_case() {
	local fam=$1 name=udp$1 cport c zero
	cport=$(fn_cport with "$fam" udp)
	fn_udp "$fam" "$name" "$cport"
	sed 's/^/# /' "$FN_TMP/$name" >&2
	c=$(fn_addr "$fam" C)
	if [ "$(fn_cfam "$fam")" = 4 ]; then zero=0.0.0.0; else zero=::; fi
	expect_eq "v1 look-up" "$(fn_get "$name" v1)" "$c $cport $zero 0"
}

counted_per_format() {
	local toa ipo
	toa=$(proc_stat "$NS_S" options_dpvs_toa) ipo=$(proc_stat "$NS_S" options_dpvs_uoa_ipo)
	echo "# options_dpvs_toa $toa, options_dpvs_uoa_ipo $ipo" >&2
	[ "$toa" -gt 0 ] || fail "no TOA counted"
	[ "$ipo" -gt 0 ] || fail "no ipo counted"
	expect_eq options_valid "$(proc_stat "$NS_S" options_valid)" 0
	expect_eq options_dpvs_malformed "$(proc_stat "$NS_S" options_dpvs_malformed)" 0
}

compat_off() {
	echo 0 >/sys/module/toa_uoa/parameters/dpvs_compat
	expect_eq "dpvs_compat reads back" "$(cat /sys/module/toa_uoa/parameters/dpvs_compat)" 0
	tcp_case 4 without
	echo 1 >/sys/module/toa_uoa/parameters/dpvs_compat
}

check dpvs_tcp_44 tcp_case 4 with
check dpvs_tcp_66 tcp_case 6 with
check dpvs_tcp_46 tcp_case 46 with
check dpvs_tcp_64 tcp_case 64 with
check dpvs_udp_ipo_44 udp_case 4
check dpvs_udp_ipo_64 udp_case 64
check dpvs_counted_per_format counted_per_format
check dpvs_compat_off_plain compat_off
check dpvs_rmmod release_and_rmmod
done_testing
