#include "sources/usage/usage_tracker.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <unordered_set>
#include <utility>

namespace wattson::usage {

namespace {

// Δ of a cumulative counter; negative or non-finite gives 0 and counts as backwards.
Seconds NonNegative(Seconds d, int& backwards) {
  if (!std::isfinite(d.value()) || d.value() < 0) {
    ++backwards;
    return Seconds(0);
  }
  return d;
}

Seconds ClampDelta(Seconds now, Seconds before) {
  const double d = now.value() - before.value();
  return Seconds(std::isfinite(d) && d > 0 ? d : 0.0);
}

}  // namespace

std::size_t UsageTracker::KeyHash::operator()(const ProcessKey& k) const {
  const std::size_t h1 = std::hash<int>()(k.pid);
  const std::size_t h2 = std::hash<std::uint64_t>()(k.start_time_ticks);
  return h1 ^ (h2 + 0x9e3779b97f4a7c15ULL + (h1 << 6) + (h1 >> 2));
}

UsageTracker::UsageTracker(UsageTrackerOptions options) : options_(options) {
  if (!(options_.ticks_per_second > 0) || !std::isfinite(options_.ticks_per_second)) {
    options_.ticks_per_second = 100.0;
  }
  if (options_.max_unreadable_scans < 0) options_.max_unreadable_scans = 0;
}

Seconds UsageTracker::Delta(const Entry& prev, const ProcessSample& cur, int& backwards) {
  const Seconds stat_delta = NonNegative(cur.stat_cpu_time - prev.stat_cpu_time, backwards);
  if (prev.schedstat_cpu_time && cur.schedstat_cpu_time && prev.num_threads == 1 &&
      cur.num_threads == 1) {
    const Seconds ss = *cur.schedstat_cpu_time - *prev.schedstat_cpu_time;
    const double tolerance = 2.0 / options_.ticks_per_second + 1e-9;
    if (std::isfinite(ss.value()) && ss.value() >= 0 &&
        std::abs(ss.value() - stat_delta.value()) <= tolerance) {
      return ss;
    }
    ++counters_.schedstat_rejected;
  }
  return stat_delta;
}

UsageTick UsageTracker::Update(const ProcScan& scan) {
  ProcScan copy = scan;
  return Update(std::move(copy));
}

UsageTick UsageTracker::Update(ProcScan&& scan) {
  UsageTick tick;
  tick.baseline = !have_previous_;
  const std::uint64_t gen = ++generation_;

  if (have_previous_) {
    const Seconds dt = SecondsBetween(previous_time_, scan.taken_at);
    if (dt.value() < 0) {
      ++counters_.clock_went_backwards;
    } else {
      tick.interval = dt;
    }
    if (previous_node_ && scan.node) {
      const NodeCpuTimes& a = *previous_node_;
      const NodeCpuTimes& b = *scan.node;
      if (b.Total() < a.Total()) ++tick.backwards_counters;
      tick.node = NodeCpuDelta{ClampDelta(b.Busy(), a.Busy()), ClampDelta(b.idle, a.idle),
                               ClampDelta(b.iowait, a.iowait), ClampDelta(b.steal, a.steal)};
    }
  }

  // A new process started after the previous scan if its start time (ticks since boot) is not
  // before the previous scan's uptime, less one tick of rounding.
  auto started_since_previous = [&](const ProcessSample& p) {
    if (!previous_uptime_) return true;
    const double start = static_cast<double>(p.start_time_ticks) / options_.ticks_per_second;
    return start + 1.0 / options_.ticks_per_second >= previous_uptime_->value();
  };

  tick.processes.reserve(scan.processes.size());
  for (ProcessSample& p : scan.processes) {
    const ProcessKey key{p.pid, p.start_time_ticks};
    ProcessUsage u;
    u.key = key;
    u.kernel_thread = p.kernel_thread;
    auto it = state_.find(key);
    if (it == state_.end()) {
      u.first_seen = true;
      if (!tick.baseline && started_since_previous(p)) {
        u.cpu_time_delta = NonNegative(p.cpu_time, tick.backwards_counters);
      }
      it = state_.emplace(key, Entry{}).first;
    } else {
      u.cpu_time_delta = Delta(it->second, p, tick.backwards_counters);
    }
    Entry& e = it->second;
    e.stat_cpu_time = p.stat_cpu_time;
    e.schedstat_cpu_time = p.schedstat_cpu_time;
    e.num_threads = p.num_threads;
    e.unreadable_streak = 0;
    if (e.comm != p.comm) e.comm = p.comm;
    if (e.cgroup_path != p.cgroup_path) e.cgroup_path = p.cgroup_path;
    e.kernel_thread = p.kernel_thread;
    e.generation = gen;
    u.comm = std::move(p.comm);
    u.cgroup_path = std::move(p.cgroup_path);
    tick.process_cpu_time += u.cpu_time_delta;
    tick.processes.push_back(std::move(u));
  }

  // Everything not refreshed in this scan has ended, except pids that were listed but unreadable:
  // those keep their state for a bounded number of scans.
  const std::unordered_set<int> unreadable(scan.unreadable_pids.begin(),
                                           scan.unreadable_pids.end());
  for (auto it = state_.begin(); it != state_.end();) {
    Entry& e = it->second;
    if (e.generation == gen) {
      ++it;
      continue;
    }
    if (unreadable.count(it->first.pid) != 0 &&
        ++e.unreadable_streak <= options_.max_unreadable_scans) {
      ++it;
      continue;
    }
    if (unreadable.count(it->first.pid) != 0) ++counters_.retired_unreadable;
    tick.ended.push_back(
        EndedProcess{it->first, std::move(e.comm), std::move(e.cgroup_path), e.kernel_thread});
    it = state_.erase(it);
  }
  std::sort(tick.ended.begin(), tick.ended.end(),
            [](const EndedProcess& a, const EndedProcess& b) { return a.key < b.key; });
  counters_.ended_processes += tick.ended.size();
  counters_.backwards_counters += static_cast<std::uint64_t>(tick.backwards_counters);

  have_previous_ = true;
  previous_time_ = scan.taken_at;
  previous_node_ = scan.node;
  previous_uptime_ = scan.uptime;
  return tick;
}

}  // namespace wattson::usage
