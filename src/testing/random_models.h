// Test and benchmark support (not linked into the wattson binary): seeded random models of every
// family, wrapped as PipelineModels, and random feature rows.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "models/power_model.h"

namespace wattson::testing {

// Families for which RandomModel can build a model.
inline const std::vector<std::string>& AllFamilies() {
  static const std::vector<std::string> kFamilies = {"linear",
                                                     "poly2",
                                                     "logarithmic",
                                                     "exponential",
                                                     "logistic",
                                                     "tree_ensemble_sklearn",
                                                     "tree_ensemble_xgboost",
                                                     "knn_uniform",
                                                     "knn_distance",
                                                     "svr_rbf",
                                                     "mlp"};
  return kFamilies;
}

// A two-component (package, dram) model of the given family over `features`, with a MaxAbs
// scaler in front (scale 100 per feature). Parameters come from the seed.
std::unique_ptr<PipelineModel> RandomModel(const std::string& family,
                                           const std::vector<std::string>& features,
                                           std::uint32_t seed);

// rows × features matrix of values in [0, 150).
FeatureMatrix RandomRows(const std::vector<std::string>& features, std::size_t rows,
                         std::uint32_t seed);

}  // namespace wattson::testing
