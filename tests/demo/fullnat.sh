#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# End to end through a FullNAT balancer, in the guest: a client namespace talks to a VIP; the
# balancer namespace routes the VIP to a TUN device where toa-uoa-lb inserts the type-31
# option and writes the packet back, then does FullNAT with nftables on what comes back from
# the device (DNAT VIP:VPORT -> server, SNAT to its own address on the server side); the
# server namespace runs unmodified applications (python3 http.server, the
# project's UDP example server, toa_getname for getsockname). Once with toa_uoa.ko loaded and
# once without, for IPv4 (44) and IPv6 (66), and across families (46: an IPv4 client, the
# server reached over IPv6; 64: the reverse, DPVS's NAT64), where toa-uoa-lb also translates
# the packets between the families; prints a short report. See docs/fullnat-demo.md.
#
#   tests/demo/fullnat.sh            run it (as root, in the guest: scripts/vm.sh run -- ...)
#
# Sourced (by tests/guest/60-fullnat.sh) it only defines the fn_* functions below.
#
#   client  veth-c  10.1.0.2/24 fd01::2/64, the VIPs 10.1.0.100 fd01::100 routed via the balancer
#           (and the cross-family VIPs 10.1.0.146, fd01::164)
#              |
#   lb      veth-bc 10.1.0.1/24 fd01::1/64
#           toa-lb0 (TUN; the VIPs routed to it; toa-uoa-lb reads and writes it; for 46 and 64
#           it translates VIP46 -> fd03::146 from fd03::1, VIP64 -> 10.3.0.164 from 10.3.0.1,
#           those two pools routed back to it)
#           veth-bs 10.2.0.1/24 fd02::1/64      (forwarding on; nftables)
#              |
#   server  veth-s  10.2.0.2/24 fd02::2/64, default routes via the balancer
set -euo pipefail

FN_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FN_LB=${TOA_UOA_LB:-$FN_TOP/userspace/target/release/toa-uoa-lb}
FN_KO=${TOA_UOA_KO:-$FN_TOP/toa_uoa.ko}
FN_TOOLS=$FN_TOP/tests/tools
NS_C=fn-client NS_B=fn-lb NS_S=fn-server
C4=10.1.0.2 B4=10.1.0.1 VIP4=10.1.0.100 BS4=10.2.0.1 S4=10.2.0.2
C6=fd01::2 B6=fd01::1 VIP6=fd01::100 BS6=fd02::1 S6=fd02::2
# The cross-family cases: client side of one family, server side of the other.
C46=$C4 VIP46=10.1.0.146 BS46=$BS6 S46=$S6 INNER46=fd03::146 POOL46=fd03::1
C64=$C6 VIP64=fd01::164 BS64=$BS4 S64=$S4 INNER64=10.3.0.164 POOL64=10.3.0.1
# The services: VIP:80/tcp -> server:8080 (http.server), VIP:81/tcp -> server:8081
# (toa_getname, one connection: accept/getpeername/getsockname), VIP:53/udp -> server:5353.
FN_TUN=toa-lb0
# How a namespace is made; the guest test makes them itself (lib.sh's setup_ns, under random
# names it puts in NS_C, NS_B, NS_S) and sets this to ':'.
FN_MKNS=${FN_MKNS:-fn_mkns}
# Scratch directory: set by the caller (fn_main makes one).
FN_TMP=${FN_TMP:-}
FN_PIDS=()

fn_mkns() {
	ip netns add "$1"
	ip -n "$1" link set lo up
}

# fn_addr CASE NAME: the address NAME (C, VIP, BS, S) of case 4, 6 (same family on both
# sides), 46 or 64 (client family, then server family).
fn_addr() {
	local v=$2$1
	echo "${!v}"
}

# fn_cfam CASE / fn_sfam CASE: the family of the client side / of the server side.
fn_cfam() { echo "${1:0:1}"; }
fn_sfam() { echo "${1: -1}"; }

# fn_url CASE PORT: http://VIP:PORT/ with IPv6 brackets.
fn_url() {
	local vip
	vip=$(fn_addr "$1" VIP)
	if [ "$(fn_cfam "$1")" = 6 ]; then echo "http://[$vip]:$2/"; else echo "http://$vip:$2/"; fi
}

