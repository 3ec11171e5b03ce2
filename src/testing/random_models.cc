#include "testing/random_models.h"

#include <cstdlib>

#include "models/curve_fit.h"
#include "models/knn.h"
#include "models/linear.h"
#include "models/mlp.h"
#include "models/svr.h"
#include "models/tree_ensemble.h"

namespace wattson::testing {

namespace {

template <typename T>
std::shared_ptr<const T> Must(Result<std::unique_ptr<T>> r) {
  if (!r.ok()) {
    std::fprintf(stderr, "random model: %s\n", r.status().ToString().c_str());
    std::abort();
  }
  return std::shared_ptr<const T>(std::move(r).value());
}

RegressionTree RandomTree(std::mt19937& rng, std::size_t inputs, int depth) {
  std::uniform_int_distribution<int> feat(0, static_cast<int>(inputs) - 1);
  std::uniform_real_distribution<double> thr(0.0, 1.5);
  std::uniform_real_distribution<double> val(-5.0, 40.0);
  RegressionTree t;
  // Complete binary tree in breadth-first order: children of i are 2i+1 and 2i+2.
  const int nodes = (1 << (depth + 1)) - 1;
  const int internal = (1 << depth) - 1;
  for (int i = 0; i < nodes; ++i) {
    const bool leaf = i >= internal;
    t.left.push_back(leaf ? -1 : 2 * i + 1);
    t.right.push_back(leaf ? -1 : 2 * i + 2);
    t.feature.push_back(leaf ? -2 : feat(rng));
    t.threshold.push_back(leaf ? -2.0 : thr(rng));
    t.value.push_back(val(rng));
    t.default_left.push_back(static_cast<std::uint8_t>(i % 2));
  }
  return t;
}

std::shared_ptr<const Regressor> RandomRegressor(const std::string& family, std::size_t n,
                                                 std::mt19937& rng) {
  std::uniform_real_distribution<double> w(0.0, 50.0);
  auto vec = [&](std::size_t k) {
    std::vector<double> v(k);
    for (double& x : v) x = w(rng);
    return v;
  };
  if (family == "linear") return Must(LinearRegressor::Create(w(rng), vec(n)));
  if (family == "poly2") {
    const std::size_t terms = 1 + n + n * (n + 1) / 2;
    return Must(LinearRegressor::Create(w(rng), vec(terms)));
  }
  if (family == "logarithmic") {
    return Must(CurveFitRegressor::Create(CurveKind::kLogarithmic,
                                          {w(rng), 1.0 + w(rng) / 10, w(rng)}, n, 0));
  }
  if (family == "exponential") {
    return Must(
        CurveFitRegressor::Create(CurveKind::kExponential, {w(rng), 0.5, w(rng)}, n, n - 1));
  }
  if (family == "logistic") {
    return Must(CurveFitRegressor::Create(CurveKind::kLogistic, {w(rng), 0.5, 4.0, w(rng)}, n, 0));
  }
  if (family == "tree_ensemble_sklearn" || family == "tree_ensemble_xgboost") {
    const bool sk = family == "tree_ensemble_sklearn";
    std::vector<RegressionTree> trees;
    for (int i = 0; i < 100; ++i) trees.push_back(RandomTree(rng, n, 3));
    TreeEnsembleParams p;
    p.base_score = w(rng);
    p.learning_rate = sk ? 0.1 : 1.0;
    p.split = sk ? SplitRule::kLessEqual : SplitRule::kLess;
    p.accumulation = sk ? Accumulation::kFloat64 : Accumulation::kFloat32;
    return Must(TreeEnsembleRegressor::Create(n, p, std::move(trees)));
  }
  if (family == "knn_uniform" || family == "knn_distance") {
    const std::size_t rows = 2000;
    std::uniform_real_distribution<double> u(0.0, 1.5);
    std::vector<double> pts(rows * n);
    for (double& x : pts) x = u(rng);
    return Must(
        KnnRegressor::Create(n, std::move(pts), vec(rows), 6,
                             family == "knn_uniform" ? KnnWeights::kUniform : KnnWeights::kDistance,
                             KnnMetric::kEuclidean));
  }
  if (family == "svr_rbf") {
    const std::size_t sv = 300;
    std::uniform_real_distribution<double> u(0.0, 1.5);
    std::uniform_real_distribution<double> c(-1.0, 1.0);
    std::vector<double> pts(sv * n), coef(sv);
    for (double& x : pts) x = u(rng);
    for (double& x : coef) x = c(rng);
    SvrParams p;
    p.gamma = 0.7;
    p.intercept = w(rng);
    return Must(SvrRegressor::Create(n, std::move(pts), std::move(coef), p));
  }
  if (family == "mlp") {
    std::normal_distribution<double> g(0.0, 0.5);
    std::vector<DenseLayer> layers;
    std::size_t in = n;
    for (std::size_t out : {std::size_t{32}, std::size_t{32}, std::size_t{1}}) {
      DenseLayer l;
      l.inputs = in;
      l.outputs = out;
      l.weights.resize(in * out);
      for (double& x : l.weights) x = g(rng);
      l.bias.resize(out);
      for (double& x : l.bias) x = g(rng);
      layers.push_back(std::move(l));
      in = out;
    }
    return Must(MlpRegressor::Create(std::move(layers), Activation::kRelu));
  }
  std::fprintf(stderr, "random model: unknown family %s\n", family.c_str());
  std::abort();
}

}  // namespace

std::unique_ptr<PipelineModel> RandomModel(const std::string& family,
                                           const std::vector<std::string>& features,
                                           std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<ComponentPipeline> pipelines;
  for (Component c : {Component::kPackage, Component::kDram}) {
    ComponentPipeline p;
    p.component = c;
    p.features = features;
    p.transforms.push_back(
        Must(MaxAbsTransform::Create(std::vector<double>(features.size(), 100.0))));
    if (family == "poly2") {
      p.transforms.push_back(Must(PolynomialTransform::Create(features.size(), 2, true)));
    }
    p.regressor = RandomRegressor(family, features.size(), rng);
    pipelines.push_back(std::move(p));
  }
  ModelInfo info;
  info.id = "random/" + family;
  info.name = family;
  info.trainer = family;
  info.energy_source = "rapl-sysfs";
  auto m = PipelineModel::Create(std::move(info), std::move(pipelines));
  if (!m.ok()) {
    std::fprintf(stderr, "random model: %s\n", m.status().ToString().c_str());
    std::abort();
  }
  return std::move(m).value();
}

FeatureMatrix RandomRows(const std::vector<std::string>& features, std::size_t rows,
                         std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 150.0);
  FeatureMatrix m(features, rows);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < features.size(); ++c) m.at(r, c) = u(rng);
  }
  return m;
}

}  // namespace wattson::testing
