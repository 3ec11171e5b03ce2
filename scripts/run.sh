#!/usr/bin/env bash
# Sets up and runs wattson: installs the Debian build dependencies, builds the release preset and
# runs `wattson` with the given arguments. Usage: scripts/run.sh [wattson arguments]
#
# The node agent (`wattson agent`, the main job) is not built yet; until it is, running this script
# without arguments builds wattson and prints its help. Any subcommand can be given, e.g.
#   scripts/run.sh predict --model testdata/kepler-v0.7.11/model_weight/acpi_AbsPowerModel.json --input rows.csv
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs" --target wattson

if [ $# -eq 0 ]; then
  set -- --help
fi
exec ./build/release/wattson "$@"
