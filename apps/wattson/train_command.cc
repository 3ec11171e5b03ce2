#include "train_command.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "common/clock.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "fmt/format.h"
#include "models/feature_groups.h"
#include "train/dataset.h"
#include "train/model_db_writer.h"
#include "train/progress.h"
#include "train/trainer.h"
#include "train/training_run.h"

namespace wattson::cli {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kTrainFooter =
    "Layout written: <out>/<source>/<OutputType>/<FeatureGroup>/<Trainer>_<nt>/{metadata.json, "
    "model.wattson.json, predictions.csv, weight.json}, the Kepler weight JSON <Trainer>_<nt>.json "
    "beside the folders of the four weight trainers (SGD, Logarithmic, Logistic, Exponential), "
    "<out>/metadata.json and <out>/<source>_<OutputType>_model_metadata.csv. 'mape' in metadata is "
    "the true max over components (Kepler writes the last component's). Every model is written, "
    "whatever its error (no Kepler export filter): selection uses the errors.\n"
    "Bad data (a missing column, NaN or text in a numeric cell, an empty file, a single row) stops "
    "with an error naming the file, row and column. A component whose target is constant (e.g. "
    "rapl core on machines without that zone) is not trained: it is predicted as the constant and "
    "the report says so.";

void AddCommonOptions(CLI::App* cmd, TrainCliOptions* o) {
  cmd->add_option("--data,-d", o->data,
                  "Training data (repeatable: e.g. one file per energy source): a kepler-model-db "
                  "preprocessed CSV (feature columns, <component>_power targets in W, optional "
                  "timestamp) or a Prometheus query_range dump")
      ->required();
  cmd->add_option("--data-format", o->data_format,
                  "auto: .json files and folders are Prometheus dumps, other files CSV")
      ->check(CLI::IsMember({"auto", "csv", "prometheus"}))
      ->capture_default_str();
  cmd->add_option("--name", o->name, "Data set name in reports and metadata (default: the file)");
  cmd->add_option("--power-scale", o->power_scale,
                  "CSV only: multiply every <component>_power column by this (a number or a "
                  "fraction; the Linux-4.15 kepler-model-db tables hold joules per 3-s step: 1/3)")
      ->capture_default_str();
  cmd->add_option("--instance", o->instance,
                  "Prometheus only: the node (instance label) to train on when the dump holds "
                  "several");
  cmd->add_option("--sources", o->sources,
                  "Energy sources, comma-separated: rapl (rapl-sysfs: package, core, uncore, dram) "
                  "and/or acpi (platform). Default: every source with targets in the data");
  cmd->add_option("--output-types", o->output_types,
                  "AbsPower (with idle), DynPower (idle removed by --isolation), comma-separated")
      ->capture_default_str();
  cmd->add_option("--feature-groups", o->feature_groups,
                  "Kepler feature groups, comma-separated (e.g. Basic,BPFOnly). Default: every "
                  "group whose features are all in the data");
  cmd->add_option("--feature-version", o->feature_version,
                  "Kepler feature names: v0.6 (bpf_cpu_time_us, KubeletOnly, ...) or v0.7 "
                  "(bpf_cpu_time_ms, ...); auto picks the one with more groups in the data")
      ->check(CLI::IsMember({"auto", "v0.6", "v0.7"}))
      ->capture_default_str();
  cmd->add_option("--trainers", o->trainers,
                  "Comma-separated trainer names or short names (linear, sgd, poly2, gbr, xgb, "
                  "knn, svr, log, exp, logistic), or kepler (Kepler's ten), wattson (wattson's "
                  "own), all")
      ->capture_default_str();
  cmd->add_option("--isolation", o->isolation,
                  "How DynPower targets are made: min (subtract each component's minimum, "
                  "Kepler's default), profile (subtract the median of an idle run, --idle), none")
      ->check(CLI::IsMember({"min", "profile", "none"}))
      ->capture_default_str();
  cmd->add_option("--idle", o->idle_path, "Idle run (CSV) for --isolation profile");
  cmd->add_option("--seeds", o->seeds, "kepler protocol: random splits (repetitions)")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cmd->add_option("--first-seed", o->first_seed,
                  "Seed of the first kepler split (then +1 each); blocked fold i and the final fit "
                  "use first-seed + i")
      ->capture_default_str();
  cmd->add_option("--folds", o->folds, "blocked protocol: contiguous folds in time order")
      ->check(CLI::Range(2, 1000))
      ->capture_default_str();
  cmd->add_option("--test-fraction", o->test_fraction, "kepler protocol: test share per split")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--test-data", o->test_data,
                  "holdout protocol: separate test data (repeatable, matched by energy source); "
                  "without it the trailing rows of the training data are held out");
  cmd->add_option("--holdout-fraction", o->holdout_fraction,
                  "holdout protocol without --test-data: the last share of the rows in file "
                  "order is the test part")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--holdout-from-row", o->holdout_from_row,
                  "holdout protocol without --test-data: the test part starts at this 1-based "
                  "data row (e.g. where another benchmark starts); overrides --holdout-fraction");
  cmd->add_option("--threads,-j", o->threads,
                  "Jobs trained in parallel (the output is the same for any number)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--machine", o->machine, "Machine name recorded in metadata (e.g. nx12)");
  cmd->add_option("--machine-spec", o->machine_spec_path,
                  "JSON machine spec ({processor, cores, chips, memory, frequency}, or Kepler's "
                  "{\"attrs\": {...}}) recorded in metadata and node_type_index.json");
  cmd->add_option("--compare-dir", o->compare.dir,
                  "Folder with reference tables to compare against: published_best_errors.csv, "
                  "reference_rerun_random_split.csv, reference_rerun_blocked_cv.csv, "
                  "error_targets.csv (any present are used)");
  cmd->add_option("--compare-published", o->compare.published,
                  "Published best errors CSV (overrides the one in --compare-dir)");
  cmd->add_option("--compare-random-split", o->compare.random_split,
                  "Re-run of Kepler's random-split protocol CSV (needs --protocol kepler)");
  cmd->add_option("--compare-blocked", o->compare.blocked,
                  "Reference blocked-CV CSV (needs --protocol blocked)");
  cmd->add_option("--compare-targets", o->compare.targets,
                  "Error targets CSV: energy_source,output_type,feature_group,component,"
                  "target_mae_W, checked against the best blocked-CV MAE");
  cmd->add_flag("--no-progress", o->no_progress, "Do not show the progress line on stderr");
  cmd->add_flag("--no-plots", o->no_plots, "Leave the SVG plots out of the HTML report");
}

