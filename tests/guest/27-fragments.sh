#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Datagrams too big for the link arrive in fragments: the look-up still answers. IPv4 is
# reassembled before the LOCAL_IN hook; an IPv6 datagram is not (without conntrack in the
# namespace the hook sees each fragment), so the first fragment's Destination Options (in its
# fragmentable part, after the Fragment header) and ports make the record. Each family, both
# carried families.
. "$(dirname "$0")/lib.sh"

require_module
setup_pair
tmp=$(make_tmpdir)
BIG=$(head -c 3000 /dev/zero | tr '\0' x)

# fragmented OUT LB RS PORT CIP VIP
fragmented() {
	local out=$tmp/$1
	uoa_exchange "$out" "$2" "$3" "$4" "$5" "$6" --payload "$BIG"
	sed "s/^# got b'x*'/# got ${#BIG} bytes/; s/^/# /" "$out" >&2
	grep -qx "v1 $5 40000 $6 80" "$out" || fail "look-up: $(grep "^v1 " "$out")"
}

# The datagrams really were fragmented on the wire (the receiving side's counters).
were_fragmented() {
	local v4 v6
	v4=$(ip netns exec "$rs" nstat -az IpReasmOKs | awk '$1 == "IpReasmOKs" { print $2 }')
	v6=$(ip netns exec "$rs" nstat -az Ip6ReasmOKs | awk '$1 == "Ip6ReasmOKs" { print $2 }')
	echo "reassembled: IPv4 $v4, IPv6 $v6" >&2
	[ "$v4" -ge 2 ] && [ "$v6" -ge 2 ] || fail "not fragmented"
}

check fragmented_44 fragmented f44 $LB4 $RS4 9801 $CIP4 $VIP4
check fragmented_46 fragmented f46 $LB6 $RS6 9802 $CIP4 $VIP4
check fragmented_64 fragmented f64 $LB4 $RS4 9803 $CIP6 $VIP6
check fragmented_66 fragmented f66 $LB6 $RS6 9804 $CIP6 $VIP6
check datagrams_were_fragmented were_fragmented
done_testing
