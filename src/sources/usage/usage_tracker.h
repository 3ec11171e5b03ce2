// UsageTracker turns consecutive procfs scans into per-tick CPU-time deltas. It promises: every
// delta is finite and >= 0 (a counter that goes backwards gives 0 and is counted); a process is
// keyed by (pid, start time), so a recycled pid is a new process; every process that was seen and
// then ends is reported in `ended` exactly once. One tracker per agent; not thread-safe.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/units.h"
#include "sources/usage/procfs.h"

namespace wattson::usage {

struct ProcessKey {
  int pid = 0;
  std::uint64_t start_time_ticks = 0;
  auto operator<=>(const ProcessKey&) const = default;
};

struct ProcessUsage {
  ProcessKey key;
  std::string comm;
  std::string cgroup_path;
  bool kernel_thread = false;
  Seconds cpu_time_delta;   // CPU time used since the previous scan (>= 0)
  bool first_seen = false;  // the first scan that saw this process
};

struct EndedProcess {
  ProcessKey key;
  std::string comm;
  std::string cgroup_path;
  bool kernel_thread = false;
};

// Node CPU-time deltas from /proc/stat (each >= 0).
struct NodeCpuDelta {
  Seconds busy, idle, iowait, steal;
  Seconds Total() const { return busy + idle + iowait + steal; }
};

struct UsageTick {
  // The first update only establishes the baseline: deltas are all zero, nothing has ended.
  bool baseline = true;
  Seconds interval;                     // measured between the two scans' Clock readings (>= 0)
  std::vector<ProcessUsage> processes;  // live processes, sorted by pid
  std::vector<EndedProcess> ended;      // processes gone since the previous update
  std::optional<NodeCpuDelta> node;     // absent unless both scans read /proc/stat
  Seconds process_cpu_time;             // Σ processes[].cpu_time_delta
  int backwards_counters = 0;           // counters that went backwards this tick (delta 0 used)
};

struct UsageTrackerOptions {
  double ticks_per_second = 100.0;  // must match ScanOptions
  // A pid that stays unreadable (EIO, ...) for more than this many consecutive scans is retired
  // as ended.
  int max_unreadable_scans = 5;
};

// Totals since the tracker was made, for the agent's self-metrics.
struct UsageTrackerCounters {
  std::uint64_t backwards_counters = 0;
  std::uint64_t ended_processes = 0;
  std::uint64_t retired_unreadable = 0;
  std::uint64_t clock_went_backwards = 0;
  std::uint64_t schedstat_rejected = 0;  // schedstat disagreed with stat; stat used
};

// Delta rule for a process seen in both scans:
//   * stat delta = Δ(utime + stime) (whole thread group, includes exited threads, tick resolution).
//   * If both scans have schedstat and the process had exactly one thread in both, schedstat's
//     Δ on-CPU ns is used instead, provided it agrees with the stat delta within 2 ticks (stat
//     truncates utime and stime separately); otherwise the stat delta is used.
//     /proc/<pid>/schedstat covers only the thread-group leader, so for multi-threaded processes it
//     would undercount.
// A process first seen after the baseline gets its whole cumulative CPU time as its delta when its
// start time is after the previous scan (per /proc/uptime), else 0 (it existed before but was not
// seen, e.g. unreadable).
class UsageTracker {
 public:
  explicit UsageTracker(UsageTrackerOptions options = {});

  UsageTick Update(const ProcScan& scan);
  // The same, moving each process's comm and cgroup path into the tick (the scan's processes are
  // left with empty strings).
  UsageTick Update(ProcScan&& scan);

  const UsageTrackerCounters& counters() const { return counters_; }
  std::size_t tracked() const { return state_.size(); }

 private:
  struct KeyHash {
    std::size_t operator()(const ProcessKey& k) const;
  };
  struct Entry {
    Seconds stat_cpu_time;
    std::optional<Seconds> schedstat_cpu_time;
    int num_threads = 1;
    int unreadable_streak = 0;
    std::string comm;
    std::string cgroup_path;
    bool kernel_thread = false;
    std::uint64_t generation = 0;
  };

  Seconds Delta(const Entry& prev, const ProcessSample& cur, int& backwards);

  UsageTrackerOptions options_;
  UsageTrackerCounters counters_;
  std::unordered_map<ProcessKey, Entry, KeyHash> state_;
  std::uint64_t generation_ = 0;
  bool have_previous_ = false;
  Clock::MonoTime previous_time_{};
  std::optional<NodeCpuTimes> previous_node_;
  std::optional<Seconds> previous_uptime_;
};

}  // namespace wattson::usage
