// Fuzzes Kepler weight JSON: ParseJson + KeplerWeightsFromJson under every trainer hint and scale
// rule, then Predict on probe rows (watts must be finite and >= 0) and, when the model is
// expressible as Kepler weights again, KeplerWeightsToJson must reload to identical predictions.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/json_util.h"
#include "fuzz_util.h"
#include "models/kepler_weights.h"

namespace {

using wattson::KeplerScaleRule;
using wattson::KeplerWeightOptions;

void Exercise(const wattson::Json& j, const KeplerWeightOptions& options) {
  auto model = wattson::KeplerWeightsFromJson(j, options);
  if (!model.ok()) return;
  const wattson::FeatureMatrix probe = wattson::fuzz::ProbeRows((*model)->info());
  auto prediction = (*model)->Predict(probe);
  if (prediction.ok()) wattson::fuzz::CheckPrediction(*prediction, probe.rows());

  auto back = wattson::KeplerWeightsToJson(**model);
  if (!back.ok()) return;
  KeplerWeightOptions again = options;
  again.scale_rule = KeplerScaleRule::kDivide;  // what KeplerWeightsToJson writes
  again.trainer = (*model)->info().trainer;     // a document may name it only in "model_name"
  auto reloaded = wattson::KeplerWeightsFromJson(*back, again);
  if (!reloaded.ok()) wattson::fuzz::Fail("KeplerWeightsToJson output does not reload");
  auto p2 = (*reloaded)->Predict(probe);
  if (prediction.ok() != p2.ok()) wattson::fuzz::Fail("reloaded weights predict differently");
  if (prediction.ok() && !wattson::fuzz::SamePredictions(*prediction, *p2)) {
    wattson::fuzz::Fail("reloaded Kepler weights give different watts");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = wattson::ParseJson(text, "fuzz input");
  if (!json.ok()) return 0;
  (void)wattson::IsKeplerWeightJson(*json);
  static constexpr std::string_view kTrainers[] = {
      "", "SGDRegressorTrainer", "LogarithmicRegressionTrainer", "ExponentialRegressionTrainer",
      "LogisticRegressionTrainer"};
  for (std::string_view trainer : kTrainers) {
    KeplerWeightOptions options;
    options.trainer = std::string(trainer);
    Exercise(*json, options);
  }
  for (KeplerScaleRule rule : {KeplerScaleRule::kDivide, KeplerScaleRule::kMultiply}) {
    KeplerWeightOptions options;
    options.scale_rule = rule;
    Exercise(*json, options);
  }
  return 0;
}
