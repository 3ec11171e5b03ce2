// KNeighborsRegressor and SVR trainers against brute-force evaluations of what they promise.
#include "train/trainer_knn_svr.h"

#include <algorithm>
#include <cmath>

#include "gtest/gtest.h"
#include "models/svr.h"
#include "train/trainer_test_util.h"

namespace wattson {
namespace {

using trainer_test::Mae;
using trainer_test::MakeInput;
using trainer_test::Predict;

TEST(KnnTrainerTest, PredictsTheMeanOfTheSixNearestScaledRows) {
  const FitInput in = MakeInput({"a", "b"}, {10, 1000}, 120, [](const std::vector<double>& r) {
    return r[0] * r[0] + r[1] / 100;
  });
  auto p = NewKNeighborsRegressorTrainer()->Fit(in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const DenseRows x = ScaledFeatures(in);
  // Query points between the training rows.
  FitInput q = MakeInput(
      in.features, {10, 1000}, 30, [](const std::vector<double>&) { return 0.0; }, 0.0, 99);
  const std::vector<double> got = Predict(*p, q);
  for (std::size_t r = 0; r < q.rows; ++r) {
    std::vector<std::pair<double, std::size_t>> d;
    for (std::size_t i = 0; i < in.rows; ++i) {
      double s = 0;
      for (std::size_t c = 0; c < 2; ++c) {
        const double e = x.at(i, c) - q.x[r * 2 + c] / in.scale[c];
        s += e * e;
      }
      d.push_back({s, i});
    }
    std::sort(d.begin(), d.end());
    double mean = 0;
    for (int k = 0; k < 6; ++k) mean += in.y[d[static_cast<std::size_t>(k)].second];
    EXPECT_NEAR(got[r], mean / 6, 1e-9) << r;
  }
}

TEST(KnnTrainerTest, NeedsAtLeastSixRows) {
  const FitInput in = MakeInput({"a"}, {1}, 5, [](const std::vector<double>& r) { return r[0]; });
  auto p = NewKNeighborsRegressorTrainer()->Fit(in);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("at least 6"), std::string::npos);
}

TEST(SvrTrainerTest, GammaScaleIsScikitLearns) {
  DenseRows x;
  x.rows = 2;
  x.cols = 2;
  x.v = {0, 1, 1, 0};  // all elements: mean 0.5, variance 0.25
  EXPECT_DOUBLE_EQ(SvrScaleGamma(x), 1.0 / (2 * 0.25));
  x.v = {1, 1, 1, 1};
  EXPECT_DOUBLE_EQ(SvrScaleGamma(x), 1.0);
}

TEST(SvrTrainerTest, FitsASmoothCurveAndEqualsItsDecisionFunction) {
  const FitInput in = MakeInput(
      {"a"}, {1}, 200, [](const std::vector<double>& r) { return 2 + std::sin(6 * r[0]); });
  auto p = NewSvrRegressorTrainer()->Fit(in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const std::vector<double> got = Predict(*p, in);
  // ε = 0.2: the fit stays within the tube plus a little.
  EXPECT_LT(Mae(got, in.y), 0.2);
  // Brute-force Σ dual_coef · exp(-γ‖sv - x‖²) + intercept from the saved regressor.
  const Json j = p->regressor->ToJson();
  const double gamma = j.at("gamma").get<double>();
  const double intercept = j.at("intercept").get<double>();
  const auto sv = j.at("support_vectors").get<std::vector<double>>();
  const auto coef = j.at("dual_coef").get<std::vector<double>>();
  ASSERT_EQ(sv.size(), coef.size());
  ASSERT_GT(coef.size(), 0u);
  EXPECT_DOUBLE_EQ(gamma, SvrScaleGamma(ScaledFeatures(in)));
  for (std::size_t r = 0; r < in.rows; r += 7) {
    const double xs = in.x[r] / in.scale[0];
    double s = intercept;
    for (std::size_t i = 0; i < sv.size(); ++i) {
      s += coef[i] * std::exp(-gamma * (sv[i] - xs) * (sv[i] - xs));
    }
    EXPECT_NEAR(got[r], std::max(s, 0.0), 1e-9) << r;
  }
}

}  // namespace
}  // namespace wattson
