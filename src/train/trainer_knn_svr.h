// Kepler's instance-based trainers: KNeighborsRegressor(n_neighbors=6) (stores the scaled rows)
// and SVR(C=1, epsilon=0.2, RBF, gamma='scale') trained by libsvm, the library scikit-learn's
// SVR wraps. Stateless and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/status.h"
#include "models/svr.h"
#include "train/trainer.h"
#include "train/trainer_util.h"

namespace wattson {

// libsvm EPSILON_SVR settings; the defaults are scikit-learn's SVR(C=1.0, epsilon=0.2).
struct SvrOptions {
  double c = 1.0;
  double epsilon = 0.2;  // libsvm p
  double gamma = 0;      // 0: 'scale' = 1 / (features · Var(x)), or 1 if that variance is 0
  double tol = 1e-3;     // libsvm eps
  double cache_mb = 200;
  bool shrinking = true;
};

// Trains an RBF epsilon-SVR on x (already scaled) and y.
Result<std::unique_ptr<SvrRegressor>> FitSvr(const DenseRows& x, const std::vector<double>& y,
                                             const SvrOptions& options);

// scikit-learn's gamma='scale' for x: 1 / (cols · variance of every element), 1 if that is 0.
double SvrScaleGamma(const DenseRows& x);

std::unique_ptr<Trainer> NewKNeighborsRegressorTrainer();
std::unique_ptr<Trainer> NewSvrRegressorTrainer();

}  // namespace wattson
