#include "sources/power/hwmon.h"

#include <string>

#include "common/clock.h"
#include "common/host_fs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sources/power/test_logger.h"

namespace wattson {
namespace {

using ::testing::HasSubstr;

constexpr const char* kMeter = "/sys/class/hwmon/hwmon2";

double Energy(const PowerReading& r, const std::string& key) {
  for (const ZoneEnergy& z : r.zones) {
    if (z.key == key) {
      EXPECT_EQ(z.zone, "platform");
      return z.energy.value();
    }
  }
  ADD_FAILURE() << "no key " << key;
  return -1;
}

void SetWatts(FakeHostFs& fs, const std::string& file, double watts) {
  fs.SetFile(file, std::to_string(static_cast<long long>(watts * 1e6)) + "\n");
}

// A host with an ACPI power meter and two devices that are not platform meters.
void AcpiHost(FakeHostFs& fs, double watts) {
  fs.SetFile("/sys/class/hwmon/hwmon0/name", "coretemp\n");
  fs.SetFile("/sys/class/hwmon/hwmon0/temp1_input", "40000\n");
  fs.SetFile("/sys/class/hwmon/hwmon1/name", "amdgpu\n");
  SetWatts(fs, "/sys/class/hwmon/hwmon1/power1_average", 30);
  fs.SetFile(std::string(kMeter) + "/name", "power_meter\n");
  SetWatts(fs, std::string(kMeter) + "/power1_average", watts);
  fs.SetFile(std::string(kMeter) + "/power1_average_interval", "1000\n");
}

TEST(HwmonTest, AcpiPowerMeterIsIntegratedOverMeasuredTime) {
  FakeHostFs fs;
  AcpiHost(fs, 100);
  FakeClock clock;
  auto src = ProbeHwmon(fs, clock, MakeNullLogger());
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_EQ((*src)->name(), "acpi");
  ASSERT_EQ((*src)->channels().size(), 1u);
  EXPECT_EQ((*src)->channels()[0].key, "energy1");
  EXPECT_EQ((*src)->channels()[0].kind, HwmonChannel::Kind::kPower);

  clock.Advance(Seconds(3.0));
  auto r1 = (*src)->Read();
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  ASSERT_EQ(r1->zones.size(), 1u);
  EXPECT_DOUBLE_EQ(Energy(*r1, "energy1"), 300.0);  // 100 W for 3 s

  // 100 W → 200 W over a 3.5 s tick: the trapezoid gives 150 W × 3.5 s.
  SetWatts(fs, std::string(kMeter) + "/power1_average", 200);
  clock.Advance(Seconds(3.5));
  auto r2 = (*src)->Read();
  ASSERT_TRUE(r2.ok());
  EXPECT_DOUBLE_EQ(Energy(*r2, "energy1"), 300.0 + 525.0);
  EXPECT_EQ(r2->at, clock.Now());
}

TEST(HwmonTest, EnergyCounterIsPreferredToPower) {
  FakeHostFs fs;
  fs.SetFile("/sys/class/hwmon/hwmon3/name", "power_meter\n");
  fs.SetFile("/sys/class/hwmon/hwmon3/energy1_input", "5000000\n");
  SetWatts(fs, "/sys/class/hwmon/hwmon3/power1_average", 999);
  FakeClock clock;
  auto src = ProbeHwmon(fs, clock, MakeNullLogger());
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  ASSERT_EQ((*src)->channels().size(), 1u);
  EXPECT_EQ((*src)->channels()[0].kind, HwmonChannel::Kind::kEnergy);
  clock.Advance(Seconds(3.0));
  fs.SetFile("/sys/class/hwmon/hwmon3/energy1_input", "305000000\n");
  auto r = (*src)->Read();
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(Energy(*r, "energy1"), 300.0);  // from the counter, not 999 W
}

TEST(HwmonTest, OtherMetersWhenThereIsNoPowerMeterAndAttributesInDeviceFolder) {
  FakeHostFs fs;
  fs.SetFile("/sys/class/hwmon/hwmon0/name", "amdgpu\n");  // a GPU: never the platform
  SetWatts(fs, "/sys/class/hwmon/hwmon0/power1_average", 30);
  fs.SetFile("/sys/class/hwmon/hwmon4/device/name", "aem2\n");  // old kernels: device/ folder
  SetWatts(fs, "/sys/class/hwmon/hwmon4/device/power1_input", 50);
  SetWatts(fs, "/sys/class/hwmon/hwmon4/device/power2_average", 70);
  FakeClock clock;
  auto src = ProbeHwmon(fs, clock, MakeNullLogger());
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  ASSERT_EQ((*src)->channels().size(), 2u);
  EXPECT_EQ((*src)->channels()[0].key, "energy1");
  EXPECT_THAT((*src)->channels()[0].path, HasSubstr("hwmon4/device/power1_input"));
  EXPECT_EQ((*src)->channels()[1].key, "energy2");
  clock.Advance(Seconds(2.0));
  auto r = (*src)->Read();
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(Energy(*r, "energy1"), 100.0);
  EXPECT_DOUBLE_EQ(Energy(*r, "energy2"), 140.0);

  // Asking for a driver by name.
  HwmonOptions gpu_only;
  gpu_only.names = {"amdgpu"};
  auto gpu = ProbeHwmon(fs, clock, MakeNullLogger(), gpu_only);
  ASSERT_TRUE(gpu.ok());
  EXPECT_THAT((*gpu)->channels()[0].path, HasSubstr("hwmon0/power1_average"));
}

TEST(HwmonTest, SeveralPowerMetersGetDistinctKeys) {
  FakeHostFs fs;
  for (const char* d : {"hwmon2", "hwmon5"}) {
    fs.SetFile(std::string("/sys/class/hwmon/") + d + "/name", "power_meter\n");
    SetWatts(fs, std::string("/sys/class/hwmon/") + d + "/power1_average", 10);
  }
  FakeClock clock;
  auto src = ProbeHwmon(fs, clock, MakeNullLogger());
  ASSERT_TRUE(src.ok());
  ASSERT_EQ((*src)->channels().size(), 2u);
  EXPECT_EQ((*src)->channels()[0].key, "hwmon2_energy1");
  EXPECT_EQ((*src)->channels()[1].key, "hwmon5_energy1");
}

TEST(HwmonTest, NoMeterIsNotFound) {
  FakeClock clock;
  FakeHostFs empty;
  auto none = ProbeHwmon(empty, clock, MakeNullLogger());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);