Result<std::vector<std::string>> SplitChecked(std::string_view list, std::string_view what) {
  std::vector<std::string> items = SplitList(list);
  if (items.empty()) return Status::InvalidArgument(fmt::format("{}: empty list", what));
  return items;
}

// Loads every --data file (and the test and idle data) with the CLI's settings.
struct LoadedData {
  std::vector<std::unique_ptr<Dataset>> train;
  std::vector<std::unique_ptr<Dataset>> test;
  std::unique_ptr<Dataset> idle;
};

bool IsPrometheus(const std::string& path, const std::string& format) {
  if (format == "prometheus") return true;
  if (format == "csv") return false;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return true;
  return path.size() > 5 && path.compare(path.size() - 5, 5, ".json") == 0;
}

Result<std::vector<std::unique_ptr<Dataset>>> LoadOne(const std::string& path,
                                                      const TrainCliOptions& o, double scale,
                                                      const std::vector<std::string>& sources,
                                                      const std::string& name) {
  std::vector<std::unique_ptr<Dataset>> out;
  if (!IsPrometheus(path, o.data_format)) {
    CsvDatasetOptions co;
    co.name = name;
    co.power_scale = scale;
    WATTSON_ASSIGN_OR_RETURN(Dataset d, LoadDatasetCsv(path, co));
    out.push_back(std::make_unique<Dataset>(std::move(d)));
    return out;
  }
  if (scale != 1.0) {
    return Status::InvalidArgument(
        fmt::format("{}: --power-scale applies to CSV tables only (Prometheus counters are "
                    "joules, turned into watts with each interval's own duration)",
                    path));
  }
  const std::vector<std::string> wanted = sources.empty() ? TrainableEnergySources() : sources;
  Status first_error;
  for (const auto& src : wanted) {
    PrometheusExtractOptions po;
    po.name = name;
    po.energy_source = NormaliseEnergySource(src);
    po.instance = o.instance;
    auto d = LoadPrometheusDump(path, po);
    if (!d.ok()) {
      if (first_error.ok()) first_error = d.status();
      if (!sources.empty()) return d.status();
      continue;
    }
    out.push_back(std::make_unique<Dataset>(std::move(d).value()));
  }
  if (out.empty()) return first_error;
  return out;
}

