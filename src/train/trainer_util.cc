#include "train/trainer_util.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "fmt/format.h"

namespace wattson {

namespace {

std::string Prefix(const FitInput& in, std::string_view trainer) {
  return fmt::format("{} ({})", trainer, ComponentName(in.component));
}

}  // namespace

Status ValidateFitInput(const FitInput& in, std::string_view trainer, std::size_t min_rows) {
  const std::string who = Prefix(in, trainer);
  min_rows = std::max<std::size_t>(min_rows, 2);
  const std::size_t cols = in.features.size();
  if (cols == 0) return Status::InvalidArgument(who + ": no features");
  if (in.rows < min_rows) {
    return Status::InvalidArgument(
        fmt::format("{}: {} training rows, at least {} are needed", who, in.rows, min_rows));
  }
  if (in.x.size() != in.rows * cols) {
    return Status::InvalidArgument(fmt::format(
        "{}: x has {} values, expected {} rows × {} features", who, in.x.size(), in.rows, cols));
  }
  if (in.y.size() != in.rows) {
    return Status::InvalidArgument(
        fmt::format("{}: y has {} values for {} rows", who, in.y.size(), in.rows));
  }
  if (in.scale.size() != cols) {
    return Status::InvalidArgument(
        fmt::format("{}: scale has {} values for {} features", who, in.scale.size(), cols));
  }
  for (std::size_t j = 0; j < cols; ++j) {
    if (!std::isfinite(in.scale[j]) || in.scale[j] < 0) {
      return Status::InvalidArgument(fmt::format(
          "{}: scale of '{}' is {} (must be finite and >= 0)", who, in.features[j], in.scale[j]));
    }
  }
  for (std::size_t i = 0; i < in.x.size(); ++i) {
    if (!std::isfinite(in.x[i])) {
      return Status::InvalidArgument(fmt::format("{}: row {} feature '{}' is not finite", who,
                                                 i / cols, in.features[i % cols]));
    }
  }
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  for (std::size_t i = 0; i < in.rows; ++i) {
    if (!std::isfinite(in.y[i])) {
      return Status::InvalidArgument(fmt::format("{}: target of row {} is not finite", who, i));
    }
    lo = std::min(lo, in.y[i]);
    hi = std::max(hi, in.y[i]);
  }
  if (hi == lo) {
    return Status::FailedPrecondition(fmt::format(
        "{}: the target is constant ({} W in all {} rows): nothing to fit", who, lo, in.rows));
  }
  return Status::Ok();
}

DenseRows ScaledFeatures(const FitInput& in) {
  DenseRows out;
  out.rows = in.rows;
  out.cols = in.features.size();
  out.v.resize(out.rows * out.cols);
  for (std::size_t r = 0; r < out.rows; ++r) {
    for (std::size_t c = 0; c < out.cols; ++c) {
      const double s = in.scale[c];
      out.v[r * out.cols + c] = s == 0.0 ? 0.0 : in.x[r * out.cols + c] / s;
    }
  }
  return out;
}

Result<std::shared_ptr<const Transform>> MaxAbsFor(const FitInput& in) {
  WATTSON_ASSIGN_OR_RETURN(auto t, MaxAbsTransform::Create(in.scale));
  return std::shared_ptr<const Transform>(std::move(t));
}

Result<ComponentPipeline> AssemblePipeline(const FitInput& in,
                                           std::vector<std::shared_ptr<const Transform>> transforms,
                                           std::shared_ptr<const Regressor> regressor,
                                           std::string_view trainer) {
  ComponentPipeline p;
  p.component = in.component;
  p.features = in.features;
  p.transforms = std::move(transforms);
  p.regressor = std::move(regressor);
  // PipelineModel::Create checks that the chain fits together; the model itself is discarded.
  ModelInfo info;
  auto check = PipelineModel::Create(info, {p});
  if (!check.ok()) return check.status().WithContext(Prefix(in, trainer));
  return p;
}

Eigen::MatrixXd ToEigen(const DenseRows& x) {
  Eigen::MatrixXd m(static_cast<Eigen::Index>(x.rows), static_cast<Eigen::Index>(x.cols));
  for (std::size_t r = 0; r < x.rows; ++r) {
    for (std::size_t c = 0; c < x.cols; ++c) {
      m(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) = x.at(r, c);
    }
  }
  return m;
}

Eigen::VectorXd LstsqMinNorm(const Eigen::MatrixXd& a, const Eigen::VectorXd& b) {
  if (a.cols() == 0) return Eigen::VectorXd();
  Eigen::BDCSVD<Eigen::MatrixXd> svd(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
  svd.setThreshold(std::numeric_limits<double>::epsilon());
  return svd.solve(b);
}

Result<Eigen::VectorXd> Nnls(const Eigen::MatrixXd& a, const Eigen::VectorXd& b, int max_iter) {
  const Eigen::Index m = a.rows();
  const Eigen::Index n = a.cols();
  if (b.size() != m) return Status::InvalidArgument("nnls: a and b disagree in rows");
  if (max_iter <= 0) max_iter = static_cast<int>(3 * std::max<Eigen::Index>(n, 1));
  const double eps = std::numeric_limits<double>::epsilon();
  const double tol = 10.0 * eps * static_cast<double>(std::max(m, n)) *
                     std::max(a.cwiseAbs().colwise().sum().maxCoeff(), 1.0);
  Eigen::VectorXd x = Eigen::VectorXd::Zero(n);
  std::vector<bool> passive(static_cast<std::size_t>(n), false);
  Eigen::VectorXd w = a.transpose() * b;
  int iter = 0;
  // Solves the unconstrained problem on the passive columns; the others stay 0.
  auto solve_passive = [&]() {
    std::vector<Eigen::Index> idx;
    for (Eigen::Index j = 0; j < n; ++j) {
      if (passive[static_cast<std::size_t>(j)]) idx.push_back(j);
    }
    Eigen::MatrixXd sub(m, static_cast<Eigen::Index>(idx.size()));
    for (std::size_t k = 0; k < idx.size(); ++k)
      sub.col(static_cast<Eigen::Index>(k)) = a.col(idx[k]);
    Eigen::VectorXd zs = LstsqMinNorm(sub, b);
    Eigen::VectorXd s = Eigen::VectorXd::Zero(n);
    for (std::size_t k = 0; k < idx.size(); ++k) s(idx[k]) = zs(static_cast<Eigen::Index>(k));
    return s;
  };
  for (;;) {
    Eigen::Index best = -1;
    double best_w = tol;
    for (Eigen::Index j = 0; j < n; ++j) {
      if (!passive[static_cast<std::size_t>(j)] && w(j) > best_w) {
        best_w = w(j);
        best = j;
      }
    }
    if (best < 0) break;
    passive[static_cast<std::size_t>(best)] = true;
    Eigen::VectorXd s = solve_passive();
    // The new column must enter with a positive value; if rounding says otherwise, stop here.
    if (s(best) <= 0) {
      passive[static_cast<std::size_t>(best)] = false;
      break;
    }
    for (;;) {
      bool feasible = true;
      for (Eigen::Index j = 0; j < n; ++j) {
        if (passive[static_cast<std::size_t>(j)] && s(j) <= 0) feasible = false;
      }
      if (feasible) break;
      if (++iter > max_iter) {
        return Status::Internal(fmt::format("nnls did not converge in {} iterations", max_iter));
      }
      double alpha = std::numeric_limits<double>::infinity();
      for (Eigen::Index j = 0; j < n; ++j) {
        if (passive[static_cast<std::size_t>(j)] && s(j) <= 0) {
          alpha = std::min(alpha, x(j) / (x(j) - s(j)));
        }
      }
      x += alpha * (s - x);
      for (Eigen::Index j = 0; j < n; ++j) {
        if (passive[static_cast<std::size_t>(j)] && x(j) <= tol) {
          passive[static_cast<std::size_t>(j)] = false;
          x(j) = 0;
        }
      }
      s = solve_passive();
    }
    x = s;
    w = a.transpose() * (b - a * x);
    if (++iter > max_iter) break;
  }
  for (Eigen::Index j = 0; j < n; ++j) x(j) = std::max(x(j), 0.0);
  return x;
}

Eigen::RowVectorXd ColumnMeans(const Eigen::MatrixXd& a) {
  if (a.rows() == 0) return Eigen::RowVectorXd::Zero(a.cols());
  return a.colwise().mean();
}

double Mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double s = 0;
  for (double d : v) s += d;
  return s / static_cast<double>(v.size());
}

double StdDev(const std::vector<double>& v) {
  if (v.empty()) return 0;
  const double m = Mean(v);
  double s = 0;
  for (double d : v) s += (d - m) * (d - m);
  return std::sqrt(s / static_cast<double>(v.size()));
}

}  // namespace wattson
