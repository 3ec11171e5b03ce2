#include "sources/usage/perf_counters.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <utility>

#include "fmt/format.h"

namespace wattson::usage {

namespace {

constexpr int kMaxCpus = 1 << 16;

std::uint64_t ConfigOf(HwCounter c) {
  switch (c) {
    case HwCounter::kCpuCycles:
      return PERF_COUNT_HW_CPU_CYCLES;
    case HwCounter::kInstructions:
      return PERF_COUNT_HW_INSTRUCTIONS;
    case HwCounter::kCacheMisses:
      return PERF_COUNT_HW_CACHE_MISSES;
  }
  return PERF_COUNT_HW_CPU_CYCLES;
}

std::string Trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return std::string(s);
}

bool ParseInt(std::string_view s, int& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string_view HwCounterName(HwCounter counter) {
  switch (counter) {
    case HwCounter::kCpuCycles:
      return "cpu_cycles";
    case HwCounter::kInstructions:
      return "cpu_instructions";
    case HwCounter::kCacheMisses:
      return "cache_miss";
  }
  return "unknown";
}

Result<int> LinuxPerfBackend::Open(HwCounter counter, int cpu) {
  perf_event_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_HARDWARE;
  attr.config = ConfigOf(counter);
  attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
  attr.disabled = 0;
  attr.inherit = 0;
  const long fd = ::syscall(SYS_perf_event_open, &attr, -1 /* every process */, cpu,
                            -1 /* no group */, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    std::string msg = fmt::format("perf_event_open({}, cpu {}): {}", HwCounterName(counter), cpu,
                                  std::strerror(err));
    if (err == EACCES || err == EPERM) return Status::FailedPrecondition(std::move(msg));
    if (err == ENOENT || err == EOPNOTSUPP || err == ENODEV || err == EINVAL) {
      return Status::Unavailable(std::move(msg));
    }
    return Status::IoError(std::move(msg));
  }
  return static_cast<int>(fd);
}

Result<PerfReading> LinuxPerfBackend::Read(int handle) {
  std::uint64_t buf[3] = {};
  for (;;) {
    const ssize_t n = ::read(handle, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof buf)) {
      return Status::IoError(
          fmt::format("read perf counter: {}", n < 0 ? std::strerror(errno) : "short read"));
    }
    break;
  }
  return PerfReading{buf[0], buf[1], buf[2]};
}

void LinuxPerfBackend::Close(int handle) {
  if (handle >= 0) ::close(handle);
}

Result<std::vector<int>> ParseCpuList(std::string_view text) {
  const std::string s = Trimmed(text);
  std::vector<int> cpus;
  if (s.empty()) return Status::InvalidArgument("empty CPU list");
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    const std::string_view part = std::string_view(s).substr(i, j - i);
    const auto dash = part.find('-');
    int lo = 0, hi = 0;
    const bool ok = dash == std::string_view::npos
                        ? ParseInt(part, lo) && (hi = lo, true)
                        : ParseInt(part.substr(0, dash), lo) && ParseInt(part.substr(dash + 1), hi);
    if (!ok || lo < 0 || hi < lo || hi >= kMaxCpus) {
      return Status::InvalidArgument(fmt::format("bad CPU list '{}'", s));
    }
    for (int c = lo; c <= hi; ++c) cpus.push_back(c);
    i = j + 1;
  }
  return cpus;
}

