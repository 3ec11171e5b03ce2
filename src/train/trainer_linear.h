// Kepler's linear-family trainers (scikit-learn semantics on MaxAbs-scaled features):
// LinearRegression(positive=True) by non-negative least squares, SGDRegressor(max_iter=1000)
// with scikit-learn's plain-SGD schedule, and PolynomialFeatures(2) + ordinary least squares.
// The fitting functions are pure; the trainers are stateless and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/status.h"
#include "train/trainer.h"
#include "train/trainer_util.h"

namespace wattson {

// A fitted linear model over the scaled features: intercept + Σ coef_i · x_i.
struct LinearFit {
  double intercept = 0;
  std::vector<double> coef;
};

// scikit-learn SGDRegressor options; the defaults are scikit-learn's (and Kepler's).
struct SgdOptions {
  int max_iter = 1000;
  double tol = 1e-3;
  int n_iter_no_change = 5;
  double alpha = 1e-4;  // L2 penalty
  double eta0 = 0.01;   // invscaling: eta = eta0 / t^power_t
  double power_t = 0.25;
  bool shuffle = true;
};

// scikit-learn's _plain_sgd for the squared loss with an L2 penalty and an intercept: per sample
// (in a seeded shuffled order each epoch) the loss is accumulated, w is shrunk by
// max(0, 1 − eta·alpha) and moved by −eta·(p − y)·x; stops when an epoch's summed loss has not
// improved on the best by tol·n for n_iter_no_change epochs. Fails on overflow.
Result<LinearFit> FitSgd(const DenseRows& x, const std::vector<double>& y,
                         const SgdOptions& options, std::uint64_t seed);

// Centred least squares with an intercept: coef by NNLS when non_negative, else the minimum-norm
// least-squares solution; intercept = mean(y) − mean(x)·coef.
Result<LinearFit> FitCentredLeastSquares(const DenseRows& x, const std::vector<double>& y,
                                         bool non_negative);

std::unique_ptr<Trainer> NewLinearRegressionTrainer();
std::unique_ptr<Trainer> NewSgdRegressorTrainer();
std::unique_ptr<Trainer> NewPolynomialRegressionTrainer();

}  // namespace wattson
