// Agent: the node agent's tick. Each tick scans /proc (per-process CPU deltas over the measured
// Δt), reads the meters, estimates the zones no meter covers with a NodeModel (energy = power ×
// measured Δt, idle = the model at zero usage), splits node energy over processes, containers,
// pods and VMs (Attributor), adds it to the EnergyLedger and publishes the snapshot to
// ExportState. Promises: a failing source (EIO, a vanished pid, a meter or model error) is counted
// and logged at most once per error_log_every ticks and never stops the agent; Tick() runs on one
// thread at a time (the Run() thread, or a test), readers only see ExportState snapshots.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/node_model.h"
#include "attribution/attributor.h"
#include "attribution/ledger.h"
#include "common/clock.h"
#include "common/host_fs.h"
#include "common/logging.h"
#include "export/state.h"
#include "sources/power/power_source.h"
#include "sources/usage/cgroup_identity.h"
#include "sources/usage/perf_counters.h"
#include "sources/usage/pod_resolver.h"
#include "sources/usage/procfs.h"
#include "sources/usage/usage_tracker.h"

namespace wattson::agent {

// The agent's scan settings: no schedstat (stat's utime + stime over a period of seconds suffice),
// a known process's cgroup re-read once every 20 scans (and on exec), /proc/<pid>/stat kept open.
inline usage::ScanOptions DefaultAgentScanOptions() {
  usage::ScanOptions o;
  o.read_schedstat = false;
  o.cgroup_recheck_scans = 20;
  return o;
}

struct AgentOptions {
  Seconds period{3.0};
  long long max_ticks = 0;  // Run(): stop after this many ticks; 0 = until Stop()
  std::string instance;     // node name
  std::string cpu_architecture = "unknown";
  usage::ScanOptions scan = DefaultAgentScanOptions();  // `previous` is not used (ProcScanner)
  usage::UsageTrackerOptions tracker;
  attribution::AttributorOptions attribution;
  attribution::LedgerOptions ledger;
  long long error_log_every = 100;
  // Estimate platform power with the NODE_TOTAL model when no meter reports "platform".
  bool estimate_platform = true;
};

// What the agent works with; the agent owns everything but fs, clock and state.
struct AgentDeps {
  const HostFs* fs = nullptr;
  const Clock* clock = nullptr;
  std::shared_ptr<Logger> logger;  // null = silent
  exporter::ExportState* state = nullptr;
  std::vector<std::unique_ptr<PowerSource>> meters;  // in preference order
  std::vector<std::unique_ptr<NodeModel>> models;    // at most one per NodeTarget
  std::unique_ptr<usage::PodResolver> pods;          // optional
  std::unique_ptr<usage::PerfBackend> perf_backend;  // optional; owns what perf uses
  std::unique_ptr<usage::NodePerfCounters> perf;     // optional
  // Optional: per-process on-CPU times read in one batch (the host's real kernel only).
  std::unique_ptr<usage::OnCpuTimeSource> on_cpu;
};

// What one tick did, for tests and the bench.
struct TickReport {
  bool baseline = false;            // the first tick only records starting values
  bool attributed = false;          // a TickResult was produced and applied
  attribution::TickResult result;   // valid when attributed
  std::vector<std::string> errors;  // this tick's failures, in words
  std::size_t processes = 0;
};

class Agent {
 public:
  // Reads every meter once to learn which zones are measured, and logs (info) which zones are
  // measured by which meter and which are estimated by which model.
  static Result<std::unique_ptr<Agent>> Create(AgentOptions options, AgentDeps deps);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  TickReport Tick();
  // Ticks now and then every period (steady schedule; late ticks are not made up), on the calling
  // thread, until Stop() or max_ticks.
  void Run();
  void Stop();  // thread-safe; Run() returns promptly

  std::uint64_t ticks() const { return ticks_; }
  const std::map<std::string, std::uint64_t>& source_errors() const { return source_errors_; }
  // Zone name → what covers it ("rapl-sysfs", "model <id>", ...), as logged at start.
  const std::map<std::string, std::string>& coverage() const { return coverage_; }
  const attribution::EnergyLedger& ledger() const { return *ledger_; }

 private:
  struct Meter {
    std::unique_ptr<PowerSource> source;
    std::map<std::pair<std::string, std::string>, double> last;  // (zone, key) → cumulative J
    std::set<std::string> zones;                                 // zone names it reported
  };
  struct Identity {
    usage::WorkloadIdentity id;
    attribution::WorkloadKey key;  // without the pod names (resolved per tick)
    std::string cgroup_path;       // what id was derived from
  };
  struct ProcessKeyHash {
    std::size_t operator()(const usage::ProcessKey& k) const {
      return std::hash<int>()(k.pid) * 1000003u ^ std::hash<std::uint64_t>()(k.start_time_ticks);
    }
  };
  struct ProcessKeyEq {
    bool operator()(const usage::ProcessKey& a, const usage::ProcessKey& b) const {
      return a.pid == b.pid && a.start_time_ticks == b.start_time_ticks;
    }
  };

  Agent(AgentOptions options, AgentDeps deps);
  void Error(const std::string& source, const std::string& message, TickReport* report,
             std::uint64_t count = 1);
  void ReadMeters(bool baseline, std::vector<attribution::ZoneEnergy>* zones, TickReport* report);
  void Estimate(const FeatureValues& features, Seconds dt,
                std::vector<attribution::ZoneEnergy>* zones, TickReport* report);
  const Identity& IdentityOf(const usage::ProcessUsage& p);
  void Publish(Seconds tick_duration);
  bool ZoneMeasured(std::string_view zone) const;
  bool TargetMeasured(NodeTarget t) const;
  NodeModel* ModelFor(NodeTarget t) const;
  void ComputeCoverage();

  AgentOptions options_;
  AgentDeps deps_;
  std::vector<Meter> meters_;
  attribution::Attributor attributor_;
  // Shared with the export state, which snapshots it when a reader asks (not every tick).
  std::shared_ptr<attribution::EnergyLedger> ledger_;
  usage::UsageTracker tracker_;
  usage::ProcScanner scanner_;
  std::optional<usage::NodeCpuTimes> previous_node_;
  std::unordered_map<usage::ProcessKey, Identity, ProcessKeyHash, ProcessKeyEq> identities_;
  std::map<std::string, std::uint64_t> source_errors_;
  std::map<std::string, long long> last_logged_;  // source → tick of its last log line
  std::map<std::string, std::uint64_t> suppressed_;
  std::map<std::string, std::string> coverage_;
  std::map<std::string, bool> out_of_range_;  // model id → last tick's flag
  std::string unhealthy_;
  std::uint64_t ticks_ = 0;
  bool have_baseline_ = false;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

// Kepler's cpu_architecture label: override if set, else /sys/devices/cpu/caps/pmu_name (read
// through fs), else "unknown".
std::string DetectCpuArchitecture(const HostFs& fs, const std::string& override_value);

}  // namespace wattson::agent
