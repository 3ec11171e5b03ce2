// The wattson model format (docs/model-format.md): one versioned JSON document that holds any
// model family with its transforms, features, components, provenance and measured errors.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/json_util.h"
#include "common/status.h"
#include "models/power_model.h"

namespace wattson {

inline constexpr std::string_view kWattsonFormatName = "wattson-model";
inline constexpr int kWattsonFormatVersion = 1;

// True if j looks like a wattson model document ({"format": "wattson-model", ...}).
bool IsWattsonModelJson(const Json& j);

Result<std::unique_ptr<PipelineModel>> WattsonModelFromJson(const Json& j, std::string_view what);
Result<std::unique_ptr<PipelineModel>> ParseWattsonModel(std::string_view text,
                                                         std::string_view what);
Json WattsonModelToJson(const PipelineModel& model);
std::string SerializeWattsonModel(const PipelineModel& model);  // pretty, trailing newline
Status SaveWattsonModel(const PipelineModel& model, const std::string& path);

// Metadata sections, shared with the catalogue and `wattson models show`.
Json ModelInfoToJson(const ModelInfo& info);  // everything but the pipelines
Status ModelInfoFromJson(const Json& j, std::string_view ctx, ModelInfo* info);
Json MachineSpecToJson(const MachineSpec& spec);
Result<MachineSpec> MachineSpecFromJson(const Json& j, std::string_view ctx);

}  // namespace wattson
