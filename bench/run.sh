#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host entry point of the toa_uoa benchmark suite: builds toa_uoa.ko and the baseline
# modules (no-op kretprobes, no-op netfilter hooks: bench/noop_*) for the kernel asked for, boots that kernel in QEMU
# (scripts/vm.sh) and runs bench/guest.sh there, then writes the results and the plot:
#   bench/results/raw[-quick][-KERNEL].tsv      every measurement (section metric state round value)
#   bench/results/summary[-quick][-KERNEL].md   medians, spreads and ratios (bench/report.py)
#   bench/results/plot[-quick][-KERNEL].svg     the plot (bench/report.py, hand-written SVG)
# (-KERNEL only for a kernel other than the test kernel: -debian-7.3; then -two-senders for
# --part two-senders alone, and -SECTIONS for --only).
#
#   bench/run.sh [--quick] [--kernel test|debian-7.3] [--part all|main|two-senders]
#                [--only packets,conn,getname,lookup]   (some of the main part's sections)
#                [--smp N] [--mem SIZE] [--icount SHIFT | --wallclock] [--versus OTHER.ko]
# --versus: another build of toa_uoa.ko (for the same kernel; outside /tmp, which the guest
# does not see) measured as a state of its own in the packet rows, beside this one, in the
# same boot and rounds: what a change did, without the spread between boots.
# Full: about 25 minutes on a busy 2-core host; --quick: about 5 (two boots).
#
# Two guest boots. The first (--part main) runs everything but the two-sender rows, by
# default with instruction counting (scripts/vm.sh --icount 2): the guest's clock advances
# 4 ns per instruction executed, so every rate measured there is a count of instructions,
# the same whatever else the host is doing. --wallclock measures that boot in real time
# instead (vm.sh's default single-threaded TCG), which on a shared host swings by a
# factor of 2 and more. The second (--part two-senders) measures two CPUs flooding at
# once, which instruction counting cannot: it runs the vCPUs one after the other on one
# host thread. That boot is multi-threaded TCG (one host thread per vCPU, 2 vCPUs) on the
# wall clock; BENCHMARKS.md says what that costs in noise and how the rows deal with it.
#
# The module for Debian's kernel is built by scripts/build.sh --kernel debian-7.3
# (build/debian-7.3/toa_uoa.ko, in Debian's build root), the baseline module likewise.
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
. "$BENCH/../scripts/lib.sh"
quick="" suffix="" smp=2 mem=2G clock=(--icount 2) clock_info="icount shift=2 (4 ns of guest time per instruction)"
kernel=test part=all only=packets,conn,getname,lookup versus=""
usage() {
	echo "usage: bench/run.sh [--quick] [--kernel test|$DEBIAN_KERNEL] [--part all|main|two-senders] [--only SECTIONS] [--smp N] [--mem SIZE] [--icount SHIFT | --wallclock] [--versus OTHER.ko]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=--quick ;;
	--kernel) [ $# -gt 1 ] || usage; kernel=$(kernel_arg "$2"); shift ;;
	--part) [ $# -gt 1 ] || usage; part=$2; shift ;;
	--only) [ $# -gt 1 ] || usage; only=$2; shift ;;
	--smp) smp=$2; shift ;;
	--mem) mem=$2; shift ;;
	--icount) clock=(--icount "$2") clock_info="icount shift=$2"; shift ;;
	--wallclock) clock=() clock_info="wall clock (single-threaded TCG)" ;;
	--versus) [ $# -gt 1 ] || usage; versus=$(realpath "$2"); shift ;;
	*) usage ;;
	esac
	shift
