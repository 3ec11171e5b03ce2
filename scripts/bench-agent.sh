#!/usr/bin/env bash
# Builds the agent tick benchmark (release preset, or BUILD_DIR if set) and runs it once per host
# size (100, 1 000, 10 000 processes) and host kind (on disk, in memory), each in its own process
# so that its resident memory is its own, then prints a Markdown table: median CPU time per tick
# over REPETITIONS (default 5) runs, RSS and peak RSS of the benchmark process (the agent plus
# the benchmark's small harness) with the host tree on disk.
# Then the agent on this machine's real /proc (100 and 1 000 added processes, a third running
# before each tick) with CPU time from /proc/<pid>/stat and from eBPF, and what the eBPF program
# adds to a context switch (a pipe round trip between two processes); the eBPF rows say "skipped"
# where the program cannot be loaded (not root, no kernel BTF).
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

# Each size twice: the host tree on disk (RootedHostFs: every read a system call) and in memory
# (FakeHostFs: the agent's own work). Median of the repetitions.
for n in 100 1000 10000; do
  for m in 0 1; do
    "$bin" --benchmark_filter="BM_AgentTick/${n}/${m}\$" --benchmark_out="$tmp/$n-$m.csv" \
      --benchmark_out_format=csv --benchmark_repetitions="${REPETITIONS:-5}" \
      --benchmark_report_aggregates_only=true "$@"
  done
done

# CSV: name,iterations,real_time,cpu_time,time_unit,...,error_occurred,error_message,<counters>
# A missing file or a skipped run (an error row, no median) prints "skipped".
row() {
  [ -s "$1" ] || { echo "skipped||"; return; }
  awk -F, -v field="${2:-cpu_time}" '
    /^name,/ { for (i = 1; i <= NF; i++) { h = $i; gsub(/"/, "", h); col[h] = i }; header = 1; next }
    header && $col["error_occurred"] == "true" { print "skipped||"; found = 1; exit }
    header && $1 ~ /_median/ {
      printf("%.2f|%.1f|%.1f\n", $col[field], $col["rss_mb"], $col["peak_rss_mb"]); found = 1; exit
    }
    END { if (!found) print "skipped||" }' "$1"
}
# The real host: the agent (procfs, ebpf) and the pipe round trip (without, with the program).
for n in 100 1000; do
  for m in 0 1; do
    "$bin" --benchmark_filter="BM_AgentTickRealHost/${n}/${m}\$" \
      --benchmark_out="$tmp/real-$n-$m.csv" --benchmark_out_format=csv \
      --benchmark_repetitions="${REPETITIONS:-5}" --benchmark_report_aggregates_only=true "$@" ||
      true
  done
done
for m in 0 1; do
  "$bin" --benchmark_filter="BM_PipeRoundTrip/${m}/" --benchmark_out="$tmp/pipe-$m.csv" \
    --benchmark_out_format=csv --benchmark_repetitions="${REPETITIONS:-5}" \
    --benchmark_report_aggregates_only=true "$@" || true
done

echo
echo "| processes | CPU ms/tick, host on disk | CPU ms/tick, host in memory | RSS MB (disk) | peak RSS MB (disk) |"
echo "| ---: | ---: | ---: | ---: | ---: |"
for n in 100 1000 10000; do
  IFS='|' read -r disk_cpu disk_rss disk_peak <<<"$(row "$tmp/$n-0.csv")"
  IFS='|' read -r mem_cpu _ _ <<<"$(row "$tmp/$n-1.csv")"
  echo "| $n | $disk_cpu | $mem_cpu | $disk_rss | $disk_peak |"
done
echo
echo "This machine's /proc (the agent on its own host; processes = added + the machine's own):"
echo
echo "| processes added | CPU ms/tick, /proc/<pid>/stat | CPU ms/tick, eBPF | RSS MB, eBPF |"
echo "| ---: | ---: | ---: | ---: |"
for n in 100 1000; do
  IFS='|' read -r procfs_cpu _ _ <<<"$(row "$tmp/real-$n-0.csv")"
  IFS='|' read -r ebpf_cpu ebpf_rss _ <<<"$(row "$tmp/real-$n-1.csv")"
  echo "| $n | $procfs_cpu | $ebpf_cpu | $ebpf_rss |"
done
IFS='|' read -r without _ _ <<<"$(row "$tmp/pipe-0.csv" real_time)"
IFS='|' read -r with _ _ <<<"$(row "$tmp/pipe-1.csv" real_time)"
echo
echo "Pipe round trip between two processes, us (median): without the eBPF program $without," \
  "with it $with."
