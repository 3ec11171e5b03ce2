#include "train/model_db_writer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>

#include "common/csv.h"
#include "common/file_util.h"
#include "fmt/format.h"
#include "models/kepler_weights.h"
#include "models/wattson_format.h"

namespace wattson {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kModelFile = "model.wattson.json";
constexpr std::string_view kWeightFile = "weight.json";
constexpr std::string_view kPredictionsFile = "predictions.csv";

Json NumberOrNull(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }
// Kepler writes an undefined MAPE as -1.
Json MapeOrMinusOne(double v) { return std::isfinite(v) ? Json(v) : Json(-1); }

std::string CsvNumber(double v) { return std::isfinite(v) ? FormatDouble(v) : std::string(); }
std::string CsvMape(double v) { return std::isfinite(v) ? FormatDouble(v) : std::string("-1"); }

// "2024-08-14T07:11:03Z" → "2024-08-14 07:11:03" (Kepler's pipeline time format).
std::string KeplerTime(std::string iso) {
  for (char& c : iso) {
    if (c == 'T') c = ' ';
  }
  if (!iso.empty() && iso.back() == 'Z') iso.pop_back();
  return iso;
}

// Adds Kepler's flat error keys (mae, mape, <c>_mae, <c>_mape, <c>_max_error, <c>_r2).
void PutErrors(const EvalResult& e, Json* j) {
  const ModelErrors errors = ToModelErrors(e);
  (*j)["mae"] = NumberOrNull(errors.mae);
  (*j)["mape"] = MapeOrMinusOne(errors.mape);
  for (const auto& ce : e.components) {
    const std::string c(ComponentName(ce.component));
    const auto it = errors.per_component.find(c);
    if (it == errors.per_component.end()) continue;
    (*j)[c + "_mae"] = NumberOrNull(it->second.mae);
    (*j)[c + "_mape"] = MapeOrMinusOne(it->second.mape);
    (*j)[c + "_max_error"] = NumberOrNull(it->second.max_error);
    (*j)[c + "_r2"] = NumberOrNull(it->second.r2);
  }
  if (e.protocol == Protocol::kKepler) {
    (*j)["mae_min"] = NumberOrNull(e.mae_min);
    (*j)["mae_max"] = NumberOrNull(e.mae_max);
  }
}

Json ProtocolSettings(const TrainingOptions& o, Protocol p) {
  Json j = Json::object();
  switch (p) {
    case Protocol::kKepler: {
      Json seeds = Json::array();
      for (int i = 0; i < o.seeds; ++i)
        seeds.push_back(o.first_seed + static_cast<std::uint64_t>(i));
      j["seeds"] = std::move(seeds);
      j["test_fraction"] = o.test_fraction;
      break;
    }
    case Protocol::kBlocked: {
      j["folds"] = o.folds;
      Json seeds = Json::array();
      for (int i = 0; i < o.folds; ++i)
        seeds.push_back(o.first_seed + static_cast<std::uint64_t>(i));
      j["seeds"] = std::move(seeds);
      break;
    }
    case Protocol::kHoldout:
      j["seeds"] = Json::array({o.first_seed});
      break;
  }
  return j;
}

bool IsWattsonDb(const fs::path& dir) {
  auto text = ReadLocalFile((dir / "metadata.json").string(), 1 << 20);
  if (!text.ok()) return false;
  auto j = ParseJson(*text, "metadata.json");
  if (!j.ok() || !j->is_object()) return false;
  const Json* tool = FindField(*j, "tool");
  return tool != nullptr && tool->is_string() && tool->get<std::string>().rfind("wattson", 0) == 0;
}

Status PrepareDir(const fs::path& dir, bool force) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) {
      return Status::InvalidArgument(fmt::format("{} exists and is not a directory", dir.string()));
    }
    if (!fs::is_empty(dir, ec)) {
      if (!IsWattsonDb(dir)) {
        return Status::InvalidArgument(fmt::format(
            "{} is not empty and is not a model DB written by wattson; give an empty or new "
            "directory",
            dir.string()));
      }
      if (!force) {
        return Status::InvalidArgument(fmt::format(
            "{} already holds a wattson model DB; use --force to replace it", dir.string()));
      }
      fs::remove_all(dir, ec);
      if (ec) {
        return Status::IoError(fmt::format("cannot remove {}: {}", dir.string(), ec.message()));
      }
    }
  }
  fs::create_directories(dir, ec);
  if (ec) {
    return Status::IoError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  }
  return Status::Ok();
}

Status MakeDirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  return Status::Ok();
}

