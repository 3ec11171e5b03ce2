// Node power where no meter covers a zone: the node features this host can compute without BPF
// (from /proc/stat, and perf counters when permitted), and NodeModel, which turns them into watts
// per component for one target (Kepler's NODE_COMPONENTS = package/core/uncore/dram, or
// NODE_TOTAL = platform) with the model's idle (its prediction at zero usage) and an
// out-of-training-range flag. Local models (PowerModel) and the estimator sidecar (framed protocol)
// implement it.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/units.h"
#include "estimator/binary_codec.h"
#include "estimator/client.h"
#include "export/state.h"
#include "models/power_model.h"
#include "models/types.h"
#include "sources/usage/perf_counters.h"
#include "sources/usage/procfs.h"

namespace wattson::agent {

// Node feature rates by Kepler feature name.
using FeatureValues = std::map<std::string, double, std::less<>>;

// The feature names the agent can supply on this host (see ComputeNodeFeatures).
std::vector<std::string> ComputableFeatures(bool have_perf_counters);

// Node features over one tick (docs/agent.md, "Features"):
//  * bpf_cpu_time_ms: node CPU time in milliseconds per second = Δbusy / Δt with
//    busy = user + nice + system + irq + softirq from /proc/stat (Kepler v0.7's name and unit;
//    its eBPF value is the same quantity summed over all processes). Without /proc/stat: Σ of the
//    processes' CPU time deltas.
//  * bpf_cpu_time_us: the same value. Kepler v0.6's "_us" feature holds milliseconds per second
//    despite its name (checked on the nx12 data: cycles / value ≈ 2·10⁶ = cycles per millisecond
//    at 2 GHz), and every v0.6 model, the embedded default model included, was trained on it.
//  * cpu_cycles, cpu_instructions, cache_miss: node perf counter deltas per second, when measured.
// prev/cur: /proc/stat of the previous and this scan (either may be absent); dt > 0.
FeatureValues ComputeNodeFeatures(const std::optional<usage::NodeCpuTimes>& prev,
                                  const std::optional<usage::NodeCpuTimes>& cur, Seconds dt,
                                  Seconds process_cpu_time, const usage::PerfTick* perf);

// Which zones a NodeModel estimates.
enum class NodeTarget { kComponents, kPlatform };
std::string_view NodeTargetName(NodeTarget t);  // "NODE_COMPONENTS" | "NODE_TOTAL"
// Kepler's energy source name of a target's models: "rapl-sysfs" | "acpi".
std::string_view NodeTargetSource(NodeTarget t);
bool ComponentInTarget(Component c, NodeTarget t);

struct ComponentEstimate {
  std::string zone;  // "package", "core", "uncore", "dram", "platform"
  Watts power{0.0};  // at this tick's features
  Watts idle{0.0};   // at zero usage
};

struct NodeEstimate {
  std::vector<ComponentEstimate> components;
  bool input_out_of_range = false;
  std::vector<std::string> out_of_range;  // "bpf_cpu_time_ms=31000 > 29170", ...
};

class NodeModel {
 public:
  virtual ~NodeModel() = default;
  virtual NodeTarget target() const = 0;
  // Provenance for /metrics; id is the model_id label of the zones it estimates.
  virtual const exporter::ModelProvenance& provenance() const = 0;
  // A line for the start-up log.
  virtual std::string Describe() const = 0;
  virtual Result<NodeEstimate> Estimate(const FeatureValues& features) = 0;
};

// A local model. Components outside the target are ignored; so are components the model
// predicts as exactly 0 W both at zero usage and at the top of its training range (a component
// the training machine did not have, e.g. nx12's core and uncore). The range check uses
// ModelInfo::training_range; a model without one never flags (docs/agent.md says so).
class LocalNodeModel final : public NodeModel {
 public:
  // Fails if the model has no component of the target or needs a feature not in available.
  static Result<std::unique_ptr<LocalNodeModel>> Create(std::shared_ptr<const PowerModel> model,
                                                        NodeTarget target,
                                                        const std::vector<std::string>& available);
  NodeTarget target() const override { return target_; }
  const exporter::ModelProvenance& provenance() const override { return provenance_; }
  std::string Describe() const override;
  Result<NodeEstimate> Estimate(const FeatureValues& features) override;
  const std::vector<Component>& components() const { return components_; }

 private:
  LocalNodeModel() = default;
  std::shared_ptr<const PowerModel> model_;
  NodeTarget target_ = NodeTarget::kComponents;
  std::vector<Component> components_;
  exporter::ModelProvenance provenance_;
};

// The estimator sidecar over the framed protocol (binary payloads from version 2, else JSON): one
// AbsPower request per tick with two rows (this tick's features, and zeros for idle), on a
// persistent connection that is re-opened after an error.
class SidecarNodeModel final : public NodeModel {
 public:
  SidecarNodeModel(std::string socket_path, NodeTarget target, std::vector<std::string> features,
                   std::chrono::milliseconds timeout);
  NodeTarget target() const override { return target_; }
  const exporter::ModelProvenance& provenance() const override { return provenance_; }
  std::string Describe() const override;
  Result<NodeEstimate> Estimate(const FeatureValues& features) override;

 private:
  // One request on client_: binary payloads when the server speaks version 2, else JSON. Fills
  // powers (component → watts per row) or msg (the server's error).
  Status CallBinary(const estimator::BinaryRequest& req,
                    std::vector<std::pair<std::string, std::vector<double>>>* powers,
                    std::string* msg);
  Status CallJson(const estimator::BinaryRequest& req,
                  std::vector<std::pair<std::string, std::vector<double>>>* powers,
                  std::string* msg);

  std::string socket_path_;
  NodeTarget target_;
  std::vector<std::string> features_;
  std::chrono::milliseconds timeout_;
  std::optional<estimator::FramedClient> client_;
  exporter::ModelProvenance provenance_;
};

// Provenance of a local model for the exporter.
exporter::ModelProvenance ProvenanceOf(const ModelInfo& info);

}  // namespace wattson::agent
