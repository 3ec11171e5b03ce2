// Kepler's model vocabulary: feature groups (kepler-model-server util/train_types.py at
// v0.7.11-release, and the v0.6 names of the std_v0.6 model DB), the curve-fit "main" and "dram"
// feature rule, energy-source names and the components each source measures, and the machine
// attributes of a node type (node_type_index.json).
//
// Everything here is a pure function over constant tables: no state, thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_util.h"
#include "common/status.h"
#include "models/types.h"

namespace wattson {

// Which generation of Kepler feature names a group list follows. v0.6 uses bpf_cpu_time_us and
// has KubeletOnly/CgroupOnly and a 10-feature Basic; v0.7 (v0.7.11) uses bpf_cpu_time_ms and
// bpf_page_cache_hit.
enum class KeplerFeatureVersion { kV06, kV07 };

// One feature group: its Kepler name and its features sorted alphabetically (Kepler's column
// order for trained models and weight files).
struct FeatureGroupDef {
  std::string_view name;
  std::vector<std::string> features;
};

// Every group of a version, in kepler-model-server's dict order (the order /model scans them).
// v0.7: Full, WorkloadOnly, CounterOnly, CgroupOnly, BPFOnly, BPFIRQ, CounterIRQCombined, Basic,
// AcceleratorOnly. v0.6: CounterOnly, BPFOnly, BPFIRQ, CounterIRQCombined, CgroupOnly,
// KubeletOnly, Basic.
std::vector<FeatureGroupDef> KeplerFeatureGroups(KeplerFeatureVersion version);

// The sorted features of the named group, or NotFound.
Result<std::vector<std::string>> FeatureGroupFeatures(
    std::string_view group, KeplerFeatureVersion version = KeplerFeatureVersion::kV07);

// Names of the groups whose features are all in `available` (kepler-model-server's
// get_valid_feature_groups), in dict order.
std::vector<std::string> ValidFeatureGroups(std::span<const std::string> available,
                                            KeplerFeatureVersion version);

// The group whose (sorted) feature list equals `features` as a set, searching v0.7 then v0.6, or
// empty when none does.
std::string FeatureGroupOf(std::span<const std::string> features);

// Candidates for the curve-fit "main" feature, in priority order: the first one present in a
// model's features is the one Kepler's trainer fitted the curve on (train_types.py main_feature:
// cpu_instructions for counter groups, bpf_cpu_time_ms for BPF groups, ... ; v0.6 names
// included).
inline constexpr std::string_view kMainFeatureCandidates[] = {
    "cpu_instructions",      "bpf_cpu_time_ms",   "bpf_cpu_time_us",
    "cgroupfs_cpu_usage_us", "kubelet_cpu_usage", "accelerator_intel_qat"};
// Candidates for the dram component's curve feature; falls back to the main feature.
inline constexpr std::string_view kDramFeatureCandidates[] = {
    "cache_miss", "bpf_page_cache_hit", "cgroupfs_memory_usage_bytes", "kubelet_memory_bytes"};

// First present of kMainFeatureCandidates, or nullopt.
std::optional<std::string> MainFeature(std::span<const std::string> features);
// First present of kDramFeatureCandidates, else MainFeature, or nullopt.
std::optional<std::string> DramFeature(std::span<const std::string> features);
// The feature a curve fit for `component` reads: DramFeature for dram, MainFeature otherwise.
std::optional<std::string> CurveFeature(Component component, std::span<const std::string> features);

// Canonical energy-source name. Trims spaces and lower-cases; any name containing "rapl"
// ("rapl", "intel_rapl", "rapl-sysfs", "rapl-msr") becomes "rapl-sysfs" (kepler-model-server's
// rule); "" stays "". Other names are returned lower-cased.
std::string NormaliseEnergySource(std::string_view source);

// Components a source measures (PowerSourceMap): rapl-sysfs, rapl-msr, trained_power_model,
// intel_rapl, rapl → package, core, uncore, dram; acpi, hmc, redfish → platform. NotFound for
// other names.
Result<std::vector<Component>> EnergySourceComponents(std::string_view source);

// True if `source` is one of the names above.
bool IsKnownEnergySource(std::string_view source);

// The source that measures all of `components`: "rapl-sysfs" for a subset of package, core,
// uncore, dram; "acpi" for platform alone; "" otherwise (mixed or empty).
std::string InferEnergySource(std::span<const Component> components);

// The trainers whose models Kepler serves as weight JSON (weight_support_trainers).
inline constexpr std::string_view kWeightTrainers[] = {
    "SGDRegressorTrainer", "LogarithmicRegressionTrainer", "LogisticRegressionTrainer",
    "ExponentialRegressionTrainer"};
bool IsWeightTrainer(std::string_view trainer);

// Parses node-type attributes ({"processor", "cores", "chips", "memory", "frequency"}; numbers
// may be floats such as 96.0; null or missing values are left empty). Fails only on wrong types
// or non-finite numbers, naming ctx.
Result<MachineSpec> KeplerMachineSpecFromJson(const Json& attrs, std::string_view ctx);

}  // namespace wattson
