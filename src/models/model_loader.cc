#include "models/model_loader.h"

#include "common/file_util.h"
#include "common/json_util.h"
#include "fmt/format.h"
#include "models/archive/kepler_archive.h"
#include "models/kepler_weights.h"
#include "models/tree_ensemble.h"
#include "models/wattson_format.h"

namespace wattson {

namespace {

constexpr std::size_t kMaxModelFileBytes = 512u << 20;

Result<std::unique_ptr<PipelineModel>> FromXgboost(const Json& j, const std::string& path,
                                                   const LoadOptions& options) {
  std::size_t n = 0;
  WATTSON_ASSIGN_OR_RETURN(auto trees, TreeEnsembleFromXgboostJson(j, path, &n));
  std::vector<std::string> features = options.features;
  if (features.empty()) {
    // XGBoost stores feature names when the model was trained on a named table.
    if (const Json* learner = FindField(j, "learner")) {
      if (const Json* names = FindField(*learner, "feature_names"); names && names->is_array()) {
        WATTSON_ASSIGN_OR_RETURN(features, AsStringArray(*names, path + ": learner.feature_names"));
      }
    }
  }
  if (features.size() != n) {
    return Status::InvalidArgument(
        fmt::format("{}: the XGBoost model reads {} features; name them in order (got {})", path, n,
                    features.size()));
  }
  WATTSON_ASSIGN_OR_RETURN(Component component, ParseComponent(options.component));
  ComponentPipeline p;
  p.component = component;
  p.features = std::move(features);
  p.regressor = std::move(trees);
  ModelInfo info;
  info.id = path;
  info.name = "XgboostFitTrainer";
  info.trainer = "XgboostFitTrainer";
  info.energy_source = component == Component::kPlatform ? "acpi" : "rapl-sysfs";
  info.provenance.origin = path;
  info.provenance.tool = "xgboost";
  std::vector<ComponentPipeline> pipelines;
  pipelines.push_back(std::move(p));
  return PipelineModel::Create(std::move(info), std::move(pipelines));
}

}  // namespace

Result<std::unique_ptr<PipelineModel>> LoadModelFile(const std::string& path,
                                                     const LoadOptions& options) {
  if (archive::IsKeplerArchivePath(path)) {
    WATTSON_ASSIGN_OR_RETURN(archive::KeplerArchive a, archive::LoadKeplerArchive(path));
    return std::move(a.model);
  }
  WATTSON_ASSIGN_OR_RETURN(std::string text, ReadLocalFile(path, kMaxModelFileBytes));
  WATTSON_ASSIGN_OR_RETURN(Json j, ParseJson(text, path));
  if (IsWattsonModelJson(j)) return WattsonModelFromJson(j, path);
  if (FindField(j, "learner") != nullptr) return FromXgboost(j, path, options);
  if (IsKeplerWeightJson(j)) {
    KeplerWeightOptions ko;
    ko.id = path;
    InferKeplerWeightOptionsFromPath(path, &ko);
    if (!options.trainer.empty()) ko.trainer = options.trainer;
    auto m = KeplerWeightsFromJson(j, ko);
    if (!m.ok()) return m.status().WithContext(path);
    return m;
  }
  return Status::InvalidArgument(fmt::format(
      "{}: not a model file this wattson reads (wattson model JSON, Kepler weight JSON, "
      "XGBoost JSON, or a Kepler model archive: zip or unpacked folder)",
      path));
}

}  // namespace wattson
