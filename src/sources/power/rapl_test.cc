#include "sources/power/rapl.h"

#include <string>

#include "common/clock.h"
#include "common/host_fs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sources/power/test_logger.h"

namespace wattson {
namespace {

using ::testing::HasSubstr;

constexpr std::uint64_t kMax = 262143328850;

void SetZone(FakeHostFs& fs, const std::string& dir, const std::string& name,
             std::uint64_t energy_uj, std::uint64_t max = kMax) {
  fs.SetFile(dir + "/name", name + "\n");
  fs.SetFile(dir + "/energy_uj", std::to_string(energy_uj) + "\n");
  if (max > 0) fs.SetFile(dir + "/max_energy_range_uj", std::to_string(max) + "\n");
}

void SetEnergy(FakeHostFs& fs, const std::string& dir, std::uint64_t energy_uj) {
  fs.SetFile(dir + "/energy_uj", std::to_string(energy_uj) + "\n");
}

double EnergyOf(const PowerReading& r, const std::string& zone, const std::string& key) {
  for (const ZoneEnergy& z : r.zones) {
    if (z.zone == zone && z.key == key) return z.energy.value();
  }
  ADD_FAILURE() << "no zone " << zone << "/" << key;
  return -1;
}

// Two sockets, each with core/uncore/dram sub-zones, in the nested intel-rapl/ layout.
class TwoSocketRapl : public ::testing::Test {
 protected:
  static constexpr const char* kBase = "/sys/class/powercap/intel-rapl";
  std::string Dir(int n) { return std::string(kBase) + "/intel-rapl:" + std::to_string(n); }
  std::string Sub(int n, int m) {
    return Dir(n) + "/intel-rapl:" + std::to_string(n) + ":" + std::to_string(m);
  }
  void SetUp() override {
    for (int n = 0; n < 2; ++n) {
      SetZone(fs_, Dir(n), "package-" + std::to_string(n), 1'000'000);
      SetZone(fs_, Sub(n, 0), "core", 2'000'000);
      SetZone(fs_, Sub(n, 1), "uncore", 3'000'000);
      SetZone(fs_, Sub(n, 2), "dram", 4'000'000, 65712999613);
    }
  }
  FakeHostFs fs_;
  FakeClock clock_;
  CapturingLogger log_;
};

TEST_F(TwoSocketRapl, FindsEveryZoneAndReportsEnergySinceStart) {
  auto src = ProbeRapl(fs_, clock_, log_.get());
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_EQ((*src)->name(), "rapl-sysfs");
  ASSERT_EQ((*src)->zones().size(), 8u);
  EXPECT_EQ((*src)->zones()[0].zone, "package");
  EXPECT_EQ((*src)->zones()[0].key, "0");
  EXPECT_EQ((*src)->zones()[0].max_energy_range_uj, kMax);
  EXPECT_EQ((*src)->zones()[3].zone, "dram");
  EXPECT_EQ((*src)->zones()[3].max_energy_range_uj, 65712999613u);
  EXPECT_EQ((*src)->zones()[4].key, "1");

  // The probe's read is the baseline.
  auto first = (*src)->Read();
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->zones.size(), 8u);
  for (const ZoneEnergy& z : first->zones) EXPECT_EQ(z.energy.value(), 0.0) << z.zone;

