#!/usr/bin/env bash
# Sets up and runs wattson: installs the Debian build dependencies, builds the release preset and
# runs `wattson` with the given arguments. Usage: scripts/run.sh [wattson arguments]
#
# Without arguments it starts the node agent, `wattson agent --process-metrics` (docs/agent.md):
# measured power where the host has a meter (RAPL, hwmon/ACPI, NVML), the embedded default model
# where it has none, on http://0.0.0.0:9102/metrics (Prometheus), /healthz, /api/v1/snapshot and / (web page); stop it
# with Ctrl-C. Any subcommand can be given instead, e.g.
#   scripts/run.sh agent --listen 127.0.0.1:9102 --log-level info
#   scripts/run.sh predict --model testdata/kepler-v0.7.11/model_weight/acpi_AbsPowerModel.json --input rows.csv
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs" --target wattson

if [ $# -eq 0 ]; then
  set -- agent --process-metrics --log-level info
fi
exec ./build/release/wattson "$@"
