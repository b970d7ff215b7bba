# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Shared by the guest tests, after the kernel's selftest helpers
# (tools/testing/selftests/kselftest/ktap_helpers.sh, tools/testing/selftests/net/lib.sh):
# KTAP subtest output, the module's path and require_module, network namespaces under
# random names (setup_ns) and temporary directories (make_tmpdir) that are removed, with
# the namespaces' processes, when the test exits, however it exits.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KO=${TOA_UOA_KO:-$TOP/toa_uoa.ko}
KSFT_SKIP=4

_ktap_n=0
_ktap_failed=0
_pids=()
# The test's own scratch directory: check()'s output, the namespaces made so far (a file:
# namespaces made inside a check, a subshell, are removed too) and make_tmpdir's
# directories. The cleanup removes it.
_lib_dir=$(mktemp -d "${TMPDIR:-/tmp}/toa_uoa-test.XXXXXX")
_netns_list=$_lib_dir/netns
: >"$_netns_list"

echo "KTAP version 1"

# check NAME CMD...: run CMD, report it as subtest NAME.
check() {
	local name=$1 out rc=0 log
	shift
	# Run as a job: set -e is ignored in anything whose status is tested (a || list), and
	# a check must stop at its first failing command.
	log=$_lib_dir/check.log
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

# skip_all REASON: the whole test is skipped (KTAP "1..0 # SKIP", status 4), before any
# subtest ran.
skip_all() {
	echo "1..0 # SKIP $*"
	exit $KSFT_SKIP
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

# require_module [--unloaded | PARAM=VALUE...]: skips the whole test if toa_uoa.ko is not
# built; else loads it afresh with the parameters (an instance already loaded, with its own
# parameters, is removed first), or with --unloaded leaves it unloaded for the test to load.
require_module() {
	[ -f "$KO" ] || skip_all "no $KO: build it with scripts/build.sh"
	unload_module
	[ "${1:-}" = --unloaded ] || insmod "$KO" "$@"
}

# require_file FILE...: skips the whole test unless every FILE exists (a test module, a
# tool built beforehand).
require_file() {
	local f
	for f in "$@"; do
		[ -e "$f" ] || skip_all "no $f"
	done
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

# release_and_rmmod: gives every socket its kernel operations back (getname=0: listeners and
# their connections hold the module otherwise), then rmmod_busy_retry.
release_and_rmmod() {
	echo 0 >/sys/module/toa_uoa/parameters/getname
	rmmod_busy_retry
}

# add_ns [--bare] NAME...: namespaces of exactly these names, lo up (not with --bare),
# removed at exit (setup_ns picks the names; a test re-making a namespace it removed passes
# its name again). One ip process makes them all: a test may want hundreds.
add_ns() {
	local n lo=1
	[ "$1" != --bare ] || { lo=; shift; }
	[ $# -gt 0 ] || return 0
	printf '%s\n' "$@" >>"$_netns_list"
	printf 'netns add %s\n' "$@" | ip -batch -
	[ -z "$lo" ] || for n in "$@"; do ip -n "$n" link set lo up; done
}

# setup_ns VAR...: for each VAR a new namespace named after it with a random suffix
# (setup_ns lb rs: $lb is lb-XXXXXX, $rs rs-XXXXXX), lo up, removed at exit; as the net
# selftests' setup_ns, so that nothing depends on a fixed name another test (or a leftover)
# could hold. Functions' locals must not shadow VAR.
setup_ns() {
	local _var
	for _var in "$@"; do
		case $_var in
		_* | [0-9]* | *[!a-zA-Z0-9_]*) echo "setup_ns: '$_var' is not a name for a variable" >&2; return 1 ;;
		esac
		printf -v "$_var" '%s-%s' "${_var,,}" "$(mktemp -u XXXXXX)"
		add_ns "${!_var}"
	done
}

# cleanup_ns NAME...: removes these namespaces now, with their processes.
cleanup_ns() {
	local n
	_ns_remove "$@"
	for n in "$@"; do
		# Forgotten: the name may be made again (add_ns) and removed twice, harmlessly.
		grep -vxF -- "$n" "$_netns_list" >"$_netns_list.new" || true
		mv "$_netns_list.new" "$_netns_list"
	done
}

# cleanup_all_ns: removes every namespace the test made, in whatever shell it was made.
cleanup_all_ns() {
	local names
	[ -f "$_netns_list" ] || return 0
	mapfile -t names <"$_netns_list"
	_ns_remove "${names[@]}"
	: >"$_netns_list"
}

# _ns_remove NAME...: kills the processes in these namespaces (as `ip netns pids` finds
# them, in one pass over /proc for all), then deletes the names (one ip process).
_ns_remove() {
	[ $# -gt 0 ] || return 0
	local ids
	ids=$(cd /run/netns 2>/dev/null && stat -L -c 'net:[%i]' -- "$@" 2>/dev/null) || true
	if [ -n "$ids" ]; then
		find /proc -mindepth 3 -maxdepth 3 -path '/proc/[0-9]*/ns/net' -printf '%l %h\n' 2>/dev/null |
			awk -v ids="$ids" 'BEGIN { n = split(ids, a, "\n"); for (i = 1; i <= n; i++) want[a[i]] }
				$1 in want { split($2, p, "/"); print p[3] }' |
			xargs -r kill -9 2>/dev/null || true
	fi
	printf 'netns del %s\n' "$@" | ip -force -batch - >/dev/null 2>&1 || true
}

# make_tmpdir: prints the path of a new directory, removed at exit (tmp=$(make_tmpdir); in
# a check too: it lies in the test's scratch directory).
make_tmpdir() {
	mktemp -d "$_lib_dir/tmp.XXXXXX"
}

# spawn CMD...: a background process killed at exit. Its stdin is /dev/null (bash does
# that to background jobs): give it a file, not a here-document.
spawn() {
	"$@" &
	_pids+=($!)
}

# At exit (an error, a skip, a signal: bash runs the EXIT trap on SIGTERM from the runner's
# timeout too): the spawned processes, then the namespaces and what still runs in them, then
# the scratch directory.
_cleanup() {
	local rc=$? p
	for p in "${_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${_pids[@]}"; do wait "$p" 2>/dev/null || true; done
	cleanup_all_ns
	rm -rf "$_lib_dir"
	exit $rc
}
trap _cleanup EXIT

# done_testing: the plan, and the exit status the runner reads.
done_testing() {
	echo "1..$_ktap_n"
	[ $_ktap_failed -eq 0 ]
}

TOOLS=$TOP/tests/tools
# The balancer side and the real server, joined by veth: namespaces $lb and $rs (setup_pair
# makes them: lb-XXXXXX, rs-XXXXXX)
#   $lb 10.0.0.1 fd00::1  <->  $rs 10.0.0.2 fd00::2
LB4=10.0.0.1 RS4=10.0.0.2 LB6=fd00::1 RS6=fd00::2
# What the tests' options carry: the client (CIP) and the service (VIP), both families.
CIP4=192.0.2.10 VIP4=198.51.100.1 CIP6=2001:db8::10 VIP6=2001:db8:1::1
lb='' rs=''
setup_pair() {
	setup_ns lb rs
	ip link add veth-lb netns "$lb" type veth peer name veth-rs netns "$rs"
	ip -n "$lb" addr add $LB4/24 dev veth-lb
	ip -n "$rs" addr add $RS4/24 dev veth-rs
	ip -n "$lb" addr add $LB6/64 dev veth-lb nodad
	ip -n "$rs" addr add $RS6/64 dev veth-rs nodad
	ip -n "$lb" link set veth-lb up
	ip -n "$rs" link set veth-rs up
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

# uoa_exchange OUT SRC DST PORT CIP VIP [uoa_send.py option...]: tests/tools/uoa_server.py
# on DST:PORT in namespace $rs looks up one datagram that namespace $lb sends from SRC:5555
# carrying CIP:40000 and VIP:80; what the server printed goes to OUT.
uoa_exchange() {
	local out=$1 src=$2 dst=$3 port=$4 cip=$5 vip=$6
	shift 6
	rm -f "$out.ready"
	ip netns exec "$rs" python3 "$TOOLS/uoa_server.py" "$dst" "$port" --ready "$out.ready" >"$out" &
	local srv=$!
	wait_for "$out.ready"
	ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" "$src" 5555 "$dst" "$port" "$cip" 40000 "$vip" 80 "$@"
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
