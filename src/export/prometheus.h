// Prometheus text exposition (format 0.0.4) of a ledger snapshot and the agent's status: Kepler
// v0.7 metric names and labels (kepler_{process,container,vm,node}_<zone>_joules_total, ...) plus
// wattson's provenance series. Output is deterministic: families sorted by name, samples by their
// label sets, labels by name. Every exported series is listed in docs/metrics.md.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attribution/ledger.h"
#include "common/net_text.h"
#include "export/state.h"

namespace wattson::exporter {

struct ExpositionOptions {
  bool process_metrics = false;   // Kepler ENABLE_PROCESS_METRICS (off by default)
  bool container_metrics = true;  // EXPOSE_CONTAINER_METRICS
  bool vm_metrics = true;         // EXPOSE_VM_METRICS
  bool pod_metrics = true;        // wattson_pod_joules_total
  bool node_metrics = true;
  bool idle_metrics = true;       // mode="idle" series next to mode="dynamic"
  bool component_metrics = true;  // EXPOSE_COMPONENT_POWER: per-zone kepler_*_<zone>_joules_total
  // Kepler zones emitted for every workload series even when this node has no such zone (value
  // 0), so dashboards find them: Kepler's own Grafana dashboard sums
  // kepler_container_gpu_joules_total into every power panel and shows nothing without it.
  std::vector<std::string> zero_fill_zones = {"core",    "dram",     "gpu",   "other",
                                              "package", "platform", "uncore"};
};

// The Kepler component names that get kepler_*_<zone>_joules_total series.
bool IsKeplerZone(std::string_view zone);

// A sample value: shortest round-trip decimal; NaN, +Inf, -Inf spelled as Prometheus reads them.
std::string FormatSampleValue(double value);

using Labels = std::vector<std::pair<std::string, std::string>>;

// Collects samples and renders them in a stable order.
class ExpositionBuilder {
 public:
  // Declares a family (HELP text, TYPE "counter" | "gauge"); samples may be added before or after.
  void Family(const std::string& name, std::string_view help, std::string_view type);
  void Add(const std::string& name, Labels labels, double value);
  std::string Render() const;

 private:
  struct Fam {
    std::string help;
    std::string type;
    std::vector<std::pair<std::string, std::string>> samples;  // rendered labels, value
  };
  std::vector<std::pair<std::string, Fam>> families_;  // kept sorted by name
  Fam& Get(const std::string& name);
};

std::string RenderPrometheus(const attribution::LedgerSnapshot& ledger, const AgentStatus& status,
                             const ExpositionOptions& options);

}  // namespace wattson::exporter
