#!/usr/bin/env bash
# Times `wattson train` on the full Kepler set (10 trainers × every feature group × both energy
# sources × both output types) of the nx12 data set and prints a Markdown table: protocol,
# threads, jobs, models, wall time and peak memory (the program's own getrusage ru_maxrss, so
# nothing beyond bash and cmake is needed).
#
# Usage: scripts/bench-train.sh [extra wattson train flags, e.g. --trainers gbr,knn]
# Env:   BUILD_DIR  an existing or new Release build folder (default: the release preset's)
#        JOBS       parallel build jobs (default 2)
#        DATA       training CSV (default: the nx12 merged table)
#        CONFIGS    space-separated "protocol:threads" runs (default below); protocol "none"
#                   times the final fits alone
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
data=${DATA:-testdata/kepler-model-db/nx12_v0.6/nx12_merged_abs.csv}
configs=${CONFIGS:-"none:1 none:2 blocked:2 kepler:2"}

# shellcheck source=lib/release-build.sh
. scripts/lib/release-build.sh
release_build wattson
bin=$build_dir/wattson

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wattson-bench-train.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

rows=$(($(wc -l <"$data") - 1))
echo
echo "Data: $data ($rows rows); $(nproc) CPUs; $(uname -m); $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo
echo "| protocol | threads | jobs | models | wall s | peak MiB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for cfg in $configs; do
  protocol=${cfg%%:*}
  threads=${cfg##*:}
  extra=()
  case "$protocol" in
    kepler) extra=(--seeds 20) ;;
    blocked) extra=(--folds 10) ;;
  esac
  out="$tmp/db-$protocol-$threads"
  log="$tmp/log-$protocol-$threads"
  if ! "$bin" train --data "$data" --protocol "$protocol" --threads "$threads" "${extra[@]}" \
    --out "$out" --no-progress "$@" >"$log" 2>&1; then
    echo "| $protocol | $threads | error: $(tail -n 1 "$log") | | | |"
    continue
  fi
  # Last line: "<jobs> jobs (<failed> failed) in <s> s wall time, peak memory <MiB> MiB"
  summary=$(grep -E '^[0-9]+ jobs \(' "$log" | tail -n 1)
  models=$(grep -oE 'wrote [0-9]+ models' "$log" | grep -oE '[0-9]+' || echo 0)
  echo "$summary" | awk -v p="$protocol" -v t="$threads" -v m="$models" '{
    jobs = $1; wall = $6; mem = $(NF - 1)
    printf("| %s | %s | %s | %s | %s | %s |\n", p, t, jobs, m, wall, mem)
  }'
  rm -rf "$out"
done
