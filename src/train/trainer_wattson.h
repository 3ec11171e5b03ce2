// wattson's own trainers, aimed at lower error on unseen time blocks than Kepler's (chosen by
// contiguous blocked cross-validation on kepler-model-db nx12, never by a leaky random split):
//   WattsonRobustGbrTrainer   Huber-loss gradient boosting on the scaled features plus derived
//                             ratios (instructions per cycle, misses per instruction, cycles
//                             per CPU time);
//   WattsonHuberLinearTrainer a robust (Huber) ridge regression on the scaled features, their
//                             square roots and logarithms, and the same ratios: a small, smooth
//                             linear model.
// Stateless and thread-safe.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/transform.h"
#include "train/trainer.h"
#include "train/trainer_util.h"

namespace wattson {

// A wattson trainer: its name, a one-line description, and its factory.
struct WattsonTrainerEntry {
  std::string_view name;
  std::string_view description;
  std::unique_ptr<Trainer> (*make)();
};

// Every wattson trainer, in the order WattsonTrainerNames() lists them.
std::span<const WattsonTrainerEntry> WattsonTrainers();

// The ratio terms available for these features: cpu_instructions/cpu_cycles (IPC),
// cache_miss/cpu_instructions (misses per instruction) and cpu_cycles/<CPU time> (a frequency
// proxy; CPU time is the first present of bpf_cpu_time_ms, bpf_cpu_time_us,
// cgroupfs_cpu_usage_us, kubelet_cpu_usage). Indices refer to `features`.
std::vector<DerivedTerm> RatioTerms(const std::vector<std::string>& features);

// Applies a transform to every row of x.
DenseRows ApplyTransform(const Transform& t, const DenseRows& x);

// Huber M-estimate of a linear model with a ridge penalty on standardised columns, by iteratively
// reweighted least squares: the threshold is delta_mads × the residuals' MAD-based scale.
struct HuberOptions {
  double ridge = 1e-5;  // × rows, on standardised columns
  double delta_mads = 0.5;
  int max_iter = 50;
  double tol = 1e-8;  // relative change of the coefficients that ends the iteration
};
// The fitted model: intercept + Σ coef_j · x_j on the columns of x as given.
struct HuberFit {
  double intercept = 0;
  std::vector<double> coef;  // for the unstandardised columns
};
Result<HuberFit> FitHuberRidge(const DenseRows& x, const std::vector<double>& y,
                               const HuberOptions& options);

}  // namespace wattson