Status WriteJson(const fs::path& path, const Json& j, int indent) {
  return WriteLocalFileAtomic(path.string(),
                              j.dump(indent, ' ', false, Json::error_handler_t::replace) + "\n");
}

}  // namespace

std::string PythonListRepr(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += '\'';
    for (char c : items[i]) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    out += '\'';
  }
  out += ']';
  return out;
}

std::string ModelDirName(const TrainingRunResult& run, const JobResult& job) {
  const TrainingSet& set = run.sets[job.job.set];
  return fmt::format("{}/{}/{}/{}_{}", set.energy_source, OutputTypeName(set.output_type),
                     job.job.feature_group, job.job.trainer, run.options.node_type);
}

std::string PredictionsCsv(const std::vector<double>& timestamps, const PowerPrediction& p) {
  std::vector<const ComponentPower*> comps;
  for (Component c : kAllComponents) {
    if (const ComponentPower* cp = p.Find(c)) comps.push_back(cp);
  }
  std::string out = "row,timestamp";
  for (const auto* c : comps) {
    out += ',';
    out += ComponentName(c->component);
  }
  out += '\n';
  for (std::size_t r = 0; r < p.rows; ++r) {
    out += std::to_string(r + 1);
    out += ',';
    out += r < timestamps.size() ? FormatDouble(timestamps[r]) : std::string();
    for (const auto* c : comps) {
      out += ',';
      out += FormatDouble(c->watts[r].value());
    }
    out += '\n';
  }
  return out;
}

Json ModelMetadataJson(const TrainingRunResult& run, const JobResult& job,
                       const std::string& tool) {
  const TrainingSet& set = run.sets[job.job.set];
  const ModelInfo* info = job.model ? &job.model->info() : nullptr;
  Json j = Json::object();
  j["model_name"] = fmt::format("{}_{}", job.job.trainer, run.options.node_type);
  j["model_class"] = KeplerModelClass(job.job.trainer);
  j["model_file"] = std::string(kModelFile);
  j["model_format"] = std::string(kWattsonFormatName);
  j["features"] = job.job.features;
  j["fe_files"] = Json::array();
  j["output_type"] = std::string(OutputTypeName(set.output_type));
  j["energy_source"] = set.energy_source;
  j["trainer"] = job.job.trainer;
  j["node_type"] = run.options.node_type;
  j["feature_group"] = job.job.feature_group;
  Json components = Json::array();
  for (Component c : set.components) components.push_back(std::string(ComponentName(c)));
  j["components"] = std::move(components);
  if (!job.evaluations.empty()) {
    const EvalResult& primary = job.evaluations.front();
    PutErrors(primary, &j);
    j["protocol"] = MetadataProtocolName(primary.protocol);
    j["protocol_detail"] = primary.protocol_detail;
    const Json settings = ProtocolSettings(run.options, primary.protocol);
    for (const auto& [k, v] : settings.items()) j[k] = v;
    Json skipped = Json::object();
    for (const auto& ce : primary.components) {
      if (!ce.skipped.empty()) skipped[std::string(ComponentName(ce.component))] = ce.skipped;
    }
    if (!skipped.empty()) j["skipped_components"] = std::move(skipped);
    Json evals = Json::object();
    for (const auto& e : job.evaluations) {
      Json ej = Json::object();
      PutErrors(e, &ej);
      ej["protocol_detail"] = e.protocol_detail;
      const Json e_settings = ProtocolSettings(run.options, e.protocol);
      for (const auto& [k, v] : e_settings.items()) ej[k] = v;
      evals[MetadataProtocolName(e.protocol)] = std::move(ej);
    }
    j["evaluations"] = std::move(evals);
  } else {
    j["mae"] = nullptr;
    j["mape"] = -1;
    j["protocol"] = "none";
  }
  j["final_fit_seed"] = run.options.first_seed;
  j["dataset"] = set.data.name;
  j["dataset_origin"] = set.data.origin;
  j["dataset_sha256"] = set.data.sha256;
  j["dataset_rows"] = set.data.rows();
  j["machine"] = set.data.machine;
  if (!set.data.machine_spec.empty()) j["machine_spec"] = MachineSpecToJson(set.data.machine_spec);
  if (set.output_type == OutputType::kDynPower) {
    j["isolation"] = std::string(IsolationName(run.options.isolation));
    Json idle = Json::object();
    for (const auto& [c, w] : set.idle_watts) idle[std::string(ComponentName(c))] = w;
    j["idle_watts"] = std::move(idle);
  }
  j["feature_version"] = run.feature_version == KeplerFeatureVersion::kV06 ? "v0.6" : "v0.7";
  if (info != nullptr) {
    Json range = Json::object();
    for (const auto& r : info->training_range) range[r.feature] = Json::array({r.min, r.max});
    j["training_range"] = std::move(range);
  }
  j["created"] = run.created;
  j["tool"] = tool;
  return j;
}

