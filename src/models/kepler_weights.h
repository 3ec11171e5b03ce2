// Kepler weight JSON (the local-regressor format of Kepler v0.5–v0.7; reference spec §2): one
// {"All_Weights": {...}} section per component. Linear (Bias_Weight + Σ weight·x̂), curve fits
// (CurveFit_Weights on one named feature) and categorical terms; x̂ = x / scale (v0.6/v0.7) or
// (x - mean) / sqrt(variance) (v0.5). Converted to a PipelineModel with MaxAbs/standard transforms.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_util.h"
#include "common/status.h"
#include "models/power_model.h"

namespace wattson {

// How a Kepler "scale" is applied. kDivide is Kepler's Go rule (x / scale). kMultiply is the
// v0.6 LinearRegressionTrainer quirk (its files store MinMaxScaler.scale_, a multiplier).
// kAuto picks kMultiply only for v0.6-format files (with "mean"/"variance" keys) written by
// LinearRegressionTrainer, and kDivide otherwise.
enum class KeplerScaleRule { kAuto, kDivide, kMultiply };

struct KeplerWeightOptions {
  std::string trainer;        // e.g. "LogarithmicRegressionTrainer"; needed for 3-weight curve fits
  std::string feature_group;  // e.g. "BPFOnly"; only informational
  std::string energy_source;  // e.g. "rapl-sysfs", "acpi"; inferred from components when empty
  std::string output_type;    // "AbsPower"/"DynPower"; AbsPower when empty
  int node_type = -1;
  std::string id;  // catalogue id / origin
  KeplerScaleRule scale_rule = KeplerScaleRule::kAuto;
};

// True if j has the shape of a Kepler weight document (component keys with "All_Weights").
bool IsKeplerWeightJson(const Json& j);

Result<std::unique_ptr<PipelineModel>> KeplerWeightsFromJson(const Json& j,
                                                             const KeplerWeightOptions& options);

// Fills trainer, feature group, output type, energy source and node type from a kepler-model-db
// path such as ".../acpi/AbsPower/BPFOnly/LogarithmicRegressionTrainer_3.json" or
// ".../rapl/DynPower/KubeletOnly/weight.json". Fields it cannot infer are left unchanged.
void InferKeplerWeightOptionsFromPath(std::string_view path, KeplerWeightOptions* options);

// Writes a model back as Kepler weight JSON, if it is expressible there (per component: optional
// maxabs scaling followed by a linear or curve-fit regressor). Used for Kepler's Go exporter.
Result<Json> KeplerWeightsToJson(const PipelineModel& model);

// The errors a Kepler model publishes (a metadata CSV row or an archive's metadata.json: mae,
// mape, <component>_mae, <component>_mape), as ModelErrors with protocol "kepler-published". MAPE
// is the max over the components (Kepler's own "mape" is the last component's, a bug); negative
// MAPEs must already be left out of m.
ModelErrors KeplerPublishedErrors(const std::map<std::string, double, std::less<>>& m,
                                  const std::vector<Component>& comps);

}  // namespace wattson
