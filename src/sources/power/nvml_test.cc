#include "sources/power/nvml.h"

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sources/power/test_logger.h"

namespace wattson {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

// What the fake NVML library holds; shared with the test so that it can be changed and inspected
// after the source has taken ownership of the fake.
struct FakeGpu {
  bool has_energy = true;
  bool has_power = true;
  unsigned long long energy_mj = 0;
  unsigned int power_mw = 0;
  nvml::Return fail_next = nvml::kSuccess;  // the next energy/power read fails with this
  std::vector<nvml::ProcessUtilizationSample> samples;
  bool process_util_supported = true;
};

struct FakeState {
  nvml::Return init_result = nvml::kSuccess;
  int inits = 0;
  int shutdowns = 0;
  std::vector<FakeGpu> gpus;
};

class FakeNvml final : public NvmlApi {
 public:
  explicit FakeNvml(std::shared_ptr<FakeState> s) : s_(std::move(s)) {}
  nvml::Return Init() override {
    ++s_->inits;
    return s_->init_result;
  }
  nvml::Return Shutdown() override {
    ++s_->shutdowns;
    return nvml::kSuccess;
  }
  nvml::Return DeviceGetCount(unsigned int* count) override {
    *count = static_cast<unsigned int>(s_->gpus.size());
    return nvml::kSuccess;
  }
  nvml::Return DeviceGetHandleByIndex(unsigned int index, nvml::Device* device) override {
    if (index >= s_->gpus.size()) return 2;  // NVML_ERROR_INVALID_ARGUMENT
    *device = reinterpret_cast<nvml::Device>(&s_->gpus[index]);
    return nvml::kSuccess;
  }
  nvml::Return DeviceGetTotalEnergyConsumption(nvml::Device d, unsigned long long* mj) override {
    FakeGpu& g = Gpu(d);
    if (!g.has_energy) return nvml::kErrorNotSupported;
    if (auto r = TakeFailure(g); r != nvml::kSuccess) return r;
    *mj = g.energy_mj;
    return nvml::kSuccess;
  }
  nvml::Return DeviceGetPowerUsage(nvml::Device d, unsigned int* mw) override {
    FakeGpu& g = Gpu(d);
    if (!g.has_power) return nvml::kErrorNotSupported;
    if (auto r = TakeFailure(g); r != nvml::kSuccess) return r;
    *mw = g.power_mw;
    return nvml::kSuccess;
  }
  nvml::Return DeviceGetProcessUtilization(nvml::Device d, nvml::ProcessUtilizationSample* out,
                                           unsigned int* count,
                                           unsigned long long last_seen) override {
    FakeGpu& g = Gpu(d);
    if (!g.process_util_supported) return nvml::kErrorNotSupported;
    std::vector<nvml::ProcessUtilizationSample> fresh;
    for (const auto& s : g.samples) {
      if (s.timeStamp > last_seen) fresh.push_back(s);
    }
    if (fresh.empty()) return nvml::kErrorNotFound;
    if (out == nullptr || *count < fresh.size()) {
      *count = static_cast<unsigned int>(fresh.size());
      return nvml::kErrorInsufficientSize;
    }
    for (std::size_t i = 0; i < fresh.size(); ++i) out[i] = fresh[i];
    *count = static_cast<unsigned int>(fresh.size());
    return nvml::kSuccess;
  }
  std::string ErrorString(nvml::Return code) override {
    switch (code) {
      case nvml::kErrorNotSupported:
        return "Not Supported";
      case nvml::kErrorDriverNotLoaded:
        return "Driver Not Loaded";
      case nvml::kErrorGpuIsLost:
        return "GPU is lost";
      default:
        return "Unknown Error";
    }
  }

