#include "models_command.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <utility>

#include "common/csv.h"
#include "common/json_util.h"
#include "fmt/format.h"
#include "models/model_loader.h"
#include "models/wattson_format.h"

namespace wattson::cli {

namespace {

const std::string kFooter(kExitCodeFooter);

void AddShowCommand(CLI::App& models, ModelsCommands* cmds, ModelsShowOptions* o) {
  CLI::App* cmd = models.add_subcommand(
      "show", "Describe one model file: metadata, errors, training range and pipelines");
  cmd->add_option("path", o->path, "Model file (wattson, Kepler weight or XGBoost JSON)")
      ->required();
  AddModelLoadFlags(cmd, &o->load);
  cmd->add_flag("--json", o->json, "Print JSON (metadata and a pipeline summary)");
  cmd->footer(kFooter);
  cmds->show = cmd;
}

void AddConvertCommand(CLI::App& models, ModelsCommands* cmds, ModelsConvertOptions* o) {
  CLI::App* cmd = models.add_subcommand(
      "convert",
      "Convert any loadable model (Kepler weight JSON, a Kepler model archive, XGBoost JSON) to "
      "the wattson model format, then reload it and check its predictions are bit-identical to "
      "the source's");
  cmd->add_option("--input,-i", o->input_path,
                  "Source model: a file, or an unpacked Kepler model archive folder")
      ->required();
  cmd->add_option("--output,-o", o->output_path, "Wattson model JSON to write (atomically)")
      ->required();
  AddModelLoadFlags(cmd, &o->load);
  cmd->add_option("--id", o->id, "Model id to store (default: the loader's id)");
  cmd->footer(kFooter);
  cmds->convert = cmd;
}

}  // namespace

ModelsCommands AddModelsCommand(CLI::App& app, ModelsOptions* opts) {
  ModelsCommands cmds;
  cmds.models = app.add_subcommand("models", "Inspect, convert and select power models");
  cmds.models->require_subcommand(1);
  cmds.models->footer(kFooter);
  AddModelsListCommand(*cmds.models, &cmds, &opts->list);
  AddShowCommand(*cmds.models, &cmds, &opts->show);
  AddConvertCommand(*cmds.models, &cmds, &opts->convert);
  AddModelsSelectCommand(*cmds.models, &cmds, &opts->select);
  return cmds;
}

// ---------------------------------------------------------------------------------------------
// show

namespace {

// A family-agnostic size summary of a regressor from its JSON section: scalars as key=value,
// arrays as key[n] (total leaves for nested arrays), objects as key{n}.
std::string ParamSummary(const Json& j) {
  std::vector<std::string> parts;
  if (!j.is_object()) return {};
  for (const auto& [key, v] : j.items()) {
    if (key == "family") continue;
    if (v.is_array()) {
      std::size_t n = v.size();
      if (!v.empty() && v.front().is_array()) {
        std::size_t inner = 0;
        for (const auto& e : v) inner += e.is_array() ? e.size() : 1;
        parts.push_back(fmt::format("{}[{}; {} values]", key, n, inner));
      } else {
        parts.push_back(fmt::format("{}[{}]", key, n));
      }
    } else if (v.is_object()) {
      parts.push_back(fmt::format("{}{{{}}}", key, v.size()));
    } else if (v.is_string()) {
      parts.push_back(fmt::format("{}={}", key, v.get<std::string>()));
    } else if (v.is_number_float()) {
      parts.push_back(fmt::format("{}={}", key, FormatDouble(v.get<double>())));
    } else {
      parts.push_back(fmt::format("{}={}", key, v.dump()));
    }
  }
  return Join(parts, ", ");
}

Json PipelinesToJson(const PipelineModel& model) {
  Json out = Json::array();
  for (const auto& p : model.pipelines()) {
    Json transforms = Json::array();
    for (const auto& t : p.transforms) {
      transforms.push_back({{"kind", std::string(t->kind())},
                            {"input_size", t->input_size()},
                            {"output_size", t->output_size()}});
    }
    Json rj = p.regressor->ToJson();
    out.push_back({{"component", std::string(ComponentName(p.component))},
                   {"features", p.features},
                   {"transforms", std::move(transforms)},
                   {"regressor",
                    {{"family", std::string(p.regressor->family())},
                     {"input_size", p.regressor->input_size()},
                     {"summary", ParamSummary(rj)}}}});
  }
  return out;
}

std::string ComponentList(const std::vector<Component>& cs) {
  std::vector<std::string> names;
  for (Component c : cs) names.emplace_back(ComponentName(c));
  return Join(names, ", ");
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

std::string RenderShowText(const PipelineModel& model) {
  const ModelInfo& i = model.info();
  std::string o;
  auto line = [&o](std::string_view k, std::string_view v) {
    o += fmt::format("{:<17}{}\n", fmt::format("{}:", k), v);
  };
  line("id", OrDash(i.id));
  line("name", OrDash(i.name));
  line("trainer", OrDash(i.trainer));
  line("energy source", OrDash(i.energy_source));
  line("output type", OutputTypeName(i.output_type));
  line("feature group", OrDash(i.feature_group));
  line("node type", i.node_type < 0 ? "unknown" : std::to_string(i.node_type));
  line("features", OrDash(Join(i.features, ", ")));
  if (!i.system_features.empty()) line("system features", Join(i.system_features, ", "));
  line("components", ComponentList(i.components));
  line("families", model.FamilySummary());

  const Provenance& p = i.provenance;
  o += "provenance:\n";
  auto sub = [&o](std::string_view k, std::string_view v) {
    if (!v.empty()) o += fmt::format("  {:<15}{}\n", fmt::format("{}:", k), v);
  };
  sub("dataset", p.dataset);
  sub("dataset sha256", p.dataset_sha256);
  sub("machine", p.machine);
  if (!p.machine_spec.empty()) {
    const MachineSpec& m = p.machine_spec;
    sub("machine spec",
        fmt::format("processor={} cores={} chips={} memory_gib={} frequency_mhz={}",
                    OrDash(m.processor), FormatDouble(m.cores), FormatDouble(m.chips),
                    FormatDouble(m.memory_gib), FormatDouble(m.frequency_mhz)));
  }
  sub("trainer", p.trainer);
  sub("created", p.created);
  sub("tool", p.tool);
  sub("origin", p.origin);
  sub("notes", p.notes);

  const ModelErrors& e = i.errors;
  if (e.has_mae() || !std::isnan(e.mape) || !e.per_component.empty()) {
    o += fmt::format("errors ({}): mae {} W, mape {} %\n", OrDash(e.protocol), HumanNumber(e.mae),
                     HumanNumber(e.mape));
    for (const auto& [comp, ce] : e.per_component) {
      o += fmt::format("  {:<10} mae {} W, mape {} %, max {} W, r2 {}\n", comp, HumanNumber(ce.mae),
                       HumanNumber(ce.mape), HumanNumber(ce.max_error), HumanNumber(ce.r2, 4));
    }
  } else {
    o += "errors:          unknown\n";
  }
  if (!i.training_range.empty()) {
    o += "training range:\n";
    for (const auto& r : i.training_range) {
      o += fmt::format("  {:<28} [{}, {}]\n", r.feature, FormatDouble(r.min), FormatDouble(r.max));
    }
  }
  o += "pipelines:\n";
  for (const auto& pl : model.pipelines()) {
    std::string chain;
    for (const auto& t : pl.transforms) {
      chain += fmt::format("{}({}->{}) > ", t->kind(), t->input_size(), t->output_size());
    }
    o += fmt::format("  {}: features [{}]\n    {}{} (inputs {}; {})\n", ComponentName(pl.component),
                     Join(pl.features, ", "), chain, pl.regressor->family(),
                     pl.regressor->input_size(), ParamSummary(pl.regressor->ToJson()));
  }
  return o;
}

}  // namespace

int RunModelsShow(const ModelsShowOptions& opts, const CliContext& ctx) {
  auto model = LoadModelFile(opts.path, ToLoadOptions(opts.load));
  if (!model.ok()) return ReportRuntimeError(ctx, model.status());
  std::string text;
  if (opts.json) {
    Json j{{"info", ModelInfoToJson((*model)->info())},
           {"families", (*model)->FamilySummary()},
           {"pipelines", PipelinesToJson(**model)}};
    text = j.dump(2) + "\n";
  } else {
    text = RenderShowText(**model);
  }
  Status s = WriteOutput(ctx, "", text);
  return s.ok() ? kExitOk : ReportRuntimeError(ctx, s);
}

// ---------------------------------------------------------------------------------------------
// convert

namespace {

// Deterministic probe rows: zeros, ones, values across the training range when known, and
// seeded random values over several magnitudes.
FeatureMatrix ProbeRows(const ModelInfo& info, std::size_t rows) {
  FeatureMatrix m(info.features, rows);
  std::mt19937_64 rng(0x5741'7454'534f'4e31ULL);  // fixed seed: reproducible checks
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  static constexpr double kMagnitudes[] = {1.0, 10.0, 100.0, 1e3, 1e4, 1e5};
  for (std::size_t c = 0; c < m.cols(); ++c) {
    double lo = 0, hi = 0;
    bool has_range = false;
    for (const auto& r : info.training_range) {
      if (r.feature == info.features[c] && r.max > r.min) {
        lo = r.min;
        hi = r.max;
        has_range = true;
      }
    }
    for (std::size_t r = 0; r < rows; ++r) {
      double v;
      if (r == 0) {
        v = 0;
      } else if (r == 1) {
        v = 1;
      } else if (has_range && r % 2 == 0) {
        v = lo + (hi - lo) * unit(rng);
      } else {
        v = kMagnitudes[(r + c) % std::size(kMagnitudes)] * unit(rng);
      }
      m.at(r, c) = v;
    }
  }
  return m;
}

FeatureMatrix OneRow(const FeatureMatrix& m, std::size_t r) {
  FeatureMatrix one(m.names(), 1);
  for (std::size_t c = 0; c < m.cols(); ++c) one.at(0, c) = m.at(r, c);
  return one;
}

Status ComparePredictions(const PowerPrediction& pa, const PowerPrediction& pb,
                          std::size_t row_offset) {
  if (pa.components.size() != pb.components.size()) {
    return Status::Internal(fmt::format("predictions have {} vs {} components",
                                        pa.components.size(), pb.components.size()));
  }
  for (const auto& ca : pa.components) {
    const ComponentPower* cb = pb.Find(ca.component);
    if (cb == nullptr || cb->watts.size() != ca.watts.size()) {
      return Status::Internal(
          fmt::format("component {} missing from one prediction", ComponentName(ca.component)));
    }
    for (std::size_t r = 0; r < ca.watts.size(); ++r) {
      double x = ca.watts[r].value(), y = cb->watts[r].value();
      if (std::bit_cast<std::uint64_t>(x) != std::bit_cast<std::uint64_t>(y)) {
        return Status::Internal(fmt::format("probe row {}, component {}: {} W vs {} W",
                                            row_offset + r, ComponentName(ca.component),
                                            FormatDouble(x), FormatDouble(y)));
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Status VerifySamePredictions(const PowerModel& a, const PowerModel& b, std::size_t rows) {
  if (a.info().features != b.info().features) {
    return Status::Internal(fmt::format("features differ: [{}] vs [{}]",
                                        Join(a.info().features, ", "),
                                        Join(b.info().features, ", ")));
  }
  FeatureMatrix probe = ProbeRows(a.info(), rows);
  auto pa = a.Predict(probe);
  auto pb = b.Predict(probe);
  if (pa.ok() && pb.ok()) return ComparePredictions(*pa, *pb, 0);
  // Some row fails in at least one model: compare row by row, failures included.
  for (std::size_t r = 0; r < rows; ++r) {
    FeatureMatrix one = OneRow(probe, r);
    auto ra = a.Predict(one);
    auto rb = b.Predict(one);
    if (ra.ok() != rb.ok()) {
      return Status::Internal(fmt::format("probe row {}: source {}, converted {}", r,
                                          ra.ok() ? "predicts" : ra.status().message(),
                                          rb.ok() ? "predicts" : rb.status().message()));
    }
    if (ra.ok()) WATTSON_RETURN_IF_ERROR(ComparePredictions(*ra, *rb, r));
  }
  return Status::Ok();
}

int RunModelsConvert(const ModelsConvertOptions& opts, const CliContext& ctx) {
  auto source = LoadModelFile(opts.input_path, ToLoadOptions(opts.load));
  if (!source.ok()) return ReportRuntimeError(ctx, source.status());
  ModelInfo info = (*source)->info();
  if (!opts.id.empty()) info.id = opts.id;
  if (info.provenance.origin.empty()) info.provenance.origin = opts.input_path;
  (*source)->SetInfo(std::move(info));

  Status s = SaveWattsonModel(**source, opts.output_path);
  if (!s.ok()) return ReportRuntimeError(ctx, s);
  ctx.logger->info("wrote {}; verifying", opts.output_path);

  auto reloaded = LoadModelFile(opts.output_path);
  if (!reloaded.ok()) {
    return ReportRuntimeError(
        ctx, reloaded.status().WithContext(
                 fmt::format("conversion check failed: cannot reload {}", opts.output_path)));
  }
  const std::string meta_a = ModelInfoToJson((*source)->info()).dump();
  const std::string meta_b = ModelInfoToJson((*reloaded)->info()).dump();
  if (meta_a != meta_b) {
    return ReportRuntimeError(
        ctx, Status::Internal(fmt::format(
                 "conversion check failed: {} does not keep the model's metadata:\n  source:    "
                 "{}\n  converted: {}",
                 opts.output_path, meta_a, meta_b)));
  }
  constexpr std::size_t kProbeRows = 64;
  s = VerifySamePredictions(**source, **reloaded, kProbeRows);
  if (!s.ok()) {
    return ReportRuntimeError(
        ctx, s.WithContext(fmt::format("conversion check failed: {} predicts differently from {}",
                                       opts.output_path, opts.input_path)));
  }
  std::fprintf(ctx.out, "converted %s -> %s (%s); predictions identical on %zu probe rows\n",
               opts.input_path.c_str(), opts.output_path.c_str(),
               (*reloaded)->FamilySummary().c_str(), kProbeRows);
  return kExitOk;
}

}  // namespace wattson::cli
