// Training run orchestration: for every energy source × output type × feature group × trainer,
// evaluate the trainer under the chosen protocols and (for `wattson train`) fit the final model
// on all rows. Jobs run on a small pool of threads; results are stored by job index, so the
// output is the same whatever the thread count. Pure over data sets (no file I/O): the model DB
// writer and the report consume the result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/json_util.h"
#include "common/status.h"
#include "models/feature_groups.h"
#include "models/power_model.h"
#include "train/dataset.h"
#include "train/evaluation.h"
#include "train/isolation.h"

namespace wattson {

// What to train and how to evaluate it.
struct TrainingOptions {
  // Canonical or Kepler energy-source names ("rapl", "rapl-sysfs", "acpi"). Empty: every known
  // source with at least one target in the data.
  std::vector<std::string> energy_sources;
  std::vector<OutputType> output_types = {OutputType::kAbsPower, OutputType::kDynPower};
  // Kepler feature-group names. Empty: every group whose features are all in the data.
  std::vector<std::string> feature_groups;
  // Trainer names (see MakeTrainer). Empty: Kepler's ten.
  std::vector<std::string> trainers;
  // Feature-name generation; nullopt: v0.6 when the data has bpf_cpu_time_us, else v0.7.
  std::optional<KeplerFeatureVersion> feature_version;
  // How DynPower targets are made from AbsPower ones; `idle` is needed for kProfile.
  IsolationMethod isolation = IsolationMethod::kMin;
  const Dataset* idle = nullptr;
  // Evaluation protocols, in order; the first is the one recorded in model metadata. Empty: no
  // evaluation (models carry no errors).
  std::vector<Protocol> protocols = {Protocol::kBlocked};
  int seeds = 20;                // kepler protocol
  std::uint64_t first_seed = 1;  // kepler protocol, blocked folds, final fits
  int folds = 10;                // blocked protocol
  double test_fraction = 0.1;    // kepler protocol
  // Holdout protocol: separate test data sets (matched to training sets by energy source), or,
  // when none holds a source, the trailing rows of the training set in file order: from the
  // 1-based row holdout_from_row when > 0, else the last holdout_fraction of the rows.
  std::vector<const Dataset*> holdout_sets;
  std::size_t holdout_from_row = 0;
  double holdout_fraction = 0.2;
  bool fit_final = true;  // false for `wattson evaluate`
  int node_type = 0;      // kepler-model-db node type of the models
  std::string created;    // ISO-8601 UTC stamped on every model; empty: now
  int threads = 2;
  bool keep_predictions = true;  // keep out-of-sample predictions (for report plots)
  // Called before each fit with the run-wide step and total (thread-safe callee required).
  ProgressFn progress;
};

// The rows one energy source × output type is trained on.
struct TrainingSet {
  std::string energy_source;  // canonical, e.g. "rapl-sysfs"
  OutputType output_type = OutputType::kAbsPower;
  std::vector<Component> components;       // the source's components present in the data
  Dataset data;                            // DynPower: isolated
  std::map<Component, double> idle_watts;  // DynPower: what isolation subtracted
  std::optional<Dataset> holdout;          // the holdout protocol's test rows
  // The holdout protocol's training rows when the test rows were split off `data`; else the
  // protocol trains on all of `data`.
  std::optional<Dataset> holdout_train;
  std::string holdout_origin;               // where they came from, for reports
  std::vector<std::string> feature_groups;  // groups trained, in Kepler's dict order
};

// One trainer on one feature group of one training set.
struct TrainingJob {
  std::size_t set = 0;  // index into TrainingRunResult::sets
  std::string feature_group;
  std::vector<std::string> features;  // sorted (Kepler's column order)
  std::string trainer;
};

struct JobResult {
  TrainingJob job;
  std::vector<EvalResult> evaluations;         // one per TrainingOptions::protocols entry
  std::string error;                           // non-empty: the job failed (no model)
  std::shared_ptr<const PipelineModel> model;  // the final model (fit_final)
  // The final model's predictions on the training rows (the set's data, in row order).
  std::optional<PowerPrediction> predictions;
  double seconds = 0;  // wall time of the job
  // The evaluation under `p`, or null.
  const EvalResult* Evaluation(Protocol p) const;
};

struct TrainingRunResult {
  std::vector<TrainingSet> sets;
  std::vector<JobResult> jobs;  // ordered by set, feature group (dict order), trainer (as given)
  KeplerFeatureVersion feature_version = KeplerFeatureVersion::kV07;
  TrainingOptions options;                 // as run (progress and pointers cleared)
  std::vector<std::string> input_names;    // training data set names
  std::vector<std::string> input_origins;  // their files
  std::vector<std::string> input_sha256;   // their hashes
  std::vector<std::string> notes;          // what the run decided (skipped sources, ...)
  std::string created;
  double wall_seconds = 0;
  std::size_t models() const;  // jobs with a final model
  std::size_t failures() const;
};

// Plans the jobs: the training sets (one per energy source × output type, with isolation and
// holdout rows) and the feature groups of each. Fails with a clear message when the options
// do not fit the data (unknown source or trainer, missing targets or features, too few rows).
Result<TrainingRunResult> PlanTraining(const std::vector<const Dataset*>& data,
                                       const TrainingOptions& options);

// Plans and runs every job. A job whose evaluation or final fit fails is recorded (error) and
// the run goes on.
Result<TrainingRunResult> RunTraining(const std::vector<const Dataset*>& data,
                                      const TrainingOptions& options);

// "1/3", "0.5", "2": a positive finite factor.
Result<double> ParseScaleFactor(std::string_view text);

// The run's inputs ([{name, origin, sha256}]) and protocols (metadata names), as the model DB's
// pipeline metadata and the report's JSON summary both record them.
Json InputDatasetsJson(const TrainingRunResult& run);
Json ProtocolsJson(const TrainingOptions& options);

// The canonical source names accepted by the trainer ("rapl-sysfs", "acpi"), for help texts.
std::vector<std::string> TrainableEnergySources();

// The Kepler model_class of a trainer's family: "xgboost", "curvefit" or "scikit"; "wattson" for
// wattson's own trainers.
std::string KeplerModelClass(std::string_view trainer);

}  // namespace wattson
