#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# All of toa_uoa's tests, from a fresh machine: set up (once; cached), build the module
# warning-free for both kernels, run the host tests and cargo clippy of the user-space
# workspace, gofmt, go vet and go test of the Go module (go/), then run the guest suite (KTAP)
# on the project's 6.12 test kernel and on Debian's own 7.3 kernel.
# Exit status 0 only if everything passed.
#   KTEST_FILTER=regex  run only the guest tests whose file name matches
#   KERNELS="test debian-7.3"  the kernels to run the guest suite on (default: both)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TOP"

KERNELS=${KERNELS:-test $DEBIAN_KERNEL}
for k in $KERNELS; do kernel_arg "$k" >/dev/null; done
step "set-up: test kernel"
scripts/setup.sh
step "module build: test kernel"
scripts/build.sh
if [[ " $KERNELS " == *" $DEBIAN_KERNEL "* ]]; then
	step "set-up: Debian's kernel ($DEBIAN_KERNEL)"
	scripts/setup.sh --kernel "$DEBIAN_KERNEL"
	step "module build: Debian's kernel"
	scripts/build.sh --kernel "$DEBIAN_KERNEL"
fi

host_rc=0
if [ -f userspace/Cargo.toml ]; then
	step "host tests (userspace workspace)"
	(cd userspace && cargo fmt --check && cargo test 2>&1) || host_rc=$?
	# Every crate, the bench crate too (default-members leaves it out of plain cargo commands),
	# every target: the crates' #[deny(clippy::...)] and #![deny(...)] attributes hold here.
	step "cargo clippy of the userspace workspace (--workspace --all-targets, warnings are errors)"
	(cd userspace && cargo clippy --quiet --workspace --all-targets -- -D warnings 2>&1) || host_rc=$?
	step "one version: dkms.conf's PACKAGE_VERSION (the module's, by Kbuild), the crates' and the Python package's"
	ver_dkms=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
	ver_cargo=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' userspace/Cargo.toml)
	ver_py=$(sed -n 's/^__version__ = "\([^"]*\)".*$/\1/p' python/toa_uoa/__init__.py)
	if [ -n "$ver_dkms" ] && [ "$ver_dkms" = "$ver_cargo" ] && [ "$ver_dkms" = "$ver_py" ]; then
		echo "version $ver_dkms"
	else
		echo "versions differ: dkms.conf '$ver_dkms', userspace/Cargo.toml '$ver_cargo', python/toa_uoa/__init__.py '$ver_py'" >&2
		host_rc=1
	fi
	step "no-panic object checks (option_codec.rs, dpvs_codec.rs, records.rs)"
	userspace/codec/check-no-panic.sh && userspace/kcore/check-no-panic.sh || host_rc=$?
	step "building the example programs the guest suite runs"
	(cd userspace && cargo build --release -p toa-uoa-lookup --examples 2>&1 | tail -n 2) || host_rc=$?
	# The operator's tool: guest test 65 decodes captures with it, 75 runs its stats command.
	(cd userspace && cargo build --release -p toa-uoa 2>&1 | tail -n 2) || host_rc=$?
	if grep -q '"lb"' userspace/Cargo.toml; then
		(cd userspace && cargo build --release -p toa-uoa-lb 2>&1 | tail -n 2) || host_rc=$?
	fi
	if [ -x userspace/fuzz/smoke.sh ] && [ -z "${SKIP_FUZZ:-}" ]; then
		step "fuzz smoke run"
		userspace/fuzz/smoke.sh || host_rc=$?
	fi
fi

