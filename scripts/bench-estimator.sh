#!/usr/bin/env bash
# Builds the estimator load and soak drivers (release preset, or BUILD_DIR if set) and runs the
# load driver, which prints a Markdown table: p50/p99 latency and throughput for 1, 10, 100 and
# 1000 rows, a linear and a 100-tree gradient-boosting model, 1 and 16 clients, both protocols,
# and the server's RSS with ten models loaded. With --soak MINUTES it runs the soak driver
# instead (16 clients, malformed requests mixed in, every valid reply checked, RSS sampled).
#
# Usage: scripts/bench-estimator.sh [--seconds S] [--quick]
#        scripts/bench-estimator.sh --soak MINUTES [--clients N] [--pause-ms P]
# Env:   BUILD_DIR  an existing or new Release build folder (default: the release preset's)
#        JOBS       parallel build jobs (default 2)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=lib/release-build.sh
. scripts/lib/release-build.sh
release_build wattson_estimator_load wattson_estimator_soak

if [ "${1:-}" = "--soak" ]; then
  minutes=${2:?usage: $0 --soak MINUTES [--clients N] [--pause-ms P]}
  shift 2
  exec "$build_dir/bench/wattson_estimator_soak" --minutes "$minutes" "$@"
fi
exec "$build_dir/bench/wattson_estimator_load" "$@"