  clock_.Advance(Seconds(3.0));
  SetEnergy(fs_, Dir(0), 1'000'000 + 150'000'000);  // 150 J on package 0
  SetEnergy(fs_, Dir(1), 1'000'000 + 120'000'000);
  SetEnergy(fs_, Sub(0, 0), 2'000'000 + 90'000'000);
  SetEnergy(fs_, Sub(0, 1), 3'000'000 + 6'000'000);
  SetEnergy(fs_, Sub(0, 2), 4'000'000 + 30'000'000);
  SetEnergy(fs_, Sub(1, 2), 4'000'000 + 27'500'000);
  auto r = (*src)->Read();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->at, clock_.Now());
  EXPECT_DOUBLE_EQ(EnergyOf(*r, "package", "0"), 150.0);
  EXPECT_DOUBLE_EQ(EnergyOf(*r, "package", "1"), 120.0);
  EXPECT_DOUBLE_EQ(EnergyOf(*r, "core", "0"), 90.0);
  EXPECT_DOUBLE_EQ(EnergyOf(*r, "uncore", "0"), 6.0);
  EXPECT_DOUBLE_EQ(EnergyOf(*r, "dram", "0"), 30.0);
  EXPECT_DOUBLE_EQ(EnergyOf(*r, "dram", "1"), 27.5);
  EXPECT_DOUBLE_EQ(EnergyOf(*r, "core", "1"), 0.0);
}

TEST(RaplTest, FlatLayoutWithPsysSkipsMmioAndUnknownZones) {
  FakeHostFs fs;
  const std::string base = "/sys/class/powercap";
  SetZone(fs, base + "/intel-rapl:0", "package-0", 10);
  SetZone(fs, base + "/intel-rapl:0:0", "core", 20);  // only beside the package
  SetZone(fs, base + "/intel-rapl:0:1", "uncore", 30);
  SetZone(fs, base + "/intel-rapl:0:2", "mystery", 40);  // not one of ours
  SetZone(fs, base + "/intel-rapl:1", "psys", 50);
  SetZone(fs, base + "/intel-rapl-mmio:0", "package-0", 60);  // repeats package-0: skipped
  SetZone(fs, base + "/dtpm", "dtpm", 1);
  FakeClock clock;
  auto src = ProbeRapl(fs, clock, MakeNullLogger());
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  std::vector<std::string> got;
  for (const RaplZone& z : (*src)->zones()) got.push_back(z.zone + "/" + z.key);
  EXPECT_EQ(got, (std::vector<std::string>{"package/0", "core/0", "uncore/0", "psys/0"}));
}

TEST(RaplTest, WrapAtMaxEnergyRangeCountsTheWholeInterval) {
  FakeHostFs fs;
  const std::string dir = "/sys/class/powercap/intel-rapl:0";
  SetZone(fs, dir, "package-0", kMax - 1'000'000);  // 1 J before the wrap
  FakeClock clock;
  CapturingLogger log;
  auto src = ProbeRapl(fs, clock, log.get());
  ASSERT_TRUE(src.ok()) << src.status().ToString();

  clock.Advance(Seconds(3.0));
  SetEnergy(fs, dir, 2'000'000);  // wrapped: 1 J up to the top, 2 J after
  auto r1 = (*src)->Read();
  ASSERT_TRUE(r1.ok());
  EXPECT_DOUBLE_EQ(EnergyOf(*r1, "package", "0"), 3.0);

  clock.Advance(Seconds(3.0));
  SetEnergy(fs, dir, 5'000'000);
  auto r2 = (*src)->Read();
  ASSERT_TRUE(r2.ok());
  EXPECT_DOUBLE_EQ(EnergyOf(*r2, "package", "0"), 6.0);
  EXPECT_TRUE(log.Contains({"wrapped"}));

  // A large advance (262 kJ over 2000 s ≈ 131 W: plausible), then a second wrap.
  clock.Advance(Seconds(2000.0));
  SetEnergy(fs, dir, kMax - 100'000'000);
  auto r3 = (*src)->Read();
  clock.Advance(Seconds(3.0));
  SetEnergy(fs, dir, 200'000'000);
  auto r4 = (*src)->Read();
  ASSERT_TRUE(r3.ok() && r4.ok());
  EXPECT_NEAR(EnergyOf(*r3, "package", "0"), 6.0 + (kMax - 100'000'000 - 5'000'000) * 1e-6, 1e-6);
  EXPECT_NEAR(EnergyOf(*r4, "package", "0") - EnergyOf(*r3, "package", "0"), 300.0, 1e-6);
}

