#include "sources/usage/perf_counters.h"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wattson::usage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Scripted counters: per (counter, cpu) a running reading the test moves forward.
class FakePerfBackend final : public PerfBackend {
 public:
  Result<int> Open(HwCounter c, int cpu) override {
    if (auto it = open_errors_.find(c); it != open_errors_.end()) return it->second;
    const int h = next_++;
    handles_[h] = {c, cpu};
    open_.insert(h);
    return h;
  }
  Result<PerfReading> Read(int handle) override {
    if (read_errors_.count(handle)) return Status::IoError("read: EIO");
    return readings_[handles_.at(handle)];
  }
  void Close(int handle) override { open_.erase(handle); }

  void FailOpen(HwCounter c, Status s) { open_errors_[c] = std::move(s); }
  void FailRead(int handle) { read_errors_.insert(handle); }
  void ClearReadFailures() { read_errors_.clear(); }
  // Adds to one CPU's counter: value events over enabled ns of which running ns on the PMU.
  void Add(HwCounter c, int cpu, std::uint64_t value, std::uint64_t enabled,
           std::uint64_t running) {
    PerfReading& r = readings_[{c, cpu}];
    r.value += value;
    r.time_enabled += enabled;
    r.time_running += running;
  }
  void Set(HwCounter c, int cpu, PerfReading r) { readings_[{c, cpu}] = r; }
  std::size_t open_count() const { return open_.size(); }

 private:
  int next_ = 3;
  std::map<HwCounter, Status> open_errors_;
  std::map<int, std::pair<HwCounter, int>> handles_;
  std::map<std::pair<HwCounter, int>, PerfReading> readings_;
  std::set<int> open_;
  std::set<int> read_errors_;
};

// A host with the given online CPUs and perf_event_paranoid.
class Host : public HostFs {
 public:
  explicit Host(const std::string& online = "0-1\n", const std::string& paranoid = "2\n") {
    fs_.SetFile("/sys/devices/system/cpu/online", online);
    fs_.SetFile("/proc/sys/kernel/perf_event_paranoid", paranoid);
  }
  Result<std::vector<std::string>> ListDir(std::string_view p) const override {
    return fs_.ListDir(p);
  }
  bool Exists(std::string_view p) const override { return fs_.Exists(p); }
  std::string Describe(std::string_view p) const override { return fs_.Describe(p); }

 protected:
  Result<std::string> DoReadFile(std::string_view p, std::size_t max) const override {
    return fs_.ReadFile(p, max);
  }

 private:
  FakeHostFs fs_;
};

TEST(ParseCpuListTest, Forms) {
  EXPECT_THAT(*ParseCpuList("0-3,8,10-11\n"), ElementsAre(0, 1, 2, 3, 8, 10, 11));
  EXPECT_THAT(*ParseCpuList("0"), ElementsAre(0));
  for (const char* bad : {"", "\n", "a", "3-1", "1,,2", "-1", "0-99999999", "1-"}) {
    EXPECT_FALSE(ParseCpuList(bad).ok()) << bad;
  }
}

TEST(NodePerfCountersTest, DeltasSummedOverCpus) {
  FakePerfBackend backend;
  Host fs;
  auto pc = NodePerfCounters::Open(backend, fs);
  ASSERT_TRUE(pc.ok()) << pc.status().ToString();
  EXPECT_EQ(backend.open_count(), 6u);  // 3 counters x 2 CPUs
  PerfTick t0 = (*pc)->Sample();
  EXPECT_TRUE(t0.baseline);
  EXPECT_FALSE(t0[HwCounter::kCpuCycles].has_value());

  backend.Add(HwCounter::kCpuCycles, 0, 1000, 100, 100);
  backend.Add(HwCounter::kCpuCycles, 1, 500, 100, 100);
  backend.Add(HwCounter::kInstructions, 0, 2000, 100, 100);
  backend.Add(HwCounter::kInstructions, 1, 0, 100, 100);
  backend.Add(HwCounter::kCacheMisses, 0, 7, 100, 100);
  backend.Add(HwCounter::kCacheMisses, 1, 3, 100, 100);
  PerfTick t1 = (*pc)->Sample();
  EXPECT_FALSE(t1.baseline);
  EXPECT_DOUBLE_EQ(*t1[HwCounter::kCpuCycles], 1500.0);
  EXPECT_DOUBLE_EQ(*t1[HwCounter::kInstructions], 2000.0);
  EXPECT_DOUBLE_EQ(*t1[HwCounter::kCacheMisses], 10.0);
  EXPECT_DOUBLE_EQ(t1.max_scale, 1.0);

  // Idle tick: zero is a measurement, not absence.
  backend.Add(HwCounter::kCpuCycles, 0, 0, 100, 100);
  backend.Add(HwCounter::kCpuCycles, 1, 0, 100, 100);
  PerfTick t2 = (*pc)->Sample();
  ASSERT_TRUE(t2[HwCounter::kCpuCycles].has_value());
  EXPECT_DOUBLE_EQ(*t2[HwCounter::kCpuCycles], 0.0);

  pc->reset();
  EXPECT_EQ(backend.open_count(), 0u);  // every fd closed
}

