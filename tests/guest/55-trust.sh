#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# trusted_sources: with it set, options from other sources make no record and are counted;
# from the listed prefixes (IPv4 and IPv6) they work; a bad list refuses the load.
. "$(dirname "$0")/lib.sh"

require_module --unloaded

send4() { ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" $LB4 "$1" $RS4 9 $CIP4 1 $VIP4 2; }
send6() { ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" $LB6 "$1" $RS6 9 $CIP4 1 $VIP4 2; }

default_trusts_all() {
	insmod "$KO"
	setup_pair
	send4 7001
	expect_stat "$rs" records_new 1
	expect_eq options_untrusted "$(proc_stat "$rs" options_untrusted)" 0
}

listed_sources_only() {
	log_mark
	insmod "$KO" trusted_sources=10.9.0.0/16,fd00::1/128
	log_window | grep -q 'trusted_sources=10.9.0.0/16,fd00::1/128' || fail "load line: $(log_window | tail -2)"
	! log_window | grep -q 'trusted_sources is empty' || fail "warned about an empty trusted_sources"
	setup_pair
	send4 7002   # from 10.0.0.1: not listed
	send6 7003   # from fd00::1: listed
	expect_stat "$rs" records_new 1
	expect_stat "$rs" options_untrusted 1
	expect_eq records_live "$(proc_stat "$rs" records_live)" 1
	# The log names the ignored sender, so that a missing balancer address can be found.
	log_window | grep -q "toa_uoa: option from $LB4 ignored: not in trusted_sources" ||
		fail "no log line naming $LB4: $(log_window | grep toa_uoa | tail -3)"
}

ipv4_prefix_match() {
	insmod "$KO" trusted_sources=10.0.0.0/24
	setup_pair
	send4 7004
	send6 7005
	expect_stat "$rs" records_new 1
	expect_stat "$rs" options_untrusted 1
}

# An ordinary client's TCP connection (SYN without an option) from outside trusted_sources
# is not an untrusted option, and makes no record.
plain_syn_not_untrusted() {
	insmod "$KO" trusted_sources=10.9.0.0/16
	setup_pair
	ip netns exec "$rs" socat -u TCP-LISTEN:7100,bind=$RS4 OPEN:/dev/null &
	local srv=$!
	sleep 0.5
	echo hello | ip netns exec "$lb" socat -u - TCP:$RS4:7100,bind=$LB4
	wait $srv
	expect_eq options_untrusted "$(proc_stat "$rs" options_untrusted)" 0
	expect_eq records_live "$(proc_stat "$rs" records_live)" 0
}

bad_list() {
	local out rc=0
	log_mark
	out=$(insmod "$KO" "trusted_sources=$1" 2>&1) || rc=$?
	[ $rc -ne 0 ] || { rmmod toa_uoa; fail "insmod trusted_sources=$1 succeeded"; }
	! module_loaded || fail "loaded"
	log_window | grep -q 'toa_uoa: trusted_sources refused' || fail "no clear message: $(log_window | tail -2)"
}

reset() { unload_module; cleanup_all_ns; }

check trust_default_is_any default_trusts_all
reset
check trust_listed_sources_only listed_sources_only
reset
check trust_ipv4_prefix ipv4_prefix_match
reset
check trust_plain_syn_not_untrusted plain_syn_not_untrusted
reset
for v in 10.0.0.256 fd00::/129 10.0.0.0/33 nonsense 1::2::3; do
	check "trust_bad_list_${v//[^a-z0-9]/_}" bad_list "$v"
done
done_testing
