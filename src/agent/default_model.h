// The embedded default node models: wattson-format model JSON trained by `wattson train` on the
// public kepler-model-db nx12 data (provenance: src/agent/default_model/README.md), compiled into
// the binary (default_model_data.cc, generated from src/agent/default_model/*.json by
// src/agent/default_model/embed.sh), so a fresh machine without meters shows numbers at once.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "models/power_model.h"

namespace wattson::agent {

struct EmbeddedModel {
  std::string_view file;  // name of the source file under src/agent/default_model/
  std::string_view json;  // its text, byte for byte
};

// Every embedded model file (one per energy source).
const std::vector<EmbeddedModel>& EmbeddedModels();

// Parses them (ids "wattson-default/<file without .json>").
Result<std::vector<std::shared_ptr<const PipelineModel>>> LoadEmbeddedModels();

}  // namespace wattson::agent