Result<MachineSpec> LoadMachineSpec(const std::string& path) {
  WATTSON_ASSIGN_OR_RETURN(std::string text, ReadLocalFile(path, 1 << 20));
  WATTSON_ASSIGN_OR_RETURN(Json j, ParseJson(text, path));
  if (!j.is_object()) return Status::InvalidArgument(fmt::format("{}: expected an object", path));
  const Json* attrs = FindField(j, "attrs");
  return KeplerMachineSpecFromJson(attrs != nullptr ? *attrs : j, path);
}

// What the command line asks for, checked: usage errors come back as InvalidArgument with
// `usage` set.
struct Plan {
  TrainingOptions training;
  double scale = 1;
  std::vector<std::string> sources;
};

Result<Plan> MakePlan(const TrainCliOptions& o, bool train, bool* usage) {
  *usage = true;
  Plan plan;
  TrainingOptions& t = plan.training;
  WATTSON_ASSIGN_OR_RETURN(plan.scale, ParseScaleFactor(o.power_scale));
  if (!o.sources.empty()) {
    for (const auto& s : SplitList(o.sources)) {
      if (!IsKnownEnergySource(s)) {
        return Status::InvalidArgument(
            fmt::format("--sources: unknown energy source '{}' (rapl, rapl-sysfs, acpi)", s));
      }
      plan.sources.push_back(NormaliseEnergySource(s));
    }
  }
  t.energy_sources = plan.sources;
  t.output_types.clear();
  WATTSON_ASSIGN_OR_RETURN(auto ots, SplitChecked(o.output_types, "--output-types"));
  for (const auto& s : ots) {
    auto ot = ParseOutputType(s);
    if (!ot.ok()) {
      return Status::InvalidArgument(
          fmt::format("--output-types: unknown output type '{}' (AbsPower, DynPower)", s));
    }
    if (std::find(t.output_types.begin(), t.output_types.end(), *ot) == t.output_types.end()) {
      t.output_types.push_back(*ot);
    }
  }
  for (const auto& g : SplitList(o.feature_groups)) {
    bool known = false;
    for (auto v : {KeplerFeatureVersion::kV06, KeplerFeatureVersion::kV07}) {
      for (const auto& d : KeplerFeatureGroups(v)) known = known || d.name == g;
    }
    if (!known) {
      return Status::InvalidArgument(
          fmt::format("--feature-groups: unknown feature group '{}'", g));
    }
    t.feature_groups.push_back(g);
  }
  if (o.feature_version == "v0.6") t.feature_version = KeplerFeatureVersion::kV06;
  if (o.feature_version == "v0.7") t.feature_version = KeplerFeatureVersion::kV07;
  WATTSON_ASSIGN_OR_RETURN(t.trainers, ExpandTrainerList(o.trainers));
  WATTSON_ASSIGN_OR_RETURN(t.isolation, ParseIsolation(o.isolation));
  if (t.isolation == IsolationMethod::kProfile && o.idle_path.empty()) {
    return Status::InvalidArgument("--isolation profile needs --idle FILE (an idle run)");
  }
  t.protocols.clear();
  WATTSON_ASSIGN_OR_RETURN(auto protocols, SplitChecked(o.protocol, "--protocol"));
  for (const auto& p : protocols) {
    if (p == "none") {
      if (!train) return Status::InvalidArgument("--protocol none: evaluate needs a protocol");
      if (protocols.size() > 1) {
        return Status::InvalidArgument("--protocol none cannot be combined with others");
      }
      continue;
    }
    auto parsed = ParseProtocol(p);
    if (!parsed.ok()) {
      return Status::InvalidArgument(
          fmt::format("--protocol: unknown protocol '{}' (kepler, blocked, holdout{})", p,
                      train ? ", none" : ""));
    }
    if (std::find(t.protocols.begin(), t.protocols.end(), *parsed) != t.protocols.end()) {
      return Status::InvalidArgument(fmt::format("--protocol: '{}' listed twice", p));
    }
    t.protocols.push_back(*parsed);
  }
  if (!(o.test_fraction > 0 && o.test_fraction < 1)) {
    return Status::InvalidArgument("--test-fraction must be between 0 and 1 (exclusive)");
  }
  if (!(o.holdout_fraction > 0 && o.holdout_fraction < 1)) {
    return Status::InvalidArgument("--holdout-fraction must be between 0 and 1 (exclusive)");
  }
  const bool holdout =
      std::find(t.protocols.begin(), t.protocols.end(), Protocol::kHoldout) != t.protocols.end();
  if (!holdout && !o.test_data.empty()) {
    return Status::InvalidArgument("--test-data is for --protocol holdout");
  }
  t.seeds = o.seeds;
  t.first_seed = o.first_seed;
  t.folds = o.folds;
  t.test_fraction = o.test_fraction;
  t.holdout_fraction = o.holdout_fraction;
  t.holdout_from_row = o.holdout_from_row;
  t.threads = o.threads;
  t.fit_final = train;
  t.node_type = o.node_type;
  t.created = o.created;
  *usage = false;
  return plan;
}

