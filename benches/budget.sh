#!/usr/bin/env bash
# The instruction budget: counts the client's instructions per call of each case in
# benches/budget.tsv, plain and routed, under valgrind's callgrind (deterministic to a few
# hundred instructions, where times on a shared machine are not), prints the table, and
# fails when a routed / plain ratio is over its budget.
#
#     benches/budget.sh            (BUDGET_CALLS calls per case and side, default 2000)
#
# Needs valgrind and python3; builds the overhead bench in release mode first.
set -euo pipefail
cd "$(dirname "$0")/.."

calls=${BUDGET_CALLS:-2000}
out=${BENCH_OUT:-target/bench-results}/budget
mkdir -p "$out"

overhead=$(cargo bench -p diesel-route-benches --bench overhead --no-run --message-format=json \
    | python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message["target"]["name"] == "overhead":
        executable = message.get("executable")
print(executable)')

: >"$out/instructions.tsv"
grep -v '^#' benches/budget.tsv | while IFS=$'\t' read -r case budget target; do
    for side in plain routed; do
        valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured_calls*' \
            --callgrind-out-file="$out/callgrind.$case.$side" \
            "$overhead" count "$case" "$side" "$calls" >/dev/null 2>"$out/callgrind.$case.$side.log" \
            || { cat "$out/callgrind.$case.$side.log" >&2; exit 1; }
        total=$(grep -m1 '^totals:' "$out/callgrind.$case.$side" | awk '{print $2}')
        printf '%s\t%s\t%s\t%s\t%s\n' "$case" "$side" "$((total / calls))" "$budget" "$target" \
            >>"$out/instructions.tsv"
    done
done

python3 - "$out/instructions.tsv" <<'PY'
import sys

rows = {}
for line in open(sys.argv[1]):
    case, side, per_call, budget, target = line.rstrip("\n").split("\t")
    rows.setdefault(case, {"budget": float(budget), "target": float(target)})[side] = int(per_call)

print("| case | plain | routed | routed / plain | budget | target | |")
print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
over = []
for case, row in rows.items():
    ratio = row["routed"] / row["plain"]
    verdict = "over budget" if ratio > row["budget"] else ("at target" if ratio <= row["target"] else "within budget")
    if ratio > row["budget"]:
        over.append(case)
    print(f"| {case} | {row['plain']:,} | {row['routed']:,} | {ratio:.3f} | {row['budget']:.2f} | {row['target']:.2f} | {verdict} |".replace(",", " "))
if over:
    print(f"\ninstruction budget exceeded: {', '.join(over)}", file=sys.stderr)
    sys.exit(1)
PY