TEST(RaplTest, ImplausibleIntervalsAreDroppedWithAWarningAndCountingGoesOn) {
  FakeHostFs fs;
  const std::string pkg = "/sys/class/powercap/intel-rapl:0";
  const std::string dram = pkg + "/intel-rapl:0:0";
  SetZone(fs, pkg, "package-0", 100'000'000);
  SetZone(fs, dram, "dram", 100'000'000, /*max=*/0);  // no max_energy_range_uj
  FakeClock clock;
  CapturingLogger log;
  auto src = ProbeRapl(fs, clock, log.get());
  ASSERT_TRUE(src.ok());
  EXPECT_TRUE(log.Contains({"warn", "dram/0", "no max_energy_range_uj"}));

  // dram goes back with no known range: that interval is dropped. The package "wraps" by an
  // amount that would mean ~87 kW over 3 s: a counter reset, dropped too.
  clock.Advance(Seconds(3.0));
  SetEnergy(fs, dram, 5'000'000);
  SetEnergy(fs, pkg, 50'000'000);
  auto r1 = (*src)->Read();
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(EnergyOf(*r1, "dram", "0"), 0.0);
  EXPECT_EQ(EnergyOf(*r1, "package", "0"), 0.0);
  EXPECT_TRUE(log.Contains({"warn", "dram/0", "interval dropped", "no known wrap range"}));
  EXPECT_TRUE(log.Contains({"warn", "package/0", "interval dropped", "plausible"}));

  // Counting resumes from the new base.
  clock.Advance(Seconds(3.0));
  SetEnergy(fs, dram, 12'000'000);
  SetEnergy(fs, pkg, 80'000'000);
  auto r2 = (*src)->Read();
  ASSERT_TRUE(r2.ok());
  EXPECT_DOUBLE_EQ(EnergyOf(*r2, "dram", "0"), 7.0);
  EXPECT_DOUBLE_EQ(EnergyOf(*r2, "package", "0"), 30.0);

  // A value above the published range is not believed either.
  clock.Advance(Seconds(3.0));
  SetEnergy(fs, pkg, kMax + 5);
  auto r3 = (*src)->Read();
  ASSERT_TRUE(r3.ok());
  EXPECT_DOUBLE_EQ(EnergyOf(*r3, "package", "0"), 30.0);
  EXPECT_TRUE(log.Contains({"beyond its range"}));
}

TEST(RaplTest, UnreadableEnergyFailsTheProbeAndSaysWhy) {
  FakeHostFs base;
  const std::string dir = "/sys/class/powercap/intel-rapl:0";
  SetZone(base, dir, "package-0", 1);
  FaultInjectingHostFs fs(base);
  fs.FailPath(
      dir + "/energy_uj",
      Status::IoError("open /sys/class/powercap/intel-rapl:0/energy_uj: Permission denied"));
  FakeClock clock;
  auto src = ProbeRapl(fs, clock, MakeNullLogger());
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(src.status().message(), HasSubstr("energy_uj is not readable"));
  EXPECT_THAT(src.status().message(), HasSubstr("Permission denied"));
  EXPECT_THAT(src.status().message(), HasSubstr("root"));
  EXPECT_THAT(src.status().message(), HasSubstr("package/0"));
}

TEST(RaplTest, GarbageInEnergyFailsTheProbe) {
  FakeHostFs fs;
  SetZone(fs, "/sys/class/powercap/intel-rapl:0", "package-0", 1);
  fs.SetFile("/sys/class/powercap/intel-rapl:0/energy_uj", "-12\n");
  FakeClock clock;
  auto src = ProbeRapl(fs, clock, MakeNullLogger());
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(src.status().message(), HasSubstr("not an unsigned integer"));
}

