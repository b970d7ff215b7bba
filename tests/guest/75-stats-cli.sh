#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# toa-uoa stats as an operator runs it, against the loaded module: the report's values are
# /proc/net/toa_uoa's (by namespace name and by pid), the change and rate over an interval
# are the options sent in it, the options_untrusted verdict fires when a sender is outside
# trusted_sources (and not when it is inside), --prometheus writes the same values in
# node_exporter's textfile format (atomically; '-' to standard output), and a missing
# namespace, a caller without the right to enter it and an unloaded module are said so.
# The tool is built on the host beforehand (scripts/test.sh:
# (cd userspace && cargo build --release -p toa-uoa)); the test is skipped if it is not.
. "$(dirname "$0")/lib.sh"

TOOL=${TOA_UOA_TOOL:-$TOP/userspace/target/release/toa-uoa}
require_file "$TOOL"
# 10.0.0.1 ($LB4) is outside trusted_sources, fd00::1 ($LB6) inside.
require_module trusted_sources=10.9.0.0/16,fd00::1/128
setup_pair
tmp=$(make_tmpdir)

# send_untrusted N / send_trusted N: N datagrams with the option from $lb to $rs.
send_untrusted() { ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" $LB4 7001 $RS4 9 $CIP4 1 $VIP4 2 --count "$1"; }
send_trusted() { ip netns exec "$lb" python3 "$TOOLS/uoa_send.py" $LB6 7002 $RS6 9 $CIP4 1 $VIP4 2 --count "$1"; }

proc_file() { ip netns exec "$rs" cat /proc/net/toa_uoa; }

# row FILE NAME [FIELD]: field FIELD (default 2: the value) of counter NAME's row in a report.
row() {
	awk -v n="$2" -v f="${3:-2}" '$1 == n { print $f; exit }' "$1"
}

# same_values REPORT: every line of /proc/net/toa_uoa in $rs has its row in REPORT, with the
# same value, and the report has no other counter rows (one awk: forks are slow in TCG).
same_values() {
	proc_file >"$1.proc"
	awk 'NR == FNR { want[$1] = $2; n++; next }
		/^verdicts/ { done = 1 }
		!done && FNR > 2 {
			rows++; seen[$1] = 1
			if (!($1 in want)) { print "a row /proc/net/toa_uoa has not: " $1; bad = 1 }
			else if (want[$1] != $2) { print $1 ": got " $2 ", want " want[$1]; bad = 1 }
		}
		END {
			for (k in want) if (!(k in seen)) { print "no row for " k; bad = 1 }
			print rows + 0 " counter rows, /proc/net/toa_uoa has " n
			exit bad || rows != n
		}' "$1.proc" "$1" >&2
}

by_name() {
	# 3 trusted options (one record), 2 untrusted.
	send_trusted 3
	send_untrusted 2
	expect_stat "$rs" options_valid 3
	expect_stat "$rs" options_untrusted 2
	"$TOOL" stats --netns "$rs" >"$tmp/name.out"
	cat "$tmp/name.out" >&2
	expect_eq header "$(head -n 1 "$tmp/name.out")" "toa_uoa counters of namespace $rs, since it came up:"
	same_values "$tmp/name.out"
	expect_eq options_valid "$(row "$tmp/name.out" options_valid)" 3
	expect_eq options_untrusted "$(row "$tmp/name.out" options_untrusted)" 2
	expect_eq records_live "$(row "$tmp/name.out" records_live)" 1
	# Since the namespace came up: 2 untrusted options, the verdict says so and what to do.
	grep -q "^WORRY  options_untrusted: grew by 2 since the namespace came up: options from outside trusted_sources were ignored" "$tmp/name.out" ||
		fail "no options_untrusted WORRY"
	grep -A1 "^WORRY  options_untrusted:" "$tmp/name.out" | grep -q "^       what to do: 'dmesg | grep toa_uoa' names the senders" ||
		fail "no 'what to do' for options_untrusted"
	grep -q "^OK     records_evicted: did not grow since the namespace came up$" "$tmp/name.out" || fail "no OK for records_evicted"
	grep -q "^OK     options_valid: grew by 3 since the namespace came up$" "$tmp/name.out" || fail "no OK for options_valid"
	expect_eq "worries" "$(grep -c '^WORRY' "$tmp/name.out")" 1
}

by_pid() {
	ip netns exec "$rs" sleep 60 &
	local pid=$! ns i
	# $pid is ip's until it has entered the namespace and become sleep.
	ns=$(ip netns exec "$rs" readlink /proc/self/ns/net)
	for i in $(seq 1 50); do
		[ "$(readlink /proc/$pid/ns/net)" != "$ns" ] || break
		sleep 0.1
	done
	expect_eq "process $pid's namespace" "$(readlink /proc/$pid/ns/net)" "$ns"
	"$TOOL" stats --pid $pid >"$tmp/pid.out"
	kill $pid
	expect_eq header "$(head -n 1 "$tmp/pid.out")" "toa_uoa counters of the namespace of process $pid, since it came up:"
	same_values "$tmp/pid.out"
	# The host's own namespace is another one: no option there.
	"$TOOL" stats >"$tmp/own.out"
	expect_eq "own namespace's options_untrusted" "$(row "$tmp/own.out" options_untrusted)" 0
	expect_eq "own namespace_active" "$(row "$tmp/own.out" namespace_active)" 0
	grep -q "^WORRY  namespace_active: 0: no option" "$tmp/own.out" || fail "no namespace_active WORRY for an idle namespace"
}

# armed_send GO SRC SPORT DST N: uoa_send.py in $lb, started now, sending N options from SRC
# to DST once the file GO exists (so that the sends fall within a window however slowly
# python starts in the guest).
armed_send() {
	local go=$1
	shift
	ip netns exec "$lb" python3 -c '
import argparse, ipaddress, os, runpy, socket, struct, sys, time
go = sys.argv[1]
while not os.path.exists(go):
    time.sleep(0.02)
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
' "$go" "$TOOLS/uoa_send.py" "$1" "$2" "$3" 9 $CIP4 1 $VIP4 2 --count "$4"
}

# interval SECONDS OUT SRC SPORT DST N: the tool over SECONDS, with N options from SRC sent
# once it said it took its first reading; its report in OUT.
interval() {
	local secs=$1 out=$2 i
	shift 2
	rm -f "$out.err" "$out.go"
	armed_send "$out.go" "$@" &
	local sender=$!
	"$TOOL" stats --netns "$rs" --interval "$secs" >"$out" 2>"$out.err" &
	local tool=$!
	for i in $(seq 1 100); do
		grep -q "counters read; rates over the next $secs s" "$out.err" && break
		sleep 0.1
	done
	grep -q "counters read" "$out.err" || fail "the tool did not say it read: $(cat "$out.err")"
	touch "$out.go"
	wait $sender || fail "uoa_send.py exited with $?"
	kill -0 $tool 2>/dev/null || fail "the ${secs}s interval ended before the options were sent"
	wait $tool || fail "toa-uoa stats --interval exited with $?: $(cat "$out.err")"
	cat "$out" >&2
}

# check_rate OUT NAME N: NAME's row says +N and N per second over the interval the header
# names (its own measure, printed to 0.1 s; the rate to 0.01).
check_rate() {
	local secs rate
	secs=$(sed -n 's/.*over the last \([0-9.]*\) s:$/\1/p' "$1" | head -n 1)
	[ -n "$secs" ] || fail "no interval in the header: $(head -n 1 "$1")"
	expect_eq "$2 change" "$(row "$1" "$2" 3)" "+$3"
	rate=$(row "$1" "$2" 4)
	awk -v r="$rate" -v n="$3" -v s="$secs" 'BEGIN { d = r - n / s; exit !(d < 0.05 && d > -0.05) }' ||
		fail "$2: rate $rate, want about $3/$secs"
	echo "$2: +$3 in $secs s, $rate/s" >&2
}

untrusted_over_interval() {
	interval 6 "$tmp/int1.out" $LB4 7001 $RS4 20
	expect_eq header "$(head -n 1 "$tmp/int1.out" | sed 's/last [0-9.]* s/last S s/')" \
		"toa_uoa counters of namespace $rs, over the last S s:"
	# No traffic since the tool's second reading: its values are /proc's now.
	same_values "$tmp/int1.out"
	check_rate "$tmp/int1.out" options_untrusted 20
	expect_eq "options_valid change" "$(row "$tmp/int1.out" options_valid 3)" +0
	expect_eq "max_records rate (a gauge)" "$(row "$tmp/int1.out" max_records 4)" -
	grep -q "^WORRY  options_untrusted: grew by 20 in the last [0-9.]* s ([0-9.]*/s): options from outside trusted_sources" "$tmp/int1.out" ||
		fail "no options_untrusted WORRY over the interval"
}

trusted_over_interval() {
	# Only trusted options in this interval: options_untrusted's verdict is OK now, and the
	# option the balancer sends is seen.
	interval 6 "$tmp/int2.out" $LB6 7002 $RS6 12
	same_values "$tmp/int2.out"
	check_rate "$tmp/int2.out" options_valid 12
	grep -q "^OK     options_untrusted: did not grow in the last [0-9.]* s$" "$tmp/int2.out" ||
		fail "options_untrusted not OK without untrusted traffic"
	grep -q "^OK     options_valid: grew by 12 in the last" "$tmp/int2.out" || fail "options_valid not OK"
	expect_eq "worries" "$(grep -c '^WORRY' "$tmp/int2.out")" 0
}

# prom_expect FILE: every line of /proc/net/toa_uoa in $rs is a sample of FILE, named and
# typed as the tool promises, and FILE has no other sample.
prom_expect() {
	local f=$1 missing
	proc_file >"$tmp/prom.proc"
	awk -v ns="$rs" '{
		l = "namespace=\"" ns "\""
		if ($1 ~ /^malformed_/) { m = "toa_uoa_malformed_total"; l = l ",kind=\"" substr($1, 11) "\""; t = "counter" }
		else if ($1 == "records_live" || $1 == "max_records" || $1 == "namespace_active") { m = "toa_uoa_" $1; t = "gauge" }
		else { m = "toa_uoa_" $1 "_total"; t = "counter" }
		print m "{" l "} " $2
		print "# TYPE " m " " t
	}' "$tmp/prom.proc" | sort -u >"$tmp/prom.want"
	missing=$(grep -Fxvf "$f" "$tmp/prom.want") || true
	[ -z "$missing" ] || fail "not in $f: $missing"
	expect_eq samples "$(grep -vc '^#' "$f")" "$(wc -l <"$tmp/prom.proc")"
	expect_eq "TYPE lines" "$(grep -c '^# TYPE ' "$f")" "$(grep -c '^# TYPE ' "$tmp/prom.want")"
	expect_eq "HELP lines" "$(grep -c '^# HELP toa_uoa_[a-z0-9_]* .' "$f")" "$(grep -c '^# TYPE ' "$f")"
	echo "$(wc -l <"$tmp/prom.proc") samples as /proc/net/toa_uoa has them" >&2
}

