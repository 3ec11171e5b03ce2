// Model evaluation throughput per family: PipelineModel::Predict (maxabs transform → regressor) on
// 1, 100 and 10 000 rows, with seeded random parameters. Reports rows/s as items_per_second.
// Run through scripts/bench-models.sh for a Markdown table.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "models/curve_fit.h"
#include "models/knn.h"
#include "models/linear.h"
#include "models/mlp.h"
#include "models/power_model.h"
#include "models/svr.h"
#include "models/transform.h"
#include "models/tree_ensemble.h"

namespace wattson {
namespace {

constexpr std::size_t kFeatures = 8;       // a Kepler-sized feature vector
constexpr double kFeatureScale = 5000.0;   // raw feature rates lie in [0, kFeatureScale)
constexpr std::uint64_t kSeed = 20240611;  // every model and input is reproducible

using Rng = std::mt19937_64;

double Uniform(Rng& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

std::vector<double> UniformVector(Rng& rng, std::size_t n, double lo, double hi) {
  std::vector<double> v(n);
  for (auto& x : v) x = Uniform(rng, lo, hi);
  return v;
}

std::vector<std::string> FeatureNames() {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < kFeatures; ++i) names.push_back("feature_" + std::to_string(i));
  return names;
}

// Aborts the benchmark program on a construction error: these are fixed, valid parameters.
template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "model_bench: building %s: %s\n", what, r.status().ToString().c_str());
    std::abort();
  }
  return std::move(r).value();
}

// maxabs(kFeatureScale) → [extra transforms] → regressor, for the package component.
std::shared_ptr<const PipelineModel> Wrap(std::shared_ptr<const Regressor> regressor,
                                          std::vector<std::shared_ptr<const Transform>> extra,
                                          const std::string& id) {
  ComponentPipeline p;
  p.component = Component::kPackage;
  p.features = FeatureNames();
  p.transforms.push_back(
      Must(MaxAbsTransform::Create(std::vector<double>(kFeatures, kFeatureScale)), "maxabs"));
  for (auto& t : extra) p.transforms.push_back(std::move(t));
  p.regressor = std::move(regressor);
  ModelInfo info;
  info.id = id;
  std::vector<ComponentPipeline> pipelines;
  pipelines.push_back(std::move(p));
  return Must(PipelineModel::Create(std::move(info), std::move(pipelines)), id.c_str());
}

std::shared_ptr<const PipelineModel> MakeLinear(Rng& rng) {
  auto r = Must(LinearRegressor::Create(50.0, UniformVector(rng, kFeatures, 0.0, 30.0)), "linear");
  return Wrap(std::move(r), {}, "linear");
}

std::shared_ptr<const PipelineModel> MakePolynomial2(Rng& rng) {
  std::shared_ptr<const Transform> poly =
      Must(PolynomialTransform::Create(kFeatures, 2, /*include_bias=*/true), "polynomial");
  auto r = Must(LinearRegressor::Create(40.0, UniformVector(rng, poly->output_size(), -5.0, 20.0)),
                "polynomial linear");
  return Wrap(std::move(r), {poly}, "polynomial-2");
}

std::shared_ptr<const PipelineModel> MakeCurve(Rng& rng, CurveKind kind) {
  std::vector<double> params;
  switch (kind) {
    case CurveKind::kLogarithmic:
      params = {Uniform(rng, 10, 40), Uniform(rng, 1, 10), Uniform(rng, 30, 60)};
      break;
    case CurveKind::kExponential:
      params = {Uniform(rng, 5, 20), Uniform(rng, 0.5, 2), Uniform(rng, 30, 60)};
      break;
    case CurveKind::kLogistic:
      params = {Uniform(rng, 50, 150), Uniform(rng, 0.3, 0.7), Uniform(rng, 3, 10),
                Uniform(rng, 20, 60)};
      break;
  }
  auto r = Must(CurveFitRegressor::Create(kind, std::move(params), kFeatures, 0), "curve fit");
  return Wrap(std::move(r), {}, std::string(CurveKindName(kind)));
}

