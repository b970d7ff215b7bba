#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# DKMS: the module that `dkms install` put in place (scripts/dkms-install.sh, run on the
# host before the suite, installs into the private root $TOA_UOA_DKMS_ROOT) is found by
# modprobe through depmod's index, loads, does its job on the real path, and unloads.
. "$(dirname "$0")/lib.sh"

ROOT=${TOA_UOA_DKMS_ROOT:-}
[ -n "$ROOT" ] && [ -d "$ROOT/lib/modules/$(uname -r)" ] ||
	skip_all "no DKMS install root for $(uname -r) (scripts/dkms-install.sh makes one)"
unload_module
setup_pair
tmp=$(make_tmpdir)
MODPROBE=(modprobe -d "$ROOT" -S "$(uname -r)")

dkms_module_indexed() {
	local path
	path=$(modinfo -b "$ROOT" -k "$(uname -r)" -F filename toa_uoa)
	case $path in */updates/dkms/toa_uoa.ko*) ;; *) fail "modinfo finds '$path'" ;; esac
	# The installed file is the one dkms built, not the checkout's.
	expect_eq vermagic "$(modinfo -F vermagic "$path" | cut -d' ' -f1)" "$(uname -r)"
}

modprobe_loads() {
	log_mark
	"${MODPROBE[@]}" toa_uoa max_records=4096
	module_loaded || fail "modprobe returned but /sys/module/toa_uoa is missing"
	expect_eq max_records "$(cat /sys/module/toa_uoa/parameters/max_records)" 4096
	log_window | grep -q 'toa_uoa: loaded: max_records=4096' || fail "no load line: $(log_window | tail -n 3)"
}

works_on_the_real_path() {
	uoa_exchange "$tmp/out" $LB4 $RS4 9400 $CIP4 $VIP4
	grep -qx "v1 $CIP4 40000 $VIP4 80" "$tmp/out" || fail "server said: $(cat "$tmp/out")"
	expect_eq records_new "$(proc_stat "$rs" records_new)" 1
}

modprobe_removes() {
	"${MODPROBE[@]}" -r toa_uoa
	! module_loaded || fail "still loaded after modprobe -r"
}

check dkms_module_indexed dkms_module_indexed
check modprobe_loads modprobe_loads
check works_on_the_real_path works_on_the_real_path
check modprobe_removes modprobe_removes
done_testing
