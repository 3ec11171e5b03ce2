// scikit-learn GradientBoostingRegressor (squared error, friedman_mse trees, best splitter),
// reimplemented so that its trees are those scikit-learn grows: features compared as float32,
// thresholds at midpoints between distinct sorted values, the Friedman improvement, features
// visited in a seeded random order, leaves holding the mean residual. Pure and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/status.h"
#include "models/tree_ensemble.h"
#include "train/trainer.h"
#include "train/trainer_util.h"

namespace wattson {

// scikit-learn GradientBoostingRegressor losses: squared_error (leaves hold the mean residual),
// absolute_error (trees fit the residual's sign; leaves hold the median residual) and huber
// (residuals clipped at their alpha-quantile; leaves hold scikit-learn's Huber step).
enum class GbrLoss { kSquared, kAbsolute, kHuber };

// GradientBoostingRegressor options; the defaults are Kepler's.
struct GbrOptions {
  GbrLoss loss = GbrLoss::kSquared;
  double huber_alpha = 0.9;
  int n_estimators = 100;
  int max_depth = 3;
  double learning_rate = 0.1;
  std::size_t min_samples_split = 2;
  std::size_t min_samples_leaf = 1;
  // Fraction of rows drawn (without replacement, seeded) for each tree; 1 uses every row.
  double subsample = 1.0;
};

// Fits the ensemble on x (already scaled) and y. The result predicts
// init + Σ learning_rate · leaf with scikit-learn's `x <= threshold` rule, where init is mean(y)
// for the squared loss and median(y) otherwise.
Result<std::unique_ptr<TreeEnsembleRegressor>> FitGbr(const DenseRows& x,
                                                      const std::vector<double>& y,
                                                      const GbrOptions& options,
                                                      std::uint64_t seed);

std::unique_ptr<Trainer> NewGradientBoostingRegressorTrainer();

}  // namespace wattson
