// PowerModel: named feature rates in, watts per component out. Pure (no I/O, no clock) and
// thread-safe: one instance is shared by every caller. Every returned watt is finite and >= 0.
//
// PipelineModel is the one implementation: per component, pick the component's features by name,
// apply its transforms in order, evaluate its regressor, clamp negatives to 0.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "models/regressor.h"
#include "models/transform.h"
#include "models/types.h"

namespace wattson {

class PowerModel {
 public:
  virtual ~PowerModel() = default;
  virtual const ModelInfo& info() const = 0;
  // Fails (never crashes) if a needed feature is missing from x, an input value is not finite, or
  // the model yields a non-finite value for some row. Rows are numbered from 1 in messages.
  virtual Result<PowerPrediction> Predict(const FeatureMatrix& x,
                                          const SystemFeatures& system = {}) const = 0;
};

struct ComponentPipeline {
  Component component = Component::kPackage;
  std::vector<std::string> features;  // input columns by name, in the regressor's order
  std::vector<std::shared_ptr<const Transform>> transforms;
  std::shared_ptr<const Regressor> regressor;
};

class PipelineModel final : public PowerModel {
 public:
  // Validates that each component's transform chain and regressor fit together and that no
  // component appears twice. info.features and info.components are filled in from the pipelines
  // (the union of the features, in first-seen order).
  static Result<std::unique_ptr<PipelineModel>> Create(ModelInfo info,
                                                       std::vector<ComponentPipeline> pipelines);

  const ModelInfo& info() const override { return info_; }
  Result<PowerPrediction> Predict(const FeatureMatrix& x,
                                  const SystemFeatures& system = {}) const override;

  const std::vector<ComponentPipeline>& pipelines() const { return pipelines_; }
  // A short description of the families, e.g. "maxabs → linear".
  std::string FamilySummary() const;
  // Replaces metadata (id, errors, provenance...) keeping the pipelines. Features and components
  // stay those of the pipelines.
  void SetInfo(ModelInfo info);

 private:
  PipelineModel(ModelInfo info, std::vector<ComponentPipeline> pipelines)
      : info_(std::move(info)), pipelines_(std::move(pipelines)) {}
  ModelInfo info_;
  std::vector<ComponentPipeline> pipelines_;
  std::size_t max_width_ = 0;  // widest intermediate vector, for scratch buffers
};

}  // namespace wattson
