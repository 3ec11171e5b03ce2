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
