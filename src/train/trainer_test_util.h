// Test-only helpers for the trainer tests: synthetic FitInputs with known answers, the MaxAbs scale
// of a matrix, and predictions of a fitted pipeline. Header-only; included by trainer_*_test.cc.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/power_model.h"
#include "train/trainer.h"

namespace wattson::trainer_test {

// rows × features with x_ij uniform in [0, hi_j), y = f(raw row) (+ optional Gaussian noise), and
// the MaxAbs scale of each column.
inline FitInput MakeInput(const std::vector<std::string>& features, const std::vector<double>& hi,
                          std::size_t rows,
                          const std::function<double(const std::vector<double>&)>& f,
                          double noise = 0.0, std::uint64_t seed = 7,
                          Component component = Component::kPackage) {
  FitInput in;
  in.component = component;
  in.features = features;
  in.rows = rows;
  in.seed = seed;
  in.scale.assign(features.size(), 0.0);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::vector<double> row(features.size());
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < features.size(); ++c) {
      std::uniform_real_distribution<double> u(0.0, hi[c]);
      row[c] = u(rng);
      in.x.push_back(row[c]);
      in.scale[c] = std::max(in.scale[c], std::fabs(row[c]));
    }
    in.y.push_back(f(row) + noise * gauss(rng));
  }
  return in;
}

// The input's rows as a FeatureMatrix (for PipelineModel::Predict).
inline FeatureMatrix Matrix(const FitInput& in) {
  FeatureMatrix m(in.features, in.rows);
  for (std::size_t r = 0; r < in.rows; ++r) {
    for (std::size_t c = 0; c < in.features.size(); ++c) {
      m.at(r, c) = in.x[r * in.features.size() + c];
    }
  }
  return m;
}

inline std::unique_ptr<PipelineModel> Model(const ComponentPipeline& p,
                                            const std::string& trainer = "test") {
  ModelInfo info;
  info.trainer = trainer;
  info.name = trainer + "_1";
  info.energy_source = p.component == Component::kPlatform ? "acpi" : "rapl-sysfs";
  auto m = PipelineModel::Create(info, {p});
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? std::move(m).value() : nullptr;
}

// Watts predicted for every row of `in` (negatives clamped to 0, as at run time).
inline std::vector<double> Predict(const ComponentPipeline& p, const FitInput& in) {
  auto m = Model(p);
  if (!m) return {};
  auto pred = m->Predict(Matrix(in));
  EXPECT_TRUE(pred.ok()) << pred.status().ToString();
  std::vector<double> out;
  if (!pred.ok()) return out;
  for (const auto& w : pred->components[0].watts) out.push_back(w.value());
  return out;
}

inline double Mae(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += std::fabs(a[i] - b[i]);
  return a.empty() ? 0.0 : s / static_cast<double>(a.size());
}

}  // namespace wattson::trainer_test
