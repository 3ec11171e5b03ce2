#include "predict_command.h"

#include <utility>

#include "fmt/format.h"
#include "models/model_loader.h"

namespace wattson::cli {

CLI::App* AddPredictCommand(CLI::App& app, PredictOptions* opts) {
  CLI::App* cmd = app.add_subcommand(
      "predict",
      "Apply a model to rows of feature rates from a CSV file and print watts per component");
  cmd->add_option("--model,-m", opts->model_path,
                  "Model: wattson model JSON, Kepler weight JSON, XGBoost JSON, or a Kepler model "
                  "archive (.zip, or its files unpacked in a folder)")
      ->required();
  cmd->add_option("--input,-i", opts->input_path,
                  "CSV whose header names the feature columns (per-second rates); other columns, "
                  "such as timestamps, are ignored. '-' reads standard input")
      ->required();
  cmd->add_option("--output,-o", opts->output_path,
                  "Write the result here (atomically) instead of standard output");
  cmd->add_option("--system", opts->system,
                  "Categorical machine feature key=value (repeatable), e.g. "
                  "cpu_architecture=Sapphire Rapids")
      ->check(CLI::Validator(
          [](std::string& item) -> std::string {
            auto eq = item.find('=');
            if (eq == std::string::npos || eq == 0) return "expected key=value, got '" + item + "'";
            return {};
          },
          "KEY=VALUE"));
  AddModelLoadFlags(cmd, &opts->load);
  cmd->add_option("--format", opts->format,
                  "csv: 'row,<component>...' in watts, exact round-trip numbers; table: aligned "
                  "columns for humans")
      ->check(CLI::IsMember({"csv", "table"}))
      ->capture_default_str();
  cmd->footer(
      "Output: one line per input data row; 'row' is the 1-based data row number of the input, "
      "then watts per component in the order package, core, uncore, dram, platform.\n" +
      std::string(kExitCodeFooter));
  return cmd;
}

Result<SystemFeatures> ParseSystemFeatures(const std::vector<std::string>& items) {
  SystemFeatures out;
  for (const auto& item : items) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument(fmt::format("--system: expected key=value, got '{}'", item));
    }
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

Result<FeatureMatrix> FeatureMatrixFromCsv(const CsvTable& table,
                                           const std::vector<std::string>& features,
                                           std::string_view what) {
  std::vector<std::size_t> cols;
  cols.reserve(features.size());
  for (const auto& f : features) {
    long c = table.ColumnIndex(f);
    if (c < 0) {
      return Status::InvalidArgument(fmt::format(
          "{}: missing feature column '{}' (the model needs: {})", what, f, Join(features, ", ")));
    }
    cols.push_back(static_cast<std::size_t>(c));
  }
  FeatureMatrix m(features, table.rows.size());
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    for (std::size_t i = 0; i < cols.size(); ++i) {
      auto v = ParseFiniteDouble(table.rows[r][cols[i]]);
      if (!v.ok()) {
        return Status::InvalidArgument(fmt::format("{}: row {}, column '{}': {}", what, r + 1,
                                                   features[i], v.status().message()));
      }
      m.at(r, i) = *v;
    }
  }
  return m;
}

namespace {

// The predicted components in Kepler's canonical order (package, core, uncore, dram, platform),
// whatever order the model file listed them in.
std::vector<const ComponentPower*> OrderedComponents(const PowerPrediction& p) {
  std::vector<const ComponentPower*> out;
  for (Component c : kAllComponents) {
    if (const ComponentPower* cp = p.Find(c)) out.push_back(cp);
  }
  return out;
}

std::string RenderCsv(const PowerPrediction& p) {
  const auto components = OrderedComponents(p);
  std::string out = "row";
  for (const auto* c : components) {
    out += ',';
    out += ComponentName(c->component);
  }
  out += '\n';
  for (std::size_t r = 0; r < p.rows; ++r) {
    out += std::to_string(r + 1);
    for (const auto* c : components) {
      out += ',';
      out += FormatDouble(c->watts[r].value());
    }
    out += '\n';
  }
  return out;
}

std::string RenderTable(const PowerPrediction& p) {
  const auto components = OrderedComponents(p);
  std::vector<std::string> header = {"row"};
  for (const auto* c : components) {
    header.push_back(std::string(ComponentName(c->component)) + " W");
  }
  TextTable t(std::move(header));
  for (std::size_t r = 0; r < p.rows; ++r) {
    std::vector<std::string> row = {std::to_string(r + 1)};
    for (const auto* c : components) row.push_back(HumanNumber(c->watts[r].value()));
    t.AddRow(std::move(row));
  }
  return t.Render();
}

}  // namespace

int RunPredict(const PredictOptions& opts, const CliContext& ctx) {
  auto system = ParseSystemFeatures(opts.system);
  if (!system.ok()) return ReportUsageError(ctx, system.status().message());

  auto model = LoadModelFile(opts.model_path, ToLoadOptions(opts.load));
  if (!model.ok()) return ReportRuntimeError(ctx, model.status());
  const ModelInfo& info = (*model)->info();
  ctx.logger->info("loaded model '{}' ({}) from {}: features [{}]", info.id,
                   (*model)->FamilySummary(), opts.model_path, Join(info.features, ", "));
  for (const auto& sf : info.system_features) {
    if (system->find(sf) == system->end()) {
      ctx.logger->warn("model uses system feature '{}' but no --system {}=... was given", sf, sf);
    }
  }

  const std::string what = opts.input_path == "-" ? "standard input" : opts.input_path;
  auto text = ReadInput(opts.input_path);
  if (!text.ok()) return ReportRuntimeError(ctx, text.status());
  auto table = ParseCsv(*text, what);
  if (!table.ok()) return ReportRuntimeError(ctx, table.status());
  auto matrix = FeatureMatrixFromCsv(*table, info.features, what);
  if (!matrix.ok()) return ReportRuntimeError(ctx, matrix.status());

  auto prediction = (*model)->Predict(*matrix, *system);
  if (!prediction.ok()) return ReportRuntimeError(ctx, prediction.status());
  ctx.logger->debug("predicted {} rows", prediction->rows);

  const std::string rendered =
      opts.format == "table" ? RenderTable(*prediction) : RenderCsv(*prediction);
  Status s = WriteOutput(ctx, opts.output_path, rendered);
  if (!s.ok()) return ReportRuntimeError(ctx, s);
  return kExitOk;
}

}  // namespace wattson::cli
