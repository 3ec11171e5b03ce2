// ExportState: what the agent's tick thread publishes for the exporters (the ledger, or a fixed
// snapshot of it, plus the agent's own status: node info, models and their provenance, source
// errors, tick timing), and a ring buffer of recent node power for the web view. Publish() and
// the readers are thread-safe; readers get immutable shared copies and never block a tick for
// long. A published ledger's snapshot is built when a reader asks (at most once per tick), not
// by the tick.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "attribution/ledger.h"
#include "common/clock.h"
#include "common/units.h"

namespace wattson::exporter {

// Kepler's kepler_node_info labels, and the instance label of node series.
struct NodeInfo {
  std::string instance;  // node name or hostname
  std::string cpu_architecture;
  std::string components_power_source;  // "rapl-sysfs", "trained_power_model", ...
  std::string platform_power_source;    // "acpi", "redfish", "trained_power_model", ...
};

// A model in use, with its provenance.
struct ModelProvenance {
  std::string id;  // the id estimated zones carry (ZoneEnergy::model_id)
  std::string name;
  std::string trainer;
  std::string feature_group;
  std::string energy_source;
  std::string output_type;
  std::string training_platform;         // machine / data set it was trained on
  std::map<std::string, double> errors;  // "mae" (W), "mape" (%), ... as published
  bool input_out_of_range = false;       // this tick's inputs left the training range
};

struct AgentStatus {
  NodeInfo node;
  std::vector<ModelProvenance> models;
  std::map<std::string, std::uint64_t> source_errors;  // source name → failed reads since start
  std::uint64_t ticks_total = 0;                       // ticks attempted, including failed ones
  Seconds last_tick_duration{0.0};                     // wall time the last tick took to process
  std::string unhealthy_reason;                        // non-empty: /healthz answers 503 with it
  std::string cpu_time_source;  // where process CPU time comes from ("ebpf", "procfs"); "" = unsaid
};

// One point of the node power history: watts per zone name (dynamic + idle, keys summed).
struct HistoryPoint {
  std::int64_t unix_ms = 0;
  double total_watts = 0.0;  // over the total zones (package, dram, gpu, other)
  std::map<std::string, double> zones;
};

struct ExportView {
  std::shared_ptr<const attribution::LedgerSnapshot> ledger;  // never null
  std::shared_ptr<const AgentStatus> status;                  // never null
  std::optional<Clock::MonoTime> last_publish;                // nullopt before the first tick
};

class ExportState {
 public:
  // history_window: how much node power history to keep (by wall time); max_points bounds it.
  explicit ExportState(const Clock& clock, Seconds history_window = Seconds(600.0),
                       std::size_t max_points = 2400);

  // Called by the tick thread after each tick: the live ledger, whose Snapshot() View() takes.
  void Publish(std::shared_ptr<const attribution::EnergyLedger> ledger, AgentStatus status);
  // The same with a fixed snapshot (tests, tools that hold no ledger).
  void Publish(std::shared_ptr<const attribution::LedgerSnapshot> snapshot, AgentStatus status);

  ExportView View() const;
  std::vector<HistoryPoint> History() const;
  Seconds history_window() const { return window_; }
  const Clock& clock() const { return clock_; }

 private:
  const Clock& clock_;
  Seconds window_;
  std::size_t max_points_;
  void PublishLocked(HistoryPoint point, AgentStatus status);  // requires mu_
  std::int64_t WallMs() const;

  mutable std::mutex mu_;
  ExportView view_;                                          // ledger: the fixed snapshot
  std::shared_ptr<const attribution::EnergyLedger> source_;  // null: view_.ledger is fixed
  std::deque<HistoryPoint> history_;
};

// Node power of the last tick, per zone name and in total (see HistoryPoint).
HistoryPoint NodePowerPoint(const std::vector<attribution::NodeZoneSeries>& node,
                            std::int64_t unix_ms);

}  // namespace wattson::exporter
