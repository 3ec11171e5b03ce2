#!/usr/bin/env bash
# Builds the Kepler-archive benchmark (release preset, or BUILD_DIR if set) and runs it, printing
# Google Benchmark's console table and then a Markdown table per sample archive: file sizes, load
# time and prediction throughput (1 000 rows) of the archive next to the same model converted to
# the wattson format. Times are CPU time (the benchmark is single-threaded), so a busy machine
# does not inflate them.
#
# Usage: scripts/bench-archives.sh [benchmark flags, e.g. --benchmark_filter=SVR]
# Env:   BUILD_DIR  an existing or new Release build folder (default: the release preset's)
#        JOBS       parallel build jobs (default 2)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=lib/release-build.sh
. scripts/lib/release-build.sh
run_benchmark_csv wattson_archive_bench "$@"

echo
echo "| archive | zip KB | wattson KB | load zip ms | load wattson ms | predict zip rows/s | predict wattson rows/s |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
awk -F, -f scripts/lib/human.awk -f /dev/stdin "$csv" <<'AWK'
  /^name,/ { for (i = 1; i <= NF; i++) { h = $i; gsub(/"/, "", h); col[h] = i }; header = 1; next }
  header {
    name = $1; gsub(/"/, "", name)
    n = split(name, part, "/")
    if (n < 3) next
    key = part[3]
    if (!(key in seen)) { seen[key] = 1; order[++count] = key }
    if (part[1] == "load") {
      ms[part[2], key] = $col["cpu_time"]
      kb[part[2], key] = $col["file_kb"]
    } else if (part[1] == "predict") {
      rate[part[2], key] = $col["items_per_second"]
    }
  }
  END {
    for (i = 1; i <= count; i++) {
      k = order[i]
      printf("| %s | %.1f | %.1f | %.3f | %.3f | %s | %s |\n", k, kb["archive", k], kb["wattson", k],
             ms["archive", k], ms["wattson", k], human(rate["archive", k] + 0),
             human(rate["wattson", k] + 0))
    }
  }
AWK
