// The scikit-learn GradientBoostingRegressor reimplementation: hand-checked trees, scikit-learn's
// threshold rule, the robust losses, and speed.
#include "train/trainer_gbr.h"

#include <cmath>
#include <ctime>

#include "gtest/gtest.h"
#include "train/trainer_test_util.h"

namespace wattson {
namespace {

using trainer_test::Mae;
using trainer_test::MakeInput;
using trainer_test::Predict;

DenseRows Column(const std::vector<double>& v) {
  DenseRows x;
  x.rows = v.size();
  x.cols = 1;
  x.v = v;
  return x;
}

TEST(GbrTest, OneStumpIsTheMeanOfEachSide) {
  // x = 1..4, y = 1, 1, 3, 5: the best split is between 2 and 3 (threshold 2.5).
  GbrOptions o;
  o.n_estimators = 1;
  o.max_depth = 1;
  o.learning_rate = 1.0;
  auto ens = FitGbr(Column({1, 2, 3, 4}), {1, 1, 3, 5}, o, 0);
  ASSERT_TRUE(ens.ok()) << ens.status().ToString();
  const auto& trees = (*ens)->trees();
  ASSERT_EQ(trees.size(), 1u);
  ASSERT_EQ(trees[0].left.size(), 3u);
  EXPECT_EQ(trees[0].threshold[0], 2.5);
  EXPECT_DOUBLE_EQ((*ens)->params().base_score, 2.5);
  // Leaves hold the mean residual: left (1, 1) - 2.5 = -1.5, right (3, 5) - 2.5 = 1.5.
  EXPECT_DOUBLE_EQ(trees[0].value[static_cast<std::size_t>(trees[0].left[0])], -1.5);
  EXPECT_DOUBLE_EQ(trees[0].value[static_cast<std::size_t>(trees[0].right[0])], 1.5);
  const double x2[] = {2.0};
  const double x3[] = {3.0};
  EXPECT_DOUBLE_EQ((*ens)->Predict(x2, {}), 1.0);
  EXPECT_DOUBLE_EQ((*ens)->Predict(x3, {}), 4.0);
  EXPECT_EQ((*ens)->params().split, SplitRule::kLessEqual);
  EXPECT_EQ((*ens)->params().accumulation, Accumulation::kFloat64);
}

TEST(GbrTest, ThresholdIsTheDoubleMidpointOfAdjacentFloat32Values) {
  // 1.0f and the next float32 differ by 2^-23 (> scikit-learn's 1e-7): the split sits at their
  // midpoint computed in double, strictly between the two.
  const float lo = 1.0f;
  const float hi = std::nextafter(lo, 2.0f);
  GbrOptions o;
  o.n_estimators = 1;
  o.max_depth = 1;
  auto ens = FitGbr(Column({lo, lo, hi, hi}), {0, 0, 1, 1}, o, 0);
  ASSERT_TRUE(ens.ok());
  ASSERT_EQ((*ens)->trees()[0].left.size(), 3u);
  const double thr = (*ens)->trees()[0].threshold[0];
  EXPECT_EQ(thr, static_cast<double>(lo) / 2.0 + static_cast<double>(hi) / 2.0);
  EXPECT_GT(thr, static_cast<double>(lo));
  EXPECT_LT(thr, static_cast<double>(hi));
}

TEST(GbrTest, ValuesCloserThan1e7AreOneValue) {
  // Near 0.5 adjacent float32 values are 6e-8 apart: scikit-learn does not split between them.
  const float lo = 0.5f;
  const float hi = std::nextafter(lo, 1.0f);
  GbrOptions o;
  o.n_estimators = 1;
  auto ens = FitGbr(Column({lo, lo, hi, hi}), {0, 0, 1, 1}, o, 0);
  ASSERT_TRUE(ens.ok());
  EXPECT_EQ((*ens)->trees()[0].left.size(), 1u);
}

TEST(GbrTest, ZeroVarianceNodesAreLeaves) {
  GbrOptions o;
  o.n_estimators = 3;
  auto ens = FitGbr(Column({1, 2, 3, 4, 5, 6}), {7, 7, 7, 9, 9, 9}, o, 0);
  ASSERT_TRUE(ens.ok());
  // One split separates the two constant halves; both children are pure, so they stay leaves.
  EXPECT_EQ((*ens)->trees()[0].left.size(), 3u);
}

TEST(GbrTest, LearnsAStepFunction) {
  const FitInput in = MakeInput({"a", "b"}, {10, 10}, 400, [](const std::vector<double>& r) {
    return r[0] < 5 ? 40.0 : 90.0;
  });
  auto p = NewGradientBoostingRegressorTrainer()->Fit(in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  // 100 stages at rate 0.1 leave (1 - 0.1)^100 of the step unexplained: far below 0.01 W.
  EXPECT_LT(Mae(Predict(*p, in), in.y), 0.01);
}

TEST(GbrTest, SameSeedSameTrees) {
  const FitInput in = MakeInput(
      {"a", "b", "c"}, {1, 1, 1}, 300,
      [](const std::vector<double>& r) { return 10 * r[0] + 5 * r[1] * r[2]; }, 0.3);
  const DenseRows x = ScaledFeatures(in);
  GbrOptions o;
  o.subsample = 0.7;
  auto a = FitGbr(x, in.y, o, 11);
  auto b = FitGbr(x, in.y, o, 11);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->ToJson(), (*b)->ToJson());
}

TEST(GbrTest, RobustLossesIgnoreOutliers) {
  // y = 10 below 0.5 and 20 above, with 10 % of rows far off: the median-based losses stay on
  // the step while the squared loss is pulled by the outliers.
  std::vector<double> xs, ys;
  for (int i = 0; i < 200; ++i) {
    const double x = (i + 0.5) / 200.0;
    xs.push_back(x);
    ys.push_back((x < 0.5 ? 10.0 : 20.0) + 0.01 * std::sin(i) + (i % 10 == 0 ? 300.0 : 0.0));
  }
  const DenseRows x = Column(xs);
  auto err_on_clean = [&](const TreeEnsembleRegressor& e) {
    double s = 0;
    int n = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      if (i % 10 == 0) continue;
      const double q[] = {xs[i]};
      s += std::fabs(e.Predict(q, {}) - (xs[i] < 0.5 ? 10.0 : 20.0));
      ++n;
    }
    return s / n;
  };
  GbrOptions sq;
  sq.max_depth = 1;
  auto squared = FitGbr(x, ys, sq, 0);
  GbrOptions lad = sq;
  lad.loss = GbrLoss::kAbsolute;
  auto absolute = FitGbr(x, ys, lad, 0);
  GbrOptions hub = sq;
  hub.loss = GbrLoss::kHuber;
  auto huber = FitGbr(x, ys, hub, 0);
  ASSERT_TRUE(squared.ok() && absolute.ok() && huber.ok());
  EXPECT_GT(err_on_clean(**squared), 20.0);
  EXPECT_LT(err_on_clean(**absolute), 0.5);
  EXPECT_LT(err_on_clean(**huber), 1.0);
  EXPECT_NEAR((*absolute)->params().base_score, 20.0, 0.01);  // the (lower) median of y
}

TEST(GbrTest, RejectsBadOptions) {
  GbrOptions o;
  o.subsample = 0;
  EXPECT_FALSE(FitGbr(Column({1, 2}), {1, 2}, o, 0).ok());
  EXPECT_FALSE(FitGbr(Column({1, 2}), {1}, GbrOptions{}, 0).ok());
}

TEST(GbrTest, KeplerSizedFitIsFast) {
  // 2200 rows × 10 features × 100 trees (the size of kepler-model-db nx12's Basic group).
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) names.push_back("f" + std::to_string(i));
  const FitInput in =
      MakeInput(names, std::vector<double>(10, 1.0), 2200, [](const std::vector<double>& r) {
        double s = 0;
        for (std::size_t i = 0; i < r.size(); ++i) s += (i + 1) * r[i];
        return s + 30 * r[0] * r[1];
      });
  // CPU time, not wall time, so that a busy machine does not fail the test.
  const std::clock_t c0 = std::clock();
  auto p = NewGradientBoostingRegressorTrainer()->Fit(in);
  const double secs = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  ASSERT_TRUE(p.ok());
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(secs, 1.0);
#else
  EXPECT_LT(secs, 15.0);
#endif
}

}  // namespace
}  // namespace wattson