Result<std::unique_ptr<NodePerfCounters>> NodePerfCounters::Open(PerfBackend& backend,
                                                                 const HostFs& fs,
                                                                 std::vector<HwCounter> counters) {
  WATTSON_ASSIGN_OR_RETURN(std::string online, fs.ReadFile("/sys/devices/system/cpu/online"));
  WATTSON_ASSIGN_OR_RETURN(std::vector<int> cpus, ParseCpuList(online));
  std::unique_ptr<NodePerfCounters> pc(new NodePerfCounters(backend));
  for (std::size_t i = 0; i < kHwCounterCount; ++i) pc->absent_reason_[i] = "not requested";
  bool any = false;
  std::string first_error;
  bool denied = false;
  for (HwCounter c : counters) {
    const auto idx = static_cast<std::size_t>(c);
    if (idx >= kHwCounterCount || !pc->fds_[idx].empty()) continue;
    std::vector<Fd> fds;
    Status failure;
    for (int cpu : cpus) {
      auto h = backend.Open(c, cpu);
      if (!h.ok()) {
        failure = h.status();
        break;
      }
      fds.push_back(Fd{*h, std::nullopt});
    }
    if (!failure.ok()) {
      for (const Fd& fd : fds) backend.Close(fd.handle);
      pc->absent_reason_[idx] = failure.message();
      if (failure.code() == StatusCode::kFailedPrecondition) denied = true;
      if (first_error.empty()) first_error = failure.message();
      continue;
    }
    pc->fds_[idx] = std::move(fds);
    pc->absent_reason_[idx].clear();
    any = true;
  }
  if (!any) {
    std::string paranoid = "unreadable";
    if (auto p = fs.ReadFile("/proc/sys/kernel/perf_event_paranoid", 64); p.ok()) {
      paranoid = Trimmed(*p);
    }
    std::string msg = fmt::format(
        "no hardware counter could be opened ({}); kernel.perf_event_paranoid = {}; system-wide "
        "counting needs CAP_PERFMON (or CAP_SYS_ADMIN) or perf_event_paranoid <= 0, and a PMU "
        "(many VMs expose none)",
        first_error.empty() ? "none requested" : first_error, paranoid);
    return denied ? Status::FailedPrecondition(std::move(msg))
                  : Status::Unavailable(std::move(msg));
  }
  return pc;
}

NodePerfCounters::~NodePerfCounters() {
  for (auto& list : fds_) {
    for (const Fd& fd : list) backend_.Close(fd.handle);
  }
}

bool NodePerfCounters::available(HwCounter c) const {
  const auto idx = static_cast<std::size_t>(c);
  return idx < kHwCounterCount && !fds_[idx].empty();
}

const std::string& NodePerfCounters::absent_reason(HwCounter c) const {
  static const std::string kUnknown = "unknown counter";
  const auto idx = static_cast<std::size_t>(c);
  return idx < kHwCounterCount ? absent_reason_[idx] : kUnknown;
}

PerfTick NodePerfCounters::Sample() {
  PerfTick tick;
  tick.baseline = !sampled_;
  sampled_ = true;
  for (std::size_t idx = 0; idx < kHwCounterCount; ++idx) {
    if (fds_[idx].empty()) continue;
    double total = 0;
    bool measurable = !tick.baseline;
    for (Fd& fd : fds_[idx]) {
      auto r = backend_.Read(fd.handle);
      if (!r.ok()) {
        // This CPU's reading is lost; the next good read starts a new interval for it.
        fd.last.reset();
        measurable = false;
        continue;
      }
      if (fd.last) {
        const PerfReading& a = *fd.last;
        const PerfReading& b = *r;
        if (b.value < a.value || b.time_enabled < a.time_enabled ||
            b.time_running < a.time_running) {
          ++tick.backwards;  // contributes 0 this tick
        } else {
          const std::uint64_t dv = b.value - a.value;
          const std::uint64_t de = b.time_enabled - a.time_enabled;
          const std::uint64_t dr = b.time_running - a.time_running;
          if (dr == 0) {
            if (de != 0 || dv != 0) measurable = false;  // enabled but never scheduled on the PMU
          } else {
            const double scale = static_cast<double>(de) / static_cast<double>(dr);
            const double s = scale < 1.0 ? 1.0 : scale;
            if (s > tick.max_scale) tick.max_scale = s;
            total += static_cast<double>(dv) * s;
          }
        }
      } else {
        measurable = false;  // no previous reading for this CPU
      }
      fd.last = *r;
    }
    if (measurable && std::isfinite(total)) tick.delta[idx] = total;
  }
  return tick;
}

}  // namespace wattson::usage