  FakeHostFs temps;
  temps.SetFile("/sys/class/hwmon/hwmon0/name", "coretemp\n");
  temps.SetFile("/sys/class/hwmon/hwmon0/temp1_input", "40000\n");
  temps.SetFile("/sys/class/hwmon/hwmon1/name", "i915\n");
  temps.SetFile("/sys/class/hwmon/hwmon1/energy1_input", "123\n");
  auto no_meter = ProbeHwmon(temps, clock, MakeNullLogger());
  ASSERT_FALSE(no_meter.ok());
  EXPECT_EQ(no_meter.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(no_meter.status().message(), HasSubstr("no hwmon power meter"));
}

TEST(HwmonTest, UnreadableMeterFailsTheProbe) {
  FakeHostFs base;
  AcpiHost(base, 100);
  FaultInjectingHostFs fs(base);
  fs.FailPath(std::string(kMeter) + "/power1_average",
              Status::IoError("read power1_average: No data available"));
  FakeClock clock;
  auto src = ProbeHwmon(fs, clock, MakeNullLogger());
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(src.status().message(), HasSubstr("No data available"));
}

// A failed read: that Read() errs; the next good sample is integrated with the last good one over
// the whole gap, so the energy of the failed tick is interpolated, not lost.
TEST(HwmonTest, ReadErrorMidRunIntegratesAcrossTheGap) {
  FakeHostFs base;
  AcpiHost(base, 100);
  FaultInjectingHostFs fs(base);
  FakeClock clock;
  CapturingLogger log;
  auto src = ProbeHwmon(fs, clock, log.get());
  ASSERT_TRUE(src.ok());
  clock.Advance(Seconds(3.0));
  ASSERT_TRUE((*src)->Read().ok());  // 300 J

  clock.Advance(Seconds(3.0));
  fs.FailNthRead(1, Status::IoError("read power1_average: Input/output error"));
  auto bad = (*src)->Read();
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("Input/output error"));

  clock.Advance(Seconds(3.0));
  auto good = (*src)->Read();
  ASSERT_TRUE(good.ok());
  EXPECT_DOUBLE_EQ(Energy(*good, "energy1"), 900.0);  // 100 W for 9 s

  // A gap longer than max_gap (60 s) is dropped with a warning, then counting goes on.
  clock.Advance(Seconds(120.0));
  auto after_gap = (*src)->Read();
  ASSERT_TRUE(after_gap.ok());
  EXPECT_DOUBLE_EQ(Energy(*after_gap, "energy1"), 900.0);
  EXPECT_TRUE(log.Contains({"warn", "energy1", "not counted"}));
  clock.Advance(Seconds(1.0));
  EXPECT_DOUBLE_EQ(Energy(*(*src)->Read(), "energy1"), 1000.0);
}

TEST(HwmonTest, StoredAcpiTree) {
  RootedHostFs fs(WATTSON_TESTDATA_DIR "/hosts/hwmon-acpi");
  FakeClock clock;
  auto src = ProbeHwmon(fs, clock, MakeNullLogger());
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  ASSERT_EQ((*src)->channels().size(), 1u);
  EXPECT_EQ((*src)->channels()[0].path, "/sys/class/hwmon/hwmon2/power1_average");
  clock.Advance(Seconds(3.0));
  auto r = (*src)->Read();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_DOUBLE_EQ(Energy(*r, "energy1"), 735.0);  // 245 W × 3 s
}

}  // namespace
}  // namespace wattson