# The Python package, with Debian's python3 (the guest's; set-up installs its setuptools, wheel
# and venv): unit tests against a fake module, pip install into a fresh venv offline (the
# version installed is dkms.conf's), mypy --strict of the package and its examples.
step "host tests (Python package: python -m unittest, offline pip install into a venv, mypy)"
(TOA_UOA_NO_SKIP=1 /usr/bin/python3 -m unittest discover -s python/tests 2>&1) || host_rc=$?
mypy --strict --cache-dir=/dev/null python/toa_uoa python/examples/*.py && MYPYPATH=python mypy --cache-dir=/dev/null python/tests || host_rc=$?
# go_checks: the Go module, offline (standard library only: no proxy, no downloads), its
# build cache under the cache directory, nothing written into the clone but the example
# server guest test 72 runs (build/go/, ignored). Each step's failure ends it (set -e does
# not hold in a function whose status is tested).
go_checks() {
	export GOPROXY=off GOFLAGS=-buildvcs=false GOCACHE="$CACHE/go/cache" GOPATH="$CACHE/go/path"
	cd "$TOP/go" || return 1
	go version || return 1
	local unformatted ver_go ver_dkms
	unformatted=$(gofmt -l .) || return 1
	[ -z "$unformatted" ] || { echo "gofmt: not formatted: $unformatted" >&2; return 1; }
	go vet ./... || return 1
	go test -count=1 ./... || return 1
	go build -o "$TOP/build/go/udp_server" ./examples/udp_server || return 1
	ver_go=$(sed -n 's/^const Version = "\(.*\)"$/\1/p' uoa/uoa.go)
	ver_dkms=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$TOP/dkms.conf")
	[ -n "$ver_go" ] && [ "$ver_go" = "$ver_dkms" ] ||
		{ echo "versions differ: dkms.conf '$ver_dkms', go/uoa/uoa.go '$ver_go'" >&2; return 1; }
	echo "go/uoa version $ver_go; built build/go/udp_server"
}
if [ -f go/go.mod ]; then
	step "Go (go/): gofmt, go vet, go test, the example server for the guest suite"
	(go_checks 2>&1) || host_rc=1
fi

# guest_suite KERNEL: DKMS install for KERNEL, then the guest suite on it.
guest_suite() {
	local kernel=$1 root dmesg=$CACHE/last-guest-dmesg-$1.log rc=0
	local args=(--kernel "$kernel") env=()
	if [ "$kernel" = "$DEBIAN_KERNEL" ]; then
		local out=$TOP/build/$DEBIAN_KERNEL
		env=(TOA_UOA_KO="$out/toa_uoa.ko" TOA_UOA_SQUATTER="$out/kmod/uoa_squatter.ko")
	fi
	step "DKMS install of the module for the $kernel kernel (private trees; loaded by guest test 80)"
	if root=$(scripts/dkms-install.sh "${args[@]}" | tail -n 1); then
		env+=(TOA_UOA_DKMS_ROOT="$root")
	else
		rc=1
	fi
	step "guest suite on the $kernel kernel (QEMU, $(scripts/vm.sh accel "${args[@]}"))"
	local vm_rc=0
	# Every test must run on both kernels: a skip (a tool or a build missing) fails the run.
	env "${env[@]}" KTEST_NO_SKIP=1 scripts/vm.sh run "${args[@]}" --dmesg "$dmesg" -- tests/guest/run.sh || vm_rc=$?
	[ $vm_rc -ne 125 ] || echo "toa_uoa: guest did not finish; its kernel log: $dmesg" >&2
	[ $vm_rc -eq 0 ] && return $rc
	return $vm_rc
}

guest_rc=0
for k in $KERNELS; do
	guest_suite "$k" || guest_rc=1
done

# The debug kernel (KASAN, lockdep, UBSAN, kmemleak...) runs part of the suite here when it is
# already in the cache: building it cold (8 minutes, more with other work on the cores) plus
# its whole suite (20 minutes under TCG) would crowd CI's limit next to the above. scripts/test-debug.sh builds it and
# runs everything. The part: load/unload cycles, unloading under traffic, the table flood.
debug_rc=0
debug_done=$(dirname "$(scripts/setup.sh --variant debug --print-kdir)")/done
if [ -z "${SKIP_DEBUG:-}" ] && [ -f "$debug_done" ]; then
	step "debug kernel (cached): guest tests 10, 45, 52 with KASAN, lockdep, kmemleak"
	KTEST_FILTER='^(10|45|52)-' scripts/test-debug.sh || debug_rc=$?
else
	step "debug kernel not in the cache: not run here (scripts/test-debug.sh builds it and runs the whole suite)"
fi

if [ $host_rc -ne 0 ] || [ $guest_rc -ne 0 ] || [ $debug_rc -ne 0 ]; then
	step "FAILED (host tests: $host_rc, guest suite: $guest_rc, debug kernel: $debug_rc)"
	exit 1
fi
step "all tests passed"
