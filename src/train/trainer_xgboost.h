// XGBoost training through libxgboost's C API (Kepler's XgboostFitTrainer and wattson's
// constrained variant). The booster is trained single-threaded with a fixed seed, saved as XGBoost
// JSON and converted to a tree_ensemble regressor that predicts exactly what XGBoost predicts.
// Every libxgboost handle is owned by an RAII wrapper. Pure and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "models/tree_ensemble.h"
#include "train/trainer.h"
#include "train/trainer_util.h"

namespace wattson {

// Booster parameters; the defaults are Kepler's XGBRegressor(n_estimators=100,
// learning_rate=0.1) on libxgboost's own defaults.
struct XgboostOptions {
  int rounds = 100;
  double eta = 0.1;
  int max_depth = 6;
  double min_child_weight = 1;
  double lambda = 1;  // L2 on leaf weights
  double alpha = 0;   // L1 on leaf weights
  double gamma = 0;   // minimum loss reduction to split
  double subsample = 1;
  double colsample_bytree = 1;
  std::string objective = "reg:squarederror";
  std::string tree_method;           // empty: libxgboost's default
  std::optional<double> base_score;  // empty: libxgboost's default
  // Empty, or one of -1, 0, +1 per feature (XGBoost monotone_constraints).
  std::vector<int> monotone;
};

// Trains on x (already scaled; features are passed to XGBoost as float32) and y. When
// train_predictions is given, it receives XGBoost's own predictions for the training rows.
Result<std::unique_ptr<TreeEnsembleRegressor>> FitXgboost(
    const DenseRows& x, const std::vector<double>& y, const XgboostOptions& options,
    std::uint64_t seed, std::vector<float>* train_predictions = nullptr);

std::unique_ptr<Trainer> NewXgboostFitTrainer();

}  // namespace wattson
