// Node-level hardware counters (cycles, instructions, cache misses) through perf_event_open: one
// counter per online CPU per event, counting every process. The syscall sits behind PerfBackend
// so tests use a fake. A counter that cannot be opened is absent, never zero; deltas per tick are
// scaled for multiplexing (Δvalue × Δtime_enabled / Δtime_running).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/host_fs.h"
#include "common/status.h"

namespace wattson::usage {

enum class HwCounter { kCpuCycles = 0, kInstructions = 1, kCacheMisses = 2 };
inline constexpr std::size_t kHwCounterCount = 3;

// Kepler's feature names: "cpu_cycles", "cpu_instructions", "cache_miss".
std::string_view HwCounterName(HwCounter counter);

// One read of a counter opened with PERF_FORMAT_TOTAL_TIME_ENABLED | _RUNNING.
struct PerfReading {
  std::uint64_t value = 0;
  std::uint64_t time_enabled = 0;  // ns
  std::uint64_t time_running = 0;  // ns
};

// The perf_event_open seam. Handles are backend-defined small integers.
class PerfBackend {
 public:
  virtual ~PerfBackend() = default;
  // Opens a system-wide counter (pid -1) on one CPU. Errors carry the errno text; kUnavailable
  // means the event does not exist here (no PMU: ENOENT, EOPNOTSUPP, ENODEV), kFailedPrecondition
  // means not permitted (EACCES, EPERM).
  virtual Result<int> Open(HwCounter counter, int cpu) = 0;
  virtual Result<PerfReading> Read(int handle) = 0;
  virtual void Close(int handle) = 0;
};

// The real backend: perf_event_open(2) with PERF_TYPE_HARDWARE, read(2), close(2).
class LinuxPerfBackend final : public PerfBackend {
 public:
  Result<int> Open(HwCounter counter, int cpu) override;
  Result<PerfReading> Read(int handle) override;
  void Close(int handle) override;
};

// Parses a CPU list such as "0-3,8,10-11" (/sys/devices/system/cpu/online).
Result<std::vector<int>> ParseCpuList(std::string_view text);

// Per-tick node totals; std::nullopt = absent (not opened, or not measurable this tick).
struct PerfTick {
  std::array<std::optional<double>, kHwCounterCount> delta{};
  // Largest multiplexing factor applied this tick (time_enabled / time_running), 1 = none.
  double max_scale = 1.0;
  int backwards = 0;     // counter reads that went backwards (treated as 0)
  bool baseline = true;  // the first Sample() only establishes the starting values

  const std::optional<double>& operator[](HwCounter c) const {
    return delta[static_cast<std::size_t>(c)];
  }
};

class NodePerfCounters {
 public:
  // Opens every requested counter on every online CPU (from /sys/devices/system/cpu/online read
  // through fs). Counters that fail on any CPU are closed and left absent. Fails only if none
  // could be opened; the error names the reason and the kernel.perf_event_paranoid value (read
  // through fs from /proc/sys/kernel/perf_event_paranoid).
  static Result<std::unique_ptr<NodePerfCounters>> Open(PerfBackend& backend, const HostFs& fs,
                                                        std::vector<HwCounter> counters = {
                                                            HwCounter::kCpuCycles,
                                                            HwCounter::kInstructions,
                                                            HwCounter::kCacheMisses});
  ~NodePerfCounters();
  NodePerfCounters(const NodePerfCounters&) = delete;
  NodePerfCounters& operator=(const NodePerfCounters&) = delete;

  bool available(HwCounter c) const;
  // Why each absent counter is absent ("" for open ones).
  const std::string& absent_reason(HwCounter c) const;

  // Reads every counter and returns the deltas since the previous call. A CPU whose counter did
  // not run at all in the interval (Δtime_running == 0) makes that counter absent this tick.
  PerfTick Sample();

 private:
  struct Fd {
    int handle = -1;
    std::optional<PerfReading> last;
  };
  NodePerfCounters(PerfBackend& backend) : backend_(backend) {}

  PerfBackend& backend_;
  std::array<std::vector<Fd>, kHwCounterCount> fds_;
  std::array<std::string, kHwCounterCount> absent_reason_;
  bool sampled_ = false;
};

}  // namespace wattson::usage
