// XGBoost training through the C API: our tree_ensemble reproduces XGBoost's own predictions bit
// for bit, seeds and monotone constraints are honoured, and bad options are errors.
#include "train/trainer_xgboost.h"

#include <cmath>

#include "gtest/gtest.h"
#include "train/trainer_test_util.h"

namespace wattson {
namespace {

using trainer_test::MakeInput;
using trainer_test::Predict;

FitInput Data() {
  return MakeInput(
      {"a", "b", "c"}, {100, 5, 1e9}, 400,
      [](const std::vector<double>& r) {
        return 40 + 0.8 * r[0] + 6 * std::sin(r[1]) + 2e-8 * r[2] + (r[0] > 50 ? 15 : 0);
      },
      1.0);
}

TEST(XgboostTest, RuntimeEqualsXgboostPredictExactly) {
  const FitInput in = Data();
  const DenseRows x = ScaledFeatures(in);
  std::vector<float> xgb;
  auto ens = FitXgboost(x, in.y, XgboostOptions{}, 5, &xgb);
  ASSERT_TRUE(ens.ok()) << ens.status().ToString();
  ASSERT_EQ(xgb.size(), in.rows);
  EXPECT_EQ((*ens)->trees().size(), 100u);
  EXPECT_EQ((*ens)->params().split, SplitRule::kLess);
  EXPECT_EQ((*ens)->params().accumulation, Accumulation::kFloat32);
  for (std::size_t r = 0; r < in.rows; ++r) {
    const float ours = static_cast<float>((*ens)->Predict({x.row(r), x.cols}, {}));
    ASSERT_EQ(ours, xgb[r]) << "row " << r;
  }
}

TEST(XgboostTest, TrainerPipelineFitsAndIsDeterministic) {
  const FitInput in = Data();
  auto trainer = NewXgboostFitTrainer();
  EXPECT_EQ(trainer->name(), "XgboostFitTrainer");
  auto a = trainer->Fit(in);
  auto b = trainer->Fit(in);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().ToString();
  EXPECT_EQ(a->regressor->ToJson(), b->regressor->ToJson());
  EXPECT_LT(trainer_test::Mae(Predict(*a, in), in.y), 3.0);
}

TEST(XgboostTest, MonotoneConstraintHolds) {
  const FitInput in = MakeInput(
      {"a", "b"}, {1, 1}, 300,
      [](const std::vector<double>& r) {
        return 50 + 20 * r[0] + 10 * std::sin(12 * r[0]) + 5 * r[1];
      },
      2.0);
  const DenseRows x = ScaledFeatures(in);
  XgboostOptions o;
  o.monotone = {1, 0};
  auto ens = FitXgboost(x, in.y, o, 1);
  ASSERT_TRUE(ens.ok()) << ens.status().ToString();
  for (double b : {0.1, 0.5, 0.9}) {
    double prev = -1e300;
    for (int i = 0; i <= 100; ++i) {
      const double q[] = {i / 100.0, b};
      const double v = (*ens)->Predict(q, {});
      EXPECT_GE(v, prev) << "a=" << q[0] << " b=" << b;
      prev = v;
    }
  }
}

TEST(XgboostTest, BadOptionsAreErrors) {
  const FitInput in = Data();
  const DenseRows x = ScaledFeatures(in);
  XgboostOptions o;
  o.monotone = {1};
  EXPECT_FALSE(FitXgboost(x, in.y, o, 1).ok());
  XgboostOptions bad;
  bad.objective = "no:such-objective";
  auto r = FitXgboost(x, in.y, bad, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("xgboost"), std::string::npos);
  XgboostOptions zero;
  zero.rounds = 0;
  EXPECT_FALSE(FitXgboost(x, in.y, zero, 1).ok());
}

}  // namespace
}  // namespace wattson
