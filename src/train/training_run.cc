#include "train/training_run.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <set>
#include <thread>
#include <utility>

#include "common/csv.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "train/trainer.h"

namespace wattson {

namespace {

constexpr std::string_view kTrainableSources[] = {"rapl-sysfs", "acpi"};

bool HasTarget(const Dataset& d, Component c) { return d.targets.count(c) != 0; }

// The components of `source` present in `d`, in the source's order.
std::vector<Component> PresentComponents(const Dataset& d, const std::vector<Component>& comps) {
  std::vector<Component> out;
  for (Component c : comps) {
    if (HasTarget(d, c)) out.push_back(c);
  }
  return out;
}

std::string ComponentList(const std::vector<Component>& comps) {
  std::vector<std::string> names;
  for (Component c : comps) names.push_back(std::string(ComponentName(c)) + "_power");
  return fmt::format("{}", fmt::join(names, ", "));
}

// A copy of d that keeps only the targets of `comps`.
Dataset WithTargets(const Dataset& d, const std::vector<Component>& comps) {
  Dataset out;
  out.name = d.name;
  out.origin = d.origin;
  out.sha256 = d.sha256;
  out.machine = d.machine;
  out.machine_spec = d.machine_spec;
  out.timestamps = d.timestamps;
  out.feature_names = d.feature_names;
  out.features = d.features;
  for (Component c : comps) out.targets[c] = d.targets.at(c);
  out.notes = d.notes;
  return out;
}

KeplerFeatureVersion DetectVersion(const std::vector<const Dataset*>& data) {
  std::size_t v6 = 0, v7 = 0;
  bool has_us = false;
  for (const Dataset* d : data) {
    v6 += ValidFeatureGroups(d->feature_names, KeplerFeatureVersion::kV06).size();
    v7 += ValidFeatureGroups(d->feature_names, KeplerFeatureVersion::kV07).size();
    has_us = has_us || d->FeatureIndex("bpf_cpu_time_us") >= 0;
  }
  if (v6 > v7 || (v6 == v7 && has_us)) return KeplerFeatureVersion::kV06;
  return KeplerFeatureVersion::kV07;
}

std::string_view VersionName(KeplerFeatureVersion v) {
  return v == KeplerFeatureVersion::kV06 ? "v0.6" : "v0.7";
}

// Steps a job reports to the progress display.
int JobSteps(const TrainingOptions& o, std::size_t components) {
  int reps = 0;
  for (Protocol p : o.protocols) {
    switch (p) {
      case Protocol::kKepler:
        reps += o.seeds;
        break;
      case Protocol::kBlocked:
        reps += o.folds;
        break;
      case Protocol::kHoldout:
        reps += 1;
        break;
    }
  }
  if (o.fit_final) reps += 1;
  return reps * static_cast<int>(components);
}

Status CheckProtocolOptions(const TrainingOptions& o) {
  std::set<Protocol> seen;
  for (Protocol p : o.protocols) {
    if (!seen.insert(p).second) {
      return Status::InvalidArgument(fmt::format("protocol '{}' listed twice", ProtocolName(p)));
    }
    if (p == Protocol::kKepler) {
      if (o.seeds < 1 || o.seeds > 10000) {
        return Status::InvalidArgument(
            fmt::format("kepler protocol: seeds must be in 1..10000, got {}", o.seeds));
      }
      if (!(o.test_fraction > 0 && o.test_fraction < 1)) {
        return Status::InvalidArgument(fmt::format(
            "kepler protocol: the test fraction must be in (0, 1), got {}", o.test_fraction));
      }
    }
    if (p == Protocol::kBlocked && (o.folds < 2 || o.folds > 1000)) {
      return Status::InvalidArgument(
          fmt::format("blocked protocol: folds must be in 2..1000, got {}", o.folds));
    }
    if (p == Protocol::kHoldout && o.holdout_from_row == 0 &&
        !(o.holdout_fraction > 0 && o.holdout_fraction < 1)) {
      return Status::InvalidArgument(fmt::format(
          "holdout protocol: the holdout fraction must be in (0, 1), got {}", o.holdout_fraction));
    }
  }
  if (o.node_type < 0) {
    return Status::InvalidArgument(fmt::format("node type must be >= 0, got {}", o.node_type));
  }
  return Status::Ok();
}

// The holdout rows of a set: a separate data set holding the source, or the trailing rows.
Status PlanHoldout(const TrainingOptions& o, const Dataset& abs_source_data,
                   const std::vector<Component>& comps, TrainingSet* set) {
  const Dataset* test = nullptr;
  for (const Dataset* h : o.holdout_sets) {
    if (!PresentComponents(*h, comps).empty()) {
      if (test != nullptr) {
        return Status::InvalidArgument(fmt::format(
            "holdout: energy source '{}' has targets in two test data sets ('{}' and '{}')",
            set->energy_source, test->name, h->name));
      }
      test = h;
    }
  }
  if (test != nullptr) {
    for (Component c : comps) {
      if (!HasTarget(*test, c)) {
        return Status::InvalidArgument(
            fmt::format("holdout data set '{}' has no {}_power (the training data has it)",
                        test->name, ComponentName(c)));
      }
    }
    Dataset t = WithTargets(*test, comps);
    if (set->output_type == OutputType::kDynPower) {
      WATTSON_ASSIGN_OR_RETURN(IsolationResult iso, Isolate(t, o.isolation, o.idle));
      t = std::move(iso.data);
    }
    set->holdout_origin = fmt::format("test data set '{}' ({} rows)", test->name, test->rows());
    set->holdout = std::move(t);
    return Status::Ok();
  }
  const std::size_t n = set->data.rows();
  std::size_t from = 0;
  if (o.holdout_from_row > 0) {
    if (o.holdout_from_row < 2 || o.holdout_from_row > n) {
      return Status::InvalidArgument(fmt::format(
          "holdout: the test part must start at a row in 2..{} of data set '{}', got {}", n,
          abs_source_data.name, o.holdout_from_row));
    }
    from = o.holdout_from_row - 1;
  } else {
    const auto n_test =
        static_cast<std::size_t>(std::ceil(o.holdout_fraction * static_cast<double>(n)));
    from = n - std::clamp<std::size_t>(n_test, 1, n - 1);
  }
  std::vector<std::size_t> train_rows, test_rows;
  for (std::size_t r = 0; r < n; ++r) (r < from ? train_rows : test_rows).push_back(r);
  set->holdout_train = set->data.Subset(train_rows);
  set->holdout_train->name = fmt::format("{} rows 1-{}", abs_source_data.name, from);
  Dataset t = set->data.Subset(test_rows);
  t.name = fmt::format("{} rows {}-{}", abs_source_data.name, from + 1, n);
  set->holdout_origin = fmt::format("rows {}-{} of '{}' in file order (trained on rows 1-{})",
                                    from + 1, n, abs_source_data.name, from);
  set->holdout = std::move(t);
  return Status::Ok();
}

}  // namespace

const EvalResult* JobResult::Evaluation(Protocol p) const {
  for (const auto& e : evaluations) {
    if (e.protocol == p) return &e;
  }
  return nullptr;
}

std::size_t TrainingRunResult::models() const {
  return static_cast<std::size_t>(std::count_if(
      jobs.begin(), jobs.end(), [](const JobResult& j) { return j.model != nullptr; }));
}

std::size_t TrainingRunResult::failures() const {
  return static_cast<std::size_t>(
      std::count_if(jobs.begin(), jobs.end(), [](const JobResult& j) { return !j.error.empty(); }));
}

Json InputDatasetsJson(const TrainingRunResult& run) {
  Json datasets = Json::array();
  for (std::size_t i = 0; i < run.input_names.size(); ++i) {
    datasets.push_back(Json{{"name", run.input_names[i]},
                            {"origin", i < run.input_origins.size() ? run.input_origins[i] : ""},
                            {"sha256", i < run.input_sha256.size() ? run.input_sha256[i] : ""}});
  }
  return datasets;
}

Json ProtocolsJson(const TrainingOptions& options) {
  Json protocols = Json::array();
  for (Protocol p : options.protocols) protocols.push_back(MetadataProtocolName(p));
  return protocols;
}

std::vector<std::string> TrainableEnergySources() {
  return {std::begin(kTrainableSources), std::end(kTrainableSources)};
}

std::string KeplerModelClass(std::string_view trainer) {
  if (trainer == "XgboostFitTrainer") return "xgboost";
  if (trainer == "LogarithmicRegressionTrainer" || trainer == "ExponentialRegressionTrainer" ||
      trainer == "LogisticRegressionTrainer") {
    return "curvefit";
  }
  const auto kepler = KeplerTrainerNames();
  if (std::find(kepler.begin(), kepler.end(), trainer) != kepler.end()) return "scikit";
  return "wattson";
}

Result<double> ParseScaleFactor(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument(fmt::format(
        "power scale '{}': expected a positive number or a fraction such as 1/3", text));
  };
  double v = 0;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    auto num = ParseFiniteDouble(text.substr(0, slash));
    auto den = ParseFiniteDouble(text.substr(slash + 1));
    if (!num.ok() || !den.ok() || *den == 0) return bad();
    v = *num / *den;
  } else {
    auto parsed = ParseFiniteDouble(text);
    if (!parsed.ok()) return bad();
    v = *parsed;
  }
  if (!(v > 0) || !std::isfinite(v)) return bad();
  return v;
}