int Fail(const CliContext& ctx, const Status& s, bool usage) {
  return usage ? ReportUsageError(ctx, s.message()) : ReportRuntimeError(ctx, s);
}

double PeakRssMiB() {
  struct rusage ru {};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return kNoValue;
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // KiB on Linux
}

// Best model per (source, output type, feature group) under the primary protocol.
std::string SummaryTable(const TrainingRunResult& run) {
  if (run.options.protocols.empty()) return {};
  const Protocol p = run.options.protocols.front();
  TextTable t({"source", "output", "feature group", "best trainer",
               fmt::format("{} MAE W", MetadataProtocolName(p))});
  for (std::size_t s = 0; s < run.sets.size(); ++s) {
    const TrainingSet& set = run.sets[s];
    for (const auto& fg : set.feature_groups) {
      const JobResult* best = nullptr;
      for (const auto& j : run.jobs) {
        if (j.job.set != s || j.job.feature_group != fg) continue;
        const EvalResult* e = j.Evaluation(p);
        if (e == nullptr || !std::isfinite(e->mae)) continue;
        if (best == nullptr || e->mae < best->Evaluation(p)->mae) best = &j;
      }
      t.AddRow({set.energy_source, std::string(OutputTypeName(set.output_type)), fg,
                best != nullptr ? best->job.trainer : "-",
                best != nullptr ? HumanNumber(best->Evaluation(p)->mae, 2) : "-"});
    }
  }
  return t.Render();
}

