#!/usr/bin/env bash
# The guest suite, kselftest style: runs every tests/guest/*.sh test (or those matching
# $KTEST_FILTER, a grep -E pattern) with a timeout, prints KTAP with each file's subtests
# nested, then checks the kernel log for splats and the taint flags, and ends with
# "N passed, N failed, N skipped" (subtests counted). Exit status 0 only if all passed.
# Runs inside the guest (scripts/vm.sh run -- tests/guest/run.sh); refuses elsewhere.
set -euo pipefail
cd "$(dirname "$0")"
[ -n "${TOA_UOA_IN_VM:-}" ] || { echo "run.sh: runs in the guest: scripts/vm.sh run -- $0" >&2; exit 2; }

TIMEOUT=${KTEST_TIMEOUT:-300}
mapfile -t TESTS < <(ls [0-9]*.sh | grep -E "${KTEST_FILTER:-.}" || true)
passed=0 failed=0 skipped=0
n=0

echo "KTAP version 1"
echo "1..$((${#TESTS[@]} + 1))"
dmesg_start=$(dmesg | wc -l)
# On the debug kernel: forget what kmemleak saw during boot; the end of the run scans.
KMEMLEAK=/sys/kernel/debug/kmemleak
[ ! -w $KMEMLEAK ] || echo clear >$KMEMLEAK

for t in "${TESTS[@]}"; do
	n=$((n + 1))
	name=${t%.sh}
	out=$(mktemp)
	rc=0
	start=$(date +%s)
	timeout -k 10 "$TIMEOUT" bash "./$t" >"$out" 2>&1 || rc=$?
	secs=$(($(date +%s) - start))
	sed 's/^/    /' "$out"
	sub_ok=$(grep -cE '^ok [0-9]+ ' "$out" || true)
	sub_skip=$(grep -cE '^ok [0-9]+ .*# SKIP' "$out" || true)
	sub_fail=$(grep -cE '^not ok [0-9]+ ' "$out" || true)
	sub_ok=$((sub_ok - sub_skip))
	if [ $((sub_ok + sub_skip + sub_fail)) -eq 0 ]; then
		case $rc in 0) sub_ok=1 ;; 4) sub_skip=1 ;; *) sub_fail=1 ;; esac
	elif [ $rc -ne 0 ] && [ $rc -ne 4 ] && [ "$sub_fail" -eq 0 ]; then
		sub_fail=1 # died after its subtests (a timeout, a crash)
	fi
	passed=$((passed + sub_ok)) failed=$((failed + sub_fail)) skipped=$((skipped + sub_skip))
	[ $rc -ne 124 ] || echo "# $name: timed out after ${TIMEOUT}s"
	if [ $rc -eq 0 ]; then
		echo "ok $n $name # time=${secs}s"
	elif [ $rc -eq 4 ]; then
		echo "ok $n $name # SKIP"
	else
		echo "not ok $n $name # exit=$rc time=${secs}s"
	fi
	rm -f "$out"
	# Leave nothing behind for the next test.
	ip -all netns delete 2>/dev/null || true
	[ ! -d /sys/module/toa_uoa ] || rmmod toa_uoa 2>/dev/null || true
done

# Any splat in the kernel log fails the run, whichever test caused it; so does a taint
# other than the out-of-tree module's own (O, 4096) and, on a kernel that checks module
# signatures (Debian's), the unsigned module's (E, 8192).
n=$((n + 1))
splats=$(dmesg | tail -n +"$((dmesg_start + 1))" |
	grep -E 'Oops|BUG:|WARNING:|KASAN|UBSAN|kmemleak|possible recursive locking|circular locking|lockdep|rcu.*(stall|detected)|Call Trace|general protection|kernel BUG' || true)
tainted=$(($(cat /proc/sys/kernel/tainted) & ~4096 & ~8192))
if [ -w $KMEMLEAK ]; then
	# An object is reported once it stays unreferenced over scans some seconds apart.
	echo scan >$KMEMLEAK; sleep 6; echo scan >$KMEMLEAK
	leaks=$(cat $KMEMLEAK)
	nl=$'\n'
	[ -z "$leaks" ] || splats="$splats${splats:+$nl}kmemleak:$nl$leaks"
	echo "# kmemleak scan: $(printf '%s' "$leaks" | grep -c 'unreferenced object' || true) unreferenced objects"
fi
if [ -z "$splats" ] && [ $tainted -eq 0 ]; then
	echo "ok $n kernel_log_clean"
	passed=$((passed + 1))
else
	printf '%s\n' "$splats" | sed 's/^/# /'
	echo "# tainted (other than O, E): $tainted"
	echo "not ok $n kernel_log_clean"
	failed=$((failed + 1))
fi

echo "# Totals: pass:$passed fail:$failed xfail:0 xpass:0 skip:$skipped error:0"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
