#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Applications: the shipped C header, the Rust crate (userspace/uoa) and the Python module,
# used the way applications use them, on the real path: a balancer namespace sends with
# the option, servers in the real-server namespace print the client they were told.
#  - examples/udp_server.c, built here against include/uapi (v0 58-byte and v1 look-ups),
#    in the four cases and on a dual-stack socket; the header also compiles as C++;
#  - the crate's udp_echo and tcp_server examples (built on the host beforehand:
#    (cd userspace && cargo build --release -p toa-uoa-lookup --examples); skipped if not);
#  - a python3 UDP server using python/toa_uoa.py;
#  - without the module: the crate says ModuleNotLoaded (ENOPROTOOPT), Python ENOPROTOOPT.
. "$(dirname "$0")/lib.sh"

require_module
setup_pair
tmp=$(make_tmpdir)

UAPI=$TOP/include/uapi
RUST_EX=${TOA_UOA_RUST_EXAMPLES:-$TOP/userspace/target/release/examples}
echo 30000 >"$tmp/port"
# next_port: a fresh server port for every server (checks run in subshells: a file, not a
# variable), so no server's tuple meets a record an earlier one left.
next_port() {
	port=$(($(cat "$tmp/port") + 1))
	echo $port >"$tmp/port"
}

cat >"$tmp/py_server.py" <<PY
# A UDP server as a Python application writes it: recvfrom, then toa_uoa.lookup.
import errno, socket, sys
sys.path.insert(0, "$TOP/python")
import toa_uoa
addr, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, port))
open(sys.argv[3], "w").close()
data, peer = s.recvfrom(65535)
try:
    client, service = toa_uoa.lookup(s, peer[:2], s.getsockname()[:2])
    print("client", client[0], client[1], "service", *(service or ("-",)), flush=True)
except OSError as e:
    print("error", errno.errorcode.get(e.errno, e.errno), flush=True)
PY

# udp NAME SRC DST CIP VIP [--no-option] -- SERVER_CMD...: runs SERVER_CMD DST PORT (plus the
# ready-file arguments) in $rs, sends one datagram from SRC in $lb, waits; output in $tmp/NAME.
udp() {
	local name=$1 src=$2 dst=$3 cip=$4 vip=$5 opt=
	shift 5
	[ "$1" != --no-option ] || { opt=--no-option; shift; }
	[ "$1" = -- ] && shift
	next_port
	rm -f "$tmp/ready"
	local bind=$dst
	[ -z "${BIND:-}" ] || bind=$BIND
	ip netns exec "$rs" timeout 20 "$@" "$bind" $port "$tmp/ready" >"$tmp/$name" 2>&1 &
	local srv=$!
	wait_for "$tmp/ready"
	ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" "$src" 5555 "$dst" $port "$cip" 40000 "$vip" 80 $opt
	local rc=0
	wait $srv || rc=$?
	sed 's/^/# /' "$tmp/$name" >&2
	[ $rc -eq 0 ] || fail "$name: server exited with $rc"
}

# Adapters: every server takes ADDR PORT READY_FILE.
mkwrap() {
	printf '#!/bin/sh\nexec %s\n' "$2" >"$tmp/$1"
	chmod +x "$tmp/$1"
}
mkwrap c_server "$tmp/udp_server \"\$1\" \"\$2\" --count 1 --ready \"\$3\""
mkwrap rust_udp "$RUST_EX/udp_echo \"\$1\" \"\$2\" --count 1 --ready \"\$3\""
mkwrap py_server "python3 $tmp/py_server.py \"\$@\""

# line NAME WORD: what follows WORD at the start of a line of $tmp/NAME.
line() {
	awk -v w="$2" '$1 == w { $1 = ""; sub(/^ /, ""); print; exit }' "$tmp/$1"
}

build_c() {
	gcc -O1 -Wall -Wextra -Werror -I "$UAPI" -o "$tmp/udp_server" "$TOP/examples/udp_server.c"
}

header_cxx() {
	printf '#include <linux/toa_uoa.h>\nint main() { union uoa_sockopt_param p; struct uoa_param_map m; return sizeof(p) + sizeof(m) == 98 ? 0 : 1; }\n' >"$tmp/h.cc"
	g++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only -I "$UAPI" "$tmp/h.cc"
	g++ -std=c++17 -Wall -Werror -fsyntax-only -I "$UAPI" -x c++ "$TOP/examples/udp_server.c"
	gcc -std=c99 -Wall -Wextra -Werror -pedantic -fsyntax-only -I "$UAPI" -x c "$tmp/h.cc"
}

# c_case NAME LB RS CIP VIP
c_case() {
	udp "c$1" "$2" "$3" "$4" "$5" -- "$tmp/c_server"
	expect_eq "c$1 v0" "$(line "c$1" v0)" "$4 40000"
	expect_eq "c$1 v1" "$(line "c$1" v1)" "$4 40000 $5 80"
}

c_dual_stack() {
	# A "::" socket gets IPv4 datagrams from ::ffff:10.0.0.1; both look-ups still answer.
	BIND=:: udp cdual $LB4 $RS4 $CIP4 $VIP4 -- "$tmp/c_server"
	expect_eq "from" "$(line cdual from)" "::ffff:$LB4 5555"
	expect_eq "v0" "$(line cdual v0)" "$CIP4 40000"
	expect_eq "v1" "$(line cdual v1)" "$CIP4 40000 $VIP4 80"
}

