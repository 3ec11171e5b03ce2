#!/usr/bin/env bash
# Builds the agent tick benchmark (release preset, or BUILD_DIR if set) and runs it once per host
# size (100, 1 000, 10 000 processes), each in its own process so that its resident memory is its
# own, then prints a Markdown table: CPU time per tick, wall time per tick, RSS and peak RSS of the
# benchmark process (the agent plus the benchmark's small harness; the host tree is on disk).
#
# Usage: scripts/bench-agent.sh [benchmark flags, e.g. --benchmark_min_time=2]
# Env:   BUILD_DIR  an existing or new Release build folder (default: the release preset's)
#        JOBS       parallel build jobs (default 2)
# Target (issue 5): <= 5 ms CPU per tick at 1 000 processes, RSS <= 30 MB.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=lib/release-build.sh
. scripts/lib/release-build.sh
release_build wattson_agent_tick_bench

bin=$build_dir/bench/wattson_agent_tick_bench
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wattson-agent-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for n in 100 1000 10000; do
  "$bin" --benchmark_filter="BM_AgentTick/${n}\$" --benchmark_out="$tmp/$n.csv" \
    --benchmark_out_format=csv "$@"
done

echo
echo "| processes | CPU ms/tick | wall ms/tick | RSS MB | peak RSS MB |"
echo "| ---: | ---: | ---: | ---: | ---: |"
for n in 100 1000 10000; do
  # CSV: name,iterations,real_time,cpu_time,time_unit,...,error_occurred,error_message,<counters>
  awk -F, -v n="$n" '
    /^name,/ { for (i = 1; i <= NF; i++) { h = $i; gsub(/"/, "", h); col[h] = i }; header = 1; next }
    header && $1 ~ /BM_AgentTick/ {
      if ($col["error_occurred"] == "true") { printf("| %s | error: %s | | | |\n", n, $col["error_message"]); next }
      printf("| %s | %.2f | %.2f | %.1f | %.1f |\n", n, $col["cpu_time"], $col["real_time"],
             $col["rss_mb"], $col["peak_rss_mb"])
    }' "$tmp/$n.csv"
done