Json PipelineMetadataJson(const TrainingRunResult& run, const std::string& name,
                          const std::string& tool) {
  std::vector<std::string> abs, dyn;
  std::vector<std::string> sources;
  for (const auto& job : run.jobs) {
    if (!job.model) continue;
    const TrainingSet& set = run.sets[job.job.set];
    auto& list = set.output_type == OutputType::kAbsPower ? abs : dyn;
    if (std::find(list.begin(), list.end(), job.job.trainer) == list.end()) {
      list.push_back(job.job.trainer);
    }
    if (std::find(sources.begin(), sources.end(), set.energy_source) == sources.end()) {
      sources.push_back(set.energy_source);
    }
  }
  Json datasets = InputDatasetsJson(run);
  Json protocols = ProtocolsJson(run.options);
  Json j{{"name", name},
         {"isolator", std::string(IsolationName(run.options.isolation))},
         {"abs_trainers", abs},
         {"dyn_trainers", dyn},
         {"init_time", KeplerTime(run.created)},
         {"last_update_time", KeplerTime(run.created)},
         {"tool", tool},
         {"energy_sources", sources},
         {"feature_version", run.feature_version == KeplerFeatureVersion::kV06 ? "v0.6" : "v0.7"},
         {"node_type", run.options.node_type},
         {"datasets", std::move(datasets)},
         {"protocols", std::move(protocols)},
         {"seeds", run.options.seeds},
         {"first_seed", run.options.first_seed},
         {"folds", run.options.folds},
         {"test_fraction", run.options.test_fraction}};
  if (!run.sets.empty() && !run.sets.front().data.machine.empty()) {
    j["machine"] = run.sets.front().data.machine;
  }
  return j;
}

std::string ModelMetadataCsv(const TrainingRunResult& run, const std::string& energy_source,
                             OutputType output_type) {
  std::vector<const JobResult*> jobs;
  std::vector<Component> comps;
  for (const auto& job : run.jobs) {
    const TrainingSet& set = run.sets[job.job.set];
    if (!job.model || set.energy_source != energy_source || set.output_type != output_type) {
      continue;
    }
    jobs.push_back(&job);
    comps = set.components;
  }
  auto mae_of = [](const JobResult* j) {
    return j->evaluations.empty() ? kNoValue : j->evaluations.front().mae;
  };
  std::stable_sort(jobs.begin(), jobs.end(), [&](const JobResult* a, const JobResult* b) {
    if (a->job.feature_group != b->job.feature_group) {
      return a->job.feature_group < b->job.feature_group;
    }
    const double ma = mae_of(a), mb = mae_of(b);
    if (std::isnan(ma) != std::isnan(mb)) return std::isnan(mb);  // NaN last
    if (!std::isnan(ma) && ma != mb) return ma < mb;
    return a->job.trainer < b->job.trainer;
  });
  std::vector<std::string> header = {"",         "model_name", "model_class", "model_file",
                                     "features", "fe_files",   "output_type", "mae",
                                     "mape"};
  for (Component c : comps) header.push_back(std::string(ComponentName(c)) + "_mae");
  for (Component c : comps) header.push_back(std::string(ComponentName(c)) + "_mape");
  header.insert(header.end(), {"trainer", "node_type", "feature_group"});
  for (Component c : comps) header.push_back(std::string(ComponentName(c)) + "_max_error");
  for (Component c : comps) header.push_back(std::string(ComponentName(c)) + "_r2");
  header.insert(header.end(), {"protocol", "energy_source"});
  std::string out;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (i > 0) out += ',';
    out += CsvEscape(header[i]);
  }
  out += '\n';
  std::size_t index = 0;
  for (const JobResult* j : jobs) {
    ModelErrors errors;
    if (!j->evaluations.empty()) errors = ToModelErrors(j->evaluations.front());
    auto comp_err = [&](Component c) {
      auto it = errors.per_component.find(std::string(ComponentName(c)));
      return it == errors.per_component.end() ? ComponentErrors{} : it->second;
    };
    std::vector<std::string> row = {std::to_string(index++),
                                    fmt::format("{}_{}", j->job.trainer, run.options.node_type),
                                    KeplerModelClass(j->job.trainer),
                                    std::string(kModelFile),
                                    PythonListRepr(j->job.features),
                                    "[]",
                                    std::string(OutputTypeName(output_type)),
                                    CsvNumber(errors.mae),
                                    CsvMape(errors.mape)};
    for (Component c : comps) row.push_back(CsvNumber(comp_err(c).mae));
    for (Component c : comps) row.push_back(CsvMape(comp_err(c).mape));
    row.insert(row.end(),
               {j->job.trainer, std::to_string(run.options.node_type), j->job.feature_group});
    for (Component c : comps) row.push_back(CsvNumber(comp_err(c).max_error));
    for (Component c : comps) row.push_back(CsvNumber(comp_err(c).r2));
    row.push_back(errors.protocol.empty() ? "none" : errors.protocol);
    row.push_back(energy_source);
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i > 0) out += ',';
      out += CsvEscape(row[i]);
    }
    out += '\n';
  }
  return out;
}

