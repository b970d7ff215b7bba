#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Malformed type-31 options sent as real packets: none makes a record, each is counted
# under the check that failed, the kernel log names the sender (ratelimited), and the
# datagram itself still reaches the application.
. "$(dirname "$0")/lib.sh"

require_module
setup_pair
tmp=$(make_tmpdir)
log_mark

# send_raw FAMILY HEX [may-drop]: one datagram lb -> rs:7000 with the option bytes HEX,
# which the server must receive (the module never drops a packet) unless the kernel's own
# IPv6 option processing (after the hook) discards it: "may-drop".
send_raw() {
	local src=$LB4 dst=$RS4 wait=20
	[ "${3:-}" != may-drop ] || wait=3
	[ "$1" = 6 ] && src=$LB6 dst=$RS6
	rm -f "$tmp/ready" "$tmp/got"
	ip netns exec "$rs" python3 -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM); s.bind((sys.argv[1], 7000)); s.settimeout(float(sys.argv[4]))
open(sys.argv[2], "w").close()
s.recvfrom(100); open(sys.argv[3], "w").close()' "$dst" "$tmp/ready" "$tmp/got" "$wait" &
	local srv=$!
	wait_for "$tmp/ready"
	ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" "$src" 6000 "$dst" 7000 0.0.0.0 0 0.0.0.0 0 --raw-option "$2"
	if ! wait $srv && [ "${3:-}" != may-drop ]; then
		fail "the datagram did not arrive"
	fi
}

# malformed NAME FAMILY HEX [may-drop]: the counter malformed_NAME goes up by one, nothing
# recorded.
malformed() {
	local before after
	before=$(proc_stat "$rs" "malformed_$1")
	send_raw "$2" "$3" "${4:-}"
	after=$(proc_stat "$rs" "malformed_$1")
	expect_eq "malformed_$1" "$after" $((before + 1))
	expect_eq records_live "$(proc_stat "$rs" records_live)" 0
}

V4BODY=9c4000500a0000010a000002   # cport 40000 vport 80 cip 10.0.0.1 vip 10.0.0.2
# type 31, length 16, operation bit 0 = 1 (says IPv6): length and family disagree
check v4_length_family_mismatch malformed v4_length_family_mismatch 4 "1f100100$V4BODY"
# type 31, length 20 (neither 16 nor 40), padded with NOPs... as a 20-byte option
check v4_bad_option_length malformed v4_bad_option_length 4 "1f140000${V4BODY}00000000"
# IPv6 Destination Options (24 bytes): option 31 with optlen 13 (not 12 or 36), then PadN
check v6_bad_optlen malformed v6_bad_optlen 6 "00021f0d${V4BODY}0001050000000000"
# a 16-byte header holding an option that says 36 bytes: runs past the header's end (the
# kernel's own TLV check discards this one after the hook)
check v6_option_past_header malformed v6_option_past_header 6 "00011f24${V4BODY}" may-drop

# The operator can find who sends them: one line per check that failed, with the source.
log_names_the_sender() {
	log_window | grep 'toa_uoa: malformed' | sed 's/^/# /' >&2 || true
	log_window | grep -q "toa_uoa: malformed option (v4_length_family_mismatch) from $LB4\$" ||
		fail "no log line naming $LB4"
	log_window | grep -q "toa_uoa: malformed option (v6_bad_optlen) from $LB6\$" ||
		fail "no log line naming $LB6"
}
check malformed_log_names_the_sender log_names_the_sender
done_testing
