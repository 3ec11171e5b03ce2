#!/usr/bin/env bash
# Sets up and runs wattson's whole test suite: installs the Debian build dependencies, checks
# formatting, builds the debug preset (AddressSanitizer + UndefinedBehaviorSanitizer) and runs
# every test with ctest. Usage: scripts/test.sh [extra ctest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
./scripts/check-format.sh

jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset debug
cmake --build --preset debug -j "$jobs"
ctest --preset debug -j "$jobs" "$@"