 private:
  static FakeGpu& Gpu(nvml::Device d) { return *reinterpret_cast<FakeGpu*>(d); }
  static nvml::Return TakeFailure(FakeGpu& g) {
    nvml::Return r = g.fail_next;
    g.fail_next = nvml::kSuccess;
    return r;
  }
  std::shared_ptr<FakeState> s_;
};

double Energy(const PowerReading& r, const std::string& key) {
  for (const ZoneEnergy& z : r.zones) {
    if (z.key == key) {
      EXPECT_EQ(z.zone, "gpu");
      return z.energy.value();
    }
  }
  ADD_FAILURE() << "no GPU " << key;
  return -1;
}

TEST(NvmlTest, EnergyCounterAndPowerFallback) {
  auto state = std::make_shared<FakeState>();
  state->gpus.resize(3);
  state->gpus[0].energy_mj = 1'000'000;  // Volta+: cumulative mJ
  state->gpus[1].has_energy = false;     // older: power only
  state->gpus[1].power_mw = 250'000;
  state->gpus[2].has_energy = false;  // neither: skipped
  state->gpus[2].has_power = false;
  FakeClock clock;
  CapturingLogger log;
  {
    auto src = ProbeNvmlWith(std::make_unique<FakeNvml>(state), clock, log.get());
    ASSERT_TRUE(src.ok()) << src.status().ToString();
    EXPECT_EQ((*src)->name(), "nvidia-nvml");
    ASSERT_EQ((*src)->gpus().size(), 2u);
    EXPECT_TRUE((*src)->gpus()[0].has_energy_counter);
    EXPECT_FALSE((*src)->gpus()[1].has_energy_counter);
    EXPECT_TRUE(log.Contains({"warn", "GPU 2 skipped", "Not Supported"}));

    clock.Advance(Seconds(3.0));
    state->gpus[0].energy_mj += 900'000;  // 900 J
    auto r1 = (*src)->Read();
    ASSERT_TRUE(r1.ok()) << r1.status().ToString();
    ASSERT_EQ(r1->zones.size(), 2u);
    EXPECT_DOUBLE_EQ(Energy(*r1, "0"), 900.0);
    EXPECT_DOUBLE_EQ(Energy(*r1, "1"), 750.0);  // 250 W × 3 s

    // 250 W → 350 W: trapezoid over the measured 2 s.
    clock.Advance(Seconds(2.0));
    state->gpus[1].power_mw = 350'000;
    auto r2 = (*src)->Read();
    ASSERT_TRUE(r2.ok());
    EXPECT_DOUBLE_EQ(Energy(*r2, "1"), 750.0 + 600.0);
    EXPECT_EQ(state->shutdowns, 0);
  }
  EXPECT_EQ(state->inits, 1);
  EXPECT_EQ(state->shutdowns, 1);  // the destructor shut NVML down
}

TEST(NvmlTest, ReadErrorMidRunKeepsTheCounterWhole) {
  auto state = std::make_shared<FakeState>();
  state->gpus.resize(1);
  state->gpus[0].energy_mj = 5'000;
  FakeClock clock;
  auto src = ProbeNvmlWith(std::make_unique<FakeNvml>(state), clock, MakeNullLogger());
  ASSERT_TRUE(src.ok());
  clock.Advance(Seconds(3.0));
  state->gpus[0].energy_mj += 100'000;
  state->gpus[0].fail_next = nvml::kErrorGpuIsLost;
  auto bad = (*src)->Read();
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("GPU is lost"));
  clock.Advance(Seconds(3.0));
  state->gpus[0].energy_mj += 100'000;
  auto good = (*src)->Read();
  ASSERT_TRUE(good.ok());
  EXPECT_DOUBLE_EQ(Energy(*good, "0"), 200.0);

  // A counter that goes back (driver reloaded) drops that interval only.
  clock.Advance(Seconds(3.0));
  state->gpus[0].energy_mj = 1'000;
  EXPECT_DOUBLE_EQ(Energy(*(*src)->Read(), "0"), 200.0);
  clock.Advance(Seconds(3.0));
  state->gpus[0].energy_mj = 31'000;
  EXPECT_DOUBLE_EQ(Energy(*(*src)->Read(), "0"), 230.0);
}

