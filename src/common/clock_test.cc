#include "common/clock.h"

#include "gtest/gtest.h"

namespace wattson {
namespace {

TEST(ClockTest, FakeClockAdvancesBothClocks) {
  FakeClock clock;
  auto t0 = clock.Now();
  auto w0 = clock.WallNow();
  clock.Advance(Seconds(2.5));
  EXPECT_DOUBLE_EQ(SecondsBetween(t0, clock.Now()).value(), 2.5);
  EXPECT_EQ(clock.WallNow() - w0, std::chrono::milliseconds(2500));
}

TEST(UnitsTest, DimensionalArithmetic) {
  Joules e = Watts(10) * Seconds(3);
  EXPECT_DOUBLE_EQ(e.value(), 30.0);
  EXPECT_DOUBLE_EQ((e / Seconds(2)).value(), 15.0);
  EXPECT_DOUBLE_EQ(MicrojoulesToJoules(1.5e6).value(), 1.5);
  EXPECT_LT(Watts(1), Watts(2));
}

}  // namespace
}  // namespace wattson
