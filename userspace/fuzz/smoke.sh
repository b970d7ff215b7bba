#!/bin/sh
# Short, bounded fuzz run of option_codec.rs and dpvs_codec.rs for CI: builds the targets
# (FUZZ_TARGETS, default "parse_packet parse_dpvs") with cargo-fuzz (libFuzzer +
# AddressSanitizer, debug assertions and overflow checks on) and runs each for FUZZ_SECONDS
# (default 60) starting from the committed seeds. Exits non-zero on any crash, panic or failed
# invariant; the input that caused it is left in artifacts/<target>/.
#
# cargo-fuzz needs nightly-only -Z flags. A nightly toolchain is used when rustup has one;
# otherwise the stable toolchain is told to accept them with RUSTC_BOOTSTRAP=1 (the machine's
# only toolchain may be stable, and no other can be fetched).
#
# Long run: FUZZ_SECONDS=3600 ./smoke.sh, or see docs/decode.md.
set -eu
cd "$(dirname "$0")"
secs=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-parse_packet parse_dpvs}
jobs=${FUZZ_JOBS:-1}  # >1: libFuzzer -fork=N processes

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "smoke.sh: installing cargo-fuzz (once)" >&2
    cargo install cargo-fuzz --locked
fi

# FUZZ_TOOLCHAIN=nightly|stable forces a choice; the default is nightly when installed.
toolchain=${FUZZ_TOOLCHAIN:-auto}
if [ "$toolchain" = auto ]; then
    toolchain=stable
    if rustup run nightly rustc --version >/dev/null 2>&1; then
        toolchain=nightly
    fi
fi
if [ "$toolchain" = nightly ]; then
    set -- cargo +nightly fuzz
    version=$(rustup run nightly rustc --version)
else
    export RUSTC_BOOTSTRAP=1
    set -- cargo fuzz
    version="$(rustc --version), RUSTC_BOOTSTRAP=1"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# -jobs=1 would fork a worker logging to a file of its own: pass it only when asked for more.
par=""
if [ "$jobs" -gt 1 ]; then
    par="-fork=$jobs"
fi
for target in $targets; do
    echo "smoke.sh: $* run $target for ${secs}s ($version)" >&2
    mkdir -p "corpus/$target"
    status=0
    # shellcheck disable=SC2086 # $par is empty or one word
    "$@" run "$target" "corpus/$target" seeds -- \
        -max_total_time="$secs" -print_final_stats=1 $par \
        >"$log" 2>&1 || status=$?
    # libFuzzer's closing lines: executions, coverage, corpus; print them whatever happened.
    grep -E '^(Done|stat::|#[0-9]+ +DONE)|ERROR|panicked|SUMMARY|Test unit written' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$log" >&2
        echo "smoke.sh: $target FAILED (exit $status): see artifacts/$target/" >&2
        exit "$status"
    fi
    echo "smoke.sh: $target ok, no crash in ${secs}s"
done
