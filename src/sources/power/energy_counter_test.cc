#include "sources/power/energy_counter.h"

#include <chrono>
#include <limits>

#include "gtest/gtest.h"

namespace wattson {
namespace {

using Outcome = CounterAccumulator::Outcome;

TEST(CounterAccumulatorTest, AdvancesWrapsAndDrops) {
  CounterAccumulator c(1000);
  EXPECT_EQ(c.Add(900).outcome, Outcome::kFirst);
  EXPECT_EQ(c.total(), 0u);
  auto wrap = c.Add(50);  // 100 to the top, 50 after
  EXPECT_EQ(wrap.outcome, Outcome::kWrapped);
  EXPECT_EQ(wrap.added, 150u);
  EXPECT_EQ(c.Add(50).outcome, Outcome::kAdvanced);  // no change
  EXPECT_EQ(c.Add(70).added, 20u);
  auto beyond = c.Add(5000);
  EXPECT_EQ(beyond.outcome, Outcome::kDropped);
  EXPECT_NE(beyond.why.find("beyond its range"), std::string::npos);
  EXPECT_EQ(c.Add(10).outcome, Outcome::kDropped);  // last (5000) was beyond the range too
  EXPECT_EQ(c.Add(30).added, 20u);
  auto implausible = c.Add(900, /*max_increase=*/100);
  EXPECT_EQ(implausible.outcome, Outcome::kDropped);
  EXPECT_EQ(c.Add(950, 100).added, 50u);
  EXPECT_EQ(c.total(), 150u + 20u + 20u + 50u);
}

TEST(CounterAccumulatorTest, NoRangeMeansADecreaseIsDropped) {
  CounterAccumulator c;
  c.Add(std::numeric_limits<std::uint64_t>::max() - 5);
  auto d = c.Add(3);
  EXPECT_EQ(d.outcome, Outcome::kDropped);
  EXPECT_NE(d.why.find("no known wrap range"), std::string::npos);
  EXPECT_EQ(c.Add(10).added, 7u);
  EXPECT_EQ(c.total(), 7u);
}

TEST(PowerIntegratorTest, TrapezoidOverMeasuredTime) {
  PowerIntegrator p(Seconds(10.0));
  const Clock::MonoTime t0{std::chrono::seconds(100)};
  EXPECT_EQ(p.Add(t0, Watts(10))->added.value(), 0.0);
  EXPECT_DOUBLE_EQ(p.Add(t0 + std::chrono::seconds(2), Watts(30))->added.value(), 40.0);
  EXPECT_DOUBLE_EQ(p.Add(t0 + std::chrono::seconds(2), Watts(30))->added.value(), 0.0);
  auto gap = p.Add(t0 + std::chrono::seconds(20), Watts(30));
  EXPECT_TRUE(gap->dropped);
  EXPECT_DOUBLE_EQ(p.Add(t0 + std::chrono::milliseconds(20500), Watts(10))->added.value(), 10.0);
  EXPECT_DOUBLE_EQ(p.total().value(), 50.0);
  EXPECT_FALSE(p.Add(t0 + std::chrono::seconds(21), Watts(-1)).ok());
  EXPECT_FALSE(
      p.Add(t0 + std::chrono::seconds(21), Watts(std::numeric_limits<double>::quiet_NaN())).ok());
  EXPECT_DOUBLE_EQ(p.total().value(), 50.0);
}

TEST(ParseSysfsUintTest, AcceptsSysfsIntegersOnly) {
  EXPECT_EQ(*ParseSysfsUint("123\n", "x"), 123u);
  EXPECT_EQ(*ParseSysfsUint("18446744073709551615", "x"),
            std::numeric_limits<std::uint64_t>::max());
  EXPECT_FALSE(ParseSysfsUint("18446744073709551616", "x").ok());
  EXPECT_FALSE(ParseSysfsUint("", "x").ok());
  EXPECT_FALSE(ParseSysfsUint("\n", "x").ok());
  EXPECT_FALSE(ParseSysfsUint("-1", "x").ok());
  EXPECT_FALSE(ParseSysfsUint("12 34", "x").ok());
  EXPECT_FALSE(ParseSysfsUint("0x10", "x").ok());
  auto bad = ParseSysfsUint(std::string("\x01\xff") + "abc", "energy_uj");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("energy_uj: '??abc'"), std::string::npos);
}

}  // namespace
}  // namespace wattson
