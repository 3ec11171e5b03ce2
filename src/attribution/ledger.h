// EnergyLedger: cumulative joules (dynamic and idle, per zone) per process, container, pod, VM and
// node, fed one TickResult at a time. Counters only ever grow. A workload not seen for `retention`
// disappears; beyond the series bounds new workloads fold into one overflow series per level, so
// every tick's energy is still counted exactly once per level. Apply() (the tick thread) and
// Snapshot() (HTTP threads) are thread-safe; a snapshot is an immutable copy shared by readers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "attribution/types.h"
#include "common/units.h"

namespace wattson::attribution {

// Names used for the synthetic series (Kepler's names for host processes).
inline constexpr std::string_view kSystemContainerId = "system_processes";
inline constexpr std::string_view kSystemNamespace = "system";
inline constexpr std::string_view kOverflowName = "wattson_overflow";
inline constexpr std::int64_t kOverflowPid = -1;

struct LedgerOptions {
  Seconds retention{300.0};  // how long an ended workload keeps its final counters
  std::size_t max_processes = 10000;
  std::size_t max_containers = 10000;
  std::size_t max_pods = 10000;
  std::size_t max_vms = 1000;
  // Start tracking a workload only once it has been given some energy (a process that never ran
  // adds a series of zeros otherwise). Seen workloads are kept alive either way.
  bool skip_zero_energy = true;
};

// Cumulative energy of one series in one zone name (keys such as sockets are summed).
struct ZoneJoules {
  std::string zone;
  Joules dynamic{0.0};
  Joules idle{0.0};
};

// Common part of every workload-level series.
struct SeriesEnergy {
  std::vector<ZoneJoules> energy;  // sorted by zone; every zone the ledger has seen
  Watts power{0.0};  // last tick's power over the total zones (dynamic + idle), 0 if absent
  Watts dynamic_power{0.0};
  bool active = false;          // present in the last tick
  bool overflow = false;        // the fold-in series for workloads beyond the bound
  Joules TotalDynamic() const;  // Σ over total zones (package, dram, gpu, other)
  Joules TotalIdle() const;
};

struct ProcessSeries : SeriesEnergy {
  WorkloadKey key;
};

struct ContainerSeries : SeriesEnergy {
  std::string container_id;  // "system_processes" for host processes
  std::string container_name;
  std::string pod_uid;
  std::string pod_name;
  std::string pod_namespace;
};

struct PodSeries : SeriesEnergy {
  std::string pod_uid;
  std::string pod_name;
  std::string pod_namespace;
};

struct VmSeries : SeriesEnergy {
  std::string vm_id;
};

struct NodeZoneSeries {
  ZoneId id;
  ZoneOrigin origin = ZoneOrigin::kMeasured;
  std::string model_id;
  std::string source;
  Joules dynamic{0.0};  // cumulative
  Joules idle{0.0};
  Joules unattributed_dynamic{0.0};
  Joules unapportioned_idle{0.0};
  Watts dynamic_power{0.0};  // last tick; 0 when the zone was absent from the last tick
  Watts idle_power{0.0};
  IdleMethod idle_method = IdleMethod::kWarmingUp;
  bool idle_provisional = true;
  UsageMetric metric = UsageMetric::kCpuTime;
  bool present = false;  // in the last tick
};

struct LedgerSnapshot {
  std::uint64_t ticks = 0;
  Seconds elapsed{0.0};  // Σ Δt
  Seconds last_dt{0.0};
  std::vector<NodeZoneSeries> node;         // sorted by ZoneId
  std::vector<ProcessSeries> processes;     // sorted by (pid, start_time); overflow first
  std::vector<ContainerSeries> containers;  // sorted by container_id
  std::vector<PodSeries> pods;              // sorted by (namespace, name, uid)
  std::vector<VmSeries> vms;                // sorted by vm_id
  // Workload rows folded into the overflow series since start, per level.
  std::uint64_t overflow_processes = 0;
  std::uint64_t overflow_containers = 0;
  std::uint64_t overflow_pods = 0;
  std::uint64_t overflow_vms = 0;
};

class EnergyLedger {
 public:
  explicit EnergyLedger(LedgerOptions options = {});

  // Adds one tick. Every energy in result must be finite and >= 0 (Attributor guarantees it);
  // others are counted as 0. idle: workloads also alive this tick that used nothing and were
  // left out of result (the agent does not attribute zero usage): their series, and those of
  // their container, pod and VM, are kept alive exactly as a zero-energy row in result would
  // keep them, except that existing series' labels are not rewritten from these keys.
  void Apply(const TickResult& result, std::span<const WorkloadKey* const> idle = {});

  // The state after the latest Apply(), built on the first call after it (a copy of every
  // series): readers that want it less often than every tick save the copies.
  std::shared_ptr<const LedgerSnapshot> Snapshot() const;
  // Only the node's zones after the latest Apply() (a few entries; no workload series copied).
  std::vector<NodeZoneSeries> NodeZones() const;

  const LedgerOptions& options() const { return options_; }

 private:
  struct Entry {
    std::vector<double> dynamic;  // by zone-name index
    std::vector<double> idle;
    double tick_total = 0.0;    // this/last tick's energy over total zones (dyn + idle)
    double tick_dynamic = 0.0;  // this/last tick's dynamic energy over total zones
    std::uint64_t tick = 0;     // the last tick it was present in
    double last_seen = 0.0;     // ledger time of that tick
  };
  struct ProcEntry {
    WorkloadKey key;
    Entry e;
  };
  // A container, pod or VM: its labels (the series' energy fields stay empty) and counters.
  template <typename Series>
  struct Labelled {
    Series labels;
    Entry e;
  };
  struct ProcHash {
    std::size_t operator()(const std::pair<std::int64_t, std::uint64_t>& k) const {
      return std::hash<std::int64_t>()(k.first) * 31u ^ std::hash<std::uint64_t>()(k.second);
    }
  };

  std::size_t ZoneIndex(const std::string& zone);
  void Touch(Entry& e) const;
  void KeepAlive(const WorkloadKey& key, std::string* scratch);
  std::vector<std::size_t> ZoneOrder() const;  // zone-name indices sorted by name
  void FillSeries(const Entry& e, const std::vector<std::size_t>& order, SeriesEnergy* out) const;
  std::shared_ptr<const LedgerSnapshot> Build() const;

  LedgerOptions options_;
  mutable std::mutex mu_;
  std::vector<std::string> zone_names_;
  std::unordered_map<std::string, std::size_t> zone_index_;
  std::vector<NodeZoneSeries> node_;  // sorted by ZoneId
  std::unordered_map<std::pair<std::int64_t, std::uint64_t>, ProcEntry, ProcHash> processes_;
  std::unordered_map<std::string, Labelled<ContainerSeries>> containers_;
  std::unordered_map<std::string, Labelled<PodSeries>> pods_;
  std::unordered_map<std::string, Labelled<VmSeries>> vms_;
  std::uint64_t ticks_ = 0;
  double time_ = 0.0;
  double last_dt_ = 0.0;
  std::uint64_t overflow_[4] = {0, 0, 0, 0};
  mutable std::shared_ptr<const LedgerSnapshot> cached_;
  mutable std::uint64_t cached_ticks_ = ~std::uint64_t{0};
};

}  // namespace wattson::attribution
