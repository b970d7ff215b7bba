#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The guest suite, kselftest style: runs every tests/guest/*.sh test (or those matching
# $KTEST_FILTER, a grep -E pattern) with a timeout, prints KTAP with each file's subtests
# nested, then checks the kernel log of the whole run for reports and the taint flags, and
# ends with "N passed, N failed, N skipped" (subtests counted). Exit status 0 only if all
# passed. Runs inside the guest (scripts/vm.sh run -- tests/guest/run.sh); refuses elsewhere.
#   KTEST_NO_SKIP=1  a skipped test fails the run (CI: every test must run on both kernels)
set -euo pipefail
cd "$(dirname "$0")"
[ -n "${TOA_UOA_IN_VM:-}" ] || { echo "run.sh: runs in the guest: scripts/vm.sh run -- $0" >&2; exit 2; }

TIMEOUT=${KTEST_TIMEOUT:-300}
mapfile -t TESTS < <(ls [0-9]*.sh | grep -E "${KTEST_FILTER:-.}" || true)
passed=0 failed=0 skipped=0
n=0
skip_policy=${KTEST_NO_SKIP:-}

echo "KTAP version 1"
echo "1..$((${#TESTS[@]} + 2))"

# The kernel log of the run, read from /dev/kmsg as it is written: a test that clears the
# ring buffer (dmesg -C) cannot hide a report from it.
# From the end of the buffer on (the boot's messages are not the run's); records overwritten
# before they were read are said so, and fail the check.
KMSG=$(mktemp)
python3 -u -c '
import os, sys
fd = os.open("/dev/kmsg", os.O_RDONLY)
os.lseek(fd, 0, os.SEEK_END)
print("ktest-kmsg-reader ready", flush=True)
while True:
    try:
        rec = os.read(fd, 8192)
    except BrokenPipeError:
        print("ktest-kmsg-reader: kernel log records lost before they were read", flush=True)
        continue
    sys.stdout.buffer.write(rec)
    sys.stdout.flush()
' >"$KMSG" &
kmsg_reader=$!
for _ in $(seq 1 50); do grep -q 'ktest-kmsg-reader ready' "$KMSG" && break; sleep 0.1; done

# reports FILE: the lines of a /dev/kmsg capture that are a report of any checker the debug
# kernel has (KASAN, UBSAN, KFENCE, lockdep, RCU stalls, hung tasks, soft lockups, refcount
# and list debugging, kmemleak), or a warning, oops or bug of the plain kernel.
reports() {
	sed 's/^[0-9]*,[0-9]*,[0-9]*,[^;]*;//' "$1" |
		grep -E 'Oops|BUG|WARNING|KASAN|UBSAN|KFENCE|KCSAN|kmemleak|lockdep|locking|lock held|INFO: task .* blocked|rcu.*(stall|detected)|Call Trace|general protection|refcount_t|corruption|DEBUG_LOCKS_WARN_ON|suspicious RCU|stack-protector|Kernel panic|segfault at|invalid opcode|records lost' || true
}

# The check is tried first: a report planted mid-run, then the ring buffer cleared, must
# still be seen. The planted line is left out of the final check.
PLANTED="toa_uoa-ktest planted report, not a real one: UBSAN: array-index-out-of-bounds"
n=1
echo "$PLANTED" >/dev/kmsg
dmesg -C
sleep 0.2
if reports "$KMSG" | grep -qF "$PLANTED"; then
	echo "ok $n kernel_log_check_sees_a_cleared_report"
	passed=$((passed + 1))
else
	echo "not ok $n kernel_log_check_sees_a_cleared_report"
	failed=$((failed + 1))
fi
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
	# The file's own plan line must match what it reported: a test that stopped early, or
	# skipped part of itself silently, does not pass.
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$out" | tail -n 1)
	if [ $((sub_ok + sub_skip + sub_fail)) -gt 0 ] && [ "$plan" != $((sub_ok + sub_skip + sub_fail)) ]; then
		echo "    # $name: its plan says '${plan:-none}', it reported $((sub_ok + sub_skip + sub_fail)) subtests"
		sub_fail=$((sub_fail + 1))
	fi
	if [ -n "$skip_policy" ] && { [ "$sub_skip" -gt 0 ] || [ $rc -eq 4 ]; }; then
		echo "    # $name: skipped where every test must run (KTEST_NO_SKIP): $(grep -hE '# SKIP|^# ' "$out" | head -n 3 | tr '\n' ' ')"
		sub_fail=$((sub_fail + sub_skip + (rc == 4 && sub_skip == 0)))
		sub_skip=0
		[ $rc -ne 4 ] || rc=1
	fi
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

# Any report in the kernel log of the run fails it, whichever test caused it; so does a taint
# other than the out-of-tree module's own (O, 4096) and, on a kernel that checks module
# signatures (Debian's), the unsigned module's (E, 8192): a warning taints W, a bad page B...
n=$((n + 1))
sleep 0.2
kill $kmsg_reader 2>/dev/null || true
wait $kmsg_reader 2>/dev/null || true
splats=$(reports "$KMSG" | grep -vF "$PLANTED" || true)
tainted=$(($(cat /proc/sys/kernel/tainted) & ~4096 & ~8192))
if [ -w $KMEMLEAK ]; then
	# An object is reported once it stays unreferenced over scans some seconds apart.
	echo scan >$KMEMLEAK; sleep 6; echo scan >$KMEMLEAK
	leaks=$(cat $KMEMLEAK)
	nl=$'\n'
	[ -z "$leaks" ] || splats="$splats${splats:+$nl}kmemleak:$nl$leaks"
	echo "# kmemleak scan: $(printf '%s' "$leaks" | grep -c 'unreferenced object' || true) unreferenced objects"
fi
echo "# kernel log of the run: $(wc -l <"$KMSG") lines read from /dev/kmsg"
if [ -z "$splats" ] && [ $tainted -eq 0 ]; then
	echo "ok $n kernel_log_clean"
	passed=$((passed + 1))
else
	printf '%s\n' "$splats" | head -n 200 | sed 's/^/# /'
	echo "# tainted (other than O, E): $tainted"
	echo "not ok $n kernel_log_clean"
	failed=$((failed + 1))
fi
rm -f "$KMSG"

echo "# Totals: pass:$passed fail:$failed xfail:0 xpass:0 skip:$skipped error:0"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
