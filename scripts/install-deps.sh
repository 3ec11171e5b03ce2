#!/usr/bin/env bash
# Installs wattson's Debian 12 build and test dependencies. Idempotent and non-interactive:
# packages already present are left alone, so a second run is a fast no-op.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates
  clang libclang-rt-14-dev llvm clang-format
  # libraries (ARCHITECTURE.md, "Dependencies")
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libeigen3-dev libsvm-dev libnanoflann-dev libxgboost-dev libssl-dev
  libcpp-httplib-dev  # estimator: INIT_URL and model-server fetches, /metrics endpoint
  libyaml-cpp-dev     # agent: YAML --config files
  libzip-dev          # models: Kepler model archives (zip)
  libbpf-dev          # agent: loads its eBPF on-CPU time program (compiled by clang)
  # tests, benchmarks, coverage
  libgtest-dev libgmock-dev libbenchmark-dev gcovr
  prometheus chromium  # integration tests: a real Prometheus scrapes the agent; headless web page
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
