#include "attribution/attributor.h"

#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace wattson::attribution {
namespace {

WorkloadUsage Proc(std::int64_t pid, double cpu, std::string container = "", std::string vm = "") {
  WorkloadUsage u;
  u.key.pid = pid;
  u.key.start_time = 1000 + static_cast<std::uint64_t>(pid);
  u.key.container_id = std::move(container);
  u.key.vm_id = std::move(vm);
  u.key.command = "cmd" + std::to_string(pid);
  u.cpu_time = Seconds(cpu);
  return u;
}

ZoneEnergy Zone(std::string zone, std::string key, double joules, std::optional<double> idle_w,
                ZoneOrigin origin = ZoneOrigin::kMeasured) {
  ZoneEnergy z;
  z.id = {std::move(zone), std::move(key)};
  z.energy = Joules(joules);
  z.origin = origin;
  z.source = origin == ZoneOrigin::kMeasured ? "rapl-sysfs" : "trained_power_model";
  if (origin == ZoneOrigin::kEstimated) z.model_id = "m1";
  if (idle_w) z.model_idle = Watts(*idle_w);
  return z;
}

const ZoneSplit& FindZone(const TickResult& r, const std::string& zone, std::size_t* index) {
  for (std::size_t z = 0; z < r.zones.size(); ++z) {
    if (r.zones[z].id.zone == zone) {
      *index = z;
      return r.zones[z];
    }
  }
  ADD_FAILURE() << "no zone " << zone;
  static ZoneSplit none;
  return none;
}

TEST(AttributorTest, SplitsDynamicByCpuTime) {
  Attributor a;
  TickInput in;
  in.dt = Seconds(2.0);
  in.zones = {Zone("package", "0", 100.0, 10.0)};  // idle 10 W × 2 s = 20 J
  in.workloads = {Proc(1, 1.0), Proc(2, 3.0)};
  auto r = a.Tick(in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->zones.size(), 1u);
  const ZoneSplit& z = r->zones[0];
  EXPECT_DOUBLE_EQ(z.idle.value(), 20.0);
  EXPECT_DOUBLE_EQ(z.dynamic.value(), 80.0);
  EXPECT_EQ(z.idle_method, IdleMethod::kModel);
  EXPECT_EQ(z.metric, UsageMetric::kCpuTime);
  EXPECT_DOUBLE_EQ(r->DynamicOf(0, 0).value(), 20.0);
  EXPECT_DOUBLE_EQ(r->DynamicOf(1, 0).value(), 60.0);
  EXPECT_DOUBLE_EQ(z.unattributed_dynamic.value(), 0.0);
  // Idle stays at node level by default.
  EXPECT_DOUBLE_EQ(r->IdleOf(0, 0).value(), 0.0);
  EXPECT_DOUBLE_EQ(z.unapportioned_idle.value(), 20.0);
}

TEST(AttributorTest, CountersWhenEveryActiveWorkloadHasThem) {
  Attributor a;
  TickInput in;
  in.dt = Seconds(1.0);
  in.zones = {Zone("package", "0", 50.0, 0.0), Zone("dram", "0", 10.0, 0.0),
              Zone("core", "0", 30.0, 0.0)};
  WorkloadUsage p1 = Proc(1, 1.0);
  p1.instructions = 100.0;
  p1.cache_misses = 1.0;
  WorkloadUsage p2 = Proc(2, 1.0);
  p2.instructions = 300.0;
  p2.cache_misses = 9.0;
  WorkloadUsage sleeper = Proc(3, 0.0);  // inactive and without counters: does not block
  in.workloads = {p1, p2, sleeper};
  auto r = a.Tick(in);
  ASSERT_TRUE(r.ok());
  std::size_t pkg = 0, dram = 0, core = 0;
  EXPECT_EQ(FindZone(*r, "package", &pkg).metric, UsageMetric::kInstructions);
  EXPECT_EQ(FindZone(*r, "core", &core).metric, UsageMetric::kInstructions);
  EXPECT_EQ(FindZone(*r, "dram", &dram).metric, UsageMetric::kCacheMisses);
  EXPECT_DOUBLE_EQ(r->DynamicOf(0, pkg).value(), 12.5);
  EXPECT_DOUBLE_EQ(r->DynamicOf(1, pkg).value(), 37.5);
  EXPECT_DOUBLE_EQ(r->DynamicOf(0, dram).value(), 1.0);
  EXPECT_DOUBLE_EQ(r->DynamicOf(1, dram).value(), 9.0);
  EXPECT_DOUBLE_EQ(r->DynamicOf(2, pkg).value(), 0.0);

  // One active workload without counters: CPU time for everybody (absent is not zero).
  in.workloads.push_back(Proc(4, 2.0));
  r = a.Tick(in);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(FindZone(*r, "package", &pkg).metric, UsageMetric::kCpuTime);
  EXPECT_EQ(FindZone(*r, "dram", &dram).metric, UsageMetric::kCpuTime);
  EXPECT_DOUBLE_EQ(r->DynamicOf(3, pkg).value(), 25.0);

  AttributorOptions no_counters;
  no_counters.use_hardware_counters = false;
  Attributor b(no_counters);
  in.workloads.pop_back();
  r = b.Tick(in);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(FindZone(*r, "package", &pkg).metric, UsageMetric::kCpuTime);
  EXPECT_DOUBLE_EQ(r->DynamicOf(0, pkg).value(), 25.0);
}

TEST(AttributorTest, ZeroUsageGoesToUnattributedNotSpreadOverIdlePids) {
  Attributor a;
  TickInput in;
  in.dt = Seconds(3.0);
  in.zones = {Zone("package", "0", 90.0, 10.0)};
  in.workloads = {Proc(1, 0.0), Proc(2, 0.0)};
  auto r = a.Tick(in);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->zones[0].dynamic.value(), 60.0);
  EXPECT_DOUBLE_EQ(r->zones[0].unattributed_dynamic.value(), 60.0);
  EXPECT_DOUBLE_EQ(r->DynamicOf(0, 0).value(), 0.0);
  EXPECT_DOUBLE_EQ(r->DynamicOf(1, 0).value(), 0.0);

