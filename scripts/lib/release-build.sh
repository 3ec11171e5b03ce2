# Sourced by the bench scripts: release_build TARGET... configures a Release build (the release
# preset's folder, or BUILD_DIR if set), builds the targets with JOBS (default 2) jobs, and sets
# build_dir. Run from the repository root.
release_build() {
  local jobs=${JOBS:-2}
  if [ -n "${BUILD_DIR:-}" ]; then
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" -DWATTSON_BUILD_BENCH=ON >/dev/null
    build_dir=$BUILD_DIR
  else
    cmake --preset release >/dev/null
    build_dir=build/release
  fi
  cmake --build "$build_dir" --target "$@" -j "$jobs"
}

# run_benchmark_csv TARGET [benchmark flags...]: builds TARGET (as above), runs
# $build_dir/bench/TARGET with its Google Benchmark console table on stdout, and leaves the CSV
# results in $csv (removed when the script exits).
run_benchmark_csv() {
  local target=$1
  shift
  release_build "$target"
  csv=$(mktemp "${TMPDIR:-/tmp}/wattson-bench.XXXXXX.csv")
  trap 'rm -f "$csv"' EXIT
  "$build_dir/bench/$target" --benchmark_out="$csv" --benchmark_out_format=csv "$@"
}