TEST(RaplTest, NoPowercapIsNotFound) {
  FakeHostFs fs;
  fs.SetFile("/sys/class/thermal/thermal_zone0/temp", "40000\n");
  FakeClock clock;
  auto src = ProbeRapl(fs, clock, MakeNullLogger());
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(src.status().message(), HasSubstr("powercap"));

  fs.SetFile("/sys/class/powercap/dtpm/name", "dtpm\n");
  auto src2 = ProbeRapl(fs, clock, MakeNullLogger());
  ASSERT_FALSE(src2.ok());
  EXPECT_EQ(src2.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(src2.status().message(), HasSubstr("no RAPL zones"));
}

// EIO mid-run: that Read() fails; the energy of the gap is still counted by the next good read
// (energy_uj is cumulative), so nothing is lost or counted twice.
TEST_F(TwoSocketRapl, ReadErrorMidRunLosesAndDoublesNothing) {
  FaultInjectingHostFs faulty(fs_);
  auto src = ProbeRapl(faulty, clock_, log_.get());
  ASSERT_TRUE(src.ok()) << src.status().ToString();

  clock_.Advance(Seconds(3.0));
  SetEnergy(fs_, Dir(0), 1'000'000 + 100'000'000);
  SetEnergy(fs_, Sub(1, 2), 4'000'000 + 10'000'000);
  ASSERT_TRUE((*src)->Read().ok());

  // Tick 2: package 0 fails with EIO; everything else is read.
  clock_.Advance(Seconds(3.0));
  SetEnergy(fs_, Dir(0), 1'000'000 + 250'000'000);
  SetEnergy(fs_, Sub(1, 2), 4'000'000 + 25'000'000);
  faulty.FailPath(Dir(0) + "/energy_uj",
                  Status::IoError("read " + Dir(0) + "/energy_uj: Input/output error"));
  auto bad = (*src)->Read();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kIoError);
  EXPECT_THAT(bad.status().message(), HasSubstr("Input/output error"));
  EXPECT_THAT(bad.status().message(), HasSubstr("rapl-sysfs"));

  // Tick 3: good again.
  faulty.ClearFaults();
  clock_.Advance(Seconds(3.0));
  SetEnergy(fs_, Dir(0), 1'000'000 + 400'000'000);
  SetEnergy(fs_, Sub(1, 2), 4'000'000 + 40'000'000);
  auto good = (*src)->Read();
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_DOUBLE_EQ(EnergyOf(*good, "package", "0"), 400.0);
  EXPECT_DOUBLE_EQ(EnergyOf(*good, "dram", "1"), 40.0);

  // The n-th-read fault (the first zone of the tick) behaves the same.
  clock_.Advance(Seconds(3.0));
  SetEnergy(fs_, Dir(0), 1'000'000 + 500'000'000);
  faulty.FailNthRead(1, Status::IoError("read: Input/output error"));
  EXPECT_FALSE((*src)->Read().ok());
  clock_.Advance(Seconds(3.0));
  auto again = (*src)->Read();
  ASSERT_TRUE(again.ok());
  EXPECT_DOUBLE_EQ(EnergyOf(*again, "package", "0"), 500.0);
}

TEST(RaplTest, StoredTwoSocketTree) {
  RootedHostFs fs(WATTSON_TESTDATA_DIR "/hosts/rapl-2socket");
  FakeClock clock;
  auto src = ProbeRapl(fs, clock, MakeNullLogger());
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  std::vector<std::string> got;
  for (const RaplZone& z : (*src)->zones()) {
    got.push_back(z.zone + "/" + z.key);
    EXPECT_EQ(z.max_energy_range_uj, z.zone == "dram" ? 65712999613u : kMax) << z.dir;
  }
  EXPECT_EQ(got, (std::vector<std::string>{"package/0", "core/0", "uncore/0", "dram/0", "package/1",
                                           "core/1", "uncore/1", "dram/1"}));
  clock.Advance(Seconds(3.0));
  auto r = (*src)->Read();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->zones.size(), 8u);
  for (const ZoneEnergy& z : r->zones) EXPECT_EQ(z.energy.value(), 0.0);
}

}  // namespace
}  // namespace wattson
