#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# UOA edges: servers bound to the any-address (AF_INET and dual-stack AF_INET6 sockets,
# where the datagram's tuple arrives IPv4-mapped), an option-only empty datagram sent ahead
# of the data, short optlen (EINVAL), bad pointers (EFAULT), and namespaces not seeing each
# other's records.
. "$(dirname "$0")/lib.sh"

require_module
setup_pair
tmp=$(make_tmpdir)

# run_any NAME BIND SRC DST CIP VIP: one datagram from SRC to DST, to a server bound to BIND
# (an any-address).
run_any() {
	local name=$1 bind=$2 src=$3 dst=$4 cip=$5 vip=$6 port=$((9100 + RANDOM % 800))
	rm -f "$tmp/ready"
	ip netns exec "$rs" python3 "$TOOLS/uoa_server.py" "$bind" $port --ready "$tmp/ready" \
		--methods v1,v0_58,v0_18 >"$tmp/$name" &
	local srv=$!
	wait_for "$tmp/ready"
	ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" "$src" 5555 "$dst" $port "$cip" 40000 "$vip" 80
	wait $srv
	sed 's/^/# /' "$tmp/$name" >&2
}

answer() {
	awk -v m="$2" '$1 == m { $1 = ""; sub(/^ /, ""); print }' "$tmp/$1"
}

inet_any_44() {
	run_any inet_any 0.0.0.0 $LB4 $RS4 $CIP4 $VIP4
	expect_eq v1 "$(answer inet_any v1)" "$CIP4 40000 $VIP4 80"
	expect_eq v0_58 "$(answer inet_any v0_58)" "$CIP4 40000"
	expect_eq v0_18 "$(answer inet_any v0_18)" "$CIP4 40000"
}

# A dual-stack socket sees the IPv4 balancer as ::ffff:10.0.0.1: looked up as IPv4.
inet6_any_44() {
	run_any inet6_any44 :: $LB4 $RS4 $CIP4 $VIP4
	expect_eq v1 "$(answer inet6_any44 v1)" "$CIP4 40000 $VIP4 80"
	expect_eq v0_58 "$(answer inet6_any44 v0_58)" "$CIP4 40000"
}

inet6_any_64() {
	run_any inet6_any64 :: $LB4 $RS4 $CIP6 $VIP6
	expect_eq v1 "$(answer inet6_any64 v1)" "$CIP6 40000 $VIP6 80"
	expect_eq v0_58 "$(answer inet6_any64 v0_58)" "$CIP6 40000"
}

inet6_any_66() {
	run_any inet6_any66 :: $LB6 $RS6 $CIP6 $VIP6
	expect_eq v1 "$(answer inet6_any66 v1)" "$CIP6 40000 $VIP6 80"
	expect_eq v0_58 "$(answer inet6_any66 v0_58)" "$CIP6 40000"
}

# Some balancers send the option ahead in an empty datagram; the data follows without it.
option_only_datagram() {
	local port=9950
	rm -f "$tmp/ready"
	ip netns exec "$rs" python3 "$TOOLS/uoa_server.py" $RS4 $port --ready "$tmp/ready" --count 2 \
		--methods v1 >"$tmp/ahead" &
	local srv=$!
	wait_for "$tmp/ready"
	ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" $LB4 5601 $RS4 $port $CIP4 40001 $VIP4 80 --payload ""
	ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" $LB4 5601 $RS4 $port $CIP4 1 $VIP4 1 --no-option --payload data
	wait $srv
	sed 's/^/# /' "$tmp/ahead" >&2
	grep -q "^# got b'data'" "$tmp/ahead" || fail "the data datagram did not arrive"
	expect_eq "after the data" "$(awk '$1 == "v1" { v = $2 " " $3 } END { print v }' "$tmp/ahead")" "$CIP4 40001"
}

# getsockopt with raw arguments: errno names for short optlen and bad pointers, on an
# existing record (the empty-datagram one: 10.0.0.1:5601 -> 10.0.0.2:9950).
raw_errors() {
	ip netns exec "$rs" python3 - <<'PY' >&2
import ctypes, ctypes.util, errno, socket, struct, sys
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
v1 = struct.pack("=IHH", socket.AF_INET, socket.htons(5601), socket.htons(9950)) + \
    socket.inet_aton("10.0.0.1") + socket.inet_aton("10.0.0.2") + bytes(24)
def call(optname, buf, optlen, ptr=None):
    b = ctypes.create_string_buffer(buf, max(len(buf), 1))
    n = ctypes.c_uint32(optlen)
    p = ctypes.c_void_p(ptr) if ptr is not None else b
    r = libc.getsockopt(s.fileno(), socket.IPPROTO_IP, optname, p, ctypes.byref(n))
    return "ok" if r == 0 else errno.errorcode[ctypes.get_errno()]
want = [
    ("v1 full", call(2049, v1, 40), "ok"),
    ("v1 optlen 39", call(2049, v1, 39), "EINVAL"),
    ("v1 optlen 0", call(2049, v1, 0), "EINVAL"),
    ("v0 optlen 17", call(2048, v1, 17), "EINVAL"),
    ("v1 NULL", call(2049, v1, 40, 0), "EFAULT"),
    ("v1 unmapped", call(2049, v1, 40, 0x10), "EFAULT"),
    ("v0 unmapped", call(2048, v1, 58, 0x10), "EFAULT"),
    ("v1 kernel address", call(2049, v1, 40, 0xffffffff81000000), "EFAULT"),
    ("v1 bad type", call(2049, struct.pack("=I", 7) + v1[4:], 40), "EINVAL"),
]
bad = 0
for name, got, exp in want:
    print(f"{name}: {got} (want {exp})")
    bad += got != exp
sys.exit(1 if bad else 0)
PY
}

# The record lives in $rs; the same look-up from another namespace finds nothing.
other_namespace() {
	local third
	setup_ns third
	ip netns exec "$third" python3 - <<'PY' >&2
import os, sys, errno
sys.path.insert(0, os.environ["TOP"] + "/python")
import socket, toa_uoa
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    print(toa_uoa.lookup_v1(s, ("10.0.0.1", 5601), ("10.0.0.2", 9950)))
    sys.exit(1)
except OSError as e:
    print("third namespace:", errno.errorcode[e.errno])
    sys.exit(0 if e.errno == errno.ENOENT else 1)
PY
	cleanup_ns "$third"
}

export TOP
check uoa_inet_any_address_44 inet_any_44
check uoa_inet6_dual_stack_any_44 inet6_any_44
check uoa_inet6_any_64 inet6_any_64
check uoa_inet6_any_66 inet6_any_66
check uoa_option_only_empty_datagram option_only_datagram
check uoa_errors_einval_efault raw_errors
check uoa_invisible_from_other_namespace other_namespace
done_testing
