// Loads a model file of any supported format, detected from its content:
//  - wattson model JSON ({"format": "wattson-model"});
//  - Kepler weight JSON ({"package": {"All_Weights": ...}} or {"platform": ...}), every version;
//  - XGBoost JSON model files (a single component; see LoadOptions::component);
//  - Kepler model archives: a zip starting with "PK", or the same files unpacked in a folder
//    (models/archive/kepler_archive.h).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "models/power_model.h"

namespace wattson {

struct LoadOptions {
  // Kepler weight JSON: trainer name when the path does not tell (e.g.
  // "LogarithmicRegressionTrainer").
  std::string trainer;
  // XGBoost JSON: the component the model predicts and its ordered feature names.
  std::string component = "package";
  std::vector<std::string> features;
};

Result<std::unique_ptr<PipelineModel>> LoadModelFile(const std::string& path,
                                                     const LoadOptions& options = {});

}  // namespace wattson