# rust_udp_case NAME LB RS CIP VIP
rust_udp_case() {
	udp "r$1" "$2" "$3" "$4" "$5" -- "$tmp/rust_udp"
	expect_eq "rust udp $1" "$(line "r$1" client)" "$4 40000 service $5 80"
}

# rust_tcp_case NAME SRC DST CIP VIP: tcp_server with toa_connect.py as the balancer.
rust_tcp_case() {
	local name=t$1 src=$2 dst=$3 cip=$4 vip=$5
	next_port
	rm -f "$tmp/ready"
	ip netns exec "$rs" timeout 20 "$RUST_EX/tcp_server" "$dst" $port --count 1 --ready "$tmp/ready" >"$tmp/$name" 2>&1 &
	local srv=$!
	wait_for "$tmp/ready"
	ip netns exec "$lb" python3 "$TOOLS/toa_connect.py" "$src" $((port + 10000)) "$dst" $port \
		"$cip" 40000 "$vip" 8080 --when syn --send hello
	local rc=0
	wait $srv || rc=$?
	sed 's/^/# /' "$tmp/$name" >&2
	[ $rc -eq 0 ] || fail "tcp_server exited with $rc"
	expect_eq "$name accept" "$(line $name accept)" "$cip 40000"
	expect_eq "$name peer" "$(line $name peer)" "$cip 40000"
	expect_eq "$name local" "$(line $name local)" "$vip 8080"
}

python_case() {
	udp "p$1" "$2" "$3" "$4" "$5" -- "$tmp/py_server"
	expect_eq "python $1" "$(line "p$1" client)" "$4 40000 service $5 80"
}

no_record() {
	udp rnone $LB4 $RS4 $CIP4 $VIP4 --no-option -- "$tmp/rust_udp"
	grep -q "^error NoRecord ENOENT" "$tmp/rnone" || fail "no NoRecord"
}

unloaded_rust() {
	unload_module
	udp runl $LB4 $RS4 $CIP4 $VIP4 -- "$tmp/rust_udp"
	grep -q "^error ModuleNotLoaded ENOPROTOOPT" "$tmp/runl" || fail "no ModuleNotLoaded"
}

unloaded_python() {
	unload_module
	udp punl $LB4 $RS4 $CIP4 $VIP4 -- "$tmp/py_server"
	expect_eq python "$(line punl error)" ENOPROTOOPT
}

unloaded_c() {
	unload_module
	udp cunl $LB4 $RS4 $CIP4 $VIP4 -- "$tmp/c_server"
	expect_eq v0 "$(line cunl v0)" "error ENOPROTOOPT"
	expect_eq v1 "$(line cunl v1)" "error ENOPROTOOPT"
}

check c_header_builds_udp_server build_c
check c_header_compiles_as_cxx header_cxx
have_c=1
[ -x "$tmp/udp_server" ] || have_c=
for c in "44 $LB4 $RS4 $CIP4 $VIP4" "46 $LB6 $RS6 $CIP4 $VIP4" "64 $LB4 $RS4 $CIP6 $VIP6" "66 $LB6 $RS6 $CIP6 $VIP6"; do
	set -- $c
	if [ -n "$have_c" ]; then check "c_udp_server_$1" c_case "$@"; else skip "c_udp_server_$1" "not built"; fi
done
if [ -n "$have_c" ]; then check c_udp_server_dual_stack c_dual_stack; else skip c_udp_server_dual_stack "not built"; fi

have_rust=1
[ -x "$RUST_EX/udp_echo" ] && [ -x "$RUST_EX/tcp_server" ] || have_rust=
for c in "44 $LB4 $RS4 $CIP4 $VIP4" "46 $LB6 $RS6 $CIP4 $VIP4" "64 $LB4 $RS4 $CIP6 $VIP6" "66 $LB6 $RS6 $CIP6 $VIP6"; do
	set -- $c
	if [ -n "$have_rust" ]; then
		check "rust_udp_echo_$1" rust_udp_case "$@"
		check "rust_tcp_server_$1" rust_tcp_case "$@"
	else
		skip "rust_udp_echo_$1" "no $RUST_EX/udp_echo (cargo build --release -p toa-uoa-lookup --examples)"
		skip "rust_tcp_server_$1" "no $RUST_EX/tcp_server"
	fi
done
if [ -n "$have_rust" ]; then check rust_no_option_no_record no_record; else skip rust_no_option_no_record "not built"; fi

check python_udp_server_44 python_case 44 $LB4 $RS4 $CIP4 $VIP4
check python_udp_server_46 python_case 46 $LB6 $RS6 $CIP4 $VIP4
check python_udp_server_64 python_case 64 $LB4 $RS4 $CIP6 $VIP6
check python_udp_server_66 python_case 66 $LB6 $RS6 $CIP6 $VIP6

# Last: without the module.
if [ -n "$have_rust" ]; then check rust_module_not_loaded unloaded_rust; else skip rust_module_not_loaded "not built"; fi
check python_module_not_loaded unloaded_python
if [ -n "$have_c" ]; then check c_module_not_loaded unloaded_c; else skip c_module_not_loaded "not built"; fi
done_testing
