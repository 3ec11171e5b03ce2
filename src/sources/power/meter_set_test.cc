#include "sources/power/meter_set.h"

#include <string>

#include "common/clock.h"
#include "common/host_fs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sources/power/test_logger.h"

namespace wattson {
namespace {

using ::testing::HasSubstr;

void MeteredHost(FakeHostFs& fs) {
  fs.SetFile("/sys/class/powercap/intel-rapl:0/name", "package-0\n");
  fs.SetFile("/sys/class/powercap/intel-rapl:0/energy_uj", "1000\n");
  fs.SetFile("/sys/class/powercap/intel-rapl:0/max_energy_range_uj", "262143328850\n");
  fs.SetFile("/sys/class/powercap/intel-rapl:0/intel-rapl:0:0/name", "dram\n");
  fs.SetFile("/sys/class/powercap/intel-rapl:0/intel-rapl:0:0/energy_uj", "1000\n");
  fs.SetFile("/sys/class/hwmon/hwmon2/name", "power_meter\n");
  fs.SetFile("/sys/class/hwmon/hwmon2/power1_average", "200000000\n");
}

TEST(MeterSetTest, KeepsWorkingSourcesAndDescribesEveryProbe) {
  FakeHostFs fs;
  MeteredHost(fs);
  FakeClock clock;
  CapturingLogger log;
  MeterSetConfig config;
  config.sources = {"rapl", "hwmon", "nvml", "passthrough"};
  config.nvml.library = "/nonexistent/libnvidia-ml.so.1";
  auto set = ProbeMeters(fs, clock, log.get(), config);
  ASSERT_TRUE(set.ok()) << set.status().ToString();

  const auto& probes = set->DescribeProbes();
  ASSERT_EQ(probes.size(), 4u);
  EXPECT_EQ(probes[0].source, "rapl");
  EXPECT_TRUE(probes[0].status.ok());
  EXPECT_EQ(probes[0].detail, "rapl-sysfs: package/0 dram/0");
  EXPECT_TRUE(probes[1].status.ok());
  EXPECT_EQ(probes[1].detail, "acpi: platform/energy1");
  EXPECT_EQ(probes[2].status.code(), StatusCode::kNotFound);
  EXPECT_THAT(probes[2].detail, HasSubstr("cannot be loaded"));
  EXPECT_EQ(probes[3].status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(probes[3].detail, HasSubstr("no file path or URL"));
  EXPECT_TRUE(log.Contains({"info", "power source rapl: rapl-sysfs: package/0 dram/0"}));
  EXPECT_TRUE(log.Contains({"info", "power source nvml not used"}));

  auto sources = set->TakeSources();
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(sources[0]->name(), "rapl-sysfs");
  EXPECT_EQ(sources[1]->name(), "acpi");
  clock.Advance(Seconds(3.0));
  fs.SetFile("/sys/class/powercap/intel-rapl:0/energy_uj", "3001000\n");
  auto rapl = sources[0]->Read();
  ASSERT_TRUE(rapl.ok());
  EXPECT_DOUBLE_EQ(rapl->zones[0].energy.value(), 3.0);
  auto acpi = sources[1]->Read();
  ASSERT_TRUE(acpi.ok());
  EXPECT_DOUBLE_EQ(acpi->zones[0].energy.value(), 600.0);
}

TEST(MeterSetTest, PassthroughOnAVmWithNoMeters) {
  FakeHostFs fs;
  FakeClock clock;
  fs.SetFile("/run/vm-power.json",
             R"({"timestamp": 1700000000, "zones": [{"zone": "platform", "watts": 12}]})");
  MeterSetConfig config;
  config.sources = {"rapl", "passthrough"};
  config.passthrough.path = "/run/vm-power.json";
  auto set = ProbeMeters(fs, clock, MakeNullLogger(), config);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->DescribeProbes()[0].status.code(), StatusCode::kNotFound);
  EXPECT_EQ(set->DescribeProbes()[1].detail, "passthrough: platform/0");
  ASSERT_EQ(set->sources().size(), 1u);
  EXPECT_EQ(set->sources()[0]->name(), "passthrough");
}

TEST(MeterSetTest, UnknownOrRepeatedSourceIsAConfigurationError) {
  FakeHostFs fs;
  FakeClock clock;
  MeterSetConfig unknown;
  unknown.sources = {"rapl", "redfish"};
  auto r1 = ProbeMeters(fs, clock, MakeNullLogger(), unknown);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r1.status().message(), HasSubstr("unknown power source 'redfish'"));
  MeterSetConfig twice;
  twice.sources = {"hwmon", "hwmon"};
  EXPECT_EQ(ProbeMeters(fs, clock, MakeNullLogger(), twice).status().code(),
            StatusCode::kInvalidArgument);
  // A null logger is replaced by a silent one.
  FakeHostFs metered;
  MeteredHost(metered);
  MeterSetConfig rapl_only;
  rapl_only.sources = {"rapl", "hwmon"};
  auto quiet = ProbeMeters(metered, clock, nullptr, rapl_only);
  ASSERT_TRUE(quiet.ok());
  EXPECT_EQ(quiet->sources().size(), 2u);
  MeterSetConfig nothing;
  nothing.sources = {};
  auto empty = ProbeMeters(fs, clock, MakeNullLogger(), nothing);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->DescribeProbes().empty());
}

}  // namespace
}  // namespace wattson
