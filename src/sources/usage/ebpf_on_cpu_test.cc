// EbpfOnCpuTimes on this machine's kernel. Every test skips (and says why) where the program
// cannot be loaded: no CAP_BPF/CAP_PERFMON, no kernel BTF, or no bpf(2) at all.
#include "sources/usage/ebpf_on_cpu.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/host_fs.h"
#include "gtest/gtest.h"
#include "sources/usage/procfs.h"

namespace wattson::usage {
namespace {

std::unique_ptr<EbpfOnCpuTimes> LoadOrNull(std::string* why) {
  auto loaded = EbpfOnCpuTimes::Load();
  if (!loaded.ok()) {
    *why = loaded.status().ToString();
    return nullptr;
  }
  return std::move(loaded).value();
}

#define LOAD_OR_SKIP(var)       \
  std::string why_;             \
  auto var = LoadOrNull(&why_); \
  if ((var) == nullptr) GTEST_SKIP() << why_;

double ThreadCpuSeconds() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void Spin(double seconds) {
  const double until = ThreadCpuSeconds() + seconds;
  volatile std::uint64_t x = 0;
  while (ThreadCpuSeconds() < until) x = x + 1;
}

// A child that spins for `busy` seconds of CPU, tells the parent through a pipe, then waits to be
// killed (spinning on if spin_forever).
class Child {
 public:
  Child(double busy, bool spin_forever = false) {
    int fds[2];
    if (::pipe(fds) != 0) std::abort();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(fds[0]);
      Spin(busy);
      const char c = 'x';
      (void)!::write(fds[1], &c, 1);
      for (;;) {
        if (spin_forever) {
          Spin(1.0);
        } else {
          ::pause();
        }
      }
    }
    ::close(fds[1]);
    char c = 0;
    (void)!::read(fds[0], &c, 1);
    ::close(fds[0]);
  }
  ~Child() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
};

ProcStat StatOf(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::stringstream text;
  text << in.rdbuf();
  auto st = ParseProcStat(text.str());
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  return st.ok() ? *st : ProcStat{};
}

TEST(EbpfOnCpuTest, ProcessTimeAgreesWithProcStat) {
  LOAD_OR_SKIP(source);
  Child child(0.3);
  const double sysconf_hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  // The child is blocked in pause(): its last slice was charged when it was switched out.
  ASSERT_TRUE(source->Refresh().ok());
  const ProcessOnCpu* p = source->Find(child.pid());
  ASSERT_NE(p, nullptr);
  const ProcStat st = StatOf(child.pid());
  const double stat_s = static_cast<double>(st.utime_ticks + st.stime_ticks) / sysconf_hz;
  const double bpf_s = static_cast<double>(p->on_cpu_ns) * 1e-9;
  // stat counts from fork, the source from its load (before the fork): the same span. stat is at
  // clock-tick resolution (two fields truncated separately).
  EXPECT_NEAR(bpf_s, stat_s, 0.03) << "stat " << stat_s << " s, eBPF " << bpf_s << " s";
  EXPECT_GE(bpf_s, 0.29);
  // The same start time as /proc/<pid>/stat field 22.
  EXPECT_EQ(p->start_boottime_ns / static_cast<std::uint64_t>(1e9 / sysconf_hz),
            st.start_time_ticks);
  EXPECT_TRUE(source->complete());
}

TEST(EbpfOnCpuTest, ASliceStillRunningIsCountedWhenRead) {
  LOAD_OR_SKIP(source);
  Child child(0.05, /*spin_forever=*/true);
  ASSERT_TRUE(source->Refresh().ok());
  const ProcessOnCpu* first = source->Find(child.pid());
  const std::uint64_t before = first != nullptr ? first->on_cpu_ns : 0;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(source->Refresh().ok());
  const ProcessOnCpu* second = source->Find(child.pid());
  ASSERT_NE(second, nullptr);
  const double grew = static_cast<double>(second->on_cpu_ns - before) * 1e-9;
  // It ran all the time (or nearly: the other core's tests share the machine).
  EXPECT_GT(grew, 0.05) << grew;
  EXPECT_LT(grew, 0.35) << grew;
}

TEST(EbpfOnCpuTest, ExecIsCountedAndRetainForgetsTheGone) {
  LOAD_OR_SKIP(source);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    ::dup2(fds[1], 1);
    ::execl("/bin/sh", "sh", "-c", "echo ready; exec sleep 30", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  char buf[16] = {};
  ASSERT_GT(::read(fds[0], buf, sizeof(buf)), 0);
  ::close(fds[0]);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // sh has exec'd sleep
  ASSERT_TRUE(source->Refresh().ok());
  const ProcessOnCpu* p = source->Find(pid);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->execs, 2u);  // sh, then sleep

  const std::vector<int> listed_without_it = {1};
  source->Retain(listed_without_it);
  ASSERT_TRUE(source->Refresh().ok());
  EXPECT_EQ(source->Find(pid), nullptr);  // asleep: not switched since, so not re-created
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

TEST(EbpfOnCpuTest, ProcScannerOnThisHostAgreesWithStat) {
  LOAD_OR_SKIP(source);
  RootedHostFs fs("/");
  RealClock clock;
  ScanOptions o;
  o.read_schedstat = false;
  ProcScanner with(fs, clock, o, source.get());
  ProcScanner without(fs, clock, o);
  Child child(0.01, /*spin_forever=*/true);
  auto cpu_of = [&](ProcScanner& scanner, int* on_cpu_samples) {
    auto scan = scanner.Scan();
    EXPECT_TRUE(scan.ok()) << scan.status().ToString();
    if (!scan.ok()) return -1.0;
    if (on_cpu_samples != nullptr) *on_cpu_samples = scan->on_cpu_samples;
    for (const auto& p : scan->processes) {
      if (p.pid == child.pid()) return p.cpu_time.value();
    }
    ADD_FAILURE() << "pid " << child.pid() << " not in the scan";
    return -1.0;
  };
  const double a0 = cpu_of(with, nullptr), b0 = cpu_of(without, nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  int samples = 0;
  const double a1 = cpu_of(with, &samples), b1 = cpu_of(without, nullptr);
  EXPECT_GT(samples, 0);  // known processes came from the source
  EXPECT_GT(a1 - a0, 0.1);
  // stat's clock ticks (10 ms, two fields truncated) and the few microseconds between the scans.
  EXPECT_NEAR(a1 - a0, b1 - b0, 0.05) << "eBPF " << a1 - a0 << " s, stat " << b1 - b0 << " s";
}

TEST(EbpfOnCpuTest, ZeroCapacityIsRefused) {
  EbpfOnCpuOptions o;
  o.max_processes = 0;
  auto loaded = EbpfOnCpuTimes::Load(o);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace wattson::usage