fn_wait_for() {
	local i
	for i in $(seq 1 $((${2:-20} * 10))); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	echo "timed out waiting for $1" >&2
	return 1
}

# fn_bg NS OUT CMD...: CMD in namespace NS in the background, output to OUT.
fn_bg() {
	local ns=$1 out=$2
	shift 2
	ip netns exec "$ns" "$@" </dev/null >"$out" 2>&1 &
	FN_PIDS+=($!)
}

fn_setup() {
	local ns
	for ns in $NS_C $NS_B $NS_S; do $FN_MKNS $ns; done
	ip link add veth-c netns $NS_C type veth peer name veth-bc netns $NS_B
	ip link add veth-bs netns $NS_B type veth peer name veth-s netns $NS_S
	ip -n $NS_C addr add $C4/24 dev veth-c
	ip -n $NS_C addr add $C6/64 dev veth-c nodad
	ip -n $NS_B addr add $B4/24 dev veth-bc
	ip -n $NS_B addr add $B6/64 dev veth-bc nodad
	ip -n $NS_B addr add $BS4/24 dev veth-bs
	ip -n $NS_B addr add $BS6/64 dev veth-bs nodad
	ip -n $NS_S addr add $S4/24 dev veth-s
	ip -n $NS_S addr add $S6/64 dev veth-s nodad
	ip -n $NS_C link set veth-c up
	ip -n $NS_B link set veth-bc up
	ip -n $NS_B link set veth-bs up
	ip -n $NS_S link set veth-s up
	ip -n $NS_C route add $VIP4/32 via $B4
	ip -n $NS_C -6 route add $VIP6/128 via $B6
	ip -n $NS_C route add $VIP46/32 via $B4
	ip -n $NS_C -6 route add $VIP64/128 via $B6
	ip -n $NS_S route add default via $BS4
	ip -n $NS_S -6 route add default via $BS6
	[ -c /dev/net/tun ] || modprobe tun
	ip -n $NS_B tuntap add dev $FN_TUN mode tun
	# No link-local address: the kernel sends no router solicitations or MLD reports there.
	ip -n $NS_B link set $FN_TUN addrgenmode none up
	ip -n $NS_B route add $VIP4/32 dev $FN_TUN
	ip -n $NS_B -6 route add $VIP6/128 dev $FN_TUN
	# Cross-family: the client-side VIPs to the device (translated there), and the pools
	# the translated packets come from, so that the server's replies go back to it.
	ip -n $NS_B route add $VIP46/32 dev $FN_TUN
	ip -n $NS_B -6 route add $VIP64/128 dev $FN_TUN
	ip -n $NS_B -6 route add $POOL46/128 dev $FN_TUN
	ip -n $NS_B route add $POOL64/32 dev $FN_TUN
	ip netns exec $NS_B sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	# A client's packet passes the balancer twice: from veth-bc to the TUN device (untracked,
	# unchanged), then, option inserted, from the device to the server (tracked: DNAT, SNAT).
	# NFQUEUE cannot do the insertion on every kernel: Debian's 7.3 nfnetlink_queue drops a
	# packet whose new payload adds IP options or IPv6 extension headers (6.12 accepts it).
	ip netns exec $NS_B nft -f - <<-EOF
		table inet fullnat {
			chain lb_raw {
				type filter hook prerouting priority raw; policy accept;
				iifname "veth-bc" ip daddr { $VIP4, $VIP46 } notrack
				iifname "veth-bc" ip6 daddr { $VIP6, $VIP64 } notrack
			}
			chain lb_dnat {
				type nat hook prerouting priority dstnat; policy accept;
				iifname "$FN_TUN" ip daddr $VIP4 tcp dport 80 dnat ip to $S4:8080
				iifname "$FN_TUN" ip daddr $VIP4 tcp dport 81 dnat ip to $S4:8081
				iifname "$FN_TUN" ip daddr $VIP4 udp dport 53 dnat ip to $S4:5353
				iifname "$FN_TUN" ip6 daddr $VIP6 tcp dport 80 dnat ip6 to [$S6]:8080
				iifname "$FN_TUN" ip6 daddr $VIP6 tcp dport 81 dnat ip6 to [$S6]:8081
				iifname "$FN_TUN" ip6 daddr $VIP6 udp dport 53 dnat ip6 to [$S6]:5353
				iifname "$FN_TUN" ip6 daddr $INNER46 tcp dport 80 dnat ip6 to [$S6]:8080
				iifname "$FN_TUN" ip6 daddr $INNER46 tcp dport 81 dnat ip6 to [$S6]:8081
				iifname "$FN_TUN" ip6 daddr $INNER46 udp dport 53 dnat ip6 to [$S6]:5353
				iifname "$FN_TUN" ip daddr $INNER64 tcp dport 80 dnat ip to $S4:8080
				iifname "$FN_TUN" ip daddr $INNER64 tcp dport 81 dnat ip to $S4:8081
				iifname "$FN_TUN" ip daddr $INNER64 udp dport 53 dnat ip to $S4:5353
			}
			chain lb_snat {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "veth-bs" ct status dnat ip daddr $S4 snat ip to $BS4
				oifname "veth-bs" ct status dnat ip6 daddr $S6 snat ip6 to $BS6
			}
		}
	EOF
}