  in.workloads.clear();  // no workloads at all
  r = a.Tick(in);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->zones[0].unattributed_dynamic.value(), 60.0);
}

TEST(AttributorTest, GpuSplitByGpuUsageOnly) {
  Attributor a;
  TickInput in;
  in.dt = Seconds(1.0);
  in.zones = {Zone("gpu", "0", 300.0, 50.0)};
  WorkloadUsage trainer = Proc(1, 0.5);
  trainer.gpu_usage = 80.0;
  in.workloads = {trainer, Proc(2, 4.0)};
  auto r = a.Tick(in);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->zones[0].metric, UsageMetric::kGpuUsage);
  EXPECT_DOUBLE_EQ(r->DynamicOf(0, 0).value(), 250.0);
  EXPECT_DOUBLE_EQ(r->DynamicOf(1, 0).value(), 0.0);
  in.workloads = {Proc(2, 4.0)};  // nobody reports GPU use: unattributed, not CPU-time split
  r = a.Tick(in);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->zones[0].unattributed_dynamic.value(), 250.0);
}

TEST(AttributorTest, DerivesOtherFromPlatform) {
  Attributor a;
  TickInput in;
  in.dt = Seconds(1.0);
  in.zones = {Zone("platform", "energy1", 200.0, 100.0, ZoneOrigin::kEstimated),
              Zone("package", "0", 100.0, 30.0), Zone("dram", "0", 20.0, 10.0)};
  in.workloads = {Proc(1, 1.0)};
  auto r = a.Tick(in);
  ASSERT_TRUE(r.ok());
  std::size_t o = 0;
  const ZoneSplit& other = FindZone(*r, "other", &o);
  EXPECT_DOUBLE_EQ(other.total.value(), 80.0);
  EXPECT_DOUBLE_EQ(other.idle.value(), 60.0);
  EXPECT_DOUBLE_EQ(other.dynamic.value(), 20.0);
  EXPECT_EQ(other.origin, ZoneOrigin::kEstimated);
  EXPECT_EQ(other.model_id, "m1");
  EXPECT_EQ(other.source, "trained_power_model");
  EXPECT_EQ(other.idle_method, IdleMethod::kDerived);
  EXPECT_DOUBLE_EQ(r->DynamicOf(0, o).value(), 20.0);
  // Zones come out sorted by (zone, key).
  for (std::size_t z = 1; z < r->zones.size(); ++z) EXPECT_LT(r->zones[z - 1].id, r->zones[z].id);

  // Components above the platform reading: other is 0, never negative.
  in.zones[0].energy = Joules(50.0);
  r = a.Tick(in);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(FindZone(*r, "other", &o).total.value(), 0.0);
}

TEST(AttributorTest, IdleApportioningByCpuShare) {
  AttributorOptions opt;
  opt.idle_apportioning = IdleApportioning::kCpuTimeShare;
  Attributor a(opt);
  TickInput in;
  in.dt = Seconds(1.0);
  in.zones = {Zone("package", "0", 100.0, 40.0)};
  in.workloads = {Proc(1, 1.0), Proc(2, 3.0)};
  auto r = a.Tick(in);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->IdleOf(0, 0).value(), 10.0);
  EXPECT_DOUBLE_EQ(r->IdleOf(1, 0).value(), 30.0);
  EXPECT_DOUBLE_EQ(r->zones[0].unapportioned_idle.value(), 0.0);
}

