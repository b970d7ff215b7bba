#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Applications: the shipped C header, the Rust crate (userspace/uoa) and the Python module,
# used the way applications use them, on the real path: a balancer namespace sends with
# the option, servers in the real-server namespace print the client they were told.
#  - examples/udp_server.c, built here against include/uapi (v0 58-byte and v1 look-ups),
#    in the four cases and on a dual-stack socket; the header also compiles as C++;
#  - the crate's udp_echo, tokio_udp_echo and tcp_server examples (built on the host beforehand:
#    (cd userspace && cargo build --release -p toa-uoa-lookup --examples); skipped if not);
#  - the Python package (python/toa_uoa): a UDP server written as docs/APPLICATIONS.md shows
#    (recvfrom's address passed as it is: a 4-tuple on an IPv6 socket), in the four cases, on a
#    dual-stack socket and without an option (lookup gives None); the package's two examples,
#    python/examples/udp_server.py (toa_uoa.recvfrom) and asyncio_udp_server.py;
#  - without the module: the crate says ModuleNotLoaded (ENOPROTOOPT); Python raises
#    toa_uoa.ModuleNotLoaded after one getsockopt system call (v1 only, counted with strace).
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
# A UDP server as a Python application writes it (docs/APPLICATIONS.md): recvfrom, then
# toa_uoa.lookup with the addresses as Python gives them. Prints "from HOST PORT LEN" (LEN:
# recvfrom's tuple, 4 on an IPv6 socket), then "client CIP CPORT service VIP VPORT",
# "norecord HOST PORT" (lookup gave None) or "error ModuleNotLoaded ENOPROTOOPT".
import errno, socket, sys
sys.path.insert(0, "$TOP/python")
import toa_uoa
addr, port = sys.argv[1], int(sys.argv[2])
sock = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((addr, port))
local = sock.getsockname()
open(sys.argv[3], "w").close()
data, peer = sock.recvfrom(65535)
print("from", *peer[:2], len(peer), flush=True)
try:
    found = toa_uoa.lookup(sock, peer, local)
except toa_uoa.ModuleNotLoaded as e:
    print("error", type(e).__name__, errno.errorcode[e.errno], flush=True)
else:
    if found is None:
        print("norecord", *peer[:2], flush=True)
    else:
        client, service = found
        print("client", *client, "service", *service, flush=True)
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
mkwrap rust_tokio "$RUST_EX/tokio_udp_echo \"\$1\" \"\$2\" --count 1 --ready \"\$3\""
mkwrap py_server "python3 $tmp/py_server.py \"\$@\""
# The same server under strace, counting its getsockopt calls (one line each).
mkwrap py_strace "strace -qq -e trace=getsockopt -e signal=none -o $tmp/strace python3 $tmp/py_server.py \"\$@\""
mkwrap py_example "env PYTHONPATH=$TOP/python python3 $TOP/python/examples/udp_server.py \"\$1\" \"\$2\" --count 1 --ready \"\$3\""
mkwrap py_asyncio "env PYTHONPATH=$TOP/python python3 $TOP/python/examples/asyncio_udp_server.py \"\$1\" \"\$2\" --count 1 --ready \"\$3\""

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

