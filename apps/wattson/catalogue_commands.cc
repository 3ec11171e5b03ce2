// `wattson models list` and `wattson models select`: the subcommands backed by ModelCatalogue.
#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

#include "common/csv.h"
#include "common/json_util.h"
#include "fmt/format.h"
#include "models/catalogue.h"
#include "models/feature_groups.h"
#include "models/wattson_format.h"
#include "models_command.h"

namespace wattson::cli {

void AddModelsListCommand(CLI::App& models, ModelsCommands* cmds, ModelsListOptions* o) {
  CLI::App* cmd = models.add_subcommand(
      "list", "Index a model database folder and print every model in it, best first");
  cmd->add_option("dir", o->dir, "Model database folder (laid out like kepler-model-db)")
      ->required();
  cmd->add_flag("--json", o->json, "Print the index as JSON instead of a table");
  cmd->add_option("--source", o->source,
                  "Only models for this energy source (rapl-sysfs, acpi, ...; any name with "
                  "'rapl' means rapl-sysfs)");
  cmd->add_option("--output-type", o->output_type, "Only AbsPower or DynPower models")
      ->check(CLI::IsMember({"AbsPower", "DynPower"}));
  cmd->add_option("--feature-group", o->feature_group,
                  "Only models of this feature group (e.g. BPFOnly)");
  cmd->footer(
      "Sorted by energy source, output type, feature group, then MAE (lowest first). Files that "
      "fail to load are listed on standard error with the reason, and counted; they do not change "
      "the exit code.\n" +
      std::string(kExitCodeFooter));
  cmds->list = cmd;
}

void AddModelsSelectCommand(CLI::App& models, ModelsCommands* cmds, ModelsSelectOptions* o) {
  CLI::App* cmd = models.add_subcommand(
      "select",
      "Pick the best model of a model database for the features a node can supply, the way the "
      "model server does");
  cmd->add_option("dir", o->dir, "Model database folder")->required();
  cmd->add_option("--features", o->features,
                  "Comma-separated features the node can supply; the model may read only these")
      ->required();
  cmd->add_option("--source", o->source, "Energy source (rapl-sysfs, acpi, ...)")->required();
  cmd->add_option("--output-type", o->output_type, "AbsPower or DynPower")
      ->required()
      ->check(CLI::IsMember({"AbsPower", "DynPower"}));
  cmd->add_option("--node-type", o->node_type,
                  "kepler-model-server node type (-1: unknown, any machine)")
      ->check(CLI::Range(-1, std::numeric_limits<int>::max()))
      ->capture_default_str();
  cmd->add_option("--trainer", o->trainer, "Only trainers whose name contains this");
  cmd->add_option("--filter", o->filter,
                  "Metadata filter 'key:value;...': abs_max_corr:V keeps >= V, features:a,b keeps "
                  "models reading only those, any other key keeps metric <= V");
  cmd->add_option("--feature-group", o->feature_group, "Only this feature group");
  cmd->add_option("--error-key", o->error_key, "Metric to minimise")->capture_default_str();
  cmd->add_flag("--weight-only", o->weight_only,
                "Only trainers Kepler serves as weight JSON (SGD, logarithmic, logistic, "
                "exponential)");
  cmd->add_flag("--json", o->json, "Print the choice as JSON");
  cmd->footer(
      "Exits 1 when no model matches, saying which condition removed the last candidates.\n" +
      std::string(kExitCodeFooter));
  cmds->select = cmd;
}

namespace {

// The MAE a model was published or evaluated with: its own errors, else the metadata's "mae".
double EntryMae(const CatalogueEntry& e) {
  if (e.info().errors.has_mae()) return e.info().errors.mae;
  auto it = e.metrics.find("mae");
  return it == e.metrics.end() ? kNoValue : it->second;
}

double EntryMape(const CatalogueEntry& e) {
  if (!std::isnan(e.info().errors.mape)) return e.info().errors.mape;
  auto it = e.metrics.find("mape");
  return it == e.metrics.end() ? kNoValue : it->second;
}

Json NumberOrNull(double v) { return std::isnan(v) ? Json(nullptr) : Json(v); }

Json EntryToJson(const CatalogueEntry& e) {
  Json metrics = Json::object();
  for (const auto& [k, v] : e.metrics) metrics[k] = v;
  return Json{{"id", e.id},
              {"path", e.path},
              {"format", e.format},
              {"pipeline", e.pipeline},
              {"families", e.model->FamilySummary()},
              {"metrics", std::move(metrics)},
              {"info", ModelInfoToJson(e.info())}};
}

// The logger handed to the catalogue scan. The scan logs each unloadable file at warn level; the
// commands report problems() themselves, so its own messages are shown only when debugging.
Logger* ScanLogger(const CliContext& ctx) {
  return ctx.logger->should_log(spdlog::level::debug) ? ctx.logger.get() : nullptr;
}

void PrintProblems(const CliContext& ctx, const ModelCatalogue& catalogue) {
  for (const auto& p : catalogue.problems()) {
    std::fprintf(ctx.err, "wattson: warning: %s: %s\n", p.path.c_str(), p.status.message().c_str());
  }
}

}  // namespace

int RunModelsList(const ModelsListOptions& opts, const CliContext& ctx) {
  auto catalogue = ModelCatalogue::Scan(opts.dir, ScanLogger(ctx));
  if (!catalogue.ok()) return ReportRuntimeError(ctx, catalogue.status());
  const std::string source = NormaliseEnergySource(opts.source);

  std::vector<const CatalogueEntry*> shown;
  for (const auto& e : catalogue->entries()) {
    const ModelInfo& i = e.info();
    if (!source.empty() && NormaliseEnergySource(i.energy_source) != source) continue;
    if (!opts.output_type.empty() && OutputTypeName(i.output_type) != opts.output_type) continue;
    if (!opts.feature_group.empty() && i.feature_group != opts.feature_group) continue;
    shown.push_back(&e);
  }
  std::stable_sort(
      shown.begin(), shown.end(), [](const CatalogueEntry* a, const CatalogueEntry* b) {
        const ModelInfo& x = a->info();
        const ModelInfo& y = b->info();
        const double ma = EntryMae(*a), mb = EntryMae(*b);
        // NaN (unknown error) sorts after every known one.
        const double ka = std::isnan(ma) ? std::numeric_limits<double>::infinity() : ma;
        const double kb = std::isnan(mb) ? std::numeric_limits<double>::infinity() : mb;
        return std::tie(x.energy_source, x.output_type, x.feature_group, ka, a->id) <
               std::tie(y.energy_source, y.output_type, y.feature_group, kb, b->id);
      });

  std::string text;
  if (opts.json) {
    Json models = Json::array();
    for (const auto* e : shown) models.push_back(EntryToJson(*e));
    Json problems = Json::array();
    for (const auto& p : catalogue->problems()) {
      problems.push_back(Json{{"path", p.path}, {"error", p.status.message()}});
    }
    text = Json{{"root", catalogue->root()},
                {"models", std::move(models)},
                {"problems", std::move(problems)}}
               .dump(2) +
           "\n";
  } else {
    TextTable table({"id", "source", "output type", "feature group", "trainer", "node type", "mae",
                     "mape", "features"});
    for (const auto* e : shown) {
      const ModelInfo& i = e->info();
      table.AddRow({e->id, i.energy_source.empty() ? "-" : i.energy_source,
                    std::string(OutputTypeName(i.output_type)),
                    i.feature_group.empty() ? "-" : i.feature_group,
                    i.trainer.empty() ? "-" : i.trainer,
                    i.node_type < 0 ? "-" : std::to_string(i.node_type), HumanNumber(EntryMae(*e)),
                    HumanNumber(EntryMape(*e)), Join(i.features, ",")});
    }
    text = table.Render();
  }
  Status s = WriteOutput(ctx, "", text);
  if (!s.ok()) return ReportRuntimeError(ctx, s);

  PrintProblems(ctx, *catalogue);
  std::fprintf(ctx.err, "wattson: %zu of %zu models shown; %zu file(s) could not be loaded\n",
               shown.size(), catalogue->entries().size(), catalogue->problems().size());
  return kExitOk;
}

int RunModelsSelect(const ModelsSelectOptions& opts, const CliContext& ctx) {
  SelectionRequest req;
  req.features = SplitList(opts.features);
  if (req.features.empty()) return ReportUsageError(ctx, "--features: no feature names given");
  req.energy_source = NormaliseEnergySource(opts.source);
  auto ot = ParseOutputType(opts.output_type);
  if (!ot.ok()) return ReportUsageError(ctx, ot.status().message());
  req.output_type = *ot;
  req.node_type = opts.node_type;
  req.trainer_name = opts.trainer;
  req.filter = opts.filter;
  if (auto f = ParseModelFilters(opts.filter); !f.ok()) {
    return ReportUsageError(ctx, "--filter: " + f.status().message());
  }
  req.feature_group = opts.feature_group;
  req.error_key = opts.error_key;
  req.weight_only = opts.weight_only;

  auto catalogue = ModelCatalogue::Scan(opts.dir, ScanLogger(ctx));
  if (!catalogue.ok()) return ReportRuntimeError(ctx, catalogue.status());
  if (!catalogue->problems().empty()) {
    std::fprintf(ctx.err,
                 "wattson: warning: %zu file(s) under %s could not be loaded and were not "
                 "considered (see 'wattson models list')\n",
                 catalogue->problems().size(), opts.dir.c_str());
  }
  std::string note;
  auto best = catalogue->SelectBest(req, &note);
  if (!best.ok()) {
    return ReportRuntimeError(
        ctx, best.status().WithContext(fmt::format("no model in {} fits the request", opts.dir)));
  }
  const CatalogueEntry& e = **best;
  auto metric = e.metrics.find(req.error_key);
  const double value = metric == e.metrics.end() ? kNoValue : metric->second;
  if (std::isnan(value) && req.error_key == "mae") {
    // Not expected (selection requires the key), but never print a reason we cannot back.
    ctx.logger->warn("selected model has no '{}' metric", req.error_key);
  }
  const std::string reason =
      fmt::format("lowest {} ({}) among models for source {}, {}, reading only [{}]{}{}",
                  req.error_key, std::isnan(value) ? "unknown" : FormatDouble(value),
                  req.energy_source.empty() ? "any" : req.energy_source,
                  OutputTypeName(req.output_type), Join(req.features, ", "),
                  req.node_type >= 0 ? fmt::format(", node type {}", req.node_type) : std::string(),
                  req.trainer_name.empty() ? std::string() : ", trainer ~ " + req.trainer_name);

  std::string text;
  if (opts.json) {
    Json j = EntryToJson(e);
    j["reason"] = reason;
    j["error_key"] = req.error_key;
    j["error_value"] = NumberOrNull(value);
    j["note"] = note;
    text = j.dump(2) + "\n";
  } else {
    const ModelInfo& i = e.info();
    text += fmt::format("selected:      {}\n", e.id);
    text += fmt::format("path:          {}\n", e.path);
    text += fmt::format("trainer:       {}\n", i.trainer.empty() ? "-" : i.trainer);
    text += fmt::format("feature group: {}\n", i.feature_group.empty() ? "-" : i.feature_group);
    text += fmt::format("node type:     {}\n",
                        i.node_type < 0 ? "unknown" : std::to_string(i.node_type));
    text += fmt::format("features:      {}\n", Join(i.features, ", "));
    text += fmt::format("families:      {}\n", e.model->FamilySummary());
    text += fmt::format("why:           {}\n", reason);
    if (!note.empty()) text += fmt::format("note:          {}\n", note);
  }
  Status s = WriteOutput(ctx, "", text);
  return s.ok() ? kExitOk : ReportRuntimeError(ctx, s);
}

}  // namespace wattson::cli
