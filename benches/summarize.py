#!/usr/bin/env python3
"""Summarizes the output of benches/run.sh: every ratio's min / median / max over the runs.

    python3 benches/summarize.py target/bench-results
"""

import glob
import os
import statistics
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "target/bench-results"


def spread(values):
    return min(values), statistics.median(values), max(values)


def criterion_runs():
    runs = []
    for path in sorted(glob.glob(os.path.join(out, "criterion-run*.tsv"))):
        with open(path) as f:
            runs.append({k: float(v) for k, v in (line.split("\t") for line in f.read().split("\n") if line)})
    return runs


def fmt_time(ns):
    return f"{ns:.1f} ns" if ns < 1000 else f"{ns / 1000:.2f} µs"


RATIOS = [
    ("PostgreSQL read (checkout + `SELECT 1` + return)", "postgres_read/routed", "postgres_read/plain", "≤ 1.01"),
    ("PostgreSQL write (checkout + `UPDATE` of one row + return)", "postgres_write/routed", "postgres_write/plain", "≤ 1.01"),
    ("SQLite read", "sqlite_read/routed", "sqlite_read/plain", "≤ 1.01"),
    ("SQLite write", "sqlite_write/routed", "sqlite_write/plain", "≤ 1.01"),
    ("Bypass window (routed, default `ping_after`) / no check (plain `Fast`)", "postgres_liveness/routed_bypass_window", "postgres_liveness/plain_no_check", "≤ 1.02"),
    ("Check every checkout: routed `ping_after(0)` / plain `Verified`", "postgres_liveness/routed_ping_every_checkout", "postgres_liveness/plain_verified", "≤ 1.01"),
    ("Plain `Verified` / plain `Fast` (what a check costs)", "postgres_liveness/plain_verified", "postgres_liveness/plain_no_check", "-"),
    ("Pool step: routed checkout + return / plain deadpool", "pool_step/routed", "pool_step/deadpool", "-"),
    ("Pool step: plain deadpool with diesel-route's timeouts / without", "pool_step/deadpool_timeouts", "pool_step/deadpool", "-"),
    ("Pool step: bb8 / deadpool", "pool_step/bb8", "pool_step/deadpool", "-"),
]

ABSOLUTE = [
    ("Selection, 0 replicas", "selection/0_replicas", "≤ 10 ns"),
    ("Selection, 2 replicas", "selection/2_replicas", "≤ 10 ns"),
    ("Selection, 8 replicas", "selection/8_replicas", "≤ 10 ns"),
    ("Pool step, plain deadpool", "pool_step/deadpool", "-"),
    ("Pool step, plain bb8", "pool_step/bb8", "-"),
    ("Pool step, plain deadpool with timeouts", "pool_step/deadpool_timeouts", "-"),
    ("Pool step, routed (deadpool)", "pool_step/routed", "-"),
    ("PostgreSQL read, plain", "postgres_read/plain", "-"),
    ("PostgreSQL write, plain", "postgres_write/plain", "-"),
    ("SQLite read, plain", "sqlite_read/plain", "-"),
    ("SQLite write, plain", "sqlite_write/plain", "-"),
]

runs = criterion_runs()
if runs:
    print(f"## Criterion: ratio of medians, per run, over {len(runs)} runs\n")
    print("| comparison | min | median | max | target |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, num, den, target in RATIOS:
        lo, mid, hi = spread([r[num] / r[den] for r in runs])
        print(f"| {name} | {lo:.3f} | {mid:.3f} | {hi:.3f} | {target} |")
    print(f"\n## Criterion: absolute medians over {len(runs)} runs\n")
    print("| bench | min | median | max | target |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, key, target in ABSOLUTE:
        lo, mid, hi = spread([r[key] for r in runs])
        print(f"| {name} | {fmt_time(lo)} | {fmt_time(mid)} | {fmt_time(hi)} | {target} |")

paired = {}
for path in sorted(glob.glob(os.path.join(out, "paired-run*.md"))):
    with open(path) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 7 and not cells[0].startswith(("case", "---")):
                diff = float(cells[3].replace(" ns", "").replace("+", ""))
                paired.setdefault(cells[0], []).append((float(cells[5]), diff))
if paired:
    count = len(next(iter(paired.values())))
    print(f"\n## Paired (alternating blocks): median ratio of each run, over {count} runs\n")
    print("| case | min | median | max | routed - plain per call (median run) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for case, values in paired.items():
        lo, mid, hi = spread([ratio for ratio, _ in values])
        diff = statistics.median([d for _, d in values])
        print(f"| {case} | {lo:.4f} | {mid:.4f} | {hi:.4f} | {diff:+.0f} ns |")

path = os.path.join(out, "instructions.tsv")
if os.path.exists(path) and os.path.getsize(path):
    counts = {}
    with open(path) as f:
        for line in f:
            case, side, per_call = line.split()
            counts.setdefault(case, {})[side] = int(per_call)
    print("\n## Instructions per call in the client (callgrind, deterministic)\n")
    print("| case | plain | routed | routed - plain | routed / plain |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for case, sides in counts.items():
        plain, routed = sides.get("plain"), sides.get("routed")
        if plain and routed:
            print(f"| {case} | {plain} | {routed} | {routed - plain:+d} | {routed / plain:.3f} |")