TEST(NvmlTest, InitFailureIsUnavailableAndNoGpusIsNotFound) {
  FakeClock clock;
  auto state = std::make_shared<FakeState>();
  state->init_result = nvml::kErrorDriverNotLoaded;
  auto src = ProbeNvmlWith(std::make_unique<FakeNvml>(state), clock, MakeNullLogger());
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(src.status().message(), HasSubstr("nvmlInit_v2 failed: Driver Not Loaded"));
  EXPECT_EQ(state->shutdowns, 0);  // never initialised: nothing to shut down

  auto none = std::make_shared<FakeState>();
  auto src2 = ProbeNvmlWith(std::make_unique<FakeNvml>(none), clock, MakeNullLogger());
  ASSERT_FALSE(src2.ok());
  EXPECT_EQ(src2.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(none->shutdowns, 1);

  auto useless = std::make_shared<FakeState>();
  useless->gpus.resize(1);
  useless->gpus[0].has_energy = useless->gpus[0].has_power = false;
  auto src3 = ProbeNvmlWith(std::make_unique<FakeNvml>(useless), clock, MakeNullLogger());
  ASSERT_FALSE(src3.ok());
  EXPECT_EQ(src3.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(useless->shutdowns, 1);
}

TEST(NvmlTest, AbsentOrWrongLibrary) {
  FakeClock clock;
  NvmlOptions missing;
  missing.library = "/nonexistent/libnvidia-ml.so.1";
  auto src = ProbeNvml(clock, MakeNullLogger(), missing);
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(src.status().message(), HasSubstr("cannot be loaded"));

  auto libc = LoadNvml("libc.so.6");  // loads, but is not NVML
  ASSERT_FALSE(libc.ok());
  EXPECT_EQ(libc.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(libc.status().message(), HasSubstr("has no nvmlInit_v2"));

  // The real library: absent on CI (NotFound), present with no usable GPU (Unavailable/NotFound),
  // or working; never a crash.
  auto real = ProbeNvml(clock, MakeNullLogger());
  if (!real.ok()) {
    EXPECT_THAT(real.status().code(), AnyOf(StatusCode::kNotFound, StatusCode::kUnavailable,
                                            StatusCode::kFailedPrecondition))
        << real.status().ToString();
  } else {
    EXPECT_FALSE((*real)->gpus().empty());
  }
}

TEST(NvmlTest, ProcessUtilizationAveragesNewSamples) {
  auto state = std::make_shared<FakeState>();
  state->gpus.resize(2);
  state->gpus[0].samples = {
      {101, 1000, 40, 10, 0, 0}, {101, 2000, 60, 30, 0, 0}, {202, 1500, 5, 1, 0, 0}};
  state->gpus[1].process_util_supported = false;
  FakeClock clock;
  auto src = ProbeNvmlWith(std::make_unique<FakeNvml>(state), clock, MakeNullLogger());
  ASSERT_TRUE(src.ok());
  auto u = (*src)->ProcessUtilization(0);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  ASSERT_EQ(u->size(), 2u);
  EXPECT_DOUBLE_EQ(u->at(101).sm_percent, 50.0);
  EXPECT_DOUBLE_EQ(u->at(101).mem_percent, 20.0);
  EXPECT_DOUBLE_EQ(u->at(202).sm_percent, 5.0);

  // Only samples newer than the last call count.
  auto again = (*src)->ProcessUtilization(0);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  state->gpus[0].samples.push_back({303, 3000, 80, 40, 0, 0});
  auto newer = (*src)->ProcessUtilization(0);
  ASSERT_TRUE(newer.ok());
  ASSERT_EQ(newer->size(), 1u);
  EXPECT_DOUBLE_EQ(newer->at(303).sm_percent, 80.0);

  auto unsupported = (*src)->ProcessUtilization(1);
  ASSERT_FALSE(unsupported.ok());
  EXPECT_EQ(unsupported.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ((*src)->ProcessUtilization(7).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace wattson
