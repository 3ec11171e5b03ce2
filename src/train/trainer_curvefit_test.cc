// Kepler's curve-fit trainers: p0 as Kepler computes it, parameters recovered from generated
// curves, the feature each component's curve reads, and clear errors for failed fits.
#include "train/trainer_curvefit.h"

#include <cmath>
#include <numbers>

#include "gtest/gtest.h"
#include "models/curve_fit.h"
#include "train/trainer_test_util.h"
#include "train/trainer_util.h"

namespace wattson {
namespace {

using trainer_test::MakeInput;

const CurveFitRegressor& Curve(const ComponentPipeline& p) {
  return dynamic_cast<const CurveFitRegressor&>(*p.regressor);
}

TEST(CurveFitTest, KeplerInitialParameters) {
  const std::vector<double> y = {10, 12, 20, 30};  // range 20, std 7.88
  EXPECT_EQ(KeplerCurveP0(CurveKind::kLogarithmic, y), (std::vector<double>{20, 1, 10}));
  const double a = std::floor(20 / std::numbers::e);  // 7
  EXPECT_EQ(KeplerCurveP0(CurveKind::kExponential, y), (std::vector<double>{a, 1, 10 - a}));
  const double k = std::floor(20 / StdDev(y));  // 2
  EXPECT_EQ(KeplerCurveP0(CurveKind::kLogistic, y), (std::vector<double>{20, 0.5, k, 10}));
}

struct Case {
  std::unique_ptr<Trainer> (*make)();
  CurveKind kind;
  std::vector<double> params;
};

TEST(CurveFitTest, RecoversGeneratedCurves) {
  const Case cases[] = {
      {&NewLogarithmicRegressionTrainer, CurveKind::kLogarithmic, {60, 4, 35}},
      {&NewExponentialRegressionTrainer, CurveKind::kExponential, {12, 1.5, 30}},
      {&NewLogisticRegressionTrainer, CurveKind::kLogistic, {120, 0.45, 9, 40}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(CurveKindName(c.kind)));
    // The curve reads cpu_instructions (the main feature), scaled by its MaxAbs scale.
    const std::vector<double> params = c.params;
    const CurveKind kind = c.kind;
    FitInput in = MakeInput({"cache_miss", "cpu_cycles", "cpu_instructions"}, {1e6, 5e9, 5e9}, 300,
                            [](const std::vector<double>&) { return 0.0; });
    for (std::size_t r = 0; r < in.rows; ++r) {
      in.y[r] = CurveFitRegressor::Evaluate(kind, params, in.x[r * 3 + 2] / in.scale[2]);
    }
    auto trainer = c.make();
    EXPECT_TRUE(trainer->writes_kepler_weights());
    auto p = trainer->Fit(in);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    const CurveFitRegressor& curve = Curve(*p);
    EXPECT_EQ(curve.kind(), c.kind);
    EXPECT_EQ(curve.feature_index(), 2u);
    ASSERT_EQ(curve.params().size(), c.params.size());
    for (std::size_t i = 0; i < c.params.size(); ++i) {
      EXPECT_NEAR(curve.params()[i], c.params[i], 1e-4 * (1 + std::fabs(c.params[i]))) << i;
    }
  }
}

TEST(CurveFitTest, DramReadsTheDramFeature) {
  FitInput in = MakeInput(
      {"cache_miss", "cpu_cycles", "cpu_instructions"}, {1e6, 5e9, 5e9}, 200,
      [](const std::vector<double>& r) { return 40 + 10 * std::log(3 * r[0] / 1e6 + 1); }, 0.0, 3,
      Component::kDram);
  auto p = NewLogarithmicRegressionTrainer()->Fit(in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(Curve(*p).feature_index(), 0u);  // cache_miss
}

TEST(CurveFitTest, NoCurveFeatureIsAClearError) {
  const FitInput in =
      MakeInput({"bpf_net_rx_irq"}, {100}, 50, [](const std::vector<double>& r) { return r[0]; });
  auto p = NewExponentialRegressionTrainer()->Fit(in);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("curve-fit feature"), std::string::npos);
}

TEST(CurveFitTest, FailedFitIsAClearError) {
  // Too few function evaluations allowed: MINPACK stops without converging.
  std::vector<double> x, y;
  for (int i = 0; i < 50; ++i) {
    x.push_back(i / 50.0);
    y.push_back(std::sin(40.0 * i / 50.0) * 100);
  }
  auto r = FitCurve(CurveKind::kLogistic, x, y, KeplerCurveP0(CurveKind::kLogistic, y), 10);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("optimal parameters not found"), std::string::npos);
  EXPECT_FALSE(FitCurve(CurveKind::kLogistic, x, y, {1, 2, 3}).ok());  // wrong p0 size
}

}  // namespace
}  // namespace wattson