prometheus_file() {
	local dir
	dir=$(make_tmpdir)
	"$TOOL" stats --netns "$rs" --prometheus "$dir/toa_uoa.prom" >"$tmp/prom.stdout"
	[ ! -s "$tmp/prom.stdout" ] || fail "printed to standard output: $(head -n 3 "$tmp/prom.stdout")"
	expect_eq "files" "$(ls "$dir")" toa_uoa.prom
	sed -n '1,6p' "$dir/toa_uoa.prom" >&2
	prom_expect "$dir/toa_uoa.prom"
	# Rewritten, not appended, with the new values; '-' gives the same on standard output.
	send_untrusted 5
	expect_stat "$rs" options_untrusted 27
	"$TOOL" stats --netns "$rs" --prometheus "$dir/toa_uoa.prom"
	prom_expect "$dir/toa_uoa.prom"
	# 2 + 20 + 5 untrusted options so far.
	grep -qxF "toa_uoa_options_untrusted_total{namespace=\"$rs\"} 27" "$dir/toa_uoa.prom" ||
		fail "options_untrusted is not 27: $(grep options_untrusted_total "$dir/toa_uoa.prom")"
	expect_eq "files" "$(ls "$dir")" toa_uoa.prom
	"$TOOL" stats --netns "$rs" --prometheus - >"$tmp/prom.stdout"
	cmp "$tmp/prom.stdout" "$dir/toa_uoa.prom" || fail "'--prometheus -' differs from the file"
}