TEST(AttributorTest, IdleApportioningEvenOverActiveContainers) {
  AttributorOptions opt;
  opt.idle_apportioning = IdleApportioning::kEvenActiveContainers;
  Attributor a(opt);
  TickInput in;
  in.dt = Seconds(1.0);
  in.zones = {Zone("package", "0", 100.0, 90.0)};
  in.workloads = {Proc(1, 1.0, "c1"), Proc(2, 3.0, "c1"), Proc(3, 0.1, "c2"),
                  Proc(4, 0.0, "c3"),  // inactive container: no share
                  Proc(5, 2.0)};       // host processes form one group
  auto r = a.Tick(in);
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(r->IdleOf(0, 0).value(), 7.5, 1e-12);
  EXPECT_NEAR(r->IdleOf(1, 0).value(), 22.5, 1e-12);
  EXPECT_NEAR(r->IdleOf(2, 0).value(), 30.0, 1e-12);
  EXPECT_DOUBLE_EQ(r->IdleOf(3, 0).value(), 0.0);
  EXPECT_NEAR(r->IdleOf(4, 0).value(), 30.0, 1e-12);
}

TEST(AttributorTest, FirstTicksOnAMeterAreFlaggedProvisional) {
  Attributor a;
  TickInput in;
  in.dt = Seconds(3.0);
  in.zones = {Zone("package", "0", 300.0, std::nullopt)};
  in.workloads = {Proc(1, 1.0)};
  auto r = a.Tick(in);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->zones[0].idle_method, IdleMethod::kWarmingUp);
  EXPECT_TRUE(r->zones[0].idle_provisional);
  // A quieter second tick: dynamic is what lies above the lowest power seen in the window.
  in.zones[0].energy = Joules(150.0);
  r = a.Tick(in);
  ASSERT_TRUE(r.ok());
  in.zones[0].energy = Joules(240.0);
  r = a.Tick(in);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->zones[0].idle_provisional);
  EXPECT_GT(r->zones[0].dynamic.value(), 0.0);
  EXPECT_NEAR(r->zones[0].idle.value() + r->zones[0].dynamic.value(), 240.0, 1e-9);
}

TEST(AttributorTest, UsesMeasuredDtForIdleEnergy) {
  Attributor a;
  TickInput in;
  in.dt = Seconds(7.25);  // a slow tick: idle energy follows the measured interval
  in.zones = {Zone("package", "0", 500.0, 20.0)};
  in.workloads = {Proc(1, 1.0)};
  auto r = a.Tick(in);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->zones[0].idle.value(), 145.0);
}

TEST(AttributorTest, RejectsBadIntervalAndRepairsBadValues) {
  Attributor a;
  TickInput in;
  in.dt = Seconds(0.0);
  EXPECT_FALSE(a.Tick(in).ok());
  in.dt = Seconds(std::numeric_limits<double>::quiet_NaN());
  EXPECT_FALSE(a.Tick(in).ok());

  in.dt = Seconds(1.0);
  in.zones = {Zone("package", "0", std::numeric_limits<double>::quiet_NaN(), 1.0),
              Zone("dram", "0", -4.0, 1.0), Zone("core", "0", 5.0, 1.0),
              Zone("core", "0", 5.0, 1.0), Zone("", "x", 1.0, 1.0)};
  WorkloadUsage bad = Proc(1, -3.0);
  bad.instructions = std::numeric_limits<double>::infinity();
  in.workloads = {bad, Proc(2, 1.0)};
  auto r = a.Tick(in);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->zones.size(), 1u);
  EXPECT_EQ(r->zones[0].id.zone, "core");
  EXPECT_DOUBLE_EQ(r->zones[0].total.value(), 10.0);
  EXPECT_DOUBLE_EQ(r->DynamicOf(0, 0).value(), 0.0);
  EXPECT_DOUBLE_EQ(r->DynamicOf(1, 0).value(), 9.0);
  EXPECT_GE(r->warnings.size(), 4u);
}

TEST(AttributorTest, DerivesUtilisationFromCpuCount) {
  AttributorOptions opt;
  opt.cpu_count = 4.0;
  opt.rolling.min_samples = 5;
  Attributor a(opt);
  // Power follows 50 + 100·util exactly; util comes from Σ cpu_time / (Δt · 4).
  TickResult last;
  for (int i = 0; i < 40; ++i) {
    const double util = (i % 8) / 8.0;
    TickInput in;
    in.dt = Seconds(2.0);
    in.zones = {Zone("package", "0", (50.0 + 100.0 * util) * 2.0, std::nullopt)};
    in.workloads = {Proc(1, util * 2.0 * 4.0)};
    auto r = a.Tick(in);
    ASSERT_TRUE(r.ok());
    last = *r;
  }
  EXPECT_EQ(last.zones[0].idle_method, IdleMethod::kRegression);
  EXPECT_NEAR(last.zones[0].idle.value(), 100.0, 1e-9);  // 50 W × 2 s
}

}  // namespace
}  // namespace wattson::attribution