# rust_tokio_case NAME LB RS CIP VIP: the same server on tokio (the crate's tokio example).
rust_tokio_case() {
	udp "k$1" "$2" "$3" "$4" "$5" -- "$tmp/rust_tokio"
	expect_eq "rust tokio udp $1" "$(line "k$1" client)" "$4 40000 service $5 80"
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

# python_case NAME LB RS CIP VIP: on an IPv6 socket (46, 66) recvfrom gives a 4-tuple, which
# the server passes to lookup as it is.
python_case() {
	local len=2
	[[ $3 != *:* ]] || len=4
	udp "p$1" "$2" "$3" "$4" "$5" -- "$tmp/py_server"
	expect_eq "python $1 from" "$(line "p$1" from)" "$2 5555 $len"
	expect_eq "python $1" "$(line "p$1" client)" "$4 40000 service $5 80"
}

python_dual_stack() {
	BIND=:: udp pdual $LB4 $RS4 $CIP4 $VIP4 -- "$tmp/py_server"
	expect_eq from "$(line pdual from)" "::ffff:$LB4 5555 4"
	expect_eq client "$(line pdual client)" "$CIP4 40000 service $VIP4 80"
}

# python_no_record NAME LB RS: a datagram without the option: lookup gives None.
python_no_record() {
	udp "pnone$1" "$2" "$3" $CIP4 $VIP4 --no-option -- "$tmp/py_server"
	expect_eq "no record" "$(line "pnone$1" norecord)" "$2 5555"
}

# python_example NAME SERVER LB RS CIP VIP [--no-option]: one of python/examples.
python_example() {
	local name=$1 server=$2
	shift 2
	udp "$name" "$@" -- "$tmp/$server"
	if [ "${5:-}" = --no-option ]; then
		expect_eq "$name" "$(line "$name" norecord)" "$1 5555"
	else
		expect_eq "$name" "$(line "$name" client)" "$3 40000 service $4 80"
	fi
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

# Without the module: ModuleNotLoaded, after one getsockopt (v1, 0x801), not v1 then v0.
unloaded_python() {
	unload_module
	udp punl $LB6 $RS6 $CIP4 $VIP4 -- "$tmp/py_strace"
	sed 's/^/# strace: /' "$tmp/strace" >&2
	expect_eq python "$(line punl error)" "ModuleNotLoaded ENOPROTOOPT"
	expect_eq "getsockopt calls" "$(grep -c 'getsockopt(' "$tmp/strace")" 1
	grep -q 'getsockopt(.*SOL_IP, 0x801 .*= -1 ENOPROTOOPT' "$tmp/strace" || fail "not one v1 call answered ENOPROTOOPT"
}

# The example server says so and still answers the datagram.
unloaded_python_example() {
	unload_module
	udp punlex $LB4 $RS4 $CIP4 $VIP4 -- "$tmp/py_example"
	grep -q "^error ModuleNotLoaded ENOPROTOOPT: toa_uoa is not loaded" "$tmp/punlex" || fail "no ModuleNotLoaded"
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
[ -x "$RUST_EX/udp_echo" ] && [ -x "$RUST_EX/tcp_server" ] && [ -x "$RUST_EX/tokio_udp_echo" ] ||
	have_rust=
for c in "44 $LB4 $RS4 $CIP4 $VIP4" "46 $LB6 $RS6 $CIP4 $VIP4" "64 $LB4 $RS4 $CIP6 $VIP6" "66 $LB6 $RS6 $CIP6 $VIP6"; do
	set -- $c
	if [ -n "$have_rust" ]; then
		check "rust_udp_echo_$1" rust_udp_case "$@"
		check "rust_tokio_udp_echo_$1" rust_tokio_case "$@"
		check "rust_tcp_server_$1" rust_tcp_case "$@"
	else
		skip "rust_udp_echo_$1" "no $RUST_EX/udp_echo (cargo build --release -p toa-uoa-lookup --examples)"
		skip "rust_tokio_udp_echo_$1" "no $RUST_EX/tokio_udp_echo"
		skip "rust_tcp_server_$1" "no $RUST_EX/tcp_server"
	fi
done
if [ -n "$have_rust" ]; then check rust_no_option_no_record no_record; else skip rust_no_option_no_record "not built"; fi

check python_udp_server_44 python_case 44 $LB4 $RS4 $CIP4 $VIP4
check python_udp_server_46 python_case 46 $LB6 $RS6 $CIP4 $VIP4
check python_udp_server_64 python_case 64 $LB4 $RS4 $CIP6 $VIP6
check python_udp_server_66 python_case 66 $LB6 $RS6 $CIP6 $VIP6
check python_udp_server_dual_stack python_dual_stack
check python_no_option_none_44 python_no_record 44 $LB4 $RS4
check python_no_option_none_66 python_no_record 66 $LB6 $RS6
check python_example_udp_server_44 python_example pex44 py_example $LB4 $RS4 $CIP4 $VIP4
check python_example_udp_server_66 python_example pex66 py_example $LB6 $RS6 $CIP6 $VIP6
check python_example_udp_server_no_option python_example pexnone py_example $LB6 $RS6 $CIP6 $VIP6 --no-option
check python_example_asyncio_46 python_example pas46 py_asyncio $LB6 $RS6 $CIP4 $VIP4
check python_example_asyncio_64 python_example pas64 py_asyncio $LB4 $RS4 $CIP6 $VIP6
check python_example_asyncio_66 python_example pas66 py_asyncio $LB6 $RS6 $CIP6 $VIP6

# Last: without the module.
if [ -n "$have_rust" ]; then check rust_module_not_loaded unloaded_rust; else skip rust_module_not_loaded "not built"; fi
if command -v strace >/dev/null; then
	check python_module_not_loaded unloaded_python
else
	skip python_module_not_loaded "no strace (scripts/setup.sh installs it)"
fi
check python_example_module_not_loaded unloaded_python_example
if [ -n "$have_c" ]; then check c_module_not_loaded unloaded_c; else skip c_module_not_loaded "not built"; fi
done_testing
