#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Hostile input. Packets: a corpus of malformed shapes sent raw; none makes a record, each
# is counted (by the module's malformed_*/options_not_tcp_udp counters, or by the kernel's
# own header-error counters when the kernel drops it before the hook), then random option
# areas for a bounded time. Syscalls: every optlen 0..64 on both optnames with
# pattern-filled buffers (no byte beyond the answer written, nothing on errors), NULL,
# unmapped and read-only buffers, bad families, and the wrong socket types.
. "$(dirname "$0")/lib.sh"

require_module
setup_pair
export TOP

# Everything the module counts as not recordable, plus the kernel's header errors.
rejected() {
	ip netns exec "$rs" awk '
		FILENAME ~ /toa_uoa/ && ($1 ~ /^malformed_/ || $1 == "options_not_tcp_udp") { n += $2 }
		FILENAME ~ /snmp6/ && $1 ~ /^Ip6(InHdrErrors|InTruncatedPkts)$/ { n += $2 }
		FILENAME ~ /snmp$/ && $1 == "Ip:" && !hdr { for (i = 1; i <= NF; i++) col[$i] = i; hdr = 1; next }
		FILENAME ~ /snmp$/ && $1 == "Ip:" && hdr { n += $col["InHdrErrors"] }
		END { print n + 0 }' /proc/net/toa_uoa /proc/net/snmp /proc/net/snmp6
}

shape() {
	local before after
	before=$(rejected)
	ip netns exec "$lb" python3 "$TOOLS/hostile_packets.py" send "$1"
	sleep 0.3
	after=$(rejected)
	expect_eq "records_live after $1" "$(proc_stat "$rs" records_live)" 0
	if [ "$1" = v4_after_eol ]; then
		# Options after an EOL are not options (RFC 791): ignored, correctly, uncounted.
		expect_eq "counted for $1" "$after" "$before"
	else
		[ "$after" -gt "$before" ] || fail "$1 was neither counted by the module nor dropped by the kernel"
	fi
}

random_packets() {
	SEED=$RANDOM ip netns exec "$lb" python3 "$TOOLS/hostile_packets.py" random 20 >&2
	local m
	m=$(ip netns exec "$rs" awk '$1 ~ /^malformed_/ { n += $2 } END { print n + 0 }' /proc/net/toa_uoa)
	echo "malformed counted so far: $m" >&2
	[ "$m" -gt 100 ] || fail "only $m malformed options counted"
}

syscalls() {
	# a record for 10.0.0.1:5555 -> 10.0.0.2:9000 (UDP)
	ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" $LB4 5555 $RS4 9000 192.0.2.10 40000 198.51.100.1 80
	ip netns exec "$rs" python3 "$TOOLS/hostile_syscalls.py" >&2
}

while read -r name _; do
	check "hostile_packet_$name" shape "$name"
done < <(python3 "$TOOLS/hostile_packets.py" shapes)
check hostile_random_packets_20s random_packets
check hostile_syscalls syscalls
done_testing