# fn_start_lb: toa-uoa-lb on the TUN device in the balancer; counters in $FN_TMP/lb.stats,
# one line per packet in $FN_TMP/lb.log. FN_LB_FORMAT: what it inserts (its --format).
fn_start_lb() {
	rm -f "$FN_TMP/lb.ready"
	fn_bg $NS_B "$FN_TMP/lb.log" "$FN_LB" --tun $FN_TUN --stats "$FN_TMP/lb.stats" \
		--format "${FN_LB_FORMAT:-unified}" \
		--translate "$VIP46=$INNER46,$POOL46" --translate "$VIP64=$INNER64,$POOL64" \
		--ready "$FN_TMP/lb.ready" --verbose
	fn_wait_for "$FN_TMP/lb.ready"
}

# fn_lb_stat NAME: a counter of toa-uoa-lb.
fn_lb_stat() {
	awk -v n="$1" '$1 == n { print $2 }' "$FN_TMP/lb.stats"
}

fn_build_getname() {
	[ -x "$FN_TMP/toa_getname" ] || gcc -O1 -Wall -o "$FN_TMP/toa_getname" "$FN_TOOLS/toa_getname.c"
}

# fn_http_start FAMILY: python3 -m http.server on the server's address, port 8080; its log
# (one line per request, starting with the address accept() returned) in $FN_TMP/http.FAMILY.log.
fn_http_start() {
	local s i
	s=$(fn_addr "$1" S)
	fn_bg $NS_S "$FN_TMP/http.$1.log" python3 -u -m http.server 8080 --bind "$s" --directory "$FN_TMP/www"
	for i in $(seq 1 100); do
		ip netns exec $NS_S bash -c "exec 3<>/dev/tcp/$s/8080" 2>/dev/null && return 0
		sleep 0.2
	done
	echo "http.server on $s did not start" >&2
	return 1
}

# fn_tcp CASE NAME CPORT: curl from the client (local port CPORT) to http://VIP:80/ and
# (local port CPORT+1) to VIP:81 where toa_getname answers one connection. Writes
# $FN_TMP/NAME: "http ADDR" (the address http.server logged), "accept FAM ADDR PORT LEN",
# "getpeername ...", "getsockname ...".
fn_tcp() {
	local fam=$1 name=$2 cport=$3 s log before
	s=$(fn_addr "$fam" S)
	log=$FN_TMP/http.$(fn_sfam "$fam").log
	before=$(wc -l <"$log")
	ip netns exec $NS_C curl -s -o /dev/null -m 10 --local-port "$cport" "$(fn_url "$fam" 80)"
	local i
	for i in $(seq 1 50); do
		[ "$(wc -l <"$log")" -gt "$before" ] && break
		sleep 0.1
	done
	tail -n +"$((before + 1))" "$log" | awk '/"GET \// { print "http", $1; exit }' >"$FN_TMP/$name"
	rm -f "$FN_TMP/getname.ready"
	# shellcheck disable=SC2086 # FN_GETNAME_ARGS: extra flags, word-split on purpose
	ip netns exec $NS_S "$FN_TMP/toa_getname" "$s" 8081 ${FN_GETNAME_ARGS:-} --ready "$FN_TMP/getname.ready" \
		</dev/null >"$FN_TMP/$name.getname" 2>&1 &
	local srv=$!
	fn_wait_for "$FN_TMP/getname.ready"
	# toa_getname answers nothing: curl reports an empty reply (52), as expected.
	ip netns exec $NS_C curl -s -o /dev/null -m 10 --local-port $((cport + 1)) "$(fn_url "$fam" 81)" || true
	wait $srv
	sed 's/:$//; s/: / /' "$FN_TMP/$name.getname" >>"$FN_TMP/$name"
}

