// Semantics of each model family against hand-computed references.
#include <cmath>
#include <random>
#include <span>
#include <vector>

#include "gtest/gtest.h"
#include "models/curve_fit.h"
#include "models/knn.h"
#include "models/linear.h"
#include "models/mlp.h"
#include "models/power_model.h"
#include "models/svr.h"
#include "models/transform.h"
#include "models/tree_ensemble.h"
#include "testing/random_models.h"

namespace wattson {
namespace {

TEST(LinearRegressorTest, InterceptCoefficientsAndCategorical) {
  auto r = LinearRegressor::Create(10.0, {2.0, -1.0}, {{"cpu_architecture", {{"Sky Lake", 5.0}}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const double x[] = {3.0, 4.0};
  EXPECT_DOUBLE_EQ((*r)->Predict(x, {}), 12.0);
  EXPECT_DOUBLE_EQ((*r)->Predict(x, {{"cpu_architecture", "Sky Lake"}}), 17.0);
  EXPECT_DOUBLE_EQ((*r)->Predict(x, {{"cpu_architecture", "Ice Lake"}}), 12.0);
}

TEST(LinearRegressorTest, RejectsNonFinite) {
  EXPECT_FALSE(LinearRegressor::Create(std::nan(""), {1.0}).ok());
  EXPECT_FALSE(LinearRegressor::Create(1.0, {INFINITY}).ok());
}

TEST(CurveFitTest, Formulas) {
  const std::vector<double> p3 = {2.0, 3.0, 1.0};
  EXPECT_DOUBLE_EQ(CurveFitRegressor::Evaluate(CurveKind::kLogarithmic, p3, 0.5),
                   2.0 * std::log(2.5) + 1.0);
  EXPECT_DOUBLE_EQ(CurveFitRegressor::Evaluate(CurveKind::kExponential, p3, 0.5),
                   2.0 * std::exp(1.5) + 1.0);
  const std::vector<double> p4 = {100.0, 0.4, 8.0, 50.0};
  EXPECT_DOUBLE_EQ(CurveFitRegressor::Evaluate(CurveKind::kLogistic, p4, 0.4), 100.0);
  auto r = CurveFitRegressor::Create(CurveKind::kLogistic, p4, 3, 2);
  ASSERT_TRUE(r.ok());
  const double x[] = {9.0, 9.0, 0.4};
  EXPECT_DOUBLE_EQ((*r)->Predict(x, {}), 100.0);
  EXPECT_FALSE(CurveFitRegressor::Create(CurveKind::kLogistic, p3, 3, 0).ok());
  EXPECT_FALSE(CurveFitRegressor::Create(CurveKind::kLogarithmic, p3, 2, 2).ok());
}

TEST(TransformTest, MaxAbsZeroScaleGivesZero) {
  auto t = MaxAbsTransform::Create({2.0, 0.0});
  ASSERT_TRUE(t.ok());
  const double in[] = {3.0, 7.0};
  double out[2];
  (*t)->Apply(in, out);
  EXPECT_DOUBLE_EQ(out[0], 1.5);
  EXPECT_DOUBLE_EQ(out[1], 0.0);
}

TEST(TransformTest, StandardScaling) {
  auto t = StandardTransform::Create({1.0, 2.0}, {2.0, 0.0});
  ASSERT_TRUE(t.ok());
  const double in[] = {5.0, 7.0};
  double out[2];
  (*t)->Apply(in, out);
  EXPECT_DOUBLE_EQ(out[0], 2.0);
  EXPECT_DOUBLE_EQ(out[1], 5.0);
}

TEST(TransformTest, PolynomialOrderMatchesScikitLearn) {
  // PolynomialFeatures(2) on [a, b, c] = [1, a, b, c, a², ab, ac, b², bc, c²].
  auto t = PolynomialTransform::Create(3, 2, true);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ((*t)->output_size(), 10u);
  const double in[] = {2.0, 3.0, 5.0};
  double out[10];
  (*t)->Apply(in, out);
  const double expected[] = {1, 2, 3, 5, 4, 6, 10, 9, 15, 25};
  for (int i = 0; i < 10; ++i) EXPECT_DOUBLE_EQ(out[i], expected[i]) << i;
  auto no_bias = PolynomialTransform::Create(2, 2, false);
  ASSERT_TRUE(no_bias.ok());
  EXPECT_EQ((*no_bias)->output_size(), 5u);
  EXPECT_FALSE(PolynomialTransform::Create(2, 0, true).ok());
}

// A stump: x0 <= 0.5 (sklearn) or x0 < 0.5 (xgboost) goes left (value 1), else right (value 2).
RegressionTree Stump(double threshold) {
  RegressionTree t;
  t.left = {1, -1, -1};
  t.right = {2, -1, -1};
  t.feature = {0, -2, -2};
  t.threshold = {threshold, 0, 0};
  t.value = {0, 1.0, 2.0};
  t.default_left = {1, 0, 0};
  return t;
}

TEST(TreeEnsembleTest, SklearnGoesLeftOnEqualXgboostGoesRight) {
  TreeEnsembleParams sk{10.0, 0.1, SplitRule::kLessEqual, Accumulation::kFloat64};
  TreeEnsembleParams xgb{10.0, 1.0, SplitRule::kLess, Accumulation::kFloat32};
  auto a = TreeEnsembleRegressor::Create(1, sk, {Stump(0.5), Stump(0.5)});
  auto b = TreeEnsembleRegressor::Create(1, xgb, {Stump(0.5)});
  ASSERT_TRUE(a.ok() && b.ok());
  const double at[] = {0.5};
  EXPECT_DOUBLE_EQ((*a)->Predict(at, {}), 10.0 + 0.1 * 1.0 + 0.1 * 1.0);
  EXPECT_FLOAT_EQ(static_cast<float>((*b)->Predict(at, {})), 12.0f);
  const double below[] = {0.49};
  EXPECT_FLOAT_EQ(static_cast<float>((*b)->Predict(below, {})), 11.0f);
}

TEST(TreeEnsembleTest, ComparesFeaturesAsFloat32) {
  // 0.1 as float32 is 0.100000001490116..., above the double threshold 0.1: sklearn goes right.
  TreeEnsembleParams sk{0.0, 1.0, SplitRule::kLessEqual, Accumulation::kFloat64};
  auto a = TreeEnsembleRegressor::Create(1, sk, {Stump(0.1)});
  ASSERT_TRUE(a.ok());
  const double x[] = {0.1};
  EXPECT_DOUBLE_EQ((*a)->Predict(x, {}), 2.0);
}

// Unbalanced random trees with thresholds on and next to float32 boundaries, so the batch path's
// float thresholds are checked where the two split rules differ.
RegressionTree RandomUnbalancedTree(std::mt19937& rng, int inputs, int max_nodes, int max_depth) {
  std::uniform_int_distribution<int> feat(0, inputs - 1);
  std::uniform_real_distribution<double> thr(-2.0, 2.0);
  std::uniform_real_distribution<double> val(-5.0, 40.0);
  std::bernoulli_distribution split(0.6);
  RegressionTree t;
  auto add = [&t] {
    t.left.push_back(-1);
    t.right.push_back(-1);
    t.feature.push_back(-2);
    t.threshold.push_back(-2);
    t.value.push_back(0);
    t.default_left.push_back(0);
    return static_cast<std::int32_t>(t.left.size() - 1);
  };
  add();
  std::vector<int> depth = {0};
  for (std::size_t i = 0; i < t.left.size(); ++i) {
    t.value[i] = val(rng);
    if (static_cast<int>(t.left.size()) + 2 > max_nodes || depth[i] >= max_depth || !split(rng)) {
      continue;
    }
    t.feature[i] = feat(rng);
    double th = thr(rng);
    switch (rng() % 3) {
      case 0:
        th = static_cast<double>(static_cast<float>(th));  // exactly a float
        break;
      case 1:
        th = std::nextafter(static_cast<double>(static_cast<float>(th)), 10.0);  // just above
        break;
      default:
        break;
    }
    t.threshold[i] = th;
    t.default_left[i] = static_cast<std::uint8_t>(rng() % 2);
    const std::int32_t l = add();
    const std::int32_t r = add();
    depth.push_back(depth[i] + 1);
    depth.push_back(depth[i] + 1);
    t.left[i] = l;
    t.right[i] = r;
  }
  return t;
}

TEST(TreeEnsembleTest, BatchPredictionIsBitIdenticalToPerRow) {
  std::mt19937 rng(7);
  // Deep trees take the block walk; depth <= 3 takes the shallow layout where the CPU has AVX2.
  for (const int max_depth : {12, 3}) {
    for (const bool sklearn : {true, false}) {
      std::vector<RegressionTree> trees;
      for (int i = 0; i < 61; ++i) trees.push_back(RandomUnbalancedTree(rng, 4, 41, max_depth));
      TreeEnsembleParams p{3.5, sklearn ? 0.1 : 1.0,
                           sklearn ? SplitRule::kLessEqual : SplitRule::kLess,
                           sklearn ? Accumulation::kFloat64 : Accumulation::kFloat32};
      auto m = TreeEnsembleRegressor::Create(4, p, trees);
      ASSERT_TRUE(m.ok()) << m.status().ToString();
      EXPECT_EQ((*m)->uses_shallow_layout(), max_depth == 3 && CpuHasAvx2());
      // 37 rows (not a multiple of the block size): values drawn from the thresholds themselves,
      // their float32 neighbours, huge magnitudes and a NaN row.
      std::vector<double> pool;
      for (const auto& t : trees) {
        for (double th : t.threshold) {
          pool.push_back(th);
          pool.push_back(static_cast<double>(static_cast<float>(th)));
          pool.push_back(std::nextafter(th, -10.0));
        }
      }
      pool.push_back(1e300);
      pool.push_back(-1e300);
      // Also one row, exactly one block of eight, and a large batch.
      for (const std::size_t rows :
           {std::size_t{37}, std::size_t{1}, std::size_t{8}, std::size_t{4500}}) {
        std::vector<double> x(rows * 4);
        for (double& v : x) v = pool[rng() % pool.size()];
        if (rows > 5) x[5 * 4 + 2] = std::nan("");
        std::vector<double> batch(rows);
        (*m)->PredictBatch(x, {}, batch);
        for (std::size_t r = 0; r < rows; ++r) {
          const double one = (*m)->Predict(std::span<const double>(x).subspan(r * 4, 4), {});
          ASSERT_EQ(batch[r], one)
              << "row " << r << " of " << rows << (sklearn ? " sklearn" : " xgboost")
              << " max depth " << max_depth;
        }
      }
    }
  }
}

TEST(TreeEnsembleTest, RejectsCyclesAndBadFeatures) {
  RegressionTree cyc = Stump(0.5);
  cyc.left[0] = 0;
  EXPECT_FALSE(TreeEnsembleRegressor::Create(1, {}, {cyc}).ok());
  RegressionTree far = Stump(0.5);
  far.right[0] = 7;
  EXPECT_FALSE(TreeEnsembleRegressor::Create(1, {}, {far}).ok());
  RegressionTree feat = Stump(0.5);
  feat.feature[0] = 3;
  EXPECT_FALSE(TreeEnsembleRegressor::Create(1, {}, {feat}).ok());
  RegressionTree ragged = Stump(0.5);
  ragged.value.pop_back();
  EXPECT_FALSE(TreeEnsembleRegressor::Create(1, {}, {ragged}).ok());
}

TEST(KnnTest, MatchesBruteForce) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  const std::size_t n = 500, dim = 3, k = 6;
  std::vector<double> pts(n * dim), y(n);
  for (double& v : pts) v = u(rng);
  for (double& v : y) v = 100 * u(rng);
  for (auto weights : {KnnWeights::kUniform, KnnWeights::kDistance}) {
    auto knn = KnnRegressor::Create(dim, pts, y, k, weights, KnnMetric::kEuclidean);
    ASSERT_TRUE(knn.ok());
    for (int q = 0; q < 50; ++q) {
      double x[3] = {u(rng), u(rng), u(rng)};
      std::vector<std::pair<double, std::size_t>> d;
      for (std::size_t i = 0; i < n; ++i) {
        double s = 0;
        for (std::size_t c = 0; c < dim; ++c)
          s += (pts[i * dim + c] - x[c]) * (pts[i * dim + c] - x[c]);
        d.emplace_back(std::sqrt(s), i);
      }
      std::sort(d.begin(), d.end());
      double num = 0, den = 0;
      for (std::size_t i = 0; i < k; ++i) {
        double w = weights == KnnWeights::kUniform ? 1.0 : 1.0 / d[i].first;
        num += w * y[d[i].second];
        den += w;
      }
      EXPECT_NEAR((*knn)->Predict(x, {}), num / den, 1e-9 * std::abs(num / den));
    }
  }
}

TEST(KnnTest, ExactMatchTakesAllDistanceWeight) {
  auto knn = KnnRegressor::Create(1, {0.0, 1.0, 2.0}, {10.0, 20.0, 30.0}, 2, KnnWeights::kDistance,
                                  KnnMetric::kEuclidean);
  ASSERT_TRUE(knn.ok());
  const double x[] = {1.0};
  EXPECT_DOUBLE_EQ((*knn)->Predict(x, {}), 20.0);
  EXPECT_FALSE(
      KnnRegressor::Create(1, {0.0}, {1.0}, 2, KnnWeights::kUniform, KnnMetric::kEuclidean).ok());
}

TEST(SvrTest, RbfMatchesFormula) {
  const std::vector<double> sv = {0.0, 1.0, 1.0, 0.5, 2.0, 2.0};
  const std::vector<double> coef = {0.7, -0.3, 1.1};
  SvrParams p;
  p.gamma = 0.5;
  p.intercept = 3.0;
  auto svr = SvrRegressor::Create(2, sv, coef, p);
  ASSERT_TRUE(svr.ok());
  const double x[] = {0.3, 0.8};
  double expected = p.intercept;
  for (int i = 0; i < 3; ++i) {
    double d0 = x[0] - sv[2 * i], d1 = x[1] - sv[2 * i + 1];
    expected += coef[i] * std::exp(-p.gamma * (d0 * d0 + d1 * d1));
  }
  EXPECT_NEAR((*svr)->Predict(x, {}), expected, 1e-12);
  p.kernel = SvrKernel::kLinear;
  auto lin = SvrRegressor::Create(2, sv, coef, p);
  ASSERT_TRUE(lin.ok());
  double lexp = p.intercept;
  for (int i = 0; i < 3; ++i) lexp += coef[i] * (x[0] * sv[2 * i] + x[1] * sv[2 * i + 1]);
  EXPECT_NEAR((*lin)->Predict(x, {}), lexp, 1e-12);
}

TEST(MlpTest, MatchesHandComputation) {
  DenseLayer h{2, 2, {1.0, -1.0, 0.5, 2.0}, {0.0, -10.0}};
  DenseLayer o{2, 1, {3.0, 4.0}, {1.0}};
  auto m = MlpRegressor::Create({h, o}, Activation::kRelu);
  ASSERT_TRUE(m.ok());
  const double x[] = {2.0, 4.0};
  // hidden = relu([2 + 2, -2 + 8 - 10]) = [4, 0]; out = 12 + 0 + 1.
  EXPECT_DOUBLE_EQ((*m)->Predict(x, {}), 13.0);
  DenseLayer bad{3, 1, {1.0, 1.0, 1.0}, {0.0}};
  EXPECT_FALSE(MlpRegressor::Create({h, bad}, Activation::kRelu).ok());
}

TEST(PipelineModelTest, ClampsNegativeAndChecksInputs) {
  ComponentPipeline p;
  p.component = Component::kPlatform;
  p.features = {"a"};
  p.regressor =
      std::shared_ptr<const Regressor>(std::move(LinearRegressor::Create(-5.0, {1.0}).value()));
  std::vector<ComponentPipeline> ps;
  ps.push_back(p);
  auto m = PipelineModel::Create(ModelInfo{}, std::move(ps));
  ASSERT_TRUE(m.ok());
  auto x = FeatureMatrix::FromRows({"b", "a"}, {{0, 1}, {0, 10}});
  ASSERT_TRUE(x.ok());
  auto y = (*m)->Predict(*x);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  EXPECT_EQ(y->components[0].watts[0].value(), 0.0);
  EXPECT_EQ(y->components[0].watts[1].value(), 5.0);
  auto missing = FeatureMatrix::FromRows({"b"}, {{1}});
  EXPECT_FALSE((*m)->Predict(*missing).ok());
  auto nan = FeatureMatrix::FromRows({"a"}, {{std::nan("")}});
  EXPECT_FALSE((*m)->Predict(*nan).ok());
}

TEST(PipelineModelTest, RejectsMismatchedShapes) {
  ComponentPipeline p;
  p.component = Component::kPackage;
  p.features = {"a", "b"};
  p.regressor =
      std::shared_ptr<const Regressor>(std::move(LinearRegressor::Create(0.0, {1.0}).value()));
  std::vector<ComponentPipeline> ps;
  ps.push_back(p);
  EXPECT_FALSE(PipelineModel::Create(ModelInfo{}, std::move(ps)).ok());
}

TEST(PipelineModelTest, EveryFamilyGivesFiniteNonNegativeWatts) {
  const std::vector<std::string> features = {"bpf_cpu_time_ms", "cpu_instructions", "cache_miss"};
  const FeatureMatrix x = testing::RandomRows(features, 200, 3);
  for (const auto& family : testing::AllFamilies()) {
    auto model = testing::RandomModel(family, features, 11);
    auto y = model->Predict(x);
    ASSERT_TRUE(y.ok()) << family << ": " << y.status().ToString();
    ASSERT_EQ(y->components.size(), 2u);
    for (const auto& c : y->components) {
      ASSERT_EQ(c.watts.size(), 200u);
      for (Watts w : c.watts) {
        EXPECT_TRUE(std::isfinite(w.value()) && w.value() >= 0) << family;
      }
    }
  }
}

}  // namespace
}  // namespace wattson