done
case $part in all | main | two-senders) ;; *) usage ;; esac
[ -z "$quick" ] || suffix=-quick
[ "$kernel" = test ] || suffix=$suffix-$kernel
# The two-sender part alone, and a run of some sections only, have results files of their own.
[ "$part" != two-senders ] || suffix=$suffix-two-senders
[ "$only" = packets,conn,getname,lookup ] || suffix=$suffix-${only//,/-}
[ -z "$versus" ] || suffix=$suffix-versus
[ -z "$versus" ] || [ -f "$versus" ] || die "bench: --versus $versus: no such module"
case $versus in /tmp/*) die "bench: --versus: the guest does not see the host's /tmp" ;; esac
cd "$TOP"

# The baseline module is built outside /tmp: the guest sees the host's files, not its /tmp.
mkdir -p "$BENCH/build" "$BENCH/results"
if [ "$kernel" = test ]; then
	make -s >/dev/null
	ko=$TOP/toa_uoa.ko
	bases=$BENCH/build
	make_base=(make -s -C "$(scripts/setup.sh --print-kdir)" LLVM=1)
else
	scripts/build.sh --kernel "$kernel" >/dev/null
	ko=$TOP/build/$kernel/toa_uoa.ko
	# As build.sh builds its test modules: in the build root that has Debian's compilers,
	# against the prepared tree, with the C compiler the kernel's .config names.
	kver=$(debian_kver)
	kcc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\).*/\1/p' \
		"$(scripts/setup.sh --kernel "$kernel" --print-kdir)/.config")
	bases=$BENCH/build/$kernel
	make_base=(debian_chroot make -s -C "$(debian_tree "$kver")" CC="$kcc")
fi
for b in noop_kretprobe noop_hook; do
	rm -rf "${bases:?}/$b"
	mkdir -p "$bases/$b"
	cp "$BENCH/$b"/* "$bases/$b/"
	"${make_base[@]}" M="$bases/$b" modules >/dev/null
done
noop=$bases/noop_kretprobe/noop_kretprobe.ko hook=$bases/noop_hook/noop_hook.ko
[ -f "$ko" ] && [ -f "$noop" ] && [ -f "$hook" ] || die "bench: the modules did not build"

out=$(mktemp -d)
vm_pid=""
# The two-sender boot runs in a session of its own (below): its process group goes too.
trap '[ -z "$vm_pid" ] || kill -- -"$vm_pid" 2>/dev/null; rm -rf "$out"' EXIT
git_rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
: >"$out/raw.tsv"

# boot PART CLOCK-INFO VM-ARGS...: one guest boot running guest.sh's PART; its raw lines
# are appended. $prio: a command prefix for the emulator.
prio=()
boot() {
	local p=$1 clk=$2 dir rc=0
	shift 2
	dir=$out/$p
	mkdir -p "$dir"
	local cmd=(scripts/vm.sh --kernel "$kernel" run "$@" --mem "$mem" --timeout 3600 --
		env BENCH_GIT="$git_rev" BENCH_HOST_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
		BENCH_CLOCK="$clk" TOA_UOA_KO="$ko" NOOP_KO="$noop" NOOP_HOOK_KO="$hook" VERSUS_KO="$versus"
		bash -c 'bench/guest.sh '"$quick"' --part '"$p"' --only '"$only"' "$VM_OUT/raw.tsv"')
	if [ "${prio[0]:-}" != setsid ]; then
		VM_OUT_COPY=$dir "${cmd[@]}" || rc=$?
	else
		VM_OUT_COPY=$dir "${prio[@]}" "${cmd[@]}" &
		vm_pid=$!
		wait "$vm_pid" || rc=$?
		vm_pid=""
	fi
	[ "$rc" = 0 ] || echo "bench: the guest ($p) ended with status $rc" >&2
	[ -s "$dir/raw.tsv" ] || { echo "bench: no results came back from the guest ($p)" >&2; exit 1; }
	cat "$dir/raw.tsv" >>"$out/raw.tsv"
}

if [ "$part" != two-senders ]; then
	boot main "$clock_info" "${clock[@]}" --smp "$smp"
	printf 'info\thost_loadavg_at_end\t-\t-\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/raw.tsv"
fi
if [ "$part" != main ]; then
	# A wall-clock rate is what the host gives: this boot's emulator gets a larger share of
	# the cores than the host's other jobs for its few minutes (root only), and rounds whose
	# control says the host took a share anyway do not count (guest.sh, report.py). With autogroup scheduling, a
	# process's nice weighs only against its own session's, so the boot gets a session of
	# its own (setsid, in the background: then it does not fork) whose group nice is -10.
	if [ "$(id -u)" = 0 ]; then
		if [ -w /proc/self/autogroup ]; then
			prio=(setsid sh -c 'echo -10 >/proc/self/autogroup && exec "$@"' sh)
		else
			prio=(nice -n -10)
		fi
	fi
	boot two-senders "wall clock, multi-threaded TCG (one host thread per vCPU)" \
		--tcg-threads multi --smp 2
	printf 'info\tsmp_host_loadavg_at_end\t-\t-\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/raw.tsv"
fi
cp "$out/raw.tsv" "$BENCH/results/raw$suffix.tsv"
python3 "$BENCH/report.py" "$BENCH/results/raw$suffix.tsv" "$BENCH/results/summary$suffix.md" \
	"$BENCH/results/plot$suffix.svg"
cat "$BENCH/results/summary$suffix.md"
