#include "train/trainer_wattson.h"

#include <algorithm>
#include <cmath>

#include "fmt/format.h"
#include "models/linear.h"
#include "train/trainer_gbr.h"

namespace wattson {

namespace {

long FindFeature(const std::vector<std::string>& features, std::string_view name) {
  const auto it = std::find(features.begin(), features.end(), name);
  return it == features.end() ? -1 : static_cast<long>(it - features.begin());
}

double MedianOf(std::vector<double> v) {
  if (v.empty()) return 0;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

// Builds the pipeline's derived transform (none when there are no terms) and the matrix the
// regressor is fitted on.
struct Design {
  std::vector<std::shared_ptr<const Transform>> transforms;
  DenseRows x;
};

Result<Design> MakeDesign(const FitInput& in, std::vector<DerivedTerm> terms) {
  Design d;
  WATTSON_ASSIGN_OR_RETURN(auto scaler, MaxAbsFor(in));
  d.transforms.push_back(scaler);
  d.x = ScaledFeatures(in);
  if (!terms.empty()) {
    WATTSON_ASSIGN_OR_RETURN(auto derived, DerivedTransform::Create(d.x.cols, std::move(terms)));
    d.x = ApplyTransform(*derived, d.x);
    d.transforms.push_back(std::shared_ptr<const Transform>(std::move(derived)));
  }
  return d;
}

// Huber-loss gradient boosting (scikit-learn's loss='huber' with alpha 0.5: residuals beyond
// their median magnitude are clipped), 300 trees of depth ≤ 6 with ≥ 10 rows per leaf, each on
// a seeded half of the rows, learning rate 0.05; inputs are the scaled features plus RatioTerms.
// (Blocked CV on nx12 chose these settings; see trainer_blocked_cv_test.cc.)
class WattsonRobustGbrTrainer final : public Trainer {
 public:
  std::string_view name() const override { return "WattsonRobustGbrTrainer"; }
  Result<ComponentPipeline> Fit(const FitInput& in) const override {
    WATTSON_RETURN_IF_ERROR(ValidateFitInput(in, name()));
    WATTSON_ASSIGN_OR_RETURN(Design d, MakeDesign(in, RatioTerms(in.features)));
    GbrOptions o;
    o.loss = GbrLoss::kHuber;
    o.huber_alpha = 0.5;
    o.n_estimators = 300;
    o.learning_rate = 0.05;
    o.max_depth = 6;
    o.min_samples_leaf = 10;
    o.subsample = 0.5;
    auto ens = FitGbr(d.x, in.y, o, in.seed);
    if (!ens.ok()) return ens.status().WithContext(name());
    return AssemblePipeline(in, std::move(d.transforms),
                            std::shared_ptr<const Regressor>(std::move(ens).value()), name());
  }
};

// A linear model on an expanded basis: each scaled feature x, sign-preserving sqrt(x) and
// log1p(100·x), plus RatioTerms and, with a CPU-time ratio f, cycles·f and log1p(f). Fitted by
// FitHuberRidge, so a few transition samples (power and counters sampled a moment apart) do not
// pull the fit.
class WattsonHuberLinearTrainer final : public Trainer {
 public:
  std::string_view name() const override { return "WattsonHuberLinearTrainer"; }
  Result<ComponentPipeline> Fit(const FitInput& in) const override {
    WATTSON_RETURN_IF_ERROR(ValidateFitInput(in, name()));
    const std::size_t n = in.features.size();
    std::vector<DerivedTerm> terms;
    for (std::size_t i = 0; i < n; ++i) {
      terms.push_back({DerivedOp::kSqrt, i, 0, 1.0, "sqrt(" + in.features[i] + ")"});
      terms.push_back({DerivedOp::kLog1p, i, 0, 100.0, "log1p(100*" + in.features[i] + ")"});
    }
    const long cycles = FindFeature(in.features, "cpu_cycles");
    for (DerivedTerm& r : RatioTerms(in.features)) {
      const bool per_time = cycles >= 0 && r.a == static_cast<std::size_t>(cycles);
      const std::string rname = r.name;
      terms.push_back(std::move(r));
      if (per_time) {
        const std::size_t f = n + terms.size() - 1;
        terms.push_back({DerivedOp::kProduct, static_cast<std::size_t>(cycles), f, 1.0,
                         "cpu_cycles*(" + rname + ")"});
        terms.push_back({DerivedOp::kLog1p, f, 0, 1.0, "log1p(" + rname + ")"});
      }
    }
    WATTSON_ASSIGN_OR_RETURN(Design d, MakeDesign(in, std::move(terms)));
    auto fit = FitHuberRidge(d.x, in.y, HuberOptions{});
    if (!fit.ok()) return fit.status().WithContext(name());
    auto reg = LinearRegressor::Create(fit->intercept, std::move(fit->coef));
    if (!reg.ok()) return reg.status().WithContext(name());
    return AssemblePipeline(in, std::move(d.transforms),
                            std::shared_ptr<const Regressor>(std::move(reg).value()), name());
  }
};

std::unique_ptr<Trainer> NewRobustGbr() { return std::make_unique<WattsonRobustGbrTrainer>(); }
std::unique_ptr<Trainer> NewHuberLinear() { return std::make_unique<WattsonHuberLinearTrainer>(); }

constexpr WattsonTrainerEntry kTrainers[] = {
    {"WattsonRobustGbrTrainer",
     "Huber-loss gradient boosting on the features plus IPC, misses per instruction and cycles "
     "per CPU time",
     &NewRobustGbr},
    {"WattsonHuberLinearTrainer",
     "robust ridge regression on the features, their square roots and logarithms, and ratios",
     &NewHuberLinear},
};

}  // namespace

std::span<const WattsonTrainerEntry> WattsonTrainers() { return kTrainers; }

std::vector<DerivedTerm> RatioTerms(const std::vector<std::string>& features) {
  std::vector<DerivedTerm> terms;
  const long cycles = FindFeature(features, "cpu_cycles");
  const long instructions = FindFeature(features, "cpu_instructions");
  if (cycles >= 0 && instructions >= 0) {
    terms.push_back({DerivedOp::kRatio, static_cast<std::size_t>(instructions),
                     static_cast<std::size_t>(cycles), 1.0, "cpu_instructions/cpu_cycles"});
  }
  const long misses = FindFeature(features, "cache_miss");
  if (misses >= 0 && instructions >= 0) {
    terms.push_back({DerivedOp::kRatio, static_cast<std::size_t>(misses),
                     static_cast<std::size_t>(instructions), 1.0, "cache_miss/cpu_instructions"});
  }
  if (cycles >= 0) {
    for (std::string_view time :
         {"bpf_cpu_time_ms", "bpf_cpu_time_us", "cgroupfs_cpu_usage_us", "kubelet_cpu_usage"}) {
      const long t = FindFeature(features, time);
      if (t < 0) continue;
      terms.push_back({DerivedOp::kRatio, static_cast<std::size_t>(cycles),
                       static_cast<std::size_t>(t), 1.0, fmt::format("cpu_cycles/{}", time)});
      break;
    }
  }
  return terms;
}

DenseRows ApplyTransform(const Transform& t, const DenseRows& x) {
  DenseRows out;
  out.rows = x.rows;
  out.cols = t.output_size();
  out.v.resize(out.rows * out.cols);
  for (std::size_t r = 0; r < x.rows; ++r) {
    t.Apply({x.row(r), x.cols}, {out.v.data() + r * out.cols, out.cols});
  }
  return out;
}

Result<HuberFit> FitHuberRidge(const DenseRows& x, const std::vector<double>& y,
                               const HuberOptions& options) {
  const std::size_t n = x.rows;
  const std::size_t p = x.cols;
  if (n < 2 || y.size() != n) return Status::InvalidArgument("huber: too few rows");
  const auto en = static_cast<Eigen::Index>(n);
  const auto ep = static_cast<Eigen::Index>(p);
  // Standardised design with a leading column of ones.
  Eigen::MatrixXd z(en, ep + 1);
  std::vector<double> mu(p, 0.0), sd(p, 1.0);
  for (std::size_t j = 0; j < p; ++j) {
    double m = 0;
    for (std::size_t r = 0; r < n; ++r) m += x.at(r, j);
    m /= static_cast<double>(n);
    double v = 0;
    for (std::size_t r = 0; r < n; ++r) v += (x.at(r, j) - m) * (x.at(r, j) - m);
    v = std::sqrt(v / static_cast<double>(n));
    mu[j] = m;
    sd[j] = v > 0 && std::isfinite(v) ? v : 0.0;
  }
  for (std::size_t r = 0; r < n; ++r) {
    z(static_cast<Eigen::Index>(r), 0) = 1.0;
    for (std::size_t j = 0; j < p; ++j) {
      z(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(j + 1)) =
          sd[j] > 0 ? (x.at(r, j) - mu[j]) / sd[j] : 0.0;
    }
  }
  Eigen::VectorXd target(en);
  for (std::size_t r = 0; r < n; ++r) target(static_cast<Eigen::Index>(r)) = y[r];
  Eigen::VectorXd w = Eigen::VectorXd::Ones(en);
  Eigen::VectorXd beta = Eigen::VectorXd::Zero(ep + 1);
  const double ridge = options.ridge * static_cast<double>(n);
  double y_lo = target.minCoeff(), y_hi = target.maxCoeff();
  const double delta_floor = 1e-9 * (1.0 + std::fabs(y_hi - y_lo));
  std::vector<double> res(n);
  for (int it = 0; it < std::max(options.max_iter, 1); ++it) {
    Eigen::MatrixXd zw = z.array().colwise() * w.array();
    Eigen::MatrixXd h = z.transpose() * zw;
    for (Eigen::Index j = 1; j <= ep; ++j) h(j, j) += ridge;
    // Keeps an all-zero column (a constant feature) from making h singular.
    for (Eigen::Index j = 1; j <= ep; ++j) {
      if (sd[static_cast<std::size_t>(j - 1)] == 0) h(j, j) += 1.0;
    }
    const Eigen::VectorXd next = h.ldlt().solve(zw.transpose() * target);
    if (!next.allFinite()) return Status::Internal("huber: the weighted solve failed");
    const double change = (next - beta).norm() / std::max(next.norm(), 1e-300);
    beta = next;
    const Eigen::VectorXd r = target - z * beta;
    for (std::size_t i = 0; i < n; ++i) res[i] = r(static_cast<Eigen::Index>(i));
    const double med = MedianOf(res);
    std::vector<double> dev(n);
    for (std::size_t i = 0; i < n; ++i) dev[i] = std::fabs(res[i] - med);
    const double delta = std::max(options.delta_mads * 1.4826 * MedianOf(dev), delta_floor);
    for (std::size_t i = 0; i < n; ++i) {
      const double a = std::fabs(res[i]);
      w(static_cast<Eigen::Index>(i)) = a <= delta ? 1.0 : delta / a;
    }
    if (it > 0 && change < options.tol) break;
  }
  HuberFit fit;
  fit.coef.assign(p, 0.0);
  fit.intercept = beta(0);
  for (std::size_t j = 0; j < p; ++j) {
    if (sd[j] == 0) continue;
    fit.coef[j] = beta(static_cast<Eigen::Index>(j + 1)) / sd[j];
    fit.intercept -= fit.coef[j] * mu[j];
  }
  if (!std::isfinite(fit.intercept) ||
      !std::all_of(fit.coef.begin(), fit.coef.end(), [](double c) { return std::isfinite(c); })) {
    return Status::Internal("huber: non-finite coefficients");
  }
  return fit;
}

}  // namespace wattson