Result<ModelDbSummary> WriteModelDb(const TrainingRunResult& run, const std::string& dir,
                                    const ModelDbOptions& options) {
  if (dir.empty()) return Status::InvalidArgument("no model DB directory given");
  const fs::path root(dir);
  WATTSON_RETURN_IF_ERROR(PrepareDir(root, options.force));
  ModelDbSummary summary;
  summary.dir = dir;
  std::string name = options.name;
  if (name.empty()) {
    fs::path normal = root.lexically_normal();
    if (normal.filename().empty()) normal = normal.parent_path();
    name = normal.filename().string();
  }
  for (const auto& job : run.jobs) {
    if (!job.model) {
      if (!job.error.empty()) {
        summary.notes.push_back(fmt::format("{} {} {} {}: not written: {}",
                                            run.sets[job.job.set].energy_source,
                                            OutputTypeName(run.sets[job.job.set].output_type),
                                            job.job.feature_group, job.job.trainer, job.error));
      }
      continue;
    }
    const TrainingSet& set = run.sets[job.job.set];
    const std::string rel = ModelDirName(run, job);
    const fs::path model_dir = root / rel;
    WATTSON_RETURN_IF_ERROR(MakeDirs(model_dir));
    Json meta = ModelMetadataJson(run, job, options.tool);
    WATTSON_RETURN_IF_ERROR(SaveWattsonModel(*job.model, (model_dir / kModelFile).string()));
    if (options.predictions && job.predictions) {
      WATTSON_RETURN_IF_ERROR(
          WriteLocalFileAtomic((model_dir / kPredictionsFile).string(),
                               PredictionsCsv(set.data.timestamps, *job.predictions)));
    }
    if (IsWeightTrainer(job.job.trainer)) {
      auto weights = KeplerWeightsToJson(*job.model);
      if (weights.ok()) {
        WATTSON_RETURN_IF_ERROR(WriteJson(model_dir / kWeightFile, *weights, -1));
        const fs::path sibling =
            model_dir.parent_path() / (model_dir.filename().string() + ".json");
        WATTSON_RETURN_IF_ERROR(WriteJson(sibling, *weights, -1));
        meta["weight_file"] = std::string(kWeightFile);
        ++summary.weight_files;
      } else {
        meta["weight_file"] = nullptr;
        meta["weight_note"] = weights.status().message();
        summary.notes.push_back(
            fmt::format("{}: no Kepler weight JSON: {}", rel, weights.status().message()));
      }
    }
    WATTSON_RETURN_IF_ERROR(WriteJson(model_dir / "metadata.json", meta, 2));
    ++summary.models;
  }
  // Metadata CSVs, one per (source, output type) with models.
  std::set<std::pair<std::string, OutputType>> written;
  for (const auto& job : run.jobs) {
    if (!job.model) continue;
    const TrainingSet& set = run.sets[job.job.set];
    if (!written.insert({set.energy_source, set.output_type}).second) continue;
    const std::string file =
        fmt::format("{}_{}_model_metadata.csv", set.energy_source, OutputTypeName(set.output_type));
    WATTSON_RETURN_IF_ERROR(WriteLocalFileAtomic(
        (root / file).string(), ModelMetadataCsv(run, set.energy_source, set.output_type)));
  }
  // Node-type index, when the machine is known.
  for (const auto& set : run.sets) {
    if (set.data.machine_spec.empty()) continue;
    Json members = Json::array();
    if (!set.data.machine.empty()) members.push_back(set.data.machine);
    Json index = Json::object();
    index[std::to_string(run.options.node_type)] =
        Json{{"attrs", MachineSpecToJson(set.data.machine_spec)}, {"members", members}};
    WATTSON_RETURN_IF_ERROR(WriteJson(root / "node_type_index.json", index, 2));
    break;
  }
  WATTSON_RETURN_IF_ERROR(
      WriteJson(root / "metadata.json", PipelineMetadataJson(run, name, options.tool), 2));
  return summary;
}

}  // namespace wattson
