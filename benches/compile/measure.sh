#!/usr/bin/env bash
# Compile time of routed functions against the same functions on plain diesel-async.
#
# Two programs of the same 32 functions (`gen/generate.py`): `routed` (diesel-route) and
# `plain` (diesel-async alone). With every dependency built, RUNS rounds, alternating the
# two programs, time:
#   build  `cargo build` of the program, its own artifacts removed first;
#   check  `cargo check` of the program after touching one of its four query files.
# Prints every time and, per measure, the median of each program and their ratio.
#
#   benches/compile/measure.sh [RUNS]    # RUNS defaults to 5
set -euo pipefail

runs=${1:-5}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
package=diesel-route-compile-bench

seconds() {
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Dependencies built, both programs compiled once (build and check).
cargo build -p "$package" --bins >/dev/null 2>&1
cargo check -p "$package" --bins >/dev/null 2>&1

results=$(mktemp)
for run in $(seq "$runs"); do
    for program in routed plain; do
        cargo clean -p "$package" >/dev/null 2>&1
        build=$(seconds cargo build -p "$package" --bin "$program")
        cargo check -p "$package" --bin "$program" >/dev/null 2>&1
        touch "benches/compile/src/bin/$program/posts.rs"
        check=$(seconds cargo check -p "$package" --bin "$program")
        echo "$run $program build $build" | tee -a "$results"
        echo "$run $program check $check" | tee -a "$results"
    done
done

echo
printf '%-6s %10s %10s %7s\n' measure routed plain ratio
for measure in build check; do
    routed=$(awk -v m="$measure" '$2 == "routed" && $3 == m { print $4 }' "$results" | median)
    plain=$(awk -v m="$measure" '$2 == "plain" && $3 == m { print $4 }' "$results" | median)
    printf '%-6s %9.2fs %9.2fs %7.3f\n' "$measure" "$routed" "$plain" "$(echo "$routed / $plain" | bc -l)"
done
rm -f "$results"
