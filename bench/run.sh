#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host entry point of the toa_uoa benchmark suite: builds toa_uoa.ko (make) and the no-op
# kretprobe baseline module, boots the test kernel in QEMU (scripts/vm.sh) and runs
# bench/guest.sh there, then writes the results and the plot:
#   bench/results/raw[-quick].tsv      every measurement (section metric state round value)
#   bench/results/summary[-quick].md   medians, spreads and ratios (bench/report.py)
#   bench/results/plot[-quick].svg     the plot (bench/report.py, hand-written SVG)
#
#   bench/run.sh [--quick] [--smp N] [--mem SIZE] [--icount SHIFT | --wallclock]
# Full: about 10 minutes; --quick: about 3.
#
# By default the guest runs with instruction counting (scripts/vm.sh --icount 2): its clock
# advances 4 ns per instruction executed, so every rate measured in the guest is a count of
# instructions, the same whatever else the host is doing. --wallclock measures in real time
# instead (multi-threaded TCG), which on a shared host swings by a factor of 2 and more.
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$BENCH")
quick="" suffix="" smp=2 mem=2G clock=(--icount 2) clock_info="icount shift=2 (4 ns of guest time per instruction)"
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=--quick suffix=-quick ;;
	--smp) smp=$2; shift ;;
	--mem) mem=$2; shift ;;
	--icount) clock=(--icount "$2") clock_info="icount shift=$2"; shift ;;
	--wallclock) clock=() clock_info="wall clock (multi-threaded TCG)" ;;
	*) echo "usage: bench/run.sh [--quick] [--smp N] [--mem SIZE] [--icount SHIFT | --wallclock]" >&2; exit 2 ;;
	esac
	shift
done
cd "$TOP"
make -s >/dev/null
KDIR=$(scripts/setup.sh --print-kdir)
# The baseline module is built outside /tmp: the guest sees the host's files, not its /tmp.
rm -rf "$BENCH/build/noop_kretprobe"
mkdir -p "$BENCH/build/noop_kretprobe" "$BENCH/results"
cp "$BENCH"/noop_kretprobe/* "$BENCH/build/noop_kretprobe/"
make -s -C "$KDIR" M="$BENCH/build/noop_kretprobe" LLVM=1 modules >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
git_rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
load=$(cut -d' ' -f1-3 /proc/loadavg)
VM_OUT_COPY=$out scripts/vm.sh run "${clock[@]}" --smp "$smp" --mem "$mem" --timeout 3600 -- \
	env BENCH_GIT="$git_rev" BENCH_HOST_LOAD="$load" BENCH_CLOCK="$clock_info" \
	bash -c 'bench/guest.sh '"$quick"' "$VM_OUT/raw.tsv"'
[ -s "$out/raw.tsv" ] || { echo "bench: no results came back from the guest" >&2; exit 1; }
printf 'info\thost_loadavg_at_end\t-\t-\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/raw.tsv"
cp "$out/raw.tsv" "$BENCH/results/raw$suffix.tsv"
python3 "$BENCH/report.py" "$BENCH/results/raw$suffix.tsv" "$BENCH/results/summary$suffix.md" \
	"$BENCH/results/plot$suffix.svg"
cat "$BENCH/results/summary$suffix.md"
