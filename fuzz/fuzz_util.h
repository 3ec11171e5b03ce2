// Helpers shared by the libFuzzer targets: probe rows for a model and the invariants every
// successful prediction must satisfy (a violation traps, so libFuzzer records a crash).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "models/power_model.h"

namespace wattson::fuzz {

// Stops the run with a message: libFuzzer saves the input as a crash.
[[noreturn]] inline void Fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  __builtin_trap();
}

// A few rows over the model's features: zeros, ones, a typical rate, a huge rate.
inline FeatureMatrix ProbeRows(const ModelInfo& info) {
  static constexpr double kValues[] = {0.0, 1.0, 4000.0, 1e12};
  FeatureMatrix m(info.features, std::size(kValues));
  for (std::size_t r = 0; r < m.rows(); ++r) {
    for (std::size_t c = 0; c < m.cols(); ++c) m.at(r, c) = kValues[(r + c) % std::size(kValues)];
  }
  return m;
}

// PowerModel's promise: every returned watt is finite and >= 0, one per row per component.
inline void CheckPrediction(const PowerPrediction& p, std::size_t rows) {
  if (p.rows != rows) Fail("prediction row count differs from the input");
  for (const auto& c : p.components) {
    if (c.watts.size() != rows) Fail("component watts size differs from the input rows");
    for (const auto& w : c.watts) {
      if (!std::isfinite(w.value()) || w.value() < 0) Fail("a watt is negative or not finite");
    }
  }
}

// Bit-identical predictions (components in the same order).
inline bool SamePredictions(const PowerPrediction& a, const PowerPrediction& b) {
  if (a.rows != b.rows || a.components.size() != b.components.size()) return false;
  for (std::size_t i = 0; i < a.components.size(); ++i) {
    const auto& x = a.components[i];
    const auto& y = b.components[i];
    if (x.component != y.component || x.watts.size() != y.watts.size()) return false;
    for (std::size_t r = 0; r < x.watts.size(); ++r) {
      if (std::bit_cast<std::uint64_t>(x.watts[r].value()) !=
          std::bit_cast<std::uint64_t>(y.watts[r].value())) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace wattson::fuzz
