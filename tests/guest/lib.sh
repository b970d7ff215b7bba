# shellcheck shell=bash
# Shared by the guest tests: KTAP subtest output, the module's path, network namespaces
# that are removed (with their processes) when the test exits, however it exits.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KO=${TOA_UOA_KO:-$TOP/toa_uoa.ko}
KSFT_SKIP=4

_ktap_n=0
_ktap_failed=0
_netns=()
_pids=()

echo "KTAP version 1"

# check NAME CMD...: run CMD, report it as subtest NAME.
check() {
	local name=$1 out rc=0 log
	shift
	# Run as a job: set -e is ignored in anything whose status is tested (a || list), and
	# a check must stop at its first failing command.
	log=$(mktemp)
	"$@" >"$log" 2>&1 &
	wait $! || rc=$?
	out=$(cat "$log")
	rm -f "$log"
	_ktap_n=$((_ktap_n + 1))
	# What the check said is kept as KTAP diagnostics, pass or fail.
	[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/# /'
	if [ $rc -eq 0 ]; then
		echo "ok $_ktap_n $name"
	else
		echo "# '$*' exited with $rc"
		echo "not ok $_ktap_n $name"
		_ktap_failed=$((_ktap_failed + 1))
	fi
}

# skip NAME REASON
skip() {
	_ktap_n=$((_ktap_n + 1))
	echo "ok $_ktap_n $1 # SKIP $2"
}

# fail MESSAGE: for use inside check'd functions.
fail() {
	echo "$*" >&2
	return 1
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# log_mark: opens a window on the kernel log; log_window prints what was logged since.
# Tests never clear the log (dmesg -C): the suite checks the whole run for reports.
_log_mark=
log_mark() {
	_log_mark="ktest-mark-$$-$RANDOM$RANDOM"
	echo "$_log_mark" >/dev/kmsg
}
log_window() {
	dmesg | awk -v m="$_log_mark" 'f { print } index($0, m) { f = 1 }'
}

module_loaded() {
	[ -d /sys/module/toa_uoa ]
}

load_module() {
	module_loaded || insmod "$KO" "$@"
}

unload_module() {
	! module_loaded || rmmod toa_uoa
}

# rmmod_busy_retry: rmmod toa_uoa, retried while it is refused as busy: a getsockopt
# look-up in flight on another CPU holds a reference for its duration (nf_sockopt), so an
# unload under look-up load can be refused for a moment ("in use" when kmod sees the
# reference count, EAGAIN "Resource temporarily unavailable" when the kernel does). Says
# how many retries it took.
rmmod_busy_retry() {
	local i out
	for i in $(seq 0 50); do
		out=$(rmmod toa_uoa 2>&1) && { [ "$i" = 0 ] || echo "rmmod: $i retries (in use)" >&2; return 0; }
		case $out in *"in use"* | *"temporarily unavailable"*) sleep 0.1 ;; *) echo "$out" >&2; return 1 ;; esac
	done
	echo "rmmod: still in use after $i retries" >&2
	return 1
}

# new_netns NAME: a namespace with lo up, removed at exit.
new_netns() {
	ip netns add "$1"
	_netns+=("$1")
	ip -n "$1" link set lo up
}

# spawn CMD...: a background process killed at exit. Its stdin is /dev/null (bash does
# that to background jobs): give it a file, not a here-document.
spawn() {
	"$@" &
	_pids+=($!)
}

_cleanup() {
	local rc=$? p n
	for p in "${_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${_pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for n in "${_netns[@]}"; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$n" 2>/dev/null || true
	done
	exit $rc
}
trap _cleanup EXIT

# done_testing: the plan, and the exit status the runner reads.
done_testing() {
	echo "1..$_ktap_n"
	[ $_ktap_failed -eq 0 ]
}

TOOLS=$TOP/tests/tools
# The balancer side and the real server, joined by veth:
#   lb 10.0.0.1 fd00::1  <->  rs 10.0.0.2 fd00::2
LB4=10.0.0.1 RS4=10.0.0.2 LB6=fd00::1 RS6=fd00::2
# What the tests' options carry: the client (CIP) and the service (VIP), both families.
CIP4=192.0.2.10 VIP4=198.51.100.1 CIP6=2001:db8::10 VIP6=2001:db8:1::1
setup_pair() {
	new_netns lb
	new_netns rs
	ip link add veth-lb netns lb type veth peer name veth-rs netns rs
	ip -n lb addr add $LB4/24 dev veth-lb
	ip -n rs addr add $RS4/24 dev veth-rs
	ip -n lb addr add $LB6/64 dev veth-lb nodad
	ip -n rs addr add $RS6/64 dev veth-rs nodad
	ip -n lb link set veth-lb up
	ip -n rs link set veth-rs up
}

# wait_for FILE [SECONDS]: until FILE exists.
wait_for() {
	local i
	for i in $(seq 1 $((${2:-20} * 10))); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	fail "timed out waiting for $1"
}

# uoa_exchange OUT LB RS PORT CIP VIP [uoa_send.py option...]: tests/tools/uoa_server.py
# on RS:PORT in namespace rs looks up one datagram that namespace lb sends from LB:5555
# carrying CIP:40000 and VIP:80; what the server printed goes to OUT.
uoa_exchange() {
	local out=$1 lb=$2 rs=$3 port=$4 cip=$5 vip=$6
	shift 6
	rm -f "$out.ready"
	ip netns exec rs python3 "$TOOLS/uoa_server.py" "$rs" "$port" --ready "$out.ready" >"$out" &
	local srv=$!
	wait_for "$out.ready"
	ip netns exec lb python3 "$TOOLS/uoa_send.py" "$lb" 5555 "$rs" "$port" "$cip" 40000 "$vip" 80 "$@"
	wait $srv
}

# proc_stat NS NAME: a counter from /proc/net/toa_uoa in namespace NS.
proc_stat() {
	ip netns exec "$1" awk -v n="$2" '$1 == n { print $2 }' /proc/net/toa_uoa
}

# expect_stat NS NAME WANT [SECONDS]: the counter reaches WANT within SECONDS (default 5:
# a datagram sent to a neighbour not yet resolved waits for the answer, so it arrives after
# its sender returned; expiry runs from a timer) and then is exactly WANT. Says how long.
expect_stat() {
	local i got
	for i in $(seq 1 $((${4:-5} * 10))); do
		got=$(proc_stat "$1" "$2")
		[ "$got" != "$3" ] || { echo "$2 reached $3 after about $((i / 10)) s" >&2; return 0; }
		sleep 0.1
	done
	expect_eq "$2" "$got" "$3"
}
