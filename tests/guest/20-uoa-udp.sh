#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# UDP (UOA) in the four address cases 44 46 64 66: a balancer namespace sends datagrams
# carrying the option, a server namespace receives them with a plain UDP socket and looks
# the client up through v1 (exact and any-address) and each v0 size, on the real path.
. "$(dirname "$0")/lib.sh"

require_module
setup_pair
tmp=$(make_tmpdir)


# run_case NAME LB RS CIP VIP: one datagram; writes the server's answers to $tmp/NAME.
run_case() {
	uoa_exchange "$tmp/$1" "$2" "$3" $((9000 + RANDOM % 1000)) "$4" "$5"
}

# answer NAME METHOD: what the server printed for METHOD.
answer() {
	awk -v m="$2" '$1 == m { $1 = ""; sub(/^ /, ""); print }' "$tmp/$1"
}

expect_answers() {
	local name=$1
	shift
	local m want
	while [ $# -gt 0 ]; do
		m=$1 want=$2
		shift 2
		expect_eq "$name $m" "$(answer "$name" "$m")" "$want"
	done
}

case_44() {
	run_case 44 $LB4 $RS4 $CIP4 $VIP4
	expect_answers 44 v1 "$CIP4 40000 $VIP4 80" v1_any "$CIP4 40000 $VIP4 80" \
		v0_58 "$CIP4 40000" v0_56 "$CIP4 40000" v0_18 "$CIP4 40000"
}

case_46() {
	run_case 46 $LB6 $RS6 $CIP4 $VIP4
	# v0 56 cannot say the family: an IPv4 client on an AF_INET6 query comes back mapped;
	# the 18-byte layout cannot even ask for an IPv6 tuple.
	expect_answers 46 v1 "$CIP4 40000 $VIP4 80" v1_any "$CIP4 40000 $VIP4 80" \
		v0_58 "$CIP4 40000" v0_56 "::ffff:$CIP4 40000" v0_18 ENOENT
}

case_64() {
	run_case 64 $LB4 $RS4 $CIP6 $VIP6
	expect_answers 64 v1 "$CIP6 40000 $VIP6 80" v1_any "$CIP6 40000 $VIP6 80" \
		v0_58 "$CIP6 40000" v0_56 EAFNOSUPPORT v0_18 EAFNOSUPPORT
}

case_66() {
	run_case 66 $LB6 $RS6 $CIP6 $VIP6
	expect_answers 66 v1 "$CIP6 40000 $VIP6 80" v1_any "$CIP6 40000 $VIP6 80" \
		v0_58 "$CIP6 40000" v0_56 "$CIP6 40000" v0_18 ENOENT
}

# A datagram without the option: no record, every look-up says ENOENT.
no_option() {
	uoa_exchange "$tmp/none" $LB4 $RS4 9999 $CIP4 $VIP4 --no-option
	expect_answers none v1 ENOENT v1_any ENOENT v0_58 ENOENT v0_56 ENOENT v0_18 ENOENT
}

counters() {
	expect_eq records_new "$(proc_stat "$rs" records_new)" 4
	expect_eq options_valid "$(proc_stat "$rs" options_valid)" 4
	expect_eq records_live "$(proc_stat "$rs" records_live)" 4
	# Per datagram the server asks v1, v1 any-address, v0 58, 56 and 18 bytes (the answers
	# above): v1 hits 2 per case; v0 hits 3 (44) 2 (46) 1 (64) 2 (66); v0 misses: the 18-byte
	# look-ups of IPv6 tuples (46, 66) and all three without the option; refused: the 64
	# case's v0 56 and 18 (EAFNOSUPPORT).
	expect_eq lookups_v1_hit "$(proc_stat "$rs" lookups_v1_hit)" 8
	expect_eq lookups_v1_miss "$(proc_stat "$rs" lookups_v1_miss)" 2
	expect_eq lookups_v0_hit "$(proc_stat "$rs" lookups_v0_hit)" 8
	expect_eq lookups_v0_miss "$(proc_stat "$rs" lookups_v0_miss)" 5
	expect_eq lookups_refused "$(proc_stat "$rs" lookups_refused)" 2
	# the other namespace saw nothing
	expect_eq "lb records_new" "$(proc_stat "$lb" records_new)" 0
}

check uoa_udp_44 case_44
check uoa_udp_46 case_46
check uoa_udp_64 case_64
check uoa_udp_66 case_66
check uoa_udp_no_option no_option
check uoa_counters counters
done_testing
