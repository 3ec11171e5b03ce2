// Fuzzes the JSON model formats other than Kepler weights:
//  - the wattson model format: WattsonModelFromJson, Predict on probe rows (watts finite and
//    >= 0), and the round trip SerializeWattsonModel → ParseWattsonModel, which must succeed,
//    predict bit-identically and serialize to the same text;
//  - XGBoost JSON (TreeEnsembleFromXgboostJson), evaluated on probe rows.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/json_util.h"
#include "fuzz_util.h"
#include "models/tree_ensemble.h"
#include "models/wattson_format.h"

namespace {

void ExerciseWattson(const wattson::Json& j) {
  auto model = wattson::WattsonModelFromJson(j, "fuzz input");
  if (!model.ok()) return;
  const wattson::FeatureMatrix probe = wattson::fuzz::ProbeRows((*model)->info());
  auto prediction = (*model)->Predict(probe);
  if (prediction.ok()) wattson::fuzz::CheckPrediction(*prediction, probe.rows());

  const std::string serialized = wattson::SerializeWattsonModel(**model);
  auto reloaded = wattson::ParseWattsonModel(serialized, "serialized fuzz model");
  if (!reloaded.ok()) wattson::fuzz::Fail("SerializeWattsonModel output does not parse");
  if ((*reloaded)->info().features != (*model)->info().features) {
    wattson::fuzz::Fail("round trip changed the features");
  }
  auto p2 = (*reloaded)->Predict(probe);
  if (prediction.ok() != p2.ok()) wattson::fuzz::Fail("round trip changed which rows predict");
  if (prediction.ok() && !wattson::fuzz::SamePredictions(*prediction, *p2)) {
    wattson::fuzz::Fail("round trip changed the watts");
  }
  if (wattson::SerializeWattsonModel(**reloaded) != serialized) {
    wattson::fuzz::Fail("serialization is not a fixed point");
  }
}

void ExerciseXgboost(const wattson::Json& j) {
  std::size_t n = 0;
  auto trees = wattson::TreeEnsembleFromXgboostJson(j, "fuzz input", &n);
  if (!trees.ok()) return;
  if ((*trees)->input_size() != n) wattson::fuzz::Fail("XGBoost input size disagrees");
  if (n > 4096) return;
  std::vector<double> x(n);
  for (double v : {0.0, 0.5, 1.0, -1.0, 1e9, std::nan("")}) {
    for (auto& e : x) e = v;
    (void)(*trees)->Predict(x, {});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = wattson::ParseJson(text, "fuzz input");
  if (!json.ok()) return 0;
  ExerciseWattson(*json);
  ExerciseXgboost(*json);
  return 0;
}
