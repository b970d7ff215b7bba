#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Another module holding the UOA optnames (as DPVS's uoa.ko does): toa_uoa refuses to load
# with a message that says so, leaves nothing behind, and loads once the other is gone.
. "$(dirname "$0")/lib.sh"

SQUATTER=${TOA_UOA_SQUATTER:-$TOP/tests/kmod/uoa_squatter.ko}
require_file "$SQUATTER"
require_module --unloaded

refused_while_taken() {
	insmod "$SQUATTER"
	log_mark
	local out rc=0
	out=$(insmod "$KO" 2>&1) || rc=$?
	rmmod uoa_squatter
	[ $rc -ne 0 ] || fail "toa_uoa loaded next to the squatter"
	! module_loaded || fail "toa_uoa is loaded"
	log_window | grep -q 'toa_uoa: getsockopt optnames 2048..2049 are taken by another module' ||
		fail "no clear message: $(log_window | tail -3)"
	echo "insmod said: $out" >&2
}

loads_after() {
	insmod "$KO"
	[ -r /proc/net/toa_uoa ] || fail "no statistics after a clean load"
	rmmod toa_uoa
}

check refused_while_optnames_taken refused_while_taken
check loads_once_they_are_free loads_after
done_testing