# fn_udp CASE NAME CPORT [SIZE]: one datagram (SIZE bytes, default 6) from the client's port
# CPORT to VIP:53 with socat; the server is tests/tools/uoa_server.py on port 5353 doing the
# v1 look-up. Writes $FN_TMP/NAME: "from ADDR PORT" (recvfrom), "v1 CIP CPORT VIP VPORT" or
# "v1 ERRNO".
fn_udp() {
	local fam=$1 name=$2 cport=$3 size=${4:-6} s vip
	s=$(fn_addr "$fam" S)
	vip=$(fn_addr "$fam" VIP)
	rm -f "$FN_TMP/uoa.ready"
	ip netns exec $NS_S python3 "$FN_TOOLS/uoa_server.py" "$s" 5353 --methods v1 \
		--ready "$FN_TMP/uoa.ready" </dev/null >"$FN_TMP/$name.uoa" 2>&1 &
	local srv=$!
	fn_wait_for "$FN_TMP/uoa.ready"
	head -c "$size" /dev/zero | tr '\0' x >"$FN_TMP/$name.dgram"
	if [ "$(fn_cfam "$fam")" = 6 ]; then vip="[$vip]"; fi
	ip netns exec $NS_C socat -u "OPEN:$FN_TMP/$name.dgram" "UDP$(fn_cfam "$fam")-SENDTO:$vip:53,sourceport=$cport"
	local rc=0
	timeout 10 tail --pid=$srv -f /dev/null || rc=$?
	[ $rc -eq 0 ] || kill $srv 2>/dev/null || true
	wait $srv || true
	awk '$1 == "#" && $2 == "got" { print "from", $(NF - 1), $NF } $1 == "v1"' "$FN_TMP/$name.uoa" >"$FN_TMP/$name"
}

# fn_get NAME KEY: the rest of the line KEY in $FN_TMP/NAME.
fn_get() {
	awk -v k="$2" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$FN_TMP/$1"
}

# fn_unload: the listening servers hold the module (each socket with its operations holds a
# reference): getname=0 gives them the kernel's back, then rmmod.
fn_unload() {
	echo 0 >/sys/module/toa_uoa/parameters/getname
	rmmod toa_uoa
}

fn_cleanup() {
	local p ns
	for p in "${FN_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${FN_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	for ns in $NS_C $NS_B $NS_S; do
		ip netns pids $ns 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del $ns 2>/dev/null || true
	done
}

# fn_cport STATE FAMILY PROTO: the client port of a run. Every run has its own: a client port
# left in TIME_WAIT by one run (curl may close first) would refuse the next run's bind, and an
# IPv6 socket's port is taken by an IPv4 one too.
fn_cport() {
	local p=40000
	[ "$1" = with ] || p=41000
	case $2 in 6) p=$((p + 600)) ;; 46) p=$((p + 200)) ;; 64) p=$((p + 400)) ;; esac
	if [ "$3" = tcp ]; then echo $((p + 80)); else echo $((p + 53)); fi
}

# fn_scenario WITH|WITHOUT: TCP and UDP, both families; results in $FN_TMP/{tcp,udp}FAM.STATE.
fn_scenario() {
	local fam
	for fam in 4 6 46 64; do
		fn_tcp $fam tcp$fam.$1 "$(fn_cport "$1" $fam tcp)"
		fn_udp $fam udp$fam.$1 "$(fn_cport "$1" $fam udp)"
	done
}

fn_prepare() {
	mkdir -p "$FN_TMP/www"
	echo "hello from the real server" >"$FN_TMP/www/index.html"
	fn_build_getname
	fn_setup
	fn_start_lb
	fn_http_start 4
	fn_http_start 6
}