int Run(const TrainCliOptions& o, const CliContext& ctx, const std::string& command_line,
        bool train) {
  const auto t0 = std::chrono::steady_clock::now();
  bool usage = false;
  auto plan = MakePlan(o, train, &usage);
  if (!plan.ok()) return Fail(ctx, plan.status(), usage);
  if (train && o.out_dir.empty()) return ReportUsageError(ctx, "--out is required");
  if (!train && o.report_dir.empty()) return ReportUsageError(ctx, "--report is required");

  // Reference tables first: a typo there should not cost a training run.
  ComparisonRefs refs;
  if (!o.compare.empty()) {
    auto loaded = LoadComparisonRefs(o.compare);
    if (!loaded.ok()) return ReportRuntimeError(ctx, loaded.status());
    refs = std::move(loaded).value();
  }
  std::optional<MachineSpec> spec;
  if (!o.machine_spec_path.empty()) {
    auto s = LoadMachineSpec(o.machine_spec_path);
    if (!s.ok()) return ReportRuntimeError(ctx, s.status());
    spec = *s;
  }

  LoadedData data;
  for (std::size_t i = 0; i < o.data.size(); ++i) {
    std::string name = o.name;
    if (!name.empty() && o.data.size() > 1) name = fmt::format("{} ({})", o.name, i + 1);
    auto loaded = LoadOne(o.data[i], o, plan->scale, plan->sources, name);
    if (!loaded.ok()) return ReportRuntimeError(ctx, loaded.status());
    for (auto& d : *loaded) data.train.push_back(std::move(d));
  }
  for (const auto& path : o.test_data) {
    auto loaded = LoadOne(path, o, plan->scale, plan->sources, "");
    if (!loaded.ok()) return ReportRuntimeError(ctx, loaded.status());
    for (auto& d : *loaded) data.test.push_back(std::move(d));
  }
  if (!o.idle_path.empty()) {
    CsvDatasetOptions co;
    co.power_scale = plan->scale;
    auto idle = LoadDatasetCsv(o.idle_path, co);
    if (!idle.ok()) return ReportRuntimeError(ctx, idle.status());
    data.idle = std::make_unique<Dataset>(std::move(idle).value());
  }
  std::vector<const Dataset*> train_sets;
  for (auto& d : data.train) {
    if (!o.machine.empty()) d->machine = o.machine;
    if (spec) d->machine_spec = *spec;
    train_sets.push_back(d.get());
  }
  TrainingOptions topts = plan->training;
  topts.idle = data.idle.get();
  for (auto& d : data.test) topts.holdout_sets.push_back(d.get());

  RealClock clock;
  std::unique_ptr<ProgressDisplay> display;
  if (!o.no_progress) {
    display = std::make_unique<ProgressDisplay>(clock);
    topts.progress = [d = display.get()](std::string_view trainer, std::string_view fg, Component c,
                                         int step,
                                         int total) { d->Update(trainer, fg, c, step, total); };
  }
  auto run = RunTraining(train_sets, topts);
  if (display) display->Finish();
  if (!run.ok()) return ReportRuntimeError(ctx, run.status());
  for (const auto& n : run->notes) ctx.logger->info("{}", n);
  for (const auto& j : run->jobs) {
    if (!j.error.empty()) {
      const TrainingSet& set = run->sets[j.job.set];
      ctx.logger->warn("{} {} {} {}: {}", set.energy_source, OutputTypeName(set.output_type),
                       j.job.feature_group, j.job.trainer, j.error);
    }
  }

  ReportOptions ropts;
  ropts.command_line = command_line;
  ropts.plots = !o.no_plots;
  ropts.title = train ? "wattson training report" : "wattson evaluation report";
  std::size_t written = 0, weights = 0;
  if (train) {
    if (run->models() == 0) {
      const auto it = std::find_if(run->jobs.begin(), run->jobs.end(),
                                   [](const JobResult& j) { return !j.error.empty(); });
      return ReportRuntimeError(
          ctx, Status::FailedPrecondition(fmt::format(
                   "no model could be trained{}", it == run->jobs.end() ? "" : ": " + it->error)));
    }
    ModelDbOptions dbo;
    dbo.name = o.name;
    dbo.force = o.force;
    dbo.predictions = !o.no_predictions;
    dbo.tool = "wattson " + ctx.version;
    auto db = WriteModelDb(*run, o.out_dir, dbo);
    if (!db.ok()) return ReportRuntimeError(ctx, db.status());
    written = db->models;
    weights = db->weight_files;
    ropts.model_db = o.out_dir;
    ropts.model_db_notes = db->notes;
    for (const auto& n : db->notes) ctx.logger->info("{}", n);
  } else if (run->failures() == run->jobs.size()) {
    return ReportRuntimeError(ctx, Status::FailedPrecondition(fmt::format(
                                       "every evaluation failed: {}", run->jobs.front().error)));
  }
  if (!o.report_dir.empty()) {
    const Report report = BuildReport(*run, refs, ropts);
    Status s = WriteReport(report, o.report_dir);
    if (!s.ok()) return ReportRuntimeError(ctx, s);
  }

  std::string out = SummaryTable(*run);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (train) {
    out += fmt::format("wrote {} models ({} with Kepler weight JSON) to {}\n", written, weights,
                       o.out_dir);
  }
  if (!o.report_dir.empty()) {
    out += fmt::format("report: {}/report.md, {}/report.html, {}/summary.json\n", o.report_dir,
                       o.report_dir, o.report_dir);
  }
  out += fmt::format("{} jobs ({} failed) in {:.1f} s wall time, peak memory {:.0f} MiB\n",
                     run->jobs.size(), run->failures(), wall, PeakRssMiB());
  Status s = WriteOutput(ctx, "", out);
  if (!s.ok()) return ReportRuntimeError(ctx, s);
  return kExitOk;
}

}  // namespace

Result<std::vector<std::string>> ExpandTrainerList(std::string_view list) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& t) {
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  };
  static const std::pair<std::string_view, std::string_view> kShort[] = {
      {"log", "LogarithmicRegressionTrainer"},
      {"logarithmic", "LogarithmicRegressionTrainer"},
      {"exp", "ExponentialRegressionTrainer"},
      {"exponential", "ExponentialRegressionTrainer"},
      {"logistic", "LogisticRegressionTrainer"},
      {"poly", "PolynomialRegressionTrainer"},
      {"polynomial", "PolynomialRegressionTrainer"},
  };
  const std::vector<std::string> items = SplitList(list);
  if (items.empty()) return Status::InvalidArgument("--trainers: empty list");
  for (const auto& item : items) {
    if (item == "kepler" || item == "all") {
      for (const auto& t : KeplerTrainerNames()) add(t);
    }
    if (item == "wattson" || item == "all") {
      for (const auto& t : WattsonTrainerNames()) add(t);
    }
    if (item == "kepler" || item == "wattson" || item == "all") continue;
    if (MakeTrainer(item).ok()) {
      add(item);
      continue;
    }
    std::string resolved = KeplerTrainerForReference(item);
    for (const auto& [k, v] : kShort) {
      if (resolved.empty() && k == item) resolved = std::string(v);
    }
    if (resolved.empty()) {
      std::vector<std::string> names = KeplerTrainerNames();
      for (auto& n : WattsonTrainerNames()) names.push_back(std::move(n));
      return Status::InvalidArgument(
          fmt::format("--trainers: unknown trainer '{}' (known: {})", item, Join(names, ", ")));
    }
    add(resolved);
  }
  if (out.empty()) return Status::InvalidArgument("--trainers: no trainer selected");
  return out;
}