Result<TrainingRunResult> PlanTraining(const std::vector<const Dataset*>& data,
                                       const TrainingOptions& options) {
  if (data.empty()) return Status::InvalidArgument("no training data set given");
  for (const Dataset* d : data) {
    if (d == nullptr) return Status::InvalidArgument("null training data set");
    if (d->rows() < 2) {
      return Status::InvalidArgument(fmt::format(
          "data set '{}' has {} row(s); training needs at least 2 (and evaluation more)", d->name,
          d->rows()));
    }
  }
  WATTSON_RETURN_IF_ERROR(CheckProtocolOptions(options));
  TrainingRunResult run;
  run.options = options;
  run.options.progress = nullptr;
  run.options.idle = nullptr;
  run.options.holdout_sets.clear();
  run.created = options.created.empty() ? IsoUtcNow() : options.created;
  run.options.created = run.created;
  run.feature_version = options.feature_version ? *options.feature_version : DetectVersion(data);
  for (const Dataset* d : data) {
    run.input_names.push_back(d->name);
    run.input_origins.push_back(d->origin);
    run.input_sha256.push_back(d->sha256);
  }

  // Trainers.
  std::vector<std::string> trainers =
      options.trainers.empty() ? KeplerTrainerNames() : options.trainers;
  {
    std::vector<std::string> unique;
    for (const auto& t : trainers) {
      auto made = MakeTrainer(t);
      if (!made.ok()) return Status::InvalidArgument(made.status().message());
      if (std::find(unique.begin(), unique.end(), t) == unique.end()) unique.push_back(t);
    }
    trainers = std::move(unique);
  }
  if (options.output_types.empty()) return Status::InvalidArgument("no output type to train");

  // Energy sources.
  const bool implicit_sources = options.energy_sources.empty();
  std::vector<std::string> sources;
  for (const auto& s : implicit_sources ? TrainableEnergySources() : options.energy_sources) {
    if (!IsKnownEnergySource(s)) {
      return Status::InvalidArgument(fmt::format("unknown energy source '{}' (known: {})", s,
                                                 fmt::join(TrainableEnergySources(), ", ")));
    }
    std::string canonical = NormaliseEnergySource(s);
    if (std::find(sources.begin(), sources.end(), canonical) == sources.end()) {
      sources.push_back(std::move(canonical));
    }
  }

  const auto group_defs = KeplerFeatureGroups(run.feature_version);
  for (const auto& g : options.feature_groups) {
    const bool known = std::any_of(group_defs.begin(), group_defs.end(),
                                   [&](const FeatureGroupDef& d) { return d.name == g; });
    if (!known) {
      std::vector<std::string> names;
      for (const auto& d : group_defs) names.emplace_back(d.name);
      return Status::InvalidArgument(
          fmt::format("unknown feature group '{}' for Kepler {} feature names (known: {})", g,
                      VersionName(run.feature_version), fmt::join(names, ", ")));
    }
  }

  for (const auto& source : sources) {
    WATTSON_ASSIGN_OR_RETURN(std::vector<Component> all_comps, EnergySourceComponents(source));
    const Dataset* src_data = nullptr;
    for (const Dataset* d : data) {
      if (PresentComponents(*d, all_comps).empty()) continue;
      if (src_data != nullptr) {
        return Status::InvalidArgument(fmt::format(
            "energy source '{}' has targets in two data sets ('{}' and '{}'); give each source "
            "once",
            source, src_data->name, d->name));
      }
      src_data = d;
    }
    if (src_data == nullptr) {
      if (implicit_sources) {
        run.notes.push_back(fmt::format("energy source '{}' skipped: no {} column in the data",
                                        source, ComponentList(all_comps)));
        continue;
      }
      return Status::InvalidArgument(
          fmt::format("energy source '{}': the data has none of its targets ({})", source,
                      ComponentList(all_comps)));
    }
    const std::vector<Component> comps = PresentComponents(*src_data, all_comps);
    if (comps.size() < all_comps.size()) {
      std::vector<Component> missing;
      for (Component c : all_comps) {
        if (!HasTarget(*src_data, c)) missing.push_back(c);
      }
      run.notes.push_back(fmt::format("energy source '{}': data set '{}' has no {}; trained on {}",
                                      source, src_data->name, ComponentList(missing),
                                      ComponentList(comps)));
    }
    // Feature groups of this data set.
    const std::vector<std::string> valid =
        ValidFeatureGroups(src_data->feature_names, run.feature_version);
    std::vector<std::string> groups;
    if (options.feature_groups.empty()) {
      groups = valid;
      if (groups.empty()) {
        return Status::InvalidArgument(fmt::format(
            "data set '{}' has all the features of no Kepler {} feature group (it has: {})",
            src_data->name, VersionName(run.feature_version),
            fmt::join(src_data->feature_names, ", ")));
      }
    } else {
      for (const auto& def : group_defs) {
        const std::string name(def.name);
        if (std::find(options.feature_groups.begin(), options.feature_groups.end(), name) ==
            options.feature_groups.end()) {
          continue;
        }
        if (std::find(valid.begin(), valid.end(), name) == valid.end()) {
          std::vector<std::string> missing;
          for (const auto& f : def.features) {
            if (src_data->FeatureIndex(f) < 0) missing.push_back(f);
          }
          return Status::InvalidArgument(
              fmt::format("feature group '{}' needs features that data set '{}' lacks: {}", name,
                          src_data->name, fmt::join(missing, ", ")));
        }
        groups.push_back(name);
      }
    }
    const Dataset abs = WithTargets(*src_data, comps);
    for (OutputType ot : options.output_types) {
      TrainingSet set;
      set.energy_source = source;
      set.output_type = ot;
      set.components = comps;
      set.feature_groups = groups;
      if (ot == OutputType::kDynPower) {
        auto iso = Isolate(abs, options.isolation, options.idle);
        if (!iso.ok()) return iso.status().WithContext(fmt::format("{} DynPower", source));
        set.data = std::move(iso->data);
        set.idle_watts = std::move(iso->idle_watts);
      } else {
        set.data = abs;
      }
      for (Protocol p : options.protocols) {
        if (p == Protocol::kBlocked && static_cast<std::size_t>(options.folds) > set.data.rows()) {
          return Status::InvalidArgument(
              fmt::format("blocked protocol: {} folds need at least {} rows; data set '{}' has {}",
                          options.folds, options.folds, src_data->name, set.data.rows()));
        }
      }
      if (std::find(options.protocols.begin(), options.protocols.end(), Protocol::kHoldout) !=
          options.protocols.end()) {
        WATTSON_RETURN_IF_ERROR(PlanHoldout(options, *src_data, comps, &set));
      }
      run.sets.push_back(std::move(set));
    }
  }
  if (run.sets.empty()) {
    return Status::InvalidArgument(fmt::format(
        "the data has no power targets of a known energy source (rapl-sysfs: package_power, "
        "core_power, uncore_power, dram_power; acpi: platform_power)"));
  }
  for (std::size_t s = 0; s < run.sets.size(); ++s) {
    const auto defs = KeplerFeatureGroups(run.feature_version);
    for (const auto& fg : run.sets[s].feature_groups) {
      WATTSON_ASSIGN_OR_RETURN(std::vector<std::string> features,
                               FeatureGroupFeatures(fg, run.feature_version));
      for (const auto& t : trainers) {
        JobResult jr;
        jr.job = TrainingJob{s, fg, features, t};
        run.jobs.push_back(std::move(jr));
      }
    }
  }
  run.options.trainers = trainers;
  run.notes.push_back(fmt::format("Kepler {} feature names", VersionName(run.feature_version)));
  return run;
}

