// Input and output types of attribution: who a workload is, what it used in one tick, what the
// node's meters or models said each power zone consumed, and how that energy was split.
// Plain values only; every quantity is a per-tick delta over the measured tick interval.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/units.h"

namespace wattson::attribution {

// A process's identity: pid plus its start time (field 22 of /proc/<pid>/stat, in clock ticks
// since boot), so a recycled pid is a new workload. The other fields describe where the process
// runs; each is empty when it does not apply (a host process has no container, no pod, no VM).
struct WorkloadKey {
  std::int64_t pid = 0;
  std::uint64_t start_time = 0;
  std::string container_id;
  std::string container_name;
  std::string pod_uid;
  std::string pod_name;
  std::string pod_namespace;
  std::string vm_id;
  std::string command;

  // Identity is (pid, start_time) only; the descriptive fields may change (a late pod lookup).
  bool SameProcess(const WorkloadKey& o) const {
    return pid == o.pid && start_time == o.start_time;
  }
};

// One workload's usage during one tick. Counters are optional: absent means "not measured",
// which is different from a measured zero.
struct WorkloadUsage {
  WorkloadKey key;
  Seconds cpu_time{0.0};               // on-CPU time during the tick
  std::optional<double> instructions;  // retired instructions during the tick
  std::optional<double> cache_misses;  // last-level cache misses during the tick
  std::optional<double> gpu_usage;     // GPU use in any consistent unit (e.g. SM %·s)
};

enum class ZoneOrigin { kMeasured, kEstimated };
std::string_view ZoneOriginName(ZoneOrigin origin);  // "measured" | "estimated"

// A power zone of the node: a component name ("package", "core", "uncore", "dram", "gpu",
// "platform", ...) and a key telling instances apart ("0", "1" sockets, "energy1", gpu index).
struct ZoneId {
  std::string zone;
  std::string key;
  auto operator<=>(const ZoneId&) const = default;
  bool operator==(const ZoneId&) const = default;
};

// The node's energy in one zone during one tick.
struct ZoneEnergy {
  ZoneId id;
  Joules energy{0.0};
  ZoneOrigin origin = ZoneOrigin::kMeasured;
  std::string model_id;  // the model that estimated it; empty when measured
  std::string source;    // "rapl-sysfs", "acpi", "nvidia-nvml", "trained_power_model", ...
  // Idle power from a calibrated model (its prediction at zero usage). When present, the zone's
  // idle comes from the model (ModelIdle) instead of the rolling estimate.
  std::optional<Watts> model_idle;
};

// Everything attribution needs for one tick.
struct TickInput {
  Seconds dt{0.0};  // measured interval between the two samples, never the configured period
  std::vector<ZoneEnergy> zones;
  std::vector<WorkloadUsage> workloads;  // every workload seen this tick
  // Node CPU utilisation in [0, 1] over the tick (busy / total CPU time, e.g. from /proc/stat).
  // When absent and AttributorOptions::cpu_count > 0 it is derived from Σ workload cpu_time.
  std::optional<double> node_cpu_utilization;
};

// Which usage measure split a zone's dynamic energy.
enum class UsageMetric { kCpuTime, kInstructions, kCacheMisses, kGpuUsage };
std::string_view UsageMetricName(UsageMetric metric);  // "cpu_time", "instructions", ...

// How a zone's idle power was obtained this tick.
enum class IdleMethod {
  kModel,       // a calibrated model's prediction at zero usage
  kRegression,  // intercept of power ≈ a + b·util over the rolling window
  kPercentile,  // low percentile of power over the rolling window
  kWarmingUp,   // the window is still short: a percentile over the few ticks seen (provisional)
  kDerived,     // "other": platform idle minus the component idles
};
std::string_view IdleMethodName(IdleMethod method);

// How node idle energy is apportioned to workloads (it is always reported per node).
enum class IdleApportioning {
  kNone,                  // idle stays at node level
  kCpuTimeShare,          // by each workload's share of CPU time
  kEvenActiveContainers,  // evenly over active containers, then by CPU time inside each
};
std::string_view IdleApportioningName(IdleApportioning rule);
// Parses "none", "cpu_time" (or "cpu-time"), "even_active_containers".
std::optional<IdleApportioning> ParseIdleApportioning(std::string_view name);

// One zone after the idle/dynamic split and the ratio split.
struct ZoneSplit {
  ZoneId id;
  ZoneOrigin origin = ZoneOrigin::kMeasured;
  std::string model_id;
  std::string source;
  Joules total{0.0};
  Joules idle{0.0};
  Joules dynamic{0.0};  // total - idle, >= 0
  IdleMethod idle_method = IdleMethod::kWarmingUp;
  bool idle_provisional = false;  // true while the idle estimate is not yet trustworthy
  UsageMetric metric = UsageMetric::kCpuTime;
  Joules unattributed_dynamic{0.0};  // dynamic energy no workload used (total usage 0)
  Joules unapportioned_idle{0.0};    // idle energy kept at node level
};

// The result of one tick. Energies of workload w in zone z are at [w * zones.size() + z].
// Per zone: Σ_w dynamic + unattributed_dynamic == dynamic, Σ_w idle + unapportioned_idle == idle.
struct TickResult {
  Seconds dt{0.0};
  std::vector<ZoneSplit> zones;
  std::vector<WorkloadKey> workloads;
  std::vector<Joules> dynamic;
  std::vector<Joules> idle;
  std::vector<std::string> warnings;  // inputs that were dropped or repaired, in words

  Joules DynamicOf(std::size_t workload, std::size_t zone) const {
    return dynamic[workload * zones.size() + zone];
  }
  Joules IdleOf(std::size_t workload, std::size_t zone) const {
    return idle[workload * zones.size() + zone];
  }
};

// Zone names Kepler knows, and the name of the overflow/system buckets used by the ledger.
inline constexpr std::string_view kZonePackage = "package";
inline constexpr std::string_view kZoneCore = "core";
inline constexpr std::string_view kZoneUncore = "uncore";
inline constexpr std::string_view kZoneDram = "dram";
inline constexpr std::string_view kZoneGpu = "gpu";
inline constexpr std::string_view kZonePlatform = "platform";
inline constexpr std::string_view kZoneOther = "other";

// True for the zones whose sum is a workload's total energy (Kepler's `*_joules_total`):
// package + dram + gpu + other. ("other" is derived from platform, so a platform-only node's
// total is its platform energy; core and uncore are parts of package and are not added.)
bool IsTotalZone(std::string_view zone);

}  // namespace wattson::attribution
