#include "train/trainer_linear.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "fmt/format.h"
#include "models/linear.h"
#include "models/transform.h"

namespace wattson {

namespace {

constexpr double kMaxDloss = 1e12;  // scikit-learn's MAX_DLOSS clip

Result<std::shared_ptr<const Regressor>> MakeLinear(const LinearFit& fit) {
  WATTSON_ASSIGN_OR_RETURN(auto r, LinearRegressor::Create(fit.intercept, fit.coef));
  return std::shared_ptr<const Regressor>(std::move(r));
}

// LinearRegression(positive=True) on MaxAbs-scaled features.
class LinearRegressionTrainer final : public Trainer {
 public:
  std::string_view name() const override { return "LinearRegressionTrainer"; }
  Result<ComponentPipeline> Fit(const FitInput& in) const override {
    WATTSON_RETURN_IF_ERROR(ValidateFitInput(in, name()));
    auto fit = FitCentredLeastSquares(ScaledFeatures(in), in.y, /*non_negative=*/true);
    if (!fit.ok()) return fit.status().WithContext(name());
    WATTSON_ASSIGN_OR_RETURN(auto scaler, MaxAbsFor(in));
    WATTSON_ASSIGN_OR_RETURN(auto reg, MakeLinear(*fit));
    return AssemblePipeline(in, {scaler}, reg, name());
  }
};

// SGDRegressor(max_iter=1000) with scikit-learn's defaults; its weights are Kepler weight JSON.
class SgdRegressorTrainer final : public Trainer {
 public:
  std::string_view name() const override { return "SGDRegressorTrainer"; }
  bool writes_kepler_weights() const override { return true; }
  Result<ComponentPipeline> Fit(const FitInput& in) const override {
    WATTSON_RETURN_IF_ERROR(ValidateFitInput(in, name()));
    auto fit = FitSgd(ScaledFeatures(in), in.y, SgdOptions{}, in.seed);
    if (!fit.ok()) return fit.status().WithContext(name());
    WATTSON_ASSIGN_OR_RETURN(auto scaler, MaxAbsFor(in));
    WATTSON_ASSIGN_OR_RETURN(auto reg, MakeLinear(*fit));
    return AssemblePipeline(in, {scaler}, reg, name());
  }
};

// PolynomialFeatures(degree=2, include_bias) after MaxAbs, then LinearRegression().
class PolynomialRegressionTrainer final : public Trainer {
 public:
  std::string_view name() const override { return "PolynomialRegressionTrainer"; }
  Result<ComponentPipeline> Fit(const FitInput& in) const override {
    WATTSON_RETURN_IF_ERROR(ValidateFitInput(in, name()));
    const DenseRows x = ScaledFeatures(in);
    WATTSON_ASSIGN_OR_RETURN(auto poly, PolynomialTransform::Create(x.cols, 2, true));
    DenseRows px;
    px.rows = x.rows;
    px.cols = poly->output_size();
    px.v.resize(px.rows * px.cols);
    for (std::size_t r = 0; r < x.rows; ++r) {
      poly->Apply({x.row(r), x.cols}, {px.v.data() + r * px.cols, px.cols});
    }
    auto fit = FitCentredLeastSquares(px, in.y, /*non_negative=*/false);
    if (!fit.ok()) return fit.status().WithContext(name());
    WATTSON_ASSIGN_OR_RETURN(auto scaler, MaxAbsFor(in));
    WATTSON_ASSIGN_OR_RETURN(auto reg, MakeLinear(*fit));
    return AssemblePipeline(in, {scaler, std::shared_ptr<const Transform>(std::move(poly))}, reg,
                            name());
  }
};

}  // namespace

Result<LinearFit> FitCentredLeastSquares(const DenseRows& x, const std::vector<double>& y,
                                         bool non_negative) {
  if (x.rows == 0 || y.size() != x.rows) {
    return Status::InvalidArgument("least squares: no rows or mismatched target");
  }
  Eigen::MatrixXd a = ToEigen(x);
  const Eigen::RowVectorXd x_mean = ColumnMeans(a);
  a.rowwise() -= x_mean;
  Eigen::VectorXd b(static_cast<Eigen::Index>(y.size()));
  for (std::size_t i = 0; i < y.size(); ++i) b(static_cast<Eigen::Index>(i)) = y[i];
  const double y_mean = b.mean();
  b.array() -= y_mean;
  Eigen::VectorXd coef;
  if (non_negative) {
    WATTSON_ASSIGN_OR_RETURN(coef, Nnls(a, b));
  } else {
    coef = LstsqMinNorm(a, b);
  }
  LinearFit fit;
  fit.intercept = y_mean - x_mean.dot(coef);
  fit.coef.assign(coef.data(), coef.data() + coef.size());
  if (!std::isfinite(fit.intercept) ||
      !std::all_of(fit.coef.begin(), fit.coef.end(), [](double c) { return std::isfinite(c); })) {
    return Status::Internal("least squares gave non-finite coefficients");
  }
  return fit;
}

Result<LinearFit> FitSgd(const DenseRows& x, const std::vector<double>& y,
                         const SgdOptions& options, std::uint64_t seed) {
  const std::size_t n = x.rows;
  const std::size_t d = x.cols;
  if (n == 0 || y.size() != n) return Status::InvalidArgument("sgd: no rows or mismatched target");
  std::mt19937_64 rng(seed);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::vector<double> w(d, 0.0);
  double intercept = 0;
  double t = 1.0;
  double best_loss = std::numeric_limits<double>::infinity();
  int no_improvement = 0;
  for (int epoch = 0; epoch < options.max_iter; ++epoch) {
    if (options.shuffle) std::shuffle(order.begin(), order.end(), rng);
    double sumloss = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = order[k];
      const double* xi = x.row(i);
      const double eta = options.eta0 / std::pow(t, options.power_t);
      double p = intercept;
      for (std::size_t j = 0; j < d; ++j) p += w[j] * xi[j];
      const double diff = p - y[i];
      sumloss += 0.5 * diff * diff;
      const double dloss = std::clamp(diff, -kMaxDloss, kMaxDloss);
      const double update = -eta * dloss;
      const double shrink = std::max(0.0, 1.0 - eta * options.alpha);
      for (std::size_t j = 0; j < d; ++j) w[j] *= shrink;
      if (update != 0.0) {
        for (std::size_t j = 0; j < d; ++j) w[j] += update * xi[j];
        intercept += update;
      }
      t += 1.0;
    }
    bool finite = std::isfinite(intercept);
    for (double v : w) finite = finite && std::isfinite(v);
    if (!finite) {
      return Status::Internal(fmt::format(
          "sgd: floating-point overflow at epoch {} (the scaled inputs or targets are too large)",
          epoch + 1));
    }
    if (options.tol > -std::numeric_limits<double>::infinity() &&
        sumloss > best_loss - options.tol * static_cast<double>(n)) {
      ++no_improvement;
    } else {
      no_improvement = 0;
    }
    if (sumloss < best_loss) best_loss = sumloss;
    if (no_improvement >= options.n_iter_no_change) break;
  }
  return LinearFit{intercept, std::move(w)};
}

std::unique_ptr<Trainer> NewLinearRegressionTrainer() {
  return std::make_unique<LinearRegressionTrainer>();
}
std::unique_ptr<Trainer> NewSgdRegressorTrainer() {
  return std::make_unique<SgdRegressorTrainer>();
}
std::unique_ptr<Trainer> NewPolynomialRegressionTrainer() {
  return std::make_unique<PolynomialRegressionTrainer>();
}

}  // namespace wattson
