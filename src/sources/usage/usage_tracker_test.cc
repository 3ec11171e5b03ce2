#include "sources/usage/usage_tracker.h"

#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace wattson::usage {
namespace {

using std::chrono::seconds;

ProcessSample Proc(int pid, double stat_s, std::uint64_t start = 100, int threads = 1,
                   std::optional<double> sched_s = std::nullopt) {
  ProcessSample p;
  p.pid = pid;
  p.comm = "p" + std::to_string(pid);
  p.stat_cpu_time = Seconds(stat_s);
  if (sched_s) p.schedstat_cpu_time = Seconds(*sched_s);
  p.num_threads = threads;
  p.cpu_time = (sched_s && threads == 1) ? Seconds(*sched_s) : Seconds(stat_s);
  p.start_time_ticks = start;
  p.cgroup_path = "/system.slice/p.service";
  return p;
}

ProcScan Scan(const FakeClock& clock, std::vector<ProcessSample> procs, double uptime = 1000) {
  ProcScan s;
  s.taken_at = clock.Now();
  s.processes = std::move(procs);
  s.uptime = Seconds(uptime);
  return s;
}

const ProcessUsage* Find(const UsageTick& t, int pid) {
  for (const auto& u : t.processes) {
    if (u.key.pid == pid) return &u;
  }
  return nullptr;
}

TEST(UsageTrackerTest, BaselineThenDeltas) {
  FakeClock clock;
  UsageTracker tracker;
  UsageTick t0 = tracker.Update(Scan(clock, {Proc(1, 10), Proc(2, 5)}));
  EXPECT_TRUE(t0.baseline);
  EXPECT_EQ(t0.processes.size(), 2u);
  EXPECT_DOUBLE_EQ(t0.process_cpu_time.value(), 0.0);
  EXPECT_TRUE(t0.processes[0].first_seen);

  clock.Advance(seconds(3));
  UsageTick t1 = tracker.Update(Scan(clock, {Proc(1, 12.5), Proc(2, 5)}, 1003));
  EXPECT_FALSE(t1.baseline);
  EXPECT_DOUBLE_EQ(t1.interval.value(), 3.0);
  EXPECT_DOUBLE_EQ(Find(t1, 1)->cpu_time_delta.value(), 2.5);
  EXPECT_DOUBLE_EQ(Find(t1, 2)->cpu_time_delta.value(), 0.0);
  EXPECT_FALSE(Find(t1, 1)->first_seen);
  EXPECT_DOUBLE_EQ(t1.process_cpu_time.value(), 2.5);
  EXPECT_TRUE(t1.ended.empty());
}

TEST(UsageTrackerTest, PidReuseIsANewProcessAndTheOldOneEndsOnce) {
  FakeClock clock;
  UsageTracker tracker;
  tracker.Update(Scan(clock, {Proc(7, 50, /*start=*/100)}, 1000));
  clock.Advance(seconds(3));
  // pid 7 now belongs to a process started at 1001.5 s (tick 100150) with 0.4 s of CPU.
  UsageTick t = tracker.Update(Scan(clock, {Proc(7, 0.4, /*start=*/100150)}, 1003));
  ASSERT_EQ(t.ended.size(), 1u);
  EXPECT_EQ(t.ended[0].key, (ProcessKey{7, 100}));
  ASSERT_EQ(t.processes.size(), 1u);
  EXPECT_TRUE(t.processes[0].first_seen);
  EXPECT_EQ(t.processes[0].key.start_time_ticks, 100150u);
  // Started after the previous scan: all its CPU time belongs to this tick, never 0.4 - 50.
  EXPECT_DOUBLE_EQ(t.processes[0].cpu_time_delta.value(), 0.4);
  clock.Advance(seconds(3));
  UsageTick t2 = tracker.Update(Scan(clock, {Proc(7, 0.9, 100150)}, 1006));
  EXPECT_TRUE(t2.ended.empty());
  EXPECT_DOUBLE_EQ(t2.processes[0].cpu_time_delta.value(), 0.5);
  EXPECT_EQ(tracker.counters().ended_processes, 1u);
}

TEST(UsageTrackerTest, OldProcessSeenLateGetsNoBackfill) {
  FakeClock clock;
  UsageTracker tracker;
  tracker.Update(Scan(clock, {Proc(1, 1)}, 1000));
  clock.Advance(seconds(3));
  // pid 9 started at 500 s, long before the previous scan, but was not in it.
  UsageTick t = tracker.Update(Scan(clock, {Proc(1, 1), Proc(9, 300, 50000)}, 1003));
  EXPECT_TRUE(Find(t, 9)->first_seen);
  EXPECT_DOUBLE_EQ(Find(t, 9)->cpu_time_delta.value(), 0.0);
}

TEST(UsageTrackerTest, BackwardsCounterGivesZeroAndIsCounted) {
  FakeClock clock;
  UsageTracker tracker;
  tracker.Update(Scan(clock, {Proc(1, 10)}));
  clock.Advance(seconds(3));
  UsageTick t = tracker.Update(Scan(clock, {Proc(1, 9)}));
  EXPECT_DOUBLE_EQ(Find(t, 1)->cpu_time_delta.value(), 0.0);
  EXPECT_EQ(t.backwards_counters, 1);
  EXPECT_EQ(tracker.counters().backwards_counters, 1u);
  clock.Advance(seconds(3));
  // Rebased on the lower value: the next delta is measured from 9.
  UsageTick t2 = tracker.Update(Scan(clock, {Proc(1, 9.5)}));
  EXPECT_DOUBLE_EQ(Find(t2, 1)->cpu_time_delta.value(), 0.5);
  EXPECT_EQ(t2.backwards_counters, 0);
}

TEST(UsageTrackerTest, NonFiniteCountersNeverLeak) {
  FakeClock clock;
  UsageTracker tracker;
  tracker.Update(Scan(clock, {Proc(1, 10)}));
  clock.Advance(seconds(3));
  UsageTick t = tracker.Update(Scan(clock, {Proc(1, std::nan(""))}));
  EXPECT_DOUBLE_EQ(Find(t, 1)->cpu_time_delta.value(), 0.0);
  EXPECT_TRUE(std::isfinite(t.process_cpu_time.value()));
}

TEST(UsageTrackerTest, SchedstatUsedOnlyWhenItCoversTheProcess) {
  FakeClock clock;
  UsageTracker tracker;
  tracker.Update(Scan(clock, {Proc(1, 10.00, 100, 1, 10.004), Proc(2, 20, 100, 4, 5.0),
                              Proc(3, 30.00, 100, 1, 30.001)}));
  clock.Advance(seconds(3));
  UsageTick t =
      tracker.Update(Scan(clock, {
                                     // single thread, agrees within 2 ticks: schedstat
                                     Proc(1, 11.20, 100, 1, 11.2137),
                                     // four threads: the leader's schedstat is not the
                                     // process; stat is used
                                     Proc(2, 26, 100, 4, 5.5),
                                     // a short-lived thread ran 1 s between the scans:
                                     // schedstat misses it, disagrees with stat, stat used
                                     Proc(3, 31.50, 100, 1, 30.4),
                                 }));
  EXPECT_NEAR(Find(t, 1)->cpu_time_delta.value(), 1.2097, 1e-9);
  EXPECT_DOUBLE_EQ(Find(t, 2)->cpu_time_delta.value(), 6.0);
  EXPECT_DOUBLE_EQ(Find(t, 3)->cpu_time_delta.value(), 1.5);
  EXPECT_EQ(tracker.counters().schedstat_rejected, 1u);
}

TEST(UsageTrackerTest, UnreadablePidsAreKeptForABoundedTime) {
  FakeClock clock;
  UsageTrackerOptions opts;
  opts.max_unreadable_scans = 2;
  UsageTracker tracker(opts);
  tracker.Update(Scan(clock, {Proc(1, 1), Proc(5, 10)}));
  for (int i = 0; i < 2; ++i) {
    clock.Advance(seconds(3));
    ProcScan s = Scan(clock, {Proc(1, 1)});
    s.unreadable_pids = {5};
    UsageTick t = tracker.Update(s);
    EXPECT_TRUE(t.ended.empty()) << i;
    EXPECT_EQ(tracker.tracked(), 2u);
  }
  // Readable again: the CPU time of the unreadable ticks lands in this tick.
  clock.Advance(seconds(3));
  UsageTick back = tracker.Update(Scan(clock, {Proc(1, 1), Proc(5, 13)}));
  EXPECT_DOUBLE_EQ(Find(back, 5)->cpu_time_delta.value(), 3.0);
  EXPECT_FALSE(Find(back, 5)->first_seen);
  // Unreadable for longer than the limit: retired as ended, once.
  int ended = 0;
  for (int i = 0; i < 5; ++i) {
    clock.Advance(seconds(3));
    ProcScan s = Scan(clock, {Proc(1, 1)});
    s.unreadable_pids = {5};
    ended += static_cast<int>(tracker.Update(s).ended.size());
  }
  EXPECT_EQ(ended, 1);
  EXPECT_EQ(tracker.counters().retired_unreadable, 1u);
}

TEST(UsageTrackerTest, NodeDeltasAndClockGoingBackwards) {
  FakeClock clock;
  UsageTracker tracker;
  ProcScan s0 = Scan(clock, {});
  s0.node = NodeCpuTimes{Seconds(10), Seconds(0), Seconds(5), Seconds(100), Seconds(1), Seconds(0),
                         Seconds(0),  Seconds(0), 4};
  tracker.Update(s0);
  clock.Advance(seconds(3));
  ProcScan s1 = Scan(clock, {});
  s1.node = NodeCpuTimes{Seconds(14), Seconds(0), Seconds(6), Seconds(106), Seconds(1), Seconds(0),
                         Seconds(0),  Seconds(1), 4};
  UsageTick t1 = tracker.Update(s1);
  ASSERT_TRUE(t1.node.has_value());
  EXPECT_DOUBLE_EQ(t1.node->busy.value(), 5.0);
  EXPECT_DOUBLE_EQ(t1.node->idle.value(), 6.0);
  EXPECT_DOUBLE_EQ(t1.node->steal.value(), 1.0);
  EXPECT_DOUBLE_EQ(t1.node->Total().value(), 12.0);
  // A scan without /proc/stat: no node delta now, nor a two-tick delta next time.
  clock.Advance(seconds(3));
  EXPECT_FALSE(tracker.Update(Scan(clock, {})).node.has_value());
  ProcScan s3 = Scan(clock, {});
  s3.node = s1.node;
  s3.taken_at = clock.Now() - seconds(10);
  UsageTick t3 = tracker.Update(s3);
  EXPECT_FALSE(t3.node.has_value());
  EXPECT_DOUBLE_EQ(t3.interval.value(), 0.0);
  EXPECT_EQ(tracker.counters().clock_went_backwards, 1u);
}

// 1 000 processes over 20 scans through a FakeHostFs: some end, some pids are reused with new
// start times, some counters step backwards. Deltas are never negative, the delta sum equals the
// growth of the counters, and every ended process is reported exactly once.
TEST(UsageTrackerTest, ThousandProcessesWithChurn) {
  constexpr double kHz = 100.0;
  std::mt19937 rng(7);
  FakeHostFs fs;
  FakeClock clock;
  struct Live {
    std::uint64_t start;
    std::uint64_t ticks;
  };
  std::map<int, Live> live;
  std::uint64_t uptime_ticks = 100000;
  auto write = [&](int pid, const Live& l) {
    const std::string dir = "/proc/" + std::to_string(pid);
    fs.SetFile(dir + "/stat", std::to_string(pid) + " (w " + std::to_string(pid) +
                                  ") R 1 1 1 0 -1 4194304 0 0 0 0 " + std::to_string(l.ticks) +
                                  " 0 0 0 20 0 1 0 " + std::to_string(l.start) + " 0 0\n");
    fs.SetFile(dir + "/cgroup", "0::/kubepods.slice/x.slice\n");
  };
  auto remove = [&](int pid) {
    const std::string dir = "/proc/" + std::to_string(pid);
    fs.RemoveFile(dir + "/stat");
    fs.RemoveFile(dir + "/cgroup");
  };
  for (int pid = 100; pid < 1100; ++pid) {
    live[pid] = Live{uptime_ticks - 5000, rng() % 1000};
    write(pid, live[pid]);
  }
  UsageTracker tracker(UsageTrackerOptions{kHz, 5});
  ScanOptions opts;
  opts.ticks_per_second = kHz;
  std::set<std::pair<int, std::uint64_t>> seen, ended_keys;
  int reused = 0;
  for (int scan_no = 0; scan_no < 20; ++scan_no) {
    fs.SetFile("/proc/uptime", std::to_string(static_cast<double>(uptime_ticks) / kHz) + " 0\n");
    auto scan = ScanProcesses(fs, clock, opts);
    ASSERT_TRUE(scan.ok()) << scan.status().ToString();
    ASSERT_EQ(scan->processes.size(), live.size());
    UsageTick tick = tracker.Update(*scan);
    double sum = 0;
    for (const ProcessUsage& u : tick.processes) {
      ASSERT_GE(u.cpu_time_delta.value(), 0.0);
      ASSERT_TRUE(std::isfinite(u.cpu_time_delta.value()));
      sum += u.cpu_time_delta.value();
      seen.insert({u.key.pid, u.key.start_time_ticks});
    }
    EXPECT_NEAR(sum, tick.process_cpu_time.value(), 1e-6);
    for (const EndedProcess& e : tick.ended) {
      const auto key = std::make_pair(e.key.pid, e.key.start_time_ticks);
      EXPECT_TRUE(seen.count(key)) << e.key.pid;
      EXPECT_TRUE(ended_keys.insert(key).second) << "ended twice: " << e.key.pid;
    }
    ASSERT_EQ(tracker.tracked(), live.size());
    if (scan_no == 19) break;

    // Churn for the next scan: 3 s pass.
    clock.Advance(seconds(3));
    uptime_ticks += 300;
    std::vector<int> pids;
    for (const auto& [pid, l] : live) pids.push_back(pid);
    for (int pid : pids) {
      const unsigned r = rng() % 100;
      if (r < 4) {  // ends
        live.erase(pid);
        remove(pid);
      } else if (r < 7) {  // ends and its pid is reused by a new process
        live[pid] = Live{uptime_ticks - 100, rng() % 50};
        write(pid, live[pid]);
        ++reused;
      } else if (r < 8) {  // counter steps backwards (a kernel accounting glitch)
        live[pid].ticks = live[pid].ticks > 3 ? live[pid].ticks - 3 : 0;
        write(pid, live[pid]);
      } else {
        live[pid].ticks += rng() % 300;
        write(pid, live[pid]);
      }
    }
    for (int i = 0; i < 30; ++i) {  // brand new pids
      const int pid = 2000 + scan_no * 30 + i;
      live[pid] = Live{uptime_ticks - 10, rng() % 20};
      write(pid, live[pid]);
    }
  }
  EXPECT_GT(reused, 100);
  EXPECT_GT(ended_keys.size(), 300u);
  EXPECT_EQ(tracker.counters().ended_processes, ended_keys.size());
  EXPECT_GT(tracker.counters().backwards_counters, 0u);
  // Everything seen and not alive now was reported as ended.
  std::set<std::pair<int, std::uint64_t>> alive;
  for (const auto& [pid, l] : live) alive.insert({pid, l.start});
  for (const auto& key : seen) {
    EXPECT_EQ(alive.count(key) + ended_keys.count(key), 1u) << key.first;
  }
}

}  // namespace
}  // namespace wattson::usage
