// Idle power per zone. An IdleEstimator turns one tick's observation of a zone into that tick's
// idle power, always in [0, observed power], so dynamic = total − idle is never negative.
// ModelIdle takes a calibrated model's prediction at zero usage; RollingIdleEstimator estimates
// idle on metered zones from a sliding window (regression intercept, else a low percentile).
// Neither is thread-safe on its own: the Attributor serialises calls.
//
// RollingIdleEstimator, exactly (docs/attribution.md has the rationale):
//   The window holds the last ticks (power P_i = energy_i / Δt_i, node CPU utilisation u_i when
//   known) whose Δt add up to at most `window` (default 1800 s), and at most `max_samples`.
//   1. Percentile: q = the p-th quantile (default p = 0.05) of {P_i}, linear interpolation between
//      order statistics: sort ascending, h = p·(n−1), q = P_⌊h⌋ + (h−⌊h⌋)·(P_⌊h⌋+1 − P_⌊h⌋).
//   2. Regression over the samples with a known u_i (m of them): ordinary least squares
//      P ≈ a + b·u, b = Σ(u−ū)(P−P̄) / Σ(u−ū)², a = P̄ − b·ū. The fit is used (idle = a) when it is
//      well-conditioned: m ≥ min_samples, the standard deviation of u ≥ min_util_stddev,
//      min u ≤ max_lowest_util (we do not extrapolate from a window that never came near idle),
//      b ≥ 0 and a is finite. Otherwise idle = q.
//   3. Clamp: idle = min(max(idle, 0), P_current).
//   While the window holds fewer than min_samples ticks, idle = q over what there is and the
//   estimate is flagged provisional (IdleMethod::kWarmingUp). It never uses the minimum since start
//   and never (1 − util)·P.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>

#include "attribution/types.h"
#include "common/units.h"

namespace wattson::attribution {

struct IdleObservation {
  Seconds dt{0.0};
  Watts power{0.0};                   // the zone's average power over the tick
  std::optional<double> utilization;  // node CPU utilisation in [0, 1]
  std::optional<Watts> model_idle;    // a calibrated model's idle power, when one is known
};

struct IdleEstimate {
  Watts idle{0.0};
  IdleMethod method = IdleMethod::kWarmingUp;
  bool provisional = true;
};

class IdleEstimator {
 public:
  virtual ~IdleEstimator() = default;
  // Records the observation and returns this tick's idle power, in [0, obs.power].
  virtual IdleEstimate Update(const IdleObservation& obs) = 0;
};

// Idle = the model's zero-usage prediction (obs.model_idle), clamped to [0, obs.power].
// Without a model_idle it returns 0, flagged provisional.
class ModelIdle final : public IdleEstimator {
 public:
  IdleEstimate Update(const IdleObservation& obs) override;
};

struct RollingIdleOptions {
  Seconds window{1800.0};          // sliding window length (sum of tick Δt)
  std::size_t max_samples = 4096;  // memory bound; the oldest ticks go first
  double percentile = 0.05;        // in [0, 1]
  std::size_t min_samples = 20;    // fewer ticks than this: provisional (warming up)
  double min_util_stddev = 0.05;   // spread of utilisation the regression needs
  double max_lowest_util = 0.5;    // the window must contain a tick at or below this utilisation
};

class RollingIdleEstimator final : public IdleEstimator {
 public:
  explicit RollingIdleEstimator(RollingIdleOptions options = {});
  IdleEstimate Update(const IdleObservation& obs) override;

  std::size_t samples() const { return samples_.size(); }
  // The last fit, for tests and diagnostics (nullopt when the last tick used the percentile).
  std::optional<double> last_intercept() const { return last_intercept_; }
  std::optional<double> last_slope() const { return last_slope_; }

 private:
  struct Sample {
    double dt;
    double power;
    std::optional<double> util;
  };
  double Percentile() const;
  bool Fit(double* a, double* b) const;

  RollingIdleOptions options_;
  std::deque<Sample> samples_;
  double span_ = 0.0;  // Σ dt over samples_
  std::optional<double> last_intercept_;
  std::optional<double> last_slope_;
};

}  // namespace wattson::attribution