# ---- the demo ---------------------------------------------------------------------------

fn_report_family() {
	local fam=$1 c vip st tag t u note
	c=$(fn_addr "$fam" C)
	vip=$(fn_addr "$fam" VIP)
	case $fam in
	4 | 6) echo "IPv$fam ($fam$fam): client $c -> VIP $vip" ;;
	*) echo "$fam: IPv$(fn_cfam "$fam") client $c -> VIP $vip, server reached over IPv$(fn_sfam "$fam") (toa-uoa-lb translates)" ;;
	esac
	for st in with without; do
		if [ $st = with ]; then tag="with toa_uoa   "; else tag="without toa_uoa"; fi
		t=tcp$fam.$st u=udp$fam.$st
		echo "  TCP $tag  client port $(fn_cport $st "$fam" tcp) (http), $(($(fn_cport $st "$fam" tcp) + 1)) (getname)"
		note=""
		[ "$fam:$st" != 64:with ] || note=" (cut: Python gives an IPv4 socket a 16-byte buffer)"
		echo "      http.server logged $(fn_get $t http)$note" \
			"| accept() $(fn_get $t accept | awk '{ print $2 " port " $3 }')" \
			"| getsockname() $(fn_get $t getsockname | awk '{ print $2 " port " $3 }')"
		echo "  UDP $tag  client port $(fn_cport $st "$fam" udp)"
		echo "      recvfrom() $(fn_get $u from | awk '{ print $1 " port " $2 }')" \
			"| UOA v1 look-up: $(fn_get $u v1 | awk 'NF == 4 { print "client " $1 " port " $2 ", VIP " $3 " port " $4; next } { print }')"
	done
}

fn_main() {
	[ "$(id -u)" = 0 ] || { echo "fullnat.sh: run as root (in the guest)" >&2; exit 2; }
	[ -x "$FN_LB" ] || {
		echo "fullnat.sh: $FN_LB not built: (cd userspace && cargo build --release -p toa-uoa-lb)" >&2
		exit 2
	}
	[ -f "$FN_KO" ] || { echo "fullnat.sh: $FN_KO not built: make" >&2; exit 2; }
	set -E
	trap 'echo "fullnat.sh: failed (status $?) at: $BASH_COMMAND" >&2' ERR
	FN_TMP=$(mktemp -d)
	FN_LOADED_HERE=
	trap 'fn_cleanup; [ -z "$FN_LOADED_HERE" ] || ! [ -d /sys/module/toa_uoa ] || fn_unload; rm -rf "$FN_TMP"' EXIT
	echo "== FullNAT end to end: client -> balancer (toa-uoa-lb on TUN $FN_TUN, nftables DNAT + SNAT) -> server"
	fn_prepare
	echo "   client $C4 $C6 | VIP $VIP4 $VIP6 routed to the balancer (tcp 80 -> server:8080, tcp 81 -> :8081, udp 53 -> :5353)"
	echo "   balancer SNAT $BS4 $BS6 toward the server | server $S4 $S6"
	if [ -d /sys/module/toa_uoa ]; then
		echo "   (toa_uoa was already loaded)"
	else
		# Trust options only from the balancer's SNAT addresses, as a deployment would.
		insmod "$FN_KO" "trusted_sources=$BS4/32,$BS6/128"
		FN_LOADED_HERE=1
		echo "   insmod toa_uoa.ko trusted_sources=$BS4/32,$BS6/128"
	fi
	echo "== with toa_uoa.ko loaded in the server's kernel"
	fn_scenario with
	fn_unload
	FN_LOADED_HERE=
	echo "== after echo 0 > /sys/module/toa_uoa/parameters/getname; rmmod toa_uoa"
	fn_scenario without
	echo
	echo "== report"
	fn_report_family 4
	fn_report_family 6
	fn_report_family 46
	fn_report_family 64
	echo "  balancer stage: $(tr '\n' ' ' <"$FN_TMP/lb.stats")"
	echo "  with the module the server sees the client namespace's address and port, and the"
	echo "  VIP from getsockname(); without it, the balancer's SNAT address ($BS4 / $BS6)."
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	fn_main "$@"
fi
