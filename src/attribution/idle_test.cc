#include "attribution/idle.h"

#include <algorithm>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace wattson::attribution {
namespace {

IdleObservation Obs(double power, std::optional<double> util = std::nullopt, double dt = 3.0) {
  IdleObservation o;
  o.dt = Seconds(dt);
  o.power = Watts(power);
  o.utilization = util;
  return o;
}

TEST(ModelIdleTest, UsesModelPredictionClampedToPower) {
  ModelIdle m;
  IdleObservation o = Obs(100.0);
  o.model_idle = Watts(40.0);
  IdleEstimate e = m.Update(o);
  EXPECT_DOUBLE_EQ(e.idle.value(), 40.0);
  EXPECT_EQ(e.method, IdleMethod::kModel);
  EXPECT_FALSE(e.provisional);

  o.model_idle = Watts(140.0);  // model says idle above what the node draws: clamp
  EXPECT_DOUBLE_EQ(m.Update(o).idle.value(), 100.0);
  o.model_idle = Watts(-5.0);
  EXPECT_DOUBLE_EQ(m.Update(o).idle.value(), 0.0);
  o.model_idle.reset();
  e = m.Update(o);
  EXPECT_DOUBLE_EQ(e.idle.value(), 0.0);
  EXPECT_TRUE(e.provisional);
}

TEST(RollingIdleTest, FirstTicksAreProvisional) {
  RollingIdleEstimator r;
  IdleEstimate e = r.Update(Obs(120.0));
  EXPECT_EQ(e.method, IdleMethod::kWarmingUp);
  EXPECT_TRUE(e.provisional);
  EXPECT_DOUBLE_EQ(e.idle.value(), 120.0);  // the only thing known; flagged as such
  e = r.Update(Obs(80.0));
  EXPECT_TRUE(e.provisional);
  EXPECT_LE(e.idle.value(), 80.0);
}

TEST(RollingIdleTest, PercentileWithoutUtilisation) {
  RollingIdleEstimator r;
  std::vector<double> powers;
  for (int i = 0; i < 100; ++i) powers.push_back(100.0 + i);
  std::mt19937 rng(7);
  std::shuffle(powers.begin(), powers.end(), rng);
  IdleEstimate e;
  for (double p : powers) e = r.Update(Obs(p));
  // Now one more tick at 150 W: 101 samples 100..199 plus 150; h = 0.05 * 100 = 5 → sorted[5].
  e = r.Update(Obs(150.0));
  EXPECT_EQ(e.method, IdleMethod::kPercentile);
  EXPECT_FALSE(e.provisional);
  EXPECT_DOUBLE_EQ(e.idle.value(), 105.0);
}

TEST(RollingIdleTest, RegressionInterceptAtZeroUtilisation) {
  RollingIdleEstimator r;
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  IdleEstimate e;
  for (int i = 0; i < 200; ++i) {
    const double util = u(rng);
    e = r.Update(Obs(40.0 + 60.0 * util, util));
  }
  EXPECT_EQ(e.method, IdleMethod::kRegression);
  ASSERT_TRUE(r.last_intercept().has_value());
  EXPECT_NEAR(*r.last_intercept(), 40.0, 1e-9);
  EXPECT_NEAR(*r.last_slope(), 60.0, 1e-9);
  EXPECT_NEAR(e.idle.value(), 40.0, 1e-9);
  // Not (1 − u)·P, and not the lowest power seen (which is above 40 W since u > 0).
}

TEST(RollingIdleTest, RegressionNeedsSpreadAndALowUtilisationTick) {
  RollingIdleOptions opt;
  {
    RollingIdleEstimator r(opt);
    IdleEstimate e;
    for (int i = 0; i < 50; ++i) e = r.Update(Obs(90.0 + (i % 5), 0.3));  // no spread
    EXPECT_EQ(e.method, IdleMethod::kPercentile);
  }
  {
    RollingIdleEstimator r(opt);
    IdleEstimate e;
    for (int i = 0; i < 50; ++i) {
      const double util = 0.6 + 0.4 * (i % 10) / 9.0;  // never below 0.6: do not extrapolate
      e = r.Update(Obs(40.0 + 60.0 * util, util));
    }
    EXPECT_EQ(e.method, IdleMethod::kPercentile);
  }
  {
    RollingIdleEstimator r(opt);
    IdleEstimate e;
    for (int i = 0; i < 50; ++i) {
      const double util = (i % 10) / 9.0;
      e = r.Update(Obs(100.0 - 50.0 * util, util));  // power falls with load: fit is nonsense
    }
    EXPECT_EQ(e.method, IdleMethod::kPercentile);
  }
}

TEST(RollingIdleTest, ClampedToCurrentPower) {
  RollingIdleEstimator r;
  for (int i = 0; i < 50; ++i) r.Update(Obs(100.0));
  IdleEstimate e = r.Update(Obs(30.0));  // a dip below everything in the window
  EXPECT_DOUBLE_EQ(e.idle.value(), 30.0);
  e = r.Update(Obs(std::numeric_limits<double>::quiet_NaN()));  // ignored as a sample
  EXPECT_DOUBLE_EQ(e.idle.value(), 0.0);
}

TEST(RollingIdleTest, WindowSlidesSoItIsNotMinimumSinceStart) {
  RollingIdleOptions opt;
  opt.window = Seconds(100.0);
  opt.min_samples = 5;
  RollingIdleEstimator r(opt);
  for (int i = 0; i < 50; ++i) r.Update(Obs(50.0, std::nullopt, 10.0));
  IdleEstimate e;
  for (int i = 0; i < 50; ++i) e = r.Update(Obs(100.0, std::nullopt, 10.0));
  EXPECT_DOUBLE_EQ(e.idle.value(), 100.0);  // the 50 W era left the window
  EXPECT_LE(r.samples(), 11u);
}

TEST(RollingIdleTest, SampleBound) {
  RollingIdleOptions opt;
  opt.max_samples = 64;
  RollingIdleEstimator r(opt);
  for (int i = 0; i < 1000; ++i) r.Update(Obs(10.0 + i % 7, 0.5, 1e-3));
  EXPECT_EQ(r.samples(), 64u);
}

}  // namespace
}  // namespace wattson::attribution
