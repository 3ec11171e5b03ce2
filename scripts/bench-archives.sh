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
release_build wattson_archive_bench

bin=$build_dir/bench/wattson_archive_bench
csv=$(mktemp "${TMPDIR:-/tmp}/wattson-archive-bench.XXXXXX.csv")
trap 'rm -f "$csv"' EXIT

"$bin" --benchmark_out="$csv" --benchmark_out_format=csv "$@"

echo
echo "| archive | zip KB | wattson KB | load zip ms | load wattson ms | predict zip rows/s | predict wattson rows/s |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
awk -F, '
  function human(x) {
    if (x >= 1e9) return sprintf("%.2f G", x / 1e9)
    if (x >= 1e6) return sprintf("%.2f M", x / 1e6)
    if (x >= 1e3) return sprintf("%.1f k", x / 1e3)
    return sprintf("%.1f", x)
  }
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
' "$csv"