TEST(NodePerfCountersTest, MultiplexingIsScaledPerInterval) {
  FakePerfBackend backend;
  Host fs("0\n");
  auto pc = NodePerfCounters::Open(backend, fs, {HwCounter::kInstructions});
  ASSERT_TRUE(pc.ok());
  EXPECT_TRUE((*pc)->available(HwCounter::kInstructions));
  EXPECT_FALSE((*pc)->available(HwCounter::kCpuCycles));
  EXPECT_EQ((*pc)->absent_reason(HwCounter::kCpuCycles), "not requested");
  // A long unscaled history, then an interval on the PMU a quarter of the time.
  backend.Set(HwCounter::kInstructions, 0, PerfReading{1000000, 1000, 1000});
  (*pc)->Sample();
  backend.Add(HwCounter::kInstructions, 0, 250, 400, 100);
  PerfTick t = (*pc)->Sample();
  // Per-interval scaling: 250 x 400/100; cumulative scaling would give ~(1000250 x 1400/1100).
  EXPECT_DOUBLE_EQ(*t[HwCounter::kInstructions], 1000.0);
  EXPECT_DOUBLE_EQ(t.max_scale, 4.0);
  // Enabled but never on the PMU this interval: not measurable, absent this tick.
  backend.Add(HwCounter::kInstructions, 0, 0, 400, 0);
  EXPECT_FALSE((*pc)->Sample()[HwCounter::kInstructions].has_value());
  // Back on the PMU: measurable again.
  backend.Add(HwCounter::kInstructions, 0, 50, 100, 100);
  EXPECT_DOUBLE_EQ(*(*pc)->Sample()[HwCounter::kInstructions], 50.0);
}

TEST(NodePerfCountersTest, BackwardsAndFailedReads) {
  FakePerfBackend backend;
  Host fs("0-1\n");
  auto pc = NodePerfCounters::Open(backend, fs, {HwCounter::kCpuCycles});
  ASSERT_TRUE(pc.ok());
  backend.Set(HwCounter::kCpuCycles, 0, PerfReading{5000, 100, 100});
  backend.Set(HwCounter::kCpuCycles, 1, PerfReading{5000, 100, 100});
  (*pc)->Sample();
  backend.Set(HwCounter::kCpuCycles, 0, PerfReading{4000, 200, 200});  // went backwards
  backend.Add(HwCounter::kCpuCycles, 1, 300, 100, 100);
  PerfTick t = (*pc)->Sample();
  EXPECT_EQ(t.backwards, 1);
  EXPECT_DOUBLE_EQ(*t[HwCounter::kCpuCycles], 300.0);  // the backwards CPU adds 0, never < 0

  // A failed read on one CPU makes the node total unknowable this tick and the next.
  backend.FailRead(3);
  backend.Add(HwCounter::kCpuCycles, 1, 300, 100, 100);
  EXPECT_FALSE((*pc)->Sample()[HwCounter::kCpuCycles].has_value());
  backend.ClearReadFailures();
  backend.Add(HwCounter::kCpuCycles, 0, 10, 100, 100);
  EXPECT_FALSE((*pc)->Sample()[HwCounter::kCpuCycles].has_value());
  backend.Add(HwCounter::kCpuCycles, 0, 10, 100, 100);
  backend.Add(HwCounter::kCpuCycles, 1, 20, 100, 100);
  EXPECT_DOUBLE_EQ(*(*pc)->Sample()[HwCounter::kCpuCycles], 30.0);
}

