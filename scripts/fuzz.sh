#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz preset, or BUILD_DIR if set) and runs each for the given
# seconds on a scratch copy of its seed corpus (fuzz/corpus/<target>/ is never modified), then
# prints one summary line per target. Exits 1 if any target crashed, leaked, timed out or ran out
# of memory; the reproducer is kept in <build>/fuzz-runs/<target>/artifacts/.
#
# Usage: scripts/fuzz.sh [seconds (default 600)] [target ...]
# Env:   BUILD_DIR  a clang build folder configured like the fuzz preset (default build/fuzz)
#        JOBS       parallel build jobs (default 2)
# Reproduce a crash: <build>/fuzz/<target> <artifact>
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-600}
shift || true
jobs=${JOBS:-2}
all_targets=(kepler_weights_fuzz wattson_model_fuzz csv_fuzz)
[ -f fuzz/catalogue_fuzz.cc ] && all_targets+=(catalogue_fuzz)
[ -f fuzz/estimator_request_fuzz.cc ] && all_targets+=(estimator_request_fuzz)
[ -f fuzz/pickle_fuzz.cc ] && all_targets+=(pickle_fuzz)
[ -f fuzz/kepler_archive_fuzz.cc ] && all_targets+=(kepler_archive_fuzz)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all_targets[@]}"); fi

if [ -n "${BUILD_DIR:-}" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DWATTSON_FUZZ=ON -DWATTSON_BUILD_TESTS=OFF \
    -DWATTSON_BUILD_BENCH=OFF >/dev/null
  build_dir=$BUILD_DIR
else
  cmake --preset fuzz >/dev/null
  build_dir=build/fuzz
fi
cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}"

failed=0
summary=()
for t in "${targets[@]}"; do
  bin=$build_dir/fuzz/$t
  scratch=$build_dir/fuzz-runs/$t
  rm -rf "$scratch"
  mkdir -p "$scratch/corpus" "$scratch/artifacts"
  if [ -d "fuzz/corpus/$t" ]; then cp -R "fuzz/corpus/$t/." "$scratch/corpus/"; fi
  args=(-max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -timeout=25
        -print_final_stats=1 -artifact_prefix="$scratch/artifacts/")
  [ -f "fuzz/dict/$t.dict" ] && args+=(-dict="fuzz/dict/$t.dict")
  echo "== $t: ${seconds}s (log: $scratch/log)"
  rc=0
  "$bin" "${args[@]}" "$scratch/corpus" >"$scratch/log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$scratch/log" | tail -1)
  units=$(find "$scratch/corpus" -type f | wc -l)
  found=$(find "$scratch/artifacts" -type f | wc -l)
  crashed=no
  if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
    crashed="YES (exit $rc; $(find "$scratch/artifacts" -type f -printf '%f ' | head -c 200))"
    failed=1
    grep -m 3 -E "ERROR: |fuzz invariant violated|runtime error" "$scratch/log" || true
  fi
  summary+=("$(printf '%-20s runs=%-10s execs/s=%-8s corpus=%-6s crashes=%s' \
    "$t" "${runs:-?}" "${rate:-?}" "$units" "$crashed")")
done

echo
printf '%s\n' "${summary[@]}"
exit "$failed"
