#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise a toa_uoa benchmark results file (bench/guest.sh's raw TSV) into a Markdown
summary and one hand-written SVG plot (no plotting library needed).

    report.py RAW.tsv SUMMARY.md PLOT.svg

Every ratio is "module loaded / not loaded" of a rate measured in the same boot, paired by
round (rounds alternate which state runs first); the median of the per-round ratios is
reported with the lowest and highest. For getname the cost multiple is the inverse.

The two-sender rows (the second boot's, wall clock) compare scalings: per round and state,
the rate of two senders at once over that of one; the row's value is the loaded scaling
over the unloaded one of the same round. Only the rounds guest.sh marks as counted are
used: those in which the control (a loop that touches no memory) ran 1.8 to 2.2 times
faster on two CPUs than on one, before and after both states' runs, and no flood stalled.
In the others the host did not give the guest two cores, and the scaling measured is the
host's.
"""
import collections
import math
import statistics
import sys

THROUGHPUT = [  # (section, metric, label, target ratio)
    ("udp_plain", "pps", "UDP flood, no option (pps)", 0.99),
    ("tcp", "Bps", "TCP stream (bytes/s)", 0.99),
    ("udp_opt1", "pps", "UDP + option, one tuple (pps)", 0.95),
    ("udp_optN", "pps", "UDP + option, new tuple/packet (pps)", 0.90),
    ("udp_nopt", "pps", "UDP + IP options, none of type 31 (8 NOPs) (pps)", 0.99),
    ("conn_opt", "cps", "TCP connections/s, option on every packet", 0.97),
    ("conn_plain", "cps", "TCP connections/s, no option", 0.99),
]
TWO_SENDERS = [  # (section, label, target: loaded scaling / unloaded scaling)
    ("smp_opt1", "UDP + option, one tuple per sender", 0.90),
    ("smp_optN", "UDP + option, new tuple/packet", 0.90),
]
GETNAME = [  # (metric, label, target cost multiple)
    ("rec_peer", "getpeername, record", 1.5),
    ("rec_sock", "getsockname, record", 1.5),
    ("norec_peer", "getpeername, no record", 1.05),
    ("norec_sock", "getsockname, no record", 1.05),
]
# v1hot: v1 hits confined to the first 1000 records of the table, whatever its size: the
# control that separates the table's own cost from the memory it spreads over.
LOOKUPS = ["v1", "v0", "v1miss", "v0miss", "v1hot"]


def load(path):
    data = collections.defaultdict(dict)  # (section, metric, state) -> {round: value}
    info = {}
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if len(f) != 5:
            continue
        sec, metric, state, rnd, value = f
        if sec == "info":
            info[metric] = value
            continue
        try:
            data[(sec, metric, state)][rnd] = float(value)
        except ValueError:
            pass
    return data, info


def paired(data, sec, metric, num, den):
    a, b = data.get((sec, metric, num), {}), data.get((sec, metric, den), {})
    return [a[r] / b[r] for r in sorted(a) if r in b and b[r] > 0]


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_rate(x):
    if math.isnan(x):
        return "n/a"
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def summarise(data, info):
    rows, lines = [], []
    add = lines.append
    present = [t for t in THROUGHPUT if (t[0], t[1], "loaded") in data]
    if present:
        add("| measurement | not loaded (median) | loaded (median) | ratio loaded/not loaded: median [min, max] | target | met |")
        add("|---|---|---|---|---|---|")
    for sec, metric, label, target in present:
        rs = paired(data, sec, metric, "loaded", "unloaded")
        u = med(list(data.get((sec, metric, "unloaded"), {}).values()))
        lo = med(list(data.get((sec, metric, "loaded"), {}).values()))
        m = med(rs)
        rows.append((label, m, min(rs, default=m), max(rs, default=m), target))
        ok = "yes" if m >= target else "**no**"
        add(f"| {label} | {fmt_rate(u)} | {fmt_rate(lo)} | {m:.3f} [{min(rs, default=m):.3f}, {max(rs, default=m):.3f}] | >= {target} | {ok} |")
    versus = [t for t in THROUGHPUT if (t[0], t[1], "versus") in data]
    if versus:
        add("")
        add("The other build (run.sh --versus), in the same boot and rounds:")
        add("")
        add("| measurement | ratio other build / not loaded: median [min, max] | this build | this build / other build, per round: median [min, max] |")
        add("|---|---|---|---|")
        for sec, metric, label, _target in versus:
            vs = paired(data, sec, metric, "versus", "unloaded")
            rs = paired(data, sec, metric, "loaded", "unloaded")
            lv = paired(data, sec, metric, "loaded", "versus")
            add(f"| {label} | {med(vs):.3f} [{min(vs, default=math.nan):.3f}, {max(vs, default=math.nan):.3f}] | {med(rs):.3f} | {med(lv):.3f} [{min(lv, default=math.nan):.3f}, {max(lv, default=math.nan):.3f}] |")
    hook = paired(data, "udp_plain", "pps", "hook", "unloaded")
    if hook:
        add("")
        add(f"For scale, no-op netfilter hooks at LOCAL_IN (bench/noop_hook, the floor of any module that sees every packet through netfilter), UDP flood without option: ratio {med(hook):.3f} [{min(hook):.3f}, {max(hook):.3f}].")
    conn_parts(data, add)
    two_senders(data, rows, add)
    if any(k[0] == "getname" for k in data):
        getname_table(data, rows, add)
    curves, base = {}, float("nan")
    if any(k[0] in ("lookup", "mem") for k in data):
        curves, base = lookup_memory(data, add)
    sp = paired(data, "udp_plain", "sent_pps", "loaded", "unloaded")
    if sp:
        add("")
        add(f"Secondary: the UDP sender's own rate (sendmmsg returns), no option: ratio {med(sp):.3f} [{min(sp):.3f}, {max(sp):.3f}].")
    checks(data, add)
    add("")
    add("Run: " + ", ".join(f"{k}={v}" for k, v in info.items() if not k.startswith("lookup_")))
    return "\n".join(lines) + "\n", rows, curves, base


def getname_table(data, rows, add):
    add("")
    add("| call (calls/s; cost multiple = not loaded / loaded rate) | not loaded | toa_uoa loaded | cost multiple: median [min, max] | target | met | no-op kretprobe only | its cost multiple |")
    add("|---|---|---|---|---|---|---|---|")
    for metric, label, target in GETNAME:
        rs = paired(data, "getname", metric, "unloaded", "loaded")
        ns = paired(data, "getname", metric, "unloaded", "noop")
        u = med(list(data.get(("getname", metric, "unloaded"), {}).values()))
        lo = med(list(data.get(("getname", metric, "loaded"), {}).values()))
        no = med(list(data.get(("getname", metric, "noop"), {}).values()))
        m = med(rs)
        rows.append((label + " (rate)", 1 / m if m else float("nan"),
                     1 / max(rs, default=m), 1 / min(rs, default=m), 1 / target))
        ok = "yes" if m <= target else "**no**"
        add(f"| {label} | {fmt_rate(u)} | {fmt_rate(lo)} | {m:.2f}x [{min(rs, default=m):.2f}, {max(rs, default=m):.2f}] | <= {target}x | {ok} | {fmt_rate(no)} | {med(ns):.2f}x |")


def lookup_memory(data, add):
    add("")
    sizes = sorted({int(s) for (sec, _, s) in data if sec == "lookup" and s.isdigit() and int(s) > 0})
    base = med(list(data.get(("lookup", "v1_unloaded_enoprotoopt", "0"), {}).values()))
    add("| getsockopt look-up (calls/s, median; ns/call in the guest) | " + " | ".join(f"{s} records" for s in sizes) + " |")
    add("|---|" + "---|" * len(sizes))
    curves = {}
    for v in LOOKUPS:
        vals = [med(list(data.get(("lookup", v, str(s)), {}).values())) for s in sizes]
        curves[v] = [(s, 1e9 / x) for s, x in zip(sizes, vals) if x and not math.isnan(x)]
        add(f"| {v} | " + " | ".join(f"{fmt_rate(x)} ({1e9 / x:.0f} ns)" for x in vals) + " |")
    add(f"| module not loaded (ENOPROTOOPT: syscall + nf_sockopt search) | {fmt_rate(base)} ({1e9 / base:.0f} ns) |" + " |" * (len(sizes) - 1))
    add("")
    mem = {(m, s): d.get("0") for (sec, m, s), d in data.items() if sec == "mem"}
    add("| memory | value |")
    add("|---|---|")
    empty = mem.get(("slab_kb", "empty"))
    before = mem.get(("slab_kb", "before_load"))
    for s in sizes:
        live, slab = mem.get(("records_live", str(s))), mem.get(("slab_kb", str(s)))
        peak = mem.get(("slab_peak_kb", str(s)))
        if live and slab is not None and empty is not None:
            add(f"| {int(live)} records: Slab +{slab - empty:.0f} KiB over the empty table = {(slab - empty) * 1024 / live:.1f} bytes/record; peak Slab while filling +{(peak or slab) - empty:.0f} KiB |")
    if empty is not None and before is not None:
        add(f"| Slab of the loaded, empty module (namespaces lb, rs, init) | +{empty - before:.0f} KiB |")
        mf0, mfe = mem.get(("memfree_kb", "before_load")), mem.get(("memfree_kb", "empty"))
        if mf0 and mfe:
            add(f"| MemFree used by loading (bucket arrays, code) | {mf0 - mfe:.0f} KiB |")
    big = max(sizes) if sizes else None
    if big:
        mf0, mfb = mem.get(("memfree_kb", "empty")), mem.get(("memfree_kb", str(big)))
        live = mem.get(("records_live", str(big)))
        if mf0 and mfb and live:
            add(f"| MemFree drop from empty to {int(live)} records | {mf0 - mfb:.0f} KiB = {(mf0 - mfb) * 1024 / live:.1f} bytes/record |")
    au = mem.get(("slab_kb", "after_unload"))
    if au is not None and before is not None:
        add(f"| Slab after rmmod vs before load | {au - before:+.0f} KiB |")
    for k in ("records_evicted", "records_dropped_at_limit", "records_alloc_failed"):
        if mem.get((k, "end")) is not None:
            add(f"| {k} at the end | {int(mem[(k, 'end')])} |")
    return curves, base


def checks(data, add):
    """The lines that say the runs did what they were meant to."""
    add("")
    for sec in ("udp_plain", "udp_opt1", "udp_optN"):
        for st in ("unloaded", "loaded"):
            d = data.get((sec, "delivered_fraction", st))
            if d:
                add(f"{sec} {st}: fraction of sent datagrams that reached UDP, median {med(list(d.values())):.4f}.")
    for st in ("unloaded", "loaded"):
        for k in ("records_new", "records_evicted", "records_alloc_failed"):
            d = data.get(("udp_optN", k, st))
            if d:
                add(f"udp_optN {k} per loaded run: {', '.join(str(int(v)) for _, v in sorted(d.items()))}.")
    conn_checks(data, add)
    for sec, _, _ in TWO_SENDERS:
        for n in (1, 2):
            for st in ("unloaded", "loaded"):
                d = data.get((sec, f"delivered_fraction{n}", st))
                o = data.get((sec, f"offered_fraction{n}", st))
                if d and o:
                    add(f"{sec} {n} sender(s) {st}: fraction of sent datagrams that reached UDP, median {med(list(d.values())):.4f}; sent of offered (the rest ENOBUFS) {med(list(o.values())):.4f}.")
        d = data.get((sec, "records_new2", "loaded"))
        if d:
            add(f"{sec} records_new per loaded two-sender run: {', '.join(str(int(v)) for _, v in sorted(d.items()))}.")


def per_run(data, sec, metric, state):
    d = data.get((sec, metric, state), {})
    return [int(v) for _, v in sorted(d.items())]


def conn_parts(data, add):
    """Where a connection's cost is: the no-op hooks, and toa_uoa's packet path alone
    (getname=0), each over not loaded in the same rounds, beside the whole module."""
    rows = []
    for sec, label in (("conn_opt", "with the option"), ("conn_plain", "without it")):
        parts = [paired(data, sec, "cps", st, "unloaded") for st in ("hook", "packets_only", "loaded")]
        if not parts[1]:
            continue
        cells = [f"{med(p):.3f} [{min(p):.3f}, {max(p):.3f}]" if p else "-" for p in parts]
        rows.append(f"| TCP connections/s, {label} | {cells[0]} | {cells[1]} | {cells[2]} |")
    if rows:
        add("")
        add("Where a connection's cost is (ratio to not loaded, same rounds): the no-op hooks; toa_uoa with getname=0, its packet path alone (no accept or getname work); toa_uoa.")
        add("")
        add("| measurement | no-op hooks | toa_uoa, packet path only | toa_uoa |")
        add("|---|---|---|---|")
        for r in rows:
            add(r)


def conn_checks(data, add):
    """What the connection-rate runs did besides their rate: the option's records really
    made and answered (loaded), never answered otherwise, and no TIME_WAIT left."""
    for sec in ("conn_opt", "conn_plain"):
        for st in ("unloaded", "loaded", "hook", "packets_only"):
            conns = per_run(data, sec, "conns", st)
            if not conns:
                continue
            ans = per_run(data, sec, "answers_from_option", st)
            tw = per_run(data, sec, "tw_after", st)
            line = f"{sec} {st} per run: connections {', '.join(map(str, conns))}; getpeername answered with the option's client {', '.join(map(str, ans))}; TIME_WAIT sockets after {', '.join(map(str, tw))}"
            expect = conns if (sec == "conn_opt" and st == "loaded") else [0] * len(conns)
            ok = ans == expect and not any(tw)
            if st == "loaded":
                new = per_run(data, sec, "records_new", st)
                rep = per_run(data, sec, "records_replaced", st)
                rw = per_run(data, sec, "getname_rewritten", st)
                tuples = per_run(data, sec, "tuples", st)
                line += f"; distinct tuples {', '.join(map(str, tuples))}; records_new {', '.join(map(str, new))}; records_replaced {', '.join(map(str, rep))}; getname_rewritten {', '.join(map(str, rw))}"
                if sec == "conn_opt":
                    ok = ok and new == tuples and not any(rep) and rw == conns
                else:
                    ok = ok and not any(new) and not any(rep) and not any(rw)
            add(line + (" (as expected)." if ok else " (**not as expected**)."))


def two_senders(data, rows, add):
    """The two-sender table: scaling (two senders over one) not loaded and loaded, and the
    share of it the module keeps, over the rounds the control says the host did not
    disturb."""
    counted = data.get(("smp_round", "counted", "-"), {})
    if not counted:
        return
    good = {r for r, v in counted.items() if v}
    allc = [v for (sec, m, _), d in data.items() if sec == "smp_control" and m.startswith("scaling_")
            for v in d.values()]
    goodc = [v for (sec, m, _), d in data.items() if sec == "smp_control" and m.startswith("scaling_")
             for r, v in d.items() if r in good]
    add("")
    add(f"Two senders at once (second boot: wall clock, multi-threaded TCG, 2 vCPUs). Scaling = pps of two senders / pps of one, same state and round. Rounds counted: {len(good)} of {len(counted)} (those whose control, a register-only loop on 2 CPUs / on 1, was within [1.8, 2.2] before and after both states' runs, and in which no flood stalled).")
    add("")
    add("| two senders (pps) | 1 sender, not loaded / loaded (median) | scaling not loaded: median [min, max] | scaling loaded | kept = loaded / not loaded scaling: median [min, max] | target | met |")
    add("|---|---|---|---|---|---|---|")
    for sec, label, target in TWO_SENDERS:
        g = lambda m, st: data.get((sec, m, st), {})
        rounds = sorted(r for r in g("pps1", "unloaded")
                        if all(r in g(m, st) and g(m, st)[r] > 0
                               for m in ("pps1", "pps2") for st in ("unloaded", "loaded")))
        used = [r for r in rounds if r in good] or rounds
        su = [g("pps2", "unloaded")[r] / g("pps1", "unloaded")[r] for r in used]
        sl = [g("pps2", "loaded")[r] / g("pps1", "loaded")[r] for r in used]
        kept = [a / b for a, b in zip(sl, su)]
        if not kept:
            continue
        m = med(kept)
        verdict = "yes" if m >= target else "**no**"
        if not any(r in good for r in rounds):
            verdict = "not measured (host busy in every round)"
        rows.append((f"2 senders: scaling kept, {'1 tuple' if sec == 'smp_opt1' else 'new tuples'}",
                     m, min(kept), max(kept), target))
        p1u = med([g("pps1", "unloaded")[r] for r in used])
        p1l = med([g("pps1", "loaded")[r] for r in used])
        add(f"| {label} | {fmt_rate(p1u)} / {fmt_rate(p1l)} | {med(su):.2f} [{min(su):.2f}, {max(su):.2f}] | {med(sl):.2f} [{min(sl):.2f}, {max(sl):.2f}] | {m:.3f} [{min(kept):.3f}, {max(kept):.3f}] | >= {target} | {verdict} |")
    if goodc:
        add(f"| control: register-only loop, 2 CPUs / 1, rounds counted | | {med(goodc):.2f} [{min(goodc):.2f}, {max(goodc):.2f}] | | | | |")
    add(f"| control, every round | | {med(allc):.2f} [{min(allc):.2f}, {max(allc):.2f}] | | | | |")


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def svg(rows, curves, base, info):
    W, H = 1000, 470
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>']
    # Left: ratios as horizontal bars, 0.5 .. 1.1, with whiskers and target ticks.
    x0, x1, y0 = 250, 560, 60
    lo, hi = 0.5, 1.1
    sx = lambda v: x0 + (min(max(v, lo), hi) - lo) / (hi - lo) * (x1 - x0)
    o.append(f'<text x="20" y="24" font-size="15" font-weight="bold">toa_uoa: rate with the module loaded / not loaded (same boot)</text>')
    o.append(f'<text x="20" y="42" fill="#555">bar: median of paired rounds; whisker: min-max; red tick: target. TCG guest: only ratios are meaningful.</text>')
    bh = 26
    for i, t in enumerate([0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1]):
        x = sx(t)
        o.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + bh * len(rows) + 4}" stroke="#ddd"/>')
        o.append(f'<text x="{x:.1f}" y="{y0 + bh * len(rows) + 18}" text-anchor="middle">{t:.1f}</text>')
    for i, (label, m, mn, mx, target) in enumerate(rows):
        y = y0 + i * bh + 4
        ok = (m >= target) if not math.isnan(m) else False
        colour = "#4a8" if ok else "#d84"
        if not math.isnan(m):
            o.append(f'<rect x="{x0}" y="{y}" width="{sx(m) - x0:.1f}" height="{bh - 10}" fill="{colour}"/>')
            o.append(f'<line x1="{sx(mn):.1f}" y1="{y + (bh - 10) / 2}" x2="{sx(mx):.1f}" y2="{y + (bh - 10) / 2}" stroke="black"/>')
            o.append(f'<text x="{x1 + 6}" y="{y + 12}">{m:.3f}</text>')
        o.append(f'<line x1="{sx(target):.1f}" y1="{y - 2}" x2="{sx(target):.1f}" y2="{y + bh - 8}" stroke="red" stroke-width="2"/>')
        o.append(f'<text x="{x0 - 6}" y="{y + 12}" text-anchor="end">{esc(label)}</text>')
    o.append(f'<text x="{(x0 + x1) / 2}" y="{y0 + bh * len(rows) + 34}" text-anchor="middle">loaded / not loaded (getname rows: calls/s ratio = 1 / cost multiple)</text>')
    # Right: look-up cost against table size (log x).
    px0, px1, py0, py1 = 680, 960, 80, 380
    o.append(f'<text x="{px0 - 40}" y="{py0 - 20}" font-size="13" font-weight="bold">getsockopt look-up cost vs table size</text>')
    pts = [c for v in curves.values() for c in v]
    if pts:
        sizes = sorted({s for s, _ in pts})
        ymax = max([c for _, c in pts] + [1e9 / base if base and not math.isnan(base) else 0]) * 1.15
        lx = lambda s: px0 + (math.log10(s) - math.log10(sizes[0])) / max(math.log10(sizes[-1]) - math.log10(sizes[0]), 1) * (px1 - px0)
        ly = lambda c: py1 - c / ymax * (py1 - py0)
        o.append(f'<line x1="{px0}" y1="{py1}" x2="{px1}" y2="{py1}" stroke="black"/><line x1="{px0}" y1="{py0}" x2="{px0}" y2="{py1}" stroke="black"/>')
        for k in range(5):
            v = ymax * k / 4
            o.append(f'<text x="{px0 - 4}" y="{ly(v) + 4:.1f}" text-anchor="end">{v / 1000:.1f}</text>')
            o.append(f'<line x1="{px0}" y1="{ly(v):.1f}" x2="{px1}" y2="{ly(v):.1f}" stroke="#eee"/>')
        for s in sizes:
            o.append(f'<text x="{lx(s):.1f}" y="{py1 + 16}" text-anchor="middle">{s if s < 1000 else str(round(s / 1000)) + "k"}</text>')
        o.append(f'<text x="{(px0 + px1) / 2}" y="{py1 + 34}" text-anchor="middle">records in the table (log scale)</text>')
        o.append(f'<text x="{px0 - 40}" y="{(py0 + py1) / 2}" transform="rotate(-90 {px0 - 40} {(py0 + py1) / 2})" text-anchor="middle">µs per call (guest)</text>')
        colours = {"v1": "#1f77b4", "v0": "#2ca02c", "v1miss": "#9467bd", "v0miss": "#8c564b",
                   "v1hot": "#ff7f0e"}
        for j, (v, c) in enumerate(curves.items()):
            if not c:
                continue
            dash = ' stroke-dasharray="5,3"' if "miss" in v else ""
            o.append(f'<polyline fill="none" stroke="{colours[v]}" stroke-width="2"{dash} points="' + " ".join(f"{lx(s):.1f},{ly(y):.1f}" for s, y in c) + '"/>')
            for s, y in c:
                o.append(f'<circle cx="{lx(s):.1f}" cy="{ly(y):.1f}" r="3" fill="{colours[v]}"/>')
            o.append(f'<text x="{px0 + 10 + 70 * j}" y="{py0 - 4}" fill="{colours[v]}">{v}</text>')
        if base and not math.isnan(base):
            yb = ly(1e9 / base)
            o.append(f'<line x1="{px0}" y1="{yb:.1f}" x2="{px1}" y2="{yb:.1f}" stroke="gray" stroke-dasharray="2,2"/>')
            o.append(f'<text x="{px1}" y="{yb - 4:.1f}" text-anchor="end" fill="gray">not loaded (ENOPROTOOPT)</text>')
    foot = f"{info.get('date', '')}  kernel {info.get('kernel', '')}  {info.get('nproc', '')} vCPU {info.get('cpu', '')} (QEMU TCG)  mode {info.get('mode', '')}  git {info.get('git', '')}"
    o.append(f'<text x="20" y="{H - 12}" fill="#555">{esc(foot)}</text>')
    o.append("</svg>")
    return "\n".join(o) + "\n"


def main():
    raw, summary, plot = sys.argv[1:4]
    data, info = load(raw)
    text, rows, curves, base = summarise(data, info)
    open(summary, "w").write(text)
    open(plot, "w").write(svg(rows, curves, base, info))


if __name__ == "__main__":
    main()
