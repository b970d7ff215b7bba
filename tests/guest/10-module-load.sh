#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Life cycle: the module loads with a log line, shows its parameters, refuses a second
# load and bad parameter values with a clear message, and unloads cleanly, repeatedly.
. "$(dirname "$0")/lib.sh"

require_module --unloaded

last_log() { log_window | tail -n "${1:-5}"; }

loads_with_log_line() {
	log_mark
	insmod "$KO"
	last_log | grep -q 'toa_uoa: loaded: max_records=65536 idle_timeout=300s trusted_sources=any' ||
		fail "no load line in: $(last_log)"
	# Trusting every source is the default: said once, with how to change it.
	expect_eq "warnings about trust" "$(last_log | grep -c 'toa_uoa: trusted_sources is empty: options from every source are believed; load with trusted_sources=')" 1
}

# The version (dkms.conf's, the one place it is written) is the module's too.
version_shown() {
	local want
	want=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$TOP/dkms.conf")
	expect_eq "/sys/module/toa_uoa/version" "$(cat /sys/module/toa_uoa/version)" "$want"
}

parameters_visible() {
	expect_eq max_records "$(cat /sys/module/toa_uoa/parameters/max_records)" 65536
	expect_eq idle_timeout "$(cat /sys/module/toa_uoa/parameters/idle_timeout)" 300
}

second_load_fails() {
	local out rc=0
	out=$(insmod "$KO" 2>&1) || rc=$?
	[ $rc -ne 0 ] || fail "second insmod succeeded"
	echo "$out" | grep -q 'File exists' || fail "unexpected error: $out"
	module_loaded || fail "the first instance went away"
}

unloads_with_log_line() {
	log_mark
	rmmod toa_uoa
	! module_loaded || fail "/sys/module/toa_uoa still there"
	last_log | grep -q 'toa_uoa: unloaded' || fail "no unload line in: $(last_log)"
}

parameters_taken() {
	insmod "$KO" max_records=1000 idle_timeout=60
	expect_eq max_records "$(cat /sys/module/toa_uoa/parameters/max_records)" 1000
	expect_eq idle_timeout "$(cat /sys/module/toa_uoa/parameters/idle_timeout)" 60
	rmmod toa_uoa
}

# bad_value PARAM=VALUE: insmod fails with EINVAL and the kernel log says why.
bad_value() {
	local out rc=0
	log_mark
	out=$(insmod "$KO" "$1" 2>&1) || rc=$?
	[ $rc -ne 0 ] || { rmmod toa_uoa; fail "insmod $1 succeeded"; }
	echo "$out" | grep -Eq 'Invalid (argument|parameters)' || fail "insmod $1: unexpected error: $out"
	! module_loaded || fail "module loaded after $1"
	last_log | grep -q "toa_uoa: ${1%%=*}=.* refused: must be an integer from" ||
		fail "no clear message for $1 in: $(last_log)"
}

cycles() {
	local i
	for i in $(seq 1 20); do
		insmod "$KO" || fail "insmod failed on cycle $i"
		rmmod toa_uoa || fail "rmmod failed on cycle $i"
	done
}

check loads_with_log_line loads_with_log_line
check parameters_visible parameters_visible
check version_shown version_shown
check second_load_fails second_load_fails
check unloads_with_log_line unloads_with_log_line
check parameters_taken parameters_taken
for v in max_records=0 max_records=16777217 max_records=abc max_records=-1 \
	idle_timeout=0 idle_timeout=86401 idle_timeout=1e3; do
	check "bad_value_${v/=/_}" bad_value "$v"
done
check load_unload_20_cycles cycles
done_testing
