#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Go: a UDP server written with the Go package go/uoa (go/examples/udp_server, built on the
# host by scripts/test.sh into build/go/udp_server; the test is skipped if it is not) on
# the real path: the balancer namespace sends datagrams carrying the option, the server in
# the real-server namespace prints the client and service uoa.ReadFrom gave it.
#  - the four cases 44 46 64 66, a dual-stack socket ("::", IPv4 and IPv6 datagrams) and
#    an IPv4 any-address socket;
#  - a datagram without the option: ErrNoRecord (ENOENT), the address it came from;
#  - one v1 look-up per datagram and no v0 (the module's counters);
#  - without the module: ErrModuleNotLoaded (ENOPROTOOPT), the server does not fail;
#  - under a module serving v0 only (the test module uoa_squatter, holding 2048 as DPVS's
#    uoa.ko does): v1 is ENOPROTOOPT, taken as module-absent without a second (v0) call.
. "$(dirname "$0")/lib.sh"

GO_SERVER=${TOA_UOA_GO_SERVER:-$TOP/build/go/udp_server}
SQUATTER=${TOA_UOA_SQUATTER:-$TOP/tests/kmod/uoa_squatter.ko}
require_module
[ -x "$GO_SERVER" ] || skip_all "no $GO_SERVER: built by scripts/test.sh (cd go && go build -o ../build/go/udp_server ./examples/udp_server)"
setup_pair
tmp=$(make_tmpdir)

echo 31000 >"$tmp/port"
# next_port: a fresh server port for every server (checks run in subshells: a file), so no
# server's tuple meets a record an earlier one left.
next_port() {
	port=$(($(cat "$tmp/port") + 1))
	echo $port >"$tmp/port"
}

# go_udp NAME SRC DST CIP VIP [uoa_send.py option...]: the Go server on DST (or $BIND) in
# $rs for one datagram, sent from SRC:5555 in $lb carrying CIP:40000 and VIP:80; what the
# server printed goes to $tmp/NAME. The server must exit 0.
go_udp() {
	local name=$1 src=$2 dst=$3 cip=$4 vip=$5
	shift 5
	next_port
	rm -f "$tmp/ready"
	ip netns exec "$rs" timeout 20 "$GO_SERVER" "${BIND:-$dst}" $port --count 1 --ready "$tmp/ready" \
		>"$tmp/$name" 2>&1 &
	local srv=$!
	wait_for "$tmp/ready"
	ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" "$src" 5555 "$dst" $port "$cip" 40000 "$vip" 80 "$@"
	local rc=0
	wait $srv || rc=$?
	sed 's/^/# /' "$tmp/$name" >&2
	[ $rc -eq 0 ] || fail "$name: server exited with $rc"
}

# line NAME WORD: what follows WORD at the start of a line of $tmp/NAME.
line() {
	awk -v w="$2" '$1 == w { $1 = ""; sub(/^ /, ""); print; exit }' "$tmp/$1"
}

# error_of NAME: the error line's name, errno and source ("ErrNoRecord ENOENT from IP PORT").
error_of() {
	awk '$1 == "error" { sub(/:$/, "", $6); print $2, $3, $4, $5, $6; exit }' "$tmp/$1"
}

# go_case NAME LB RS CIP VIP
go_case() {
	go_udp "g$1" "$2" "$3" "$4" "$5"
	expect_eq "go $1" "$(line "g$1" client)" "$4 40000 service $5 80"
}

dual_stack_44() {
	# "::" is dual-stack: the IPv4 datagram comes from ::ffff:10.0.0.1, asked as IPv4.
	BIND=:: go_case ds44 $LB4 $RS4 $CIP4 $VIP4
}

dual_stack_66() {
	BIND=:: go_case ds66 $LB6 $RS6 $CIP6 $VIP6
}

any_address_64() {
	BIND=0.0.0.0 go_case any64 $LB4 $RS4 $CIP6 $VIP6
}

no_option() {
	go_udp none $LB4 $RS4 $CIP4 $VIP4 --no-option
	expect_eq "no option" "$(error_of none)" "ErrNoRecord ENOENT from $LB4 5555"
	[ -z "$(line none client)" ] || fail "a client without an option"
}

# Each datagram above was looked up once, through v1: 7 with a record, 1 without.
counters() {
	expect_eq lookups_v1_hit "$(proc_stat "$rs" lookups_v1_hit)" 7
	expect_eq lookups_v1_miss "$(proc_stat "$rs" lookups_v1_miss)" 1
	expect_eq lookups_v0_hit "$(proc_stat "$rs" lookups_v0_hit)" 0
	expect_eq lookups_v0_miss "$(proc_stat "$rs" lookups_v0_miss)" 0
	expect_eq lookups_refused "$(proc_stat "$rs" lookups_refused)" 0
}

not_loaded() {
	unload_module
	go_udp unl4 $LB4 $RS4 $CIP4 $VIP4
	expect_eq "IPv4, not loaded" "$(error_of unl4)" "ErrModuleNotLoaded ENOPROTOOPT from $LB4 5555"
	go_udp unl6 $LB6 $RS6 $CIP6 $VIP6
	expect_eq "IPv6, not loaded" "$(error_of unl6)" "ErrModuleNotLoaded ENOPROTOOPT from $LB6 5555"
}

# The squatter answers every v0 look-up with ENOENT and knows no v1 (2049 is outside its
# range: the kernel says ENOPROTOOPT). A v0 call after v1 would turn the answer into
# ErrNoRecord from the v0 look-up.
v0_only_module() {
	unload_module
	insmod "$SQUATTER"
	local rc=0
	go_udp squat $LB4 $RS4 $CIP4 $VIP4 || rc=$?
	rmmod uoa_squatter
	[ $rc -eq 0 ] || return $rc
	expect_eq "v1 unknown" "$(error_of squat)" "ErrModuleNotLoaded ENOPROTOOPT from $LB4 5555"
	grep -q '^error .*: toa_uoa v1 look-up: ' "$tmp/squat" || fail "not the v1 look-up's error"
}

check go_udp_server_44 go_case 44 $LB4 $RS4 $CIP4 $VIP4
check go_udp_server_46 go_case 46 $LB6 $RS6 $CIP4 $VIP4
check go_udp_server_64 go_case 64 $LB4 $RS4 $CIP6 $VIP6
check go_udp_server_66 go_case 66 $LB6 $RS6 $CIP6 $VIP6
check go_dual_stack_44 dual_stack_44
check go_dual_stack_66 dual_stack_66
check go_any_address_64 any_address_64
check go_no_option_no_record no_option
check go_one_v1_lookup_per_datagram counters
# Last: without the module.
check go_module_not_loaded not_loaded
if [ -f "$SQUATTER" ]; then
	check go_v1_unknown_no_v0_call v0_only_module
else
	skip go_v1_unknown_no_v0_call "no $SQUATTER (scripts/build.sh builds it)"
fi
done_testing