# fails_with OUT WANT CMD...: CMD exits with 1, says WANT on standard error, prints nothing.
fails_with() {
	local out=$1 want=$2 rc=0
	shift 2
	"$@" >"$out" 2>"$out.err" || rc=$?
	cat "$out.err" >&2
	expect_eq "exit status" $rc 1
	grep -qF -- "$want" "$out.err" || fail "no '$want'"
	[ ! -s "$out" ] || fail "printed: $(head -n 3 "$out")"
}

namespace_not_found() {
	fails_with "$tmp/nons" "toa-uoa stats: no network namespace 'no-such-ns': /run/netns/no-such-ns does not exist" \
		"$TOOL" stats --netns no-such-ns
}

no_permission() {
	# An unprivileged user may open the namespace's file, not enter it.
	fails_with "$tmp/perm" "toa-uoa stats: cannot enter network namespace '$rs': permission denied" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$TOOL" stats --netns "$rs"
}

module_not_loaded() {
	local dir
	dir=$(make_tmpdir)
	unload_module
	fails_with "$tmp/unl" "toa-uoa stats: no /proc/net/toa_uoa in namespace $rs: the toa_uoa module is not loaded" \
		"$TOOL" stats --netns "$rs"
	fails_with "$tmp/unl2" "the toa_uoa module is not loaded" \
		"$TOOL" stats --netns "$rs" --prometheus "$dir/toa_uoa.prom"
	expect_eq "files written" "$(ls "$dir")" ""
}

check stats_by_name_matches_proc by_name
check stats_by_pid_matches_proc by_pid
check stats_interval_untrusted_worry untrusted_over_interval
check stats_interval_trusted_ok trusted_over_interval
check stats_prometheus_textfile prometheus_file
check stats_namespace_not_found namespace_not_found
check stats_permission_denied no_permission
check stats_module_not_loaded module_not_loaded
done_testing
