#include "train/trainer_curvefit.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <unsupported/Eigen/NonLinearOptimization>
#include <unsupported/Eigen/NumericalDiff>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "models/feature_groups.h"
#include "train/trainer_util.h"

namespace wattson {

namespace {

// Residuals f(x_i; p) − y_i for Eigen's Levenberg–Marquardt.
struct CurveResiduals {
  using Scalar = double;
  enum { InputsAtCompileTime = Eigen::Dynamic, ValuesAtCompileTime = Eigen::Dynamic };
  using InputType = Eigen::VectorXd;
  using ValueType = Eigen::VectorXd;
  using JacobianType = Eigen::MatrixXd;

  CurveKind kind;
  const std::vector<double>* x;
  const std::vector<double>* y;
  int n_params;

  int inputs() const { return n_params; }
  int values() const { return static_cast<int>(x->size()); }
  int operator()(const Eigen::VectorXd& p, Eigen::VectorXd& fvec) const {
    const std::vector<double> params(p.data(), p.data() + p.size());
    for (std::size_t i = 0; i < x->size(); ++i) {
      fvec(static_cast<Eigen::Index>(i)) =
          CurveFitRegressor::Evaluate(kind, params, (*x)[i]) - (*y)[i];
    }
    return 0;
  }
};

std::string_view StatusText(Eigen::LevenbergMarquardtSpace::Status s) {
  using namespace Eigen::LevenbergMarquardtSpace;  // NOLINT(build/namespaces)
  switch (s) {
    case ImproperInputParameters:
      return "improper input parameters";
    case TooManyFunctionEvaluation:
      return "the number of function evaluations reached maxfev";
    case FtolTooSmall:
      return "ftol is too small: no further reduction of the sum of squares is possible";
    case XtolTooSmall:
      return "xtol is too small: no further improvement of the solution is possible";
    case GtolTooSmall:
      return "gtol is too small: the residuals are orthogonal to the Jacobian";
    default:
      return "no convergence";
  }
}

// One of Kepler's curve-fit trainers.
class CurveFitTrainer final : public Trainer {
 public:
  CurveFitTrainer(CurveKind kind, std::string_view name) : kind_(kind), name_(name) {}
  std::string_view name() const override { return name_; }
  bool writes_kepler_weights() const override { return true; }
  Result<ComponentPipeline> Fit(const FitInput& in) const override {
    WATTSON_RETURN_IF_ERROR(ValidateFitInput(in, name_));
    const auto feature = CurveFeature(in.component, in.features);
    if (!feature) {
      return Status::InvalidArgument(fmt::format(
          "{} ({}): none of the features [{}] is a curve-fit feature (cpu_instructions, "
          "bpf_cpu_time_ms/us, ...)",
          name_, ComponentName(in.component), fmt::join(in.features, ", ")));
    }
    const auto index = static_cast<std::size_t>(
        std::find(in.features.begin(), in.features.end(), *feature) - in.features.begin());
    const std::size_t cols = in.features.size();
    const double scale = in.scale[index];
    std::vector<double> x(in.rows);
    for (std::size_t r = 0; r < in.rows; ++r) {
      x[r] = scale == 0.0 ? 0.0 : in.x[r * cols + index] / scale;
    }
    auto params = FitCurve(kind_, x, in.y, KeplerCurveP0(kind_, in.y));
    if (!params.ok()) {
      return params.status().WithContext(
          fmt::format("{} ({}, on '{}')", name_, ComponentName(in.component), *feature));
    }
    auto reg = CurveFitRegressor::Create(kind_, std::move(params).value(), cols, index);
    if (!reg.ok()) return reg.status().WithContext(name_);
    WATTSON_ASSIGN_OR_RETURN(auto scaler, MaxAbsFor(in));
    return AssemblePipeline(in, {scaler}, std::shared_ptr<const Regressor>(std::move(reg).value()),
                            name_);
  }

 private:
  CurveKind kind_;
  std::string_view name_;
};

}  // namespace

std::vector<double> KeplerCurveP0(CurveKind kind, const std::vector<double>& y) {
  double lo = 0;
  double hi = 0;
  if (!y.empty()) {
    const auto [mn, mx] = std::minmax_element(y.begin(), y.end());
    lo = *mn;
    hi = *mx;
  }
  switch (kind) {
    case CurveKind::kLogarithmic:
      return {hi - lo, 1.0, lo};
    case CurveKind::kExponential: {
      const double a = std::floor((hi - lo) / std::numbers::e);
      return {a, 1.0, lo - a};
    }
    case CurveKind::kLogistic: {
      const double sd = StdDev(y);
      const double k = sd > 0 ? std::floor((hi - lo) / sd) : 0.0;
      return {hi - lo, 0.5, k, lo};
    }
  }
  return {};
}

Result<std::vector<double>> FitCurve(CurveKind kind, const std::vector<double>& x,
                                     const std::vector<double>& y, std::vector<double> p0,
                                     int maxfev) {
  const std::size_t np = CurveParamCount(kind);
  if (p0.size() != np) {
    return Status::InvalidArgument(
        fmt::format("curve fit: {} initial parameters, {} needed", p0.size(), np));
  }
  if (x.size() != y.size() || x.size() < np) {
    return Status::InvalidArgument(
        fmt::format("curve fit: {} points for {} parameters", x.size(), np));
  }
  for (double v : p0) {
    if (!std::isfinite(v)) return Status::InvalidArgument("curve fit: p0 is not finite");
  }
  CurveResiduals f{kind, &x, &y, static_cast<int>(np)};
  Eigen::NumericalDiff<CurveResiduals> numdiff(f);
  Eigen::LevenbergMarquardt<Eigen::NumericalDiff<CurveResiduals>> lm(numdiff);
  lm.parameters.maxfev = maxfev;
  Eigen::VectorXd p = Eigen::Map<const Eigen::VectorXd>(p0.data(), static_cast<Eigen::Index>(np));
  namespace lms = Eigen::LevenbergMarquardtSpace;
  const lms::Status status = lm.minimize(p);
  if (status < lms::RelativeReductionTooSmall || status > lms::CosinusTooSmall) {
    return Status::FailedPrecondition(
        fmt::format("optimal parameters not found after {} function evaluations: {}", lm.nfev,
                    StatusText(status)));
  }
  std::vector<double> out(p.data(), p.data() + p.size());
  for (double v : out) {
    if (!std::isfinite(v)) {
      return Status::FailedPrecondition("the fitted parameters are not finite");
    }
  }
  if (!std::isfinite(lm.fnorm)) {
    return Status::FailedPrecondition("the fitted curve is not finite on the training points");
  }
  return out;
}

std::unique_ptr<Trainer> NewLogarithmicRegressionTrainer() {
  return std::make_unique<CurveFitTrainer>(CurveKind::kLogarithmic, "LogarithmicRegressionTrainer");
}
std::unique_ptr<Trainer> NewExponentialRegressionTrainer() {
  return std::make_unique<CurveFitTrainer>(CurveKind::kExponential, "ExponentialRegressionTrainer");
}
std::unique_ptr<Trainer> NewLogisticRegressionTrainer() {
  return std::make_unique<CurveFitTrainer>(CurveKind::kLogistic, "LogisticRegressionTrainer");
}

}  // namespace wattson
