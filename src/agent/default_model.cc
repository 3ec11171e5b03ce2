#include "agent/default_model.h"

#include <string>
#include <utility>

#include "models/wattson_format.h"

namespace wattson::agent {

Result<std::vector<std::shared_ptr<const PipelineModel>>> LoadEmbeddedModels() {
  std::vector<std::shared_ptr<const PipelineModel>> out;
  for (const auto& m : EmbeddedModels()) {
    std::string what = "embedded default model " + std::string(m.file);
    WATTSON_ASSIGN_OR_RETURN(std::unique_ptr<PipelineModel> model, ParseWattsonModel(m.json, what));
    ModelInfo info = model->info();
    std::string stem(m.file);
    if (stem.size() > 5 && stem.compare(stem.size() - 5, 5, ".json") == 0) {
      stem.resize(stem.size() - 5);
    }
    info.id = "wattson-default/" + stem;
    if (info.provenance.origin.empty()) info.provenance.origin = "embedded: " + std::string(m.file);
    model->SetInfo(std::move(info));
    out.push_back(std::move(model));
  }
  return out;
}

}  // namespace wattson::agent
