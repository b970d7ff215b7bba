#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# More concurrent getname callers than the kretprobes have instances (max(64, 4 per possible
# CPU)): a test module holds a socket's lock (lock_sock) from a kernel thread while threads
# call getname on it, so that every call waits inside inet_getname as behind a busy socket.
# - On a listening socket (no record can be about it) the calls are declined at entry and
#   hold no instance: meanwhile a connection with a record is still answered from it, and no
#   call is missed.
# - On a connection with a record, the calls beyond the instances cannot be followed: they
#   get the kernel's own answer, and getname_probe_missed counts every one of them.
. "$(dirname "$0")/lib.sh"

KMOD=$(dirname "${TOA_UOA_SQUATTER:-$TOP/tests/kmod/uoa_squatter.ko}")/sock_holder.ko
require_file "$KMOD"
require_module
setup_pair
tmp=$(make_tmpdir)
cpus=$(awk -F- '{ print ($NF ~ /^[0-9]+$/ ? $NF + 1 : 1) }' /sys/devices/system/cpu/possible)
INSTANCES=$((4 * cpus > 64 ? 4 * cpus : 64))
CALLERS=$((INSTANCES + 40))

# server.py KO ADDR PORT READY MODE CALLERS: accepts one connection (with its record), then
# has the test module hold the lock of the listening socket (MODE listener) or of the
# connection (MODE connection) while CALLERS threads call getsockname / getpeername on it;
# prints what the connection's getpeername gave during the hold and what the threads got.
cat >"$tmp/server.py" <<'PY'
import os, socket, subprocess, sys, threading, collections
ko, addr, port, ready, mode, callers = sys.argv[1:7]
port, callers = int(port), int(callers)
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((addr, port)); l.listen(1)
open(ready, "w").close()
c, _ = l.accept()
c.recv(100)
held = l if mode == "listener" else c
os.set_inheritable(held.fileno(), True)
subprocess.run(["insmod", ko, "fd=%d" % held.fileno(), "hold_ms=3000"], check=True, close_fds=False)
got = collections.Counter()
lock = threading.Lock()
def call():
    a = held.getsockname() if mode == "listener" else held.getpeername()
    with lock:
        got[a[0]] += 1
threads = [threading.Thread(target=call) for _ in range(callers)]
for t in threads:
    t.start()
if mode == "listener":
    # While those wait in inet_getname, another socket's getname needs an instance.
    print("during", c.getpeername()[0], flush=True)
for t in threads:
    t.join()
subprocess.run(["rmmod", "sock_holder"], check=True)
for a, n in sorted(got.items()):
    print("threads", a, n, flush=True)
PY

# run NAME MODE: one connection carrying CIP4, then the held-lock calls.
run() {
	local port=$((7000 + RANDOM % 1000))
	rm -f "$tmp/ready"
	ip netns exec "$rs" python3 "$tmp/server.py" "$KMOD" $RS4 $port "$tmp/ready" "$2" $CALLERS >"$tmp/$1" &
	local srv=$!
	wait_for "$tmp/ready"
	ip netns exec "$lb" python3 "$TOOLS/toa_connect.py" $LB4 $((port + 1000)) $RS4 $port \
		$CIP4 40000 $VIP4 80 --when syn --send hello
	wait $srv
	sed 's/^/# /' "$tmp/$1" >&2
}

declined_calls_hold_no_instance() {
	local before
	before=$(proc_stat "$rs" getname_probe_missed)
	run listener listener
	expect_eq "the connection's peer during the hold" "$(awk '$1 == "during" { print $2 }' "$tmp/listener")" $CIP4
	expect_eq "listener getsockname answers" "$(awk '$1 == "threads" && $2 == "'$RS4'" { print $3 }' "$tmp/listener")" $CALLERS
	expect_eq getname_probe_missed "$(proc_stat "$rs" getname_probe_missed)" "$before"
}

calls_beyond_the_instances_are_counted() {
	local before given kept missed
	before=$(proc_stat "$rs" getname_probe_missed)
	run connection connection
	given=$(awk '$1 == "threads" && $2 == "'$CIP4'" { print $3 }' "$tmp/connection")
	kept=$(awk '$1 == "threads" && $2 == "'$LB4'" { print $3 }' "$tmp/connection")
	missed=$(($(proc_stat "$rs" getname_probe_missed) - before))
	echo "$CALLERS callers, $INSTANCES instances: ${given:-0} given the client, ${kept:-0} the balancer's address, $missed counted missed" >&2
	expect_eq "every caller answered" $((${given:-0} + ${kept:-0})) $CALLERS
	[ "${kept:-0}" -gt 0 ] || fail "no call went past the instances: the test did not reach its case"
	expect_eq "missed calls counted" "$missed" "${kept:-0}"
}

check declined_calls_hold_no_instance declined_calls_hold_no_instance
check calls_beyond_the_instances_are_counted calls_beyond_the_instances_are_counted
done_testing
