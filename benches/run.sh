#!/usr/bin/env bash
# Reproduces the figures of BENCHMARKS.md:
#
#     benches/run.sh [RUNS]        (default 3; RUNS >= 3 for min / median / max)
#
# Every bench process is pinned with `taskset` to one core (BENCH_CORE, default 1), and the
# PostgreSQL server each bench starts (the test harness's, on a free loopback port) inherits
# that affinity, so client and server share the core. Set BENCH_POSTGRES_URL to use a server
# of your own instead (then pin it yourself: `taskset -a -p -c CORE POSTMASTER_PID`, before
# the bench opens its connections, since backends inherit the postmaster's affinity).
#
# Writes to target/bench-results/ (BENCH_OUT): each run's criterion medians and paired
# table, the contention table, the callgrind counts, and summary.md with every ratio's
# min / median / max over the runs. Needs jq, python3 and valgrind (the last only for the
# instruction counts; skipped when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-3}
core=${BENCH_CORE:-1}
out=${BENCH_OUT:-target/bench-results}
calls=${BENCH_COUNT_CALLS:-5000}
pin=(taskset -c "$core")
mkdir -p "$out"
rm -f "$out"/criterion-run*.tsv "$out"/paired-run*.md

cargo bench -p diesel-route-benches --no-run --message-format=json >"$out/build.json"
overhead=$(jq -r 'select(.reason == "compiler-artifact" and .target.name == "overhead")
                  | .executable' "$out/build.json" | tail -n 1)

{
    echo "date: $(date -u +%FT%TZ)"
    if git rev-parse --git-dir >/dev/null 2>&1; then
        echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- runtime macros || echo ' (runtime/macros modified)')"
    else
        echo "commit: ${BENCH_COMMIT:-unknown} (not a git checkout)"
    fi
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc --all) cores, pinned to core $core"
    echo "kernel: $(uname -r)"
    echo "rustc: $(rustc --version)"
    echo "postgres: $(ls /usr/lib/postgresql 2>/dev/null | tr '\n' ' ')"
    echo "crates: $(cargo tree -p diesel-route-benches -e normal --depth 1 --prefix none 2>/dev/null \
        | grep -E '^(diesel|diesel-async|deadpool|bb8|tokio|criterion) ' | sort -u | tr '\n' ' ')"
} >"$out/machine.txt"
cat "$out/machine.txt"

# The median of one criterion benchmark's samples, in nanoseconds.
median() {
    jq -r '.median.point_estimate' "target/criterion/$1/new/estimates.json"
}

for run in $(seq 1 "$runs"); do
    echo "== run $run of $runs"
    for bench in postgres sqlite pool selection; do
        "${pin[@]}" cargo bench -q -p diesel-route-benches --bench "$bench" >>"$out/criterion.log" 2>&1
    done
    for id in postgres_read/plain postgres_read/routed postgres_write/plain postgres_write/routed \
        postgres_liveness/plain_no_check postgres_liveness/plain_verified \
        postgres_liveness/routed_ping_every_checkout postgres_liveness/routed_bypass_window \
        sqlite_read/plain sqlite_read/routed sqlite_write/plain sqlite_write/routed \
        pool_step/deadpool pool_step/bb8 pool_step/deadpool_timeouts pool_step/routed \
        selection/0_replicas selection/2_replicas selection/8_replicas; do
        printf '%s\t%s\n' "$id" "$(median "$id")"
    done >"$out/criterion-run$run.tsv"
    "${pin[@]}" "$overhead" paired >"$out/paired-run$run.md" 2>>"$out/criterion.log"
done

echo "== contention"
BENCH_ROUNDS=$runs "${pin[@]}" cargo bench -q -p diesel-route-benches --bench contention \
    >"$out/contention.md" 2>>"$out/criterion.log"
cat "$out/contention.md"

: >"$out/instructions.tsv"
if command -v valgrind >/dev/null; then
    echo "== instructions (callgrind, $calls calls per case and side)"
    for case in pool_step pg_read pg_write sqlite_read; do
        for side in plain routed; do
            "${pin[@]}" valgrind --tool=callgrind --collect-atstart=no \
                --toggle-collect='*measured_calls*' \
                --callgrind-out-file="$out/callgrind.$case.$side" \
                "$overhead" count "$case" "$side" "$calls" >/dev/null 2>"$out/callgrind.$case.$side.log"
            total=$(grep -m1 '^totals:' "$out/callgrind.$case.$side" | awk '{print $2}')
            printf '%s\t%s\t%s\n' "$case" "$side" "$((total / calls))" >>"$out/instructions.tsv"
        done
    done
fi

python3 benches/summarize.py "$out" | tee "$out/summary.md"
