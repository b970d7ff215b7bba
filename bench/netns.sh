# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Sourced by bench/guest.sh and bench/profile.sh (in the guest): two namespaces over veth,
# lb 10.0.0.1 (the sender) -> rs 10.0.0.2; the floods' per-packet tuples come from
# 10.1.0.0/16 (raw packets: no address needed on lb), so rs routes them back over the veth
# and does no reverse-path filtering.
bench_pair() {
	ip netns add lb
	ip netns add rs
	ip -n lb link set lo up
	ip -n rs link set lo up
	ip link add veth-lb netns lb type veth peer name veth-rs netns rs
	ip -n lb addr add 10.0.0.1/24 dev veth-lb
	ip -n rs addr add 10.0.0.2/24 dev veth-rs
	ip -n lb link set veth-lb up
	ip -n rs link set veth-rs up
	ip -n rs route add 10.1.0.0/16 dev veth-rs
	local ns
	for ns in lb rs; do
		ip netns exec $ns sh -c 'for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 >$f; done'
	done
}
