// Trainer: fits one component's pipeline (MaxAbs scaling, optional further transforms, and a
// regressor of some family) to rows of raw feature rates and measured watts. Trainers are pure
// and const: the same input and seed always give the same model, and one trainer object may be
// used from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "models/power_model.h"

namespace wattson {

struct FitInput {
  Component component = Component::kPackage;
  std::string feature_group;          // e.g. "BPFOnly" (curve fits use its main feature)
  std::vector<std::string> features;  // column names of x, in order
  std::size_t rows = 0;
  std::vector<double> x;      // rows × features, row-major, raw per-second rates
  std::vector<double> y;      // watts, one per row
  std::vector<double> scale;  // MaxAbs scale per feature, fitted by the caller
  std::uint64_t seed = 0;
};

class Trainer {
 public:
  virtual ~Trainer() = default;
  // Kepler's trainer name ("GradientBoostingRegressorTrainer") or wattson's own.
  virtual std::string_view name() const = 0;
  // True for the trainers whose models Kepler's Go exporter can load as weight JSON.
  virtual bool writes_kepler_weights() const { return false; }
  // The fitted pipeline: features = in.features, transforms start with MaxAbs(in.scale).
  virtual Result<ComponentPipeline> Fit(const FitInput& in) const = 0;
};

// Kepler's ten trainers with its hyper-parameters as defaults: LinearRegressionTrainer
// (non-negative), SGDRegressorTrainer, PolynomialRegressionTrainer (degree 2),
// GradientBoostingRegressorTrainer (100 trees, depth 3, rate 0.1), XgboostFitTrainer,
// KNeighborsRegressorTrainer (k=6), SVRRegressorTrainer (C=1, ε=0.2, RBF),
// LogarithmicRegressionTrainer, ExponentialRegressionTrainer, LogisticRegressionTrainer.
std::vector<std::string> KeplerTrainerNames();
// wattson's own trainers.
std::vector<std::string> WattsonTrainerNames();
Result<std::unique_ptr<Trainer>> MakeTrainer(std::string_view name);

}  // namespace wattson
