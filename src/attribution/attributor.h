// Attributor: one tick of node energy → idle and dynamic per zone → dynamic split over workloads
// by usage share. Promises, per zone and tick: 0 <= idle <= total, dynamic = total − idle, and
// Σ workloads + unattributed == dynamic (Σ apportioned idle + unapportioned == idle) to float
// rounding; every value finite and >= 0. Pure apart from the idle estimators' rolling windows;
// Tick() may be called from any thread (calls are serialised).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>

#include "attribution/idle.h"
#include "attribution/types.h"
#include "common/status.h"

namespace wattson::attribution {

struct AttributorOptions {
  RollingIdleOptions rolling;
  IdleApportioning idle_apportioning = IdleApportioning::kNone;
  // Split package/core/uncore by instructions and dram by cache misses when every active
  // workload has the counter; otherwise (or when false) by CPU time.
  bool use_hardware_counters = true;
  // Add an "other" zone = platform − (package + dram + gpu), as Kepler's node "other", when the
  // tick has a platform zone and no "other" of its own.
  bool derive_other = true;
  // Logical CPUs of the node; with it, a tick without node_cpu_utilization gets
  // utilisation = Σ workload cpu_time / (Δt · cpu_count).
  double cpu_count = 0.0;
  std::size_t max_zones = 256;  // zones beyond this are dropped with a warning
};

class Attributor {
 public:
  explicit Attributor(AttributorOptions options = {});

  // Splits one tick. Fails (InvalidArgument) only when Δt is not a finite positive number;
  // malformed zones (NaN or negative energy, empty name, duplicates) and usage values are
  // repaired or dropped and listed in TickResult::warnings.
  Result<TickResult> Tick(const TickInput& input);
  // The same, moving the workload keys into the result instead of copying them.
  Result<TickResult> Tick(TickInput&& input);

  const AttributorOptions& options() const { return options_; }

 private:
  struct ZoneState {
    bool model = false;
    std::unique_ptr<IdleEstimator> estimator;
  };
  // Tick without TickResult::workloads (the callers fill it).
  Result<TickResult> Split(const TickInput& input);
  IdleEstimate EstimateIdle(const ZoneEnergy& zone, Seconds dt, std::optional<double> util);

  AttributorOptions options_;
  std::mutex mu_;
  std::map<ZoneId, ZoneState> zones_;
};

}  // namespace wattson::attribution
