// Shared pieces of the trainers: input validation, the MaxAbs-scaled design matrix, pipeline
// assembly, and small dense solvers (non-negative and minimum-norm least squares). Everything
// here is a pure function over its arguments: no state, thread-safe.
#pragma once

#include <Eigen/Dense>
#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "models/power_model.h"
#include "train/trainer.h"

namespace wattson {

// A dense rows × cols matrix stored row-major; the scaled features a regressor is fitted on.
struct DenseRows {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<double> v;
  double at(std::size_t r, std::size_t c) const { return v[r * cols + c]; }
  const double* row(std::size_t r) const { return v.data() + r * cols; }
};

// Checks what every trainer needs and returns a clear error otherwise: at least `min_rows` rows
// (never fewer than 2), at least one feature, consistent sizes, finite x, y and scale, scale >= 0,
// and a target that is not constant (a constant target has nothing to learn; the caller records
// the component as skipped). Messages start with "<trainer> (<component>): ".
Status ValidateFitInput(const FitInput& in, std::string_view trainer, std::size_t min_rows = 2);

// x_ij / scale_j, or 0 where scale_j is 0: exactly what MaxAbsTransform computes at run time.
DenseRows ScaledFeatures(const FitInput& in);

// The MaxAbs transform that every fitted pipeline starts with.
Result<std::shared_ptr<const Transform>> MaxAbsFor(const FitInput& in);

// features = in.features, the transforms and the regressor; fails (naming the trainer) if the
// transform chain and the regressor do not fit together.
Result<ComponentPipeline> AssemblePipeline(const FitInput& in,
                                           std::vector<std::shared_ptr<const Transform>> transforms,
                                           std::shared_ptr<const Regressor> regressor,
                                           std::string_view trainer);

// The scaled matrix as an Eigen matrix (rows × cols).
Eigen::MatrixXd ToEigen(const DenseRows& x);

// Lawson–Hanson non-negative least squares: argmin ||a·x − b||₂ subject to x >= 0. Fails if it
// does not converge within max_iter inner iterations (0: 3 × columns, scipy's default).
Result<Eigen::VectorXd> Nnls(const Eigen::MatrixXd& a, const Eigen::VectorXd& b, int max_iter = 0);

// Minimum-norm least-squares solution of a·x ≈ b by SVD; singular values at or below
// eps · the largest are treated as zero (scipy.linalg.lstsq's default cutoff).
Eigen::VectorXd LstsqMinNorm(const Eigen::MatrixXd& a, const Eigen::VectorXd& b);

// Column means of a.
Eigen::RowVectorXd ColumnMeans(const Eigen::MatrixXd& a);

// Mean and population standard deviation of v.
double Mean(const std::vector<double>& v);
double StdDev(const std::vector<double>& v);

}  // namespace wattson
