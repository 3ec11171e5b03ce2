// Kepler's linear-family trainers against known answers: NNLS, LinearRegression(positive=True),
// SGDRegressor and PolynomialFeatures(2) + least squares.
#include "train/trainer_linear.h"

#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "models/linear.h"
#include "train/trainer_test_util.h"

namespace wattson {
namespace {

using trainer_test::Mae;
using trainer_test::MakeInput;
using trainer_test::Predict;

const LinearRegressor& Linear(const ComponentPipeline& p) {
  return dynamic_cast<const LinearRegressor&>(*p.regressor);
}

TEST(NnlsTest, EqualsLeastSquaresWhenTheSolutionIsPositive) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  Eigen::MatrixXd a(50, 3);
  for (Eigen::Index i = 0; i < a.size(); ++i) a.data()[i] = u(rng);
  const Eigen::Vector3d truth(1.0, 2.0, 3.0);
  auto x = Nnls(a, a * truth);
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_NEAR((*x - truth).norm(), 0.0, 1e-9);
}

TEST(NnlsTest, ClampsAtZero) {
  // min (x1-2)² + (x2+1)² + (x1+x2-1)² with x >= 0: x2 = 0, x1 = 1.5.
  Eigen::MatrixXd a(3, 2);
  a << 1, 0, 0, 1, 1, 1;
  Eigen::Vector3d b(2, -1, 1);
  auto x = Nnls(a, b);
  ASSERT_TRUE(x.ok());
  EXPECT_NEAR((*x)(0), 1.5, 1e-12);
  EXPECT_EQ((*x)(1), 0.0);
}

TEST(NnlsTest, ZeroWhenEveryColumnHurts) {
  Eigen::MatrixXd a(2, 2);
  a << 1, 2, 3, 4;
  auto x = Nnls(a, Eigen::Vector2d(-1, -2));
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->norm(), 0.0);
}

TEST(LinearRegressionTrainerTest, RecoversCoefficientsInScaledUnits) {
  const FitInput in = MakeInput({"a", "b"}, {100, 1000}, 200, [](const std::vector<double>& r) {
    return 10 + 2 * r[0] + 0.5 * r[1];
  });
  auto p = NewLinearRegressionTrainer()->Fit(in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const LinearRegressor& lin = Linear(*p);
  EXPECT_NEAR(lin.intercept(), 10.0, 1e-8);
  EXPECT_NEAR(lin.coef()[0], 2 * in.scale[0], 1e-8);
  EXPECT_NEAR(lin.coef()[1], 0.5 * in.scale[1], 1e-8);
  EXPECT_LT(Mae(Predict(*p, in), in.y), 1e-9);
  EXPECT_FALSE(NewLinearRegressionTrainer()->writes_kepler_weights());
}

TEST(LinearRegressionTrainerTest, KeepsCoefficientsNonNegative) {
  const FitInput in = MakeInput({"a", "b"}, {100, 100}, 200, [](const std::vector<double>& r) {
    return 200 + 2 * r[0] - 0.5 * r[1];
  });
  auto p = NewLinearRegressionTrainer()->Fit(in);
  ASSERT_TRUE(p.ok());
  EXPECT_GT(Linear(*p).coef()[0], 0.0);
  EXPECT_EQ(Linear(*p).coef()[1], 0.0);
}

TEST(LinearRegressionTrainerTest, DuplicateColumnsDoNotBreakTheFit) {
  FitInput in = MakeInput({"a"}, {10}, 50, [](const std::vector<double>& r) { return 3 * r[0]; });
  FitInput dup = in;
  dup.features = {"a", "b"};
  dup.scale = {in.scale[0], in.scale[0]};
  dup.x.clear();
  for (double v : in.x) {
    dup.x.push_back(v);
    dup.x.push_back(v);
  }
  auto p = NewLinearRegressionTrainer()->Fit(dup);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_LT(Mae(Predict(*p, dup), dup.y), 1e-8);
}

TEST(SgdRegressorTrainerTest, ConvergesOnLinearData) {
  const FitInput in = MakeInput({"a", "b"}, {50, 5}, 500, [](const std::vector<double>& r) {
    return 20 + 0.6 * r[0] + 2 * r[1];
  });
  auto trainer = NewSgdRegressorTrainer();
  EXPECT_TRUE(trainer->writes_kepler_weights());
  auto p = trainer->Fit(in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_LT(Mae(Predict(*p, in), in.y), 0.5);
  EXPECT_NEAR(Linear(*p).intercept(), 20, 1.0);
}

TEST(SgdRegressorTrainerTest, SeedDecidesTheShuffle) {
  const FitInput in = MakeInput(
      {"a"}, {10}, 100, [](const std::vector<double>& r) { return 5 + r[0]; }, 0.5);
  const DenseRows x = ScaledFeatures(in);
  auto a = FitSgd(x, in.y, SgdOptions{}, 1);
  auto b = FitSgd(x, in.y, SgdOptions{}, 1);
  auto c = FitSgd(x, in.y, SgdOptions{}, 2);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->coef, b->coef);
  EXPECT_EQ(a->intercept, b->intercept);
  EXPECT_NE(a->coef, c->coef);
}

TEST(SgdRegressorTrainerTest, OverflowIsAnError) {
  DenseRows x;
  x.rows = 4;
  x.cols = 1;
  x.v = {1e300, -1e300, 1e300, -1e300};
  auto fit = FitSgd(x, {1e300, -1e300, 1e300, -1e300}, SgdOptions{}, 1);
  ASSERT_FALSE(fit.ok());
  EXPECT_NE(fit.status().message().find("overflow"), std::string::npos);
}

TEST(PolynomialRegressionTrainerTest, FitsAQuadraticExactly) {
  const FitInput in = MakeInput({"a", "b"}, {4, 2}, 100, [](const std::vector<double>& r) {
    return 1 + 3 * r[0] * r[0] + 2 * r[0] * r[1] + r[1];
  });
  auto p = NewPolynomialRegressionTrainer()->Fit(in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->transforms.size(), 2u);
  EXPECT_EQ(p->transforms[1]->kind(), "polynomial");
  EXPECT_EQ(p->regressor->input_size(), 6u);  // 1, a, b, a², ab, b²
  EXPECT_EQ(Linear(*p).coef()[0], 0.0);       // the bias column is centred away
  EXPECT_LT(Mae(Predict(*p, in), in.y), 1e-8);
}

}  // namespace
}  // namespace wattson
