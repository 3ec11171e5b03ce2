#include "models/archive/kepler_archive.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <utility>
#include <vector>

#include "common/file_util.h"
#include "common/json_util.h"
#include "models/archive/sklearn_interpreters.h"
#include "models/feature_groups.h"
#include "models/kepler_weights.h"
#include "models/tree_ensemble.h"
#include "models/wattson_format.h"

namespace wattson::archive {

namespace fs = std::filesystem;

namespace {

// Reads one member by name: from a zip's members or from a folder.
using MemberReader = std::function<Result<std::vector<std::uint8_t>>(const std::string& name)>;

std::string_view AsText(const std::vector<std::uint8_t>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Builds the model from the archive's members, parsing each member once.
class ArchiveBuilder {
 public:
  ArchiveBuilder(const std::string& path, const ArchiveOptions& options, MemberReader read)
      : path_(path), options_(options), read_(std::move(read)) {}

  Result<KeplerArchive> Build() {
    WATTSON_ASSIGN_OR_RETURN(Json metadata, ReadJson("metadata.json"));
    if (!metadata.is_object()) return Error("metadata.json", "is not a JSON object");
    WATTSON_ASSIGN_OR_RETURN(std::string model_name, StringField(metadata, "model_name"));
    if (std::string reason = MemberNameProblem(model_name + ".json"); !reason.empty()) {
      return Error("metadata.json", fmt::format("model_name '{}' is {}", model_name, reason));
    }
    const std::string map_name = model_name + ".json";
    WATTSON_ASSIGN_OR_RETURN(Json component_map, ReadJson(map_name));
    if (!component_map.is_object() || component_map.empty()) {
      return Error(map_name, "is not a non-empty object of components");
    }
    if (component_map.size() > options_.max_components) {
      return Error(map_name, fmt::format("{} components, over the limit of {}",
                                         component_map.size(), options_.max_components));
    }

    std::vector<ComponentPipeline> pipelines;
    for (const auto& [key, spec] : component_map.items()) {
      auto component = ParseComponent(key);
      if (!component.ok()) return Error(map_name, component.status().message());
      auto pipeline = BuildComponent(*component, spec, map_name + ": " + key);
      if (!pipeline.ok()) return pipeline.status();
      pipelines.push_back(std::move(pipeline).value());
    }
    std::sort(pipelines.begin(), pipelines.end(),
              [](const ComponentPipeline& a, const ComponentPipeline& b) {
                return a.component < b.component;
              });

    KeplerArchive out;
    out.published_metrics = PublishedMetrics(metadata);
    ModelInfo info = Info(metadata, model_name, pipelines);
    auto model = PipelineModel::Create(std::move(info), std::move(pipelines));
    if (!model.ok()) return model.status().WithContext(Where(map_name));
    out.model = std::move(model).value();
    return out;
  }

 private:
  std::string Where(std::string_view member) const {
    return fmt::format("archive {}: member {}", path_, member);
  }
  Status Error(std::string_view member, std::string_view message) const {
    return Status::InvalidArgument(fmt::format("{}: {}", Where(member), message));
  }

  // Names the map refers to are plain file names beside it, never paths.
  static std::string MemberNameProblem(const std::string& name) {
    if (std::string reason = UnsafeMemberNameReason(name); !reason.empty()) {
      return fmt::format("an unsafe name ({})", reason);
    }
    if (name.find('/') != std::string::npos) return "a path, not a file name in the archive";
    return "";
  }

  Result<std::vector<std::uint8_t>> Read(const std::string& name) const {
    if (std::string reason = MemberNameProblem(name); !reason.empty()) {
      return Status::InvalidArgument(fmt::format("archive {}: '{}' is {}", path_, name, reason));
    }
    return read_(name);
  }

  Result<Json> ReadJson(const std::string& name) const {
    WATTSON_ASSIGN_OR_RETURN(auto bytes, Read(name));
    return ParseJson(AsText(bytes), Where(name), JsonLimits{options_.max_json_bytes, 64});
  }

  Result<std::string> StringField(const Json& j, std::string_view key) const {
    const Json* v = FindField(j, key);
    if (v == nullptr || !v->is_string()) {
      return Error("metadata.json", fmt::format("no string '{}'", key));
    }
    return v->get<std::string>();
  }

  Result<const PyNode*> Pickle(const std::string& name) {
    auto it = pickles_.find(name);
    if (it == pickles_.end()) {
      WATTSON_ASSIGN_OR_RETURN(auto bytes, Read(name));
      auto tree = ParsePickle(bytes, options_.pickle);
      if (!tree.ok()) return tree.status().WithContext(Where(name));
      it = pickles_.emplace(name, std::move(tree).value()).first;
    }
    return &it->second.root();
  }

  Result<std::shared_ptr<const Transform>> FeTransform(const std::string& name, std::size_t width) {
    const auto key = std::make_pair(name, width);
    if (auto it = transforms_.find(key); it != transforms_.end()) return it->second;
    WATTSON_ASSIGN_OR_RETURN(const PyNode* root, Pickle(name));
    auto t = TransformFromPickle(*root, width, Where(name));
    if (!t.ok()) return t.status();
    std::shared_ptr<const Transform> shared = std::move(t).value();
    transforms_.emplace(key, shared);
    return shared;
  }

  Result<std::shared_ptr<const Regressor>> Estimator(const std::string& name, std::size_t width,
                                                     std::string_view ctx) {
    if (EndsWith(name, ".json")) {
      // XgboostFitTrainer: an XGBoost native JSON model per component.
      WATTSON_ASSIGN_OR_RETURN(Json j, ReadJson(name));
      std::size_t n = 0;
      auto trees = TreeEnsembleFromXgboostJson(j, Where(name), &n);
      if (!trees.ok()) return trees.status();
      if (n != width) {
        return Error(name, fmt::format("the XGBoost model reads {} features; {} gives it {}", n,
                                       ctx, width));
      }
      return std::shared_ptr<const Regressor>(std::move(trees).value());
    }
    WATTSON_ASSIGN_OR_RETURN(const PyNode* root, Pickle(name));
    auto r = RegressorFromPickle(*root, width, Where(name));
    if (!r.ok()) return r.status();
    return std::shared_ptr<const Regressor>(std::move(r).value());
  }

  Result<ComponentPipeline> BuildComponent(Component component, const Json& spec,
                                           const std::string& ctx) {
    if (!spec.is_object()) {
      return Status::InvalidArgument(fmt::format("archive {}: {}: not an object", path_, ctx));
    }
    auto bad = [&](std::string_view message) {
      return Status::InvalidArgument(fmt::format("archive {}: {}: {}", path_, ctx, message));
    };
    ComponentPipeline p;
    p.component = component;
    const Json* features = FindField(spec, "features");
    if (features == nullptr || !features->is_array() || features->empty()) {
      return bad("no non-empty 'features' list");
    }
    if (features->size() > options_.max_features) {
      return bad(fmt::format("{} features, over the limit of {}", features->size(),
                             options_.max_features));
    }
    for (const Json& f : *features) {
      if (!f.is_string() || f.get_ref<const std::string&>().empty()) {
        return bad("a feature name is not a non-empty string");
      }
      p.features.push_back(f.get<std::string>());
    }
    const Json* model_file = FindField(spec, "model_file");
    if (model_file == nullptr || !model_file->is_string()) return bad("no string 'model_file'");
    std::size_t width = p.features.size();
    if (const Json* fe = FindField(spec, "fe_files"); fe != nullptr && !fe->is_null()) {
      if (!fe->is_array()) return bad("'fe_files' is not a list");
      if (fe->size() > 16) return bad("more than 16 fe_files");
      for (const Json& name : *fe) {
        if (!name.is_string()) return bad("an fe_files entry is not a string");
        WATTSON_ASSIGN_OR_RETURN(auto t, FeTransform(name.get<std::string>(), width));
        width = t->output_size();
        p.transforms.push_back(std::move(t));
      }
    }
    WATTSON_ASSIGN_OR_RETURN(p.regressor, Estimator(model_file->get<std::string>(), width, ctx));
    return p;
  }

  static std::map<std::string, double, std::less<>> PublishedMetrics(const Json& metadata) {
    std::map<std::string, double, std::less<>> m;
    for (const auto& [key, value] : metadata.items()) {
      if (!value.is_number() || key == "node_type") continue;
      const double v = value.get<double>();
      if (!std::isfinite(v)) continue;
      if (key.find("mape") != std::string::npos && v < 0) continue;  // Kepler's "undefined"
      m[key] = v;
    }
    return m;
  }

  ModelInfo Info(const Json& metadata, const std::string& model_name,
                 const std::vector<ComponentPipeline>& pipelines) const {
    // kepler-model-db keeps <model_name>.json (the weight JSON, when there is one) beside the
    // archive: the path the layout is inferred from.
    KeplerWeightOptions layout;
    {
      std::string stem_path = path_;
      if (EndsWith(path_, ".zip")) {
        stem_path = path_.substr(0, path_.size() - 4);
      } else {
        while (!stem_path.empty() && stem_path.back() == '/') stem_path.pop_back();
      }
      InferKeplerWeightOptionsFromPath(stem_path + ".json", &layout);
    }
    ModelInfo info;
    info.id = options_.id.empty() ? path_ : options_.id;
    info.name = model_name;
    if (const Json* t = FindField(metadata, "trainer"); t != nullptr && t->is_string()) {
      info.trainer = t->get<std::string>();
    } else if (auto pos = model_name.rfind('_'); pos != std::string::npos && pos > 0) {
      info.trainer = model_name.substr(0, pos);
    } else {
      info.trainer = model_name;
    }
    info.output_type = OutputType::kAbsPower;
    if (const Json* ot = FindField(metadata, "output_type"); ot != nullptr && ot->is_string()) {
      if (auto parsed = ParseOutputType(ot->get<std::string>()); parsed.ok()) {
        info.output_type = *parsed;
      }
    } else if (auto parsed = ParseOutputType(layout.output_type); parsed.ok()) {
      info.output_type = *parsed;
    }
    info.feature_group = layout.feature_group;
    info.node_type = layout.node_type;
    if (const Json* nt = FindField(metadata, "node_type");
        nt != nullptr && nt->is_number_integer()) {
      info.node_type = nt->get<int>();
    }
    bool platform = false;
    for (const auto& p : pipelines) platform = platform || p.component == Component::kPlatform;
    info.energy_source = !layout.energy_source.empty() ? layout.energy_source
                         : platform                    ? "acpi"
                                                       : "rapl-sysfs";
    std::vector<Component> components;
    for (const auto& p : pipelines) components.push_back(p.component);
    info.errors = KeplerPublishedErrors(PublishedMetrics(metadata), components);
    if (const Json* spec = FindField(metadata, "machine_spec");
        spec != nullptr && spec->is_object()) {
      if (auto ms = KeplerMachineSpecFromJson(*spec, "machine_spec"); ms.ok()) {
        info.provenance.machine_spec = *ms;
      }
    }
    info.provenance.trainer = info.trainer;
    info.provenance.tool = "kepler-model-server";
    info.provenance.origin = path_;
    if (const Json* mc = FindField(metadata, "model_class"); mc != nullptr && mc->is_string()) {
      info.provenance.notes = fmt::format("Kepler archive, model_class {}", mc->get<std::string>());
    }
    return info;
  }

  const std::string& path_;
  const ArchiveOptions& options_;
  MemberReader read_;
  std::map<std::string, PickleTree> pickles_;
  std::map<std::pair<std::string, std::size_t>, std::shared_ptr<const Transform>> transforms_;
};

}  // namespace

bool IsKeplerArchivePath(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    auto text = ReadLocalFile((fs::path(path) / "metadata.json").string(), 1 << 20);
    if (!text.ok()) return false;
    auto j = ParseJson(*text, "metadata.json");
    if (!j.ok() || !j->is_object()) return false;
    const Json* name = FindField(*j, "model_name");
    if (name == nullptr || !name->is_string()) return false;
    return fs::is_regular_file(fs::path(path) / (name->get<std::string>() + ".json"), ec);
  }
  std::ifstream in(path, std::ios::binary);
  char head[4] = {};
  if (!in.read(head, sizeof head)) return false;
  return LooksLikeZip({reinterpret_cast<const std::uint8_t*>(head), sizeof head});
}

Result<KeplerArchive> KeplerArchiveFromMembers(const ZipMembers& members, const std::string& path,
                                               const ArchiveOptions& options) {
  MemberReader read = [&members,
                       &path](const std::string& name) -> Result<std::vector<std::uint8_t>> {
    auto it = members.find(name);
    if (it == members.end()) {
      return Status::NotFound(fmt::format("archive {}: no member '{}'", path, name));
    }
    return it->second;
  };
  return ArchiveBuilder(path, options, std::move(read)).Build();
}

Result<KeplerArchive> KeplerArchiveFromZip(std::span<const std::uint8_t> zip,
                                           const std::string& path, const ArchiveOptions& options) {
  WATTSON_ASSIGN_OR_RETURN(ZipMembers members,
                           ReadZipMembers(zip, fmt::format("archive {}", path), options.zip));
  return KeplerArchiveFromMembers(members, path, options);
}

Result<KeplerArchive> LoadKeplerArchive(const std::string& path, const ArchiveOptions& options) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::size_t total = 0;
    MemberReader read = [&path, &options,
                         &total](const std::string& name) -> Result<std::vector<std::uint8_t>> {
      const fs::path file = fs::path(path) / name;
      std::error_code fec;
      if (!fs::is_regular_file(file, fec)) {
        return Status::NotFound(fmt::format("archive {}: no file '{}'", path, name));
      }
      WATTSON_ASSIGN_OR_RETURN(std::string text,
                               ReadLocalFile(file.string(), options.zip.max_member_bytes));
      total += text.size();
      if (total > options.zip.max_total_bytes) {
        return Status::OutOfRange(fmt::format("archive {}: files over {} bytes in all", path,
                                              options.zip.max_total_bytes));
      }
      return std::vector<std::uint8_t>(text.begin(), text.end());
    };
    return ArchiveBuilder(path, options, std::move(read)).Build();
  }
  WATTSON_ASSIGN_OR_RETURN(std::string bytes, ReadLocalFile(path, options.max_archive_bytes));
  return KeplerArchiveFromZip({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()},
                              path, options);
}

}  // namespace wattson::archive
