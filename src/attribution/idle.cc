#include "attribution/idle.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace wattson::attribution {
namespace {

double Clamp(double idle, double power) {
  if (!std::isfinite(idle) || idle < 0.0 || !std::isfinite(power) || power <= 0.0) return 0.0;
  return std::min(idle, power);
}

}  // namespace

IdleEstimate ModelIdle::Update(const IdleObservation& obs) {
  if (!obs.model_idle.has_value()) return {Watts(0.0), IdleMethod::kModel, true};
  return {Watts(Clamp(obs.model_idle->value(), obs.power.value())), IdleMethod::kModel, false};
}

RollingIdleEstimator::RollingIdleEstimator(RollingIdleOptions options) : options_(options) {
  options_.percentile = std::clamp(options_.percentile, 0.0, 1.0);
  if (options_.max_samples == 0) options_.max_samples = 1;
  if (options_.min_samples < 3) options_.min_samples = 3;  // a line needs more than two points
}

IdleEstimate RollingIdleEstimator::Update(const IdleObservation& obs) {
  const double power = obs.power.value();
  const double dt = obs.dt.value();
  std::optional<double> util;
  if (obs.utilization.has_value() && std::isfinite(*obs.utilization)) {
    util = std::clamp(*obs.utilization, 0.0, 1.0);
  }
  if (std::isfinite(power) && power >= 0.0 && std::isfinite(dt) && dt > 0.0) {
    samples_.push_back({dt, power, util});
    span_ += dt;
  }
  // Drop the oldest ticks while the rest still cover the window, and beyond the sample bound.
  while (samples_.size() > 1 && (span_ - samples_.front().dt >= options_.window.value() ||
                                 samples_.size() > options_.max_samples)) {
    span_ -= samples_.front().dt;
    samples_.pop_front();
  }
  if (samples_.size() <= 1) span_ = samples_.empty() ? 0.0 : samples_.front().dt;

  last_intercept_.reset();
  last_slope_.reset();
  if (samples_.empty()) return {Watts(0.0), IdleMethod::kWarmingUp, true};
  const double q = Percentile();
  if (samples_.size() < options_.min_samples) {
    return {Watts(Clamp(q, power)), IdleMethod::kWarmingUp, true};
  }
  double a = 0.0;
  double b = 0.0;
  if (Fit(&a, &b)) {
    last_intercept_ = a;
    last_slope_ = b;
    return {Watts(Clamp(a, power)), IdleMethod::kRegression, false};
  }
  return {Watts(Clamp(q, power)), IdleMethod::kPercentile, false};
}

double RollingIdleEstimator::Percentile() const {
  std::vector<double> p;
  p.reserve(samples_.size());
  for (const Sample& s : samples_) p.push_back(s.power);
  std::sort(p.begin(), p.end());
  const double h = options_.percentile * static_cast<double>(p.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, p.size() - 1);
  return p[lo] + (h - static_cast<double>(lo)) * (p[hi] - p[lo]);
}

bool RollingIdleEstimator::Fit(double* a, double* b) const {
  std::size_t m = 0;
  double su = 0.0;
  double sp = 0.0;
  double umin = std::numeric_limits<double>::infinity();
  for (const Sample& s : samples_) {
    if (!s.util) continue;
    ++m;
    su += *s.util;
    sp += s.power;
    umin = std::min(umin, *s.util);
  }
  if (m < options_.min_samples || umin > options_.max_lowest_util) return false;
  const double n = static_cast<double>(m);
  const double ubar = su / n;
  const double pbar = sp / n;
  double suu = 0.0;
  double sup = 0.0;
  for (const Sample& s : samples_) {
    if (!s.util) continue;
    const double du = *s.util - ubar;
    suu += du * du;
    sup += du * (s.power - pbar);
  }
  const double stddev = std::sqrt(suu / n);
  if (!(stddev >= options_.min_util_stddev) || suu <= 0.0) return false;
  const double slope = sup / suu;
  const double intercept = pbar - slope * ubar;
  if (!std::isfinite(slope) || !std::isfinite(intercept) || slope < 0.0) return false;
  *a = intercept;
  *b = slope;
  return true;
}

}  // namespace wattson::attribution