// 100 full binary trees of depth 3 (15 nodes each, level order so children follow parents).
std::shared_ptr<const PipelineModel> MakeTrees(Rng& rng, bool xgboost) {
  constexpr int kTrees = 100;
  constexpr int kDepth = 3;
  constexpr int kNodes = (1 << (kDepth + 1)) - 1;
  constexpr int kInternal = (1 << kDepth) - 1;
  std::vector<RegressionTree> trees;
  for (int t = 0; t < kTrees; ++t) {
    RegressionTree tree;
    for (int n = 0; n < kNodes; ++n) {
      bool leaf = n >= kInternal;
      tree.left.push_back(leaf ? -1 : 2 * n + 1);
      tree.right.push_back(leaf ? -1 : 2 * n + 2);
      tree.feature.push_back(
          leaf ? 0
               : static_cast<std::int32_t>(
                     std::uniform_int_distribution<std::size_t>(0, kFeatures - 1)(rng)));
      tree.threshold.push_back(leaf ? 0.0 : Uniform(rng, 0.0, 1.0));
      tree.value.push_back(leaf ? Uniform(rng, -2.0, 5.0) : 0.0);
      if (xgboost) tree.default_left.push_back(static_cast<std::uint8_t>(n % 2));
    }
    trees.push_back(std::move(tree));
  }
  TreeEnsembleParams params;
  if (xgboost) {
    params.base_score = 0.5;
    params.learning_rate = 1.0;
    params.split = SplitRule::kLess;
    params.accumulation = Accumulation::kFloat32;
  } else {
    params.base_score = 80.0;
    params.learning_rate = 0.1;
    params.split = SplitRule::kLessEqual;
    params.accumulation = Accumulation::kFloat64;
  }
  auto r = Must(TreeEnsembleRegressor::Create(kFeatures, params, std::move(trees)), "trees");
  return Wrap(std::move(r), {}, xgboost ? "trees-xgboost" : "trees-sklearn");
}

std::shared_ptr<const PipelineModel> MakeKnn(Rng& rng) {
  constexpr std::size_t kRows = 4000;
  auto r = Must(KnnRegressor::Create(kFeatures, UniformVector(rng, kRows * kFeatures, 0.0, 1.0),
                                     UniformVector(rng, kRows, 40.0, 200.0), 6,
                                     KnnWeights::kUniform, KnnMetric::kEuclidean),
                "knn");
  return Wrap(std::move(r), {}, "knn");
}

std::shared_ptr<const PipelineModel> MakeSvr(Rng& rng) {
  constexpr std::size_t kSupportVectors = 300;
  SvrParams params;
  params.kernel = SvrKernel::kRbf;
  params.gamma = 1.0 / static_cast<double>(kFeatures);
  params.intercept = 100.0;
  auto r = Must(
      SvrRegressor::Create(kFeatures, UniformVector(rng, kSupportVectors * kFeatures, 0.0, 1.0),
                           UniformVector(rng, kSupportVectors, -10.0, 10.0), params),
      "svr");
  return Wrap(std::move(r), {}, "svr");
}

std::shared_ptr<const PipelineModel> MakeMlp(Rng& rng) {
  const std::size_t widths[] = {kFeatures, 32, 32, 1};
  std::vector<DenseLayer> layers;
  for (std::size_t i = 0; i + 1 < std::size(widths); ++i) {
    DenseLayer l;
    l.inputs = widths[i];
    l.outputs = widths[i + 1];
    double bound = 1.0 / static_cast<double>(l.inputs);
    l.weights = UniformVector(rng, l.inputs * l.outputs, -bound, bound);
    l.bias = UniformVector(rng, l.outputs, -0.1, 0.1);
    layers.push_back(std::move(l));
  }
  auto r = Must(MlpRegressor::Create(std::move(layers), Activation::kRelu), "mlp");
  return Wrap(std::move(r), {}, "mlp");
}

FeatureMatrix MakeInput(std::size_t rows) {
  Rng rng(kSeed + rows);
  FeatureMatrix m(FeatureNames(), rows);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < kFeatures; ++c) m.at(r, c) = Uniform(rng, 0.0, kFeatureScale);
  }
  return m;
}

void BM_Predict(benchmark::State& state, std::shared_ptr<const PipelineModel> model) {
  const auto rows = static_cast<std::size_t>(state.range(0));
  const FeatureMatrix input = MakeInput(rows);
  for (auto _ : state) {
    auto prediction = model->Predict(input);
    if (!prediction.ok()) {
      state.SkipWithError(prediction.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(prediction->components.front().watts.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(rows));
}

}  // namespace
}  // namespace wattson

int main(int argc, char** argv) {
  using wattson::CurveKind;
  wattson::Rng rng(wattson::kSeed);
  // Built in a fixed order so every run uses the same parameters.
  const std::pair<const char*, std::shared_ptr<const wattson::PipelineModel>> models[] = {
      {"linear", wattson::MakeLinear(rng)},
      {"polynomial2", wattson::MakePolynomial2(rng)},
      {"logarithmic", wattson::MakeCurve(rng, CurveKind::kLogarithmic)},
      {"exponential", wattson::MakeCurve(rng, CurveKind::kExponential)},
      {"logistic", wattson::MakeCurve(rng, CurveKind::kLogistic)},
      {"trees_sklearn", wattson::MakeTrees(rng, /*xgboost=*/false)},
      {"trees_xgboost", wattson::MakeTrees(rng, /*xgboost=*/true)},
      {"knn", wattson::MakeKnn(rng)},
      {"svr", wattson::MakeSvr(rng)},
      {"mlp", wattson::MakeMlp(rng)},
  };
  for (const auto& [name, model] : models) {
    benchmark::RegisterBenchmark((std::string("predict/") + name).c_str(), wattson::BM_Predict,
                                 model)
        ->Arg(1)
        ->Arg(100)
        ->Arg(10000)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