std::string ShellJoin(int argc, char** argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (i == 0) a = "wattson";
    const bool plain = !a.empty() && std::all_of(a.begin(), a.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) ||
             std::string_view("-_./=,:+@%").find(c) != std::string_view::npos;
    });
    if (!out.empty()) out += ' ';
    if (plain) {
      out += a;
    } else {
      out += '\'';
      for (char c : a) {
        if (c == '\'') {
          out += "'\\''";
        } else {
          out += c;
        }
      }
      out += '\'';
    }
  }
  return out;
}

CLI::App* AddTrainCommand(CLI::App& app, TrainCliOptions* opts) {
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Train every model family on measured data, evaluate it, and write a model DB "
      "(kepler-model-db layout) and an error report");
  AddCommonOptions(cmd, opts);
  cmd->add_option("--protocol", opts->protocol,
                  "Evaluation protocols, comma-separated; the first one's errors go into model "
                  "metadata: blocked (contiguous k-fold CV in time order, no leakage), kepler "
                  "(Kepler's random 90/10 split, repeated over --seeds; it leaks), holdout (test "
                  "on --test-data or the trailing rows), none (no evaluation)")
      ->capture_default_str();
  cmd->add_option("--out,-o", opts->out_dir,
                  "Model DB folder to create (must be new, empty, or a DB wattson wrote with "
                  "--force)")
      ->required();
  cmd->add_option("--report", opts->report_dir,
                  "Also write report.md, report.html (inline SVG plots) and summary.json here");
  cmd->add_option("--node-type", opts->node_type,
                  "kepler-model-db node type of the models (the _<nt> in their names)")
      ->check(CLI::Range(0, 1 << 30))
      ->capture_default_str();
  cmd->add_flag("--force", opts->force, "Replace --out if it holds a model DB wattson wrote");
  cmd->add_flag("--no-predictions", opts->no_predictions,
                "Do not write predictions.csv (the final model on the training rows) per model");
  cmd->add_option("--created", opts->created,
                  "Timestamp stamped on every model (ISO-8601 UTC; default: now), for "
                  "reproducible model DBs");
  cmd->footer(std::string(kTrainFooter) + "\n" + std::string(kExitCodeFooter));
  return cmd;
}

CLI::App* AddEvaluateCommand(CLI::App& app, TrainCliOptions* opts) {
  CLI::App* cmd = app.add_subcommand(
      "evaluate",
      "Evaluate every model family on measured data and write an error report (no model DB)");
  AddCommonOptions(cmd, opts);
  cmd->add_option("--protocol", opts->protocol,
                  "Evaluation protocols, comma-separated: blocked (contiguous k-fold CV in time "
                  "order, no leakage), kepler (Kepler's random 90/10 split, repeated over "
                  "--seeds; it leaks), holdout (test on --test-data or the trailing rows)")
      ->capture_default_str();
  cmd->add_option("--report", opts->report_dir,
                  "Write report.md, report.html (inline SVG plots) and summary.json here")
      ->required();
  cmd->footer(
      "Example (Kepler's protocol on nx12, compared with the published and re-run errors): "
      "wattson evaluate --data testdata/kepler-model-db/nx12_v0.6/nx12_merged_abs.csv "
      "--protocol kepler,blocked --seeds 20 --compare-dir testdata/kepler-model-db/nx12_v0.6 "
      "--report out/nx12-report\n" +
      std::string(kExitCodeFooter));
  return cmd;
}

int RunTrain(const TrainCliOptions& opts, const CliContext& ctx, const std::string& command_line) {
  return Run(opts, ctx, command_line, /*train=*/true);
}

int RunEvaluate(const TrainCliOptions& opts, const CliContext& ctx,
                const std::string& command_line) {
  return Run(opts, ctx, command_line, /*train=*/false);
}

}  // namespace wattson::cli
