#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# trusted_sources changed while loaded (/sys/module/toa_uoa/parameters/trusted_sources, no
# reload): it reads back, applies to the next packet in every namespace, is logged, and a
# bad value is refused with EINVAL leaving the old one; under a stream of options, while
# it flips back and forth, every option is counted exactly once, trusted or not.
. "$(dirname "$0")/lib.sh"

require_module trusted_sources=10.9.0.0/16
P=/sys/module/toa_uoa/parameters/trusted_sources
setup_pair

send4() { ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" $LB4 "$1" $RS4 9 $CIP4 1 $VIP4 2 "${@:2}"; }
# Options counted in namespace rs, trusted or not.
options_seen() { echo $(($(proc_stat "$rs" options_valid) + $(proc_stat "$rs" options_untrusted))); }
# IPv4 datagrams namespace rs delivered up the stack (each passed the LOCAL_IN hook first).
delivered() { ip netns exec "$rs" awk '$1 == "Ip:" && n++ { print $10 }' /proc/net/snmp; }

reads_back() {
	expect_eq "$P" "$(cat $P)" 10.9.0.0/16
}

change_applies() {
	send4 7101
	expect_stat "$rs" options_untrusted 1
	expect_eq records_new "$(proc_stat "$rs" records_new)" 0
	log_mark
	echo 10.0.0.0/24 >$P
	expect_eq "$P" "$(cat $P)" 10.0.0.0/24
	log_window | grep -q 'toa_uoa: trusted_sources now 10.0.0.0/24 (was 10.9.0.0/16)' ||
		fail "no log line: $(log_window | grep toa_uoa | tail -2)"
	send4 7102
	expect_stat "$rs" records_new 1
	# Empty: every source; the file reads back empty.
	log_mark
	echo >$P
	expect_eq "$P" "$(cat $P)" ""
	log_window | grep -q 'toa_uoa: trusted_sources now any (was 10.0.0.0/24)' ||
		fail "no log line: $(log_window | grep toa_uoa | tail -2)"
	send4 7103
	expect_stat "$rs" records_new 2
}

bad_value_refused() {
	local v
	echo 10.9.0.0/16 >$P
	for v in 10.0.0.0/33 nonsense 1::2::3 "$(printf '10.0.0.1,%.0s' $(seq 1 200))"; do
		log_mark
		! (echo "$v" >$P) 2>/dev/null || fail "'${v:0:40}' accepted"
		expect_eq "$P after '${v:0:40}'" "$(cat $P)" 10.9.0.0/16
		log_window | grep -q 'toa_uoa: trusted_sources refused' ||
			fail "no clear message for '${v:0:40}': $(log_window | tail -2)"
	done
	# Still in force: an option from 10.0.0.1 is not believed.
	local before
	before=$(proc_stat "$rs" options_untrusted)
	send4 7104
	expect_stat "$rs" options_untrusted $((before + 1))
}

flips_under_traffic() {
	local seen0 delivered0 valid0 untrusted0 sender flips seen sent
	seen0=$(options_seen) delivered0=$(delivered)
	valid0=$(proc_stat "$rs" options_valid) untrusted0=$(proc_stat "$rs" options_untrusted)
	send4 7105 --count 400 --interval 0.005 &
	sender=$!
	flips=0
	# Each setting stays a moment, and the sender pauses between datagrams, so that both
	# settings see packets (the guest has one CPU: two writes back to back would leave the
	# first in force for no packet, and a sender that never pauses would run between them).
	while kill -0 $sender 2>/dev/null; do
		echo 10.0.0.0/24 >$P
		sleep 0.02
		echo 10.9.0.0/16 >$P
		sleep 0.02
		flips=$((flips + 1))
	done
	wait $sender
	# The last datagrams may still be on their way through the veth.
	sleep 1
	seen=$(($(options_seen) - seen0))
	sent=$(($(delivered) - delivered0))
	echo "options counted $seen, datagrams delivered $sent, $flips flips;" \
		"trusted $(($(proc_stat "$rs" options_valid) - valid0))," \
		"untrusted $(($(proc_stat "$rs" options_untrusted) - untrusted0))" >&2
	expect_eq "every delivered option counted once" "$seen" "$sent"
	[ "$sent" -gt 0 ] || fail "nothing delivered"
	# Both settings were in force for some of them.
	[ "$(proc_stat "$rs" options_valid)" -gt "$valid0" ] || fail "no option was trusted"
	[ "$(proc_stat "$rs" options_untrusted)" -gt "$untrusted0" ] || fail "every option was trusted"
	expect_eq "$P at the end" "$(cat $P)" 10.9.0.0/16
}

check trust_live_reads_back reads_back
check trust_live_change_applies change_applies
check trust_live_bad_value_refused bad_value_refused
check trust_live_flips_under_traffic flips_under_traffic
done_testing
