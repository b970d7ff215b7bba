#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# getname from inside the kernel (in-kernel socket users: sunrpc, ksmbd, ocfs2 from kernel
# threads; usnic, iscsi from a process's system call): a test module asks an accepted
# socket its peer with kernel_getpeername() into a bare 16-byte sockaddr_in followed by
# guard bytes, from a kernel thread or from insmod's own system call. An IPv4 client is
# given as in user space; an IPv6 client on an IPv4 socket (the 64 case, whose answer is a
# 28-byte sockaddr_in6) is written only for the system calls known to pass a
# sockaddr_storage (accept, getpeername, getsockname, getsockopt, io_uring_enter): here the
# kernel's own answer stands and getname_kept_for_kernel counts it, while user space still
# gets the client (toa_uoa.peer_addr: Python's own getpeername passes an AF_INET socket a
# 16-byte buffer).
. "$(dirname "$0")/lib.sh"

KMOD=$(dirname "${TOA_UOA_SQUATTER:-$TOP/tests/kmod/uoa_squatter.ko}")/getname_kthread.ko
require_file "$KMOD"
require_module
setup_pair
tmp=$(make_tmpdir)

cat >"$tmp/server.py" <<'PY'
# Accepts one connection, has the test module ask its peer from a kernel thread (the
# socket's descriptor is inherited by insmod), then prints what user space is told.
import os, socket, subprocess, sys
sys.path.insert(0, os.environ["TOP"] + "/python")
import toa_uoa
ko, addr, port, ready, who = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((addr, port)); l.listen(1)
open(ready, "w").close()
c, _ = l.accept()
c.recv(100)
fd = c.fileno()
os.set_inheritable(fd, True)
subprocess.run(["insmod", ko, "fd=%d" % fd, "from=" + who], check=True, close_fds=False)
subprocess.run(["rmmod", "getname_kthread"], check=True)
print("user", *toa_uoa.peer_addr(c), flush=True)
c.close()
PY

# ask NAME CIP VIP [kthread|process]: a connection carrying CIP (IPv4 on both sides),
# asked from inside the kernel.
ask() {
	local port=$((7000 + RANDOM % 1000))
	rm -f "$tmp/ready"
	log_mark
	ip netns exec "$rs" env TOP="$TOP" python3 "$tmp/server.py" "$KMOD" $RS4 $port "$tmp/ready" "${4:-kthread}" >"$tmp/$1" &
	local srv=$!
	wait_for "$tmp/ready"
	ip netns exec "$lb" python3 "$TOOLS/toa_connect.py" $LB4 $((port + 1000)) $RS4 $port \
		"$2" 40000 "$3" 80 --when syn --send hello
	wait $srv
	log_window | grep 'getname_kthread:' >>"$tmp/$1" || true
	sed 's/^/# /' "$tmp/$1" >&2
}

ipv4_client_given_to_kernel_thread() {
	ask c44 $CIP4 $VIP4
	grep -q "getname_kthread: len=16 peer=$CIP4:40000 guard=intact" "$tmp/c44" ||
		fail "kernel thread was not given the client"
	grep -qx "user $CIP4 40000" "$tmp/c44" || fail "user space was not given the client"
}

ipv6_client_kept_from_kernel_thread() {
	local before
	before=$(proc_stat "$rs" getname_kept_for_kernel)
	ask c64 $CIP6 $VIP6
	grep -q "getname_kthread: len=16 peer=$LB4:[0-9]* guard=intact" "$tmp/c64" ||
		fail "kernel thread's sockaddr_in: not the kernel's own answer, or overrun"
	grep -qx "user $CIP6 40000" "$tmp/c64" || fail "user space was not given the IPv6 client"
	expect_eq getname_kept_for_kernel "$(proc_stat "$rs" getname_kept_for_kernel)" $((before + 1))
}

ipv6_client_kept_from_other_system_calls() {
	local before
	before=$(proc_stat "$rs" getname_kept_for_kernel)
	ask p64 $CIP6 $VIP6 process
	grep -q "getname_kthread: len=16 peer=$LB4:[0-9]* guard=intact" "$tmp/p64" ||
		fail "in-kernel caller's sockaddr_in: not the kernel's own answer, or overrun"
	grep -qx "user $CIP6 40000" "$tmp/p64" || fail "user space was not given the IPv6 client"
	expect_eq getname_kept_for_kernel "$(proc_stat "$rs" getname_kept_for_kernel)" $((before + 1))
}

ipv4_client_given_to_other_system_calls() {
	ask p44 $CIP4 $VIP4 process
	grep -q "getname_kthread: len=16 peer=$CIP4:40000 guard=intact" "$tmp/p44" ||
		fail "in-kernel caller was not given the client"
}

check ipv4_client_given_to_kernel_thread ipv4_client_given_to_kernel_thread
check ipv6_client_kept_from_kernel_thread ipv6_client_kept_from_kernel_thread
check ipv4_client_given_to_other_system_calls ipv4_client_given_to_other_system_calls
check ipv6_client_kept_from_other_system_calls ipv6_client_kept_from_other_system_calls
done_testing
