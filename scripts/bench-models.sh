#!/usr/bin/env bash
# Builds the model benchmark (release preset, or BUILD_DIR if set) and runs it, printing Google
# Benchmark's console table and then a Markdown summary: family × rows → rows/s, ns/row.
#
# Usage: scripts/bench-models.sh [benchmark flags, e.g. --benchmark_filter=knn --benchmark_repetitions=3]
# Env:   BUILD_DIR  an existing or new Release build folder (default: the release preset's)
#        JOBS       parallel build jobs (default 2)
# Needs only bash, cmake, ninja and awk.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=lib/release-build.sh
. scripts/lib/release-build.sh
run_benchmark_csv wattson_model_bench "$@"

echo
echo "| family | rows | rows/s | ns/row |"
echo "| --- | ---: | ---: | ---: |"
# CSV columns: name,iterations,real_time,cpu_time,time_unit,bytes_per_second,items_per_second,...
# name is "predict/<family>/<rows>" (plus "_mean" etc. with repetitions).
awk -F, -f scripts/lib/human.awk -f /dev/stdin "$csv" <<'AWK'
  /^name,/ { header = 1; next }
  header && NF >= 7 {
    name = $1; gsub(/"/, "", name)
    n = split(name, part, "/")
    if (n < 3 || part[1] != "predict") next
    if ($7 == "" || $7 + 0 <= 0) { printf("| %s | %s | error | error |\n", part[2], part[3]); next }
    printf("| %s | %s | %s | %.1f |\n", part[2], part[3], human($7 + 0), 1e9 / ($7 + 0))
  }
AWK