namespace {

void RunJob(const TrainingRunResult& run, const TrainingOptions& options, std::atomic<int>* step,
            int total, JobResult* out) {
  const auto t0 = std::chrono::steady_clock::now();
  const TrainingJob& job = out->job;
  const TrainingSet& set = run.sets[job.set];
  auto trainer = MakeTrainer(job.trainer);
  if (!trainer.ok()) {
    out->error = trainer.status().message();
    return;
  }
  ProgressFn progress;
  if (options.progress) {
    progress = [&options, step, total](std::string_view t, std::string_view fg, Component c, int,
                                       int) {
      options.progress(t, fg, c, step->fetch_add(1) + 1, total);
    };
  }
  for (Protocol p : options.protocols) {
    EvalOptions eo;
    eo.protocol = p;
    eo.seeds = options.seeds;
    eo.first_seed = options.first_seed;
    eo.folds = options.folds;
    eo.test_fraction = options.test_fraction;
    eo.keep_predictions = options.keep_predictions;
    const Dataset* data = &set.data;
    if (p == Protocol::kHoldout) {
      eo.holdout = set.holdout ? &*set.holdout : nullptr;
      if (set.holdout_train) data = &*set.holdout_train;
    }
    auto r =
        Evaluate(*data, **trainer, job.feature_group, job.features, set.components, eo, progress);
    if (!r.ok()) {
      out->error = fmt::format("{} evaluation: {}", ProtocolName(p), r.status().message());
      return;
    }
    out->evaluations.push_back(std::move(r).value());
  }
  if (options.fit_final) {
    if (progress) {
      for (Component c : set.components) progress(job.trainer, job.feature_group, c, 0, 0);
    }
    FinalModelOptions fo;
    fo.node_type = options.node_type;
    fo.output_type = set.output_type;
    fo.energy_source = set.energy_source;
    fo.created = run.created;
    fo.evaluation = out->evaluations.empty() ? nullptr : &out->evaluations.front();
    auto model = FitFinalModel(set.data, **trainer, job.feature_group, job.features, set.components,
                               options.first_seed, fo);
    if (!model.ok()) {
      out->error = fmt::format("final fit: {}", model.status().message());
      return;
    }
    ModelInfo info = (*model)->info();
    info.id = fmt::format("{}/{}/{}/{}", set.energy_source, OutputTypeName(set.output_type),
                          job.feature_group, info.name);
    if (!set.idle_watts.empty()) {
      std::string idle;
      for (const auto& [c, w] : set.idle_watts) {
        idle +=
            fmt::format("{}{} {} W", idle.empty() ? "" : ", ", ComponentName(c), FormatDouble(w));
      }
      info.provenance.notes +=
          fmt::format("; isolation '{}' subtracted {}", IsolationName(options.isolation), idle);
    }
    (*model)->SetInfo(std::move(info));
    auto x = set.data.Matrix(job.features);
    if (!x.ok()) {
      out->error = fmt::format("final model predictions: {}", x.status().message());
      return;
    }
    auto pred = (*model)->Predict(*x);
    if (!pred.ok()) {
      out->error = fmt::format("final model predictions: {}", pred.status().message());
      return;
    }
    out->predictions = std::move(pred).value();
    out->model = std::shared_ptr<const PipelineModel>(std::move(model).value());
  }
  out->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Result<TrainingRunResult> RunTraining(const std::vector<const Dataset*>& data,
                                      const TrainingOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  WATTSON_ASSIGN_OR_RETURN(TrainingRunResult run, PlanTraining(data, options));
  int total = 0;
  for (const auto& j : run.jobs) {
    total += JobSteps(options, run.sets[j.job.set].components.size());
  }
  std::atomic<int> step{0};
  std::atomic<std::size_t> next{0};
  TrainingOptions opts = options;
  opts.trainers = run.options.trainers;
  auto worker = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= run.jobs.size()) return;
      JobResult& jr = run.jobs[i];
      try {
        RunJob(run, opts, &step, total, &jr);
      } catch (const std::exception& e) {
        jr.error = fmt::format("internal error: {}", e.what());
        jr.model.reset();
        jr.predictions.reset();
      }
    }
  };
  const int threads =
      std::clamp(options.threads, 1, static_cast<int>(std::max<std::size_t>(1, run.jobs.size())));
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(threads));
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
  }
  run.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return run;
}

}  // namespace wattson