TEST(NodePerfCountersTest, PartialAvailabilityLeavesOthersAbsent) {
  FakePerfBackend backend;
  backend.FailOpen(HwCounter::kCacheMisses,
                   Status::Unavailable("perf_event_open(cache_miss, cpu 0): No such file"));
  Host fs;
  auto pc = NodePerfCounters::Open(backend, fs);
  ASSERT_TRUE(pc.ok());
  EXPECT_TRUE((*pc)->available(HwCounter::kCpuCycles));
  EXPECT_FALSE((*pc)->available(HwCounter::kCacheMisses));
  EXPECT_THAT((*pc)->absent_reason(HwCounter::kCacheMisses), HasSubstr("No such file"));
  (*pc)->Sample();
  PerfTick t = (*pc)->Sample();
  EXPECT_TRUE(t[HwCounter::kCpuCycles].has_value());
  EXPECT_FALSE(t[HwCounter::kCacheMisses].has_value());
  EXPECT_EQ(backend.open_count(), 4u);
}

TEST(NodePerfCountersTest, DeniedNamesParanoidValue) {
  FakePerfBackend backend;
  for (HwCounter c : {HwCounter::kCpuCycles, HwCounter::kInstructions, HwCounter::kCacheMisses}) {
    backend.FailOpen(c, Status::FailedPrecondition("perf_event_open: Permission denied"));
  }
  Host fs("0-3\n", "3\n");
  auto pc = NodePerfCounters::Open(backend, fs);
  ASSERT_FALSE(pc.ok());
  EXPECT_EQ(pc.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(pc.status().message(), HasSubstr("perf_event_paranoid = 3"));
  EXPECT_THAT(pc.status().message(), HasSubstr("Permission denied"));
  EXPECT_THAT(pc.status().message(), HasSubstr("CAP_PERFMON"));
  EXPECT_EQ(backend.open_count(), 0u);
}

TEST(NodePerfCountersTest, NoPmuIsUnavailableAndMissingOnlineFileIsAnError) {
  FakePerfBackend backend;
  for (HwCounter c : {HwCounter::kCpuCycles, HwCounter::kInstructions, HwCounter::kCacheMisses}) {
    backend.FailOpen(c, Status::Unavailable("perf_event_open: No such file or directory"));
  }
  Host fs;
  auto pc = NodePerfCounters::Open(backend, fs);
  ASSERT_FALSE(pc.ok());
  EXPECT_EQ(pc.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(pc.status().message(), HasSubstr("perf_event_paranoid = 2"));

  FakePerfBackend ok_backend;
  FakeHostFs empty;
  EXPECT_FALSE(NodePerfCounters::Open(ok_backend, empty).ok());
}

TEST(NodePerfCountersTest, FailureOnALaterCpuClosesTheEarlierOnes) {
  class FailOnCpu1 final : public PerfBackend {
   public:
    Result<int> Open(HwCounter, int cpu) override {
      if (cpu == 1) return Status::FailedPrecondition("denied on cpu 1");
      ++open;
      return 10 + cpu;
    }
    Result<PerfReading> Read(int) override { return PerfReading{}; }
    void Close(int) override { --open; }
    int open = 0;
  } backend;
  Host fs("0-2\n");
  EXPECT_FALSE(NodePerfCounters::Open(backend, fs).ok());
  EXPECT_EQ(backend.open, 0);
}

// The real syscall: counts if this host allows it, else skips with the reason.
TEST(LinuxPerfBackendTest, RealCountersOrSkip) {
  LinuxPerfBackend backend;
  RootedHostFs fs("/");
  auto pc = NodePerfCounters::Open(backend, fs);
  if (!pc.ok()) GTEST_SKIP() << pc.status().ToString();
  (*pc)->Sample();
  volatile double x = 1;
  for (int i = 0; i < 10000000; ++i) x = x * 1.0000001 + 1e-9;
  PerfTick t = (*pc)->Sample();
  if ((*pc)->available(HwCounter::kInstructions)) {
    ASSERT_TRUE(t[HwCounter::kInstructions].has_value());
    EXPECT_GT(*t[HwCounter::kInstructions], 1e7);
  }
  if ((*pc)->available(HwCounter::kCpuCycles)) {
    ASSERT_TRUE(t[HwCounter::kCpuCycles].has_value());
    EXPECT_GT(*t[HwCounter::kCpuCycles], 1e6);
  }
}

}  // namespace
}  // namespace wattson::usage
