// Evaluation protocols and error metrics.
//   kepler:  MaxAbs scaler fitted on ALL rows, a random 90/10 split per component (seeded), MAE
//            per component on the 10 %; repeated over N seeds (Kepler's published protocol; it
//            leaks: neighbouring 3-s samples are near-duplicates and the scaler sees test rows).
//   blocked: contiguous k-fold cross-validation over time; the scaler is fitted on the training
//            folds only.
//   holdout: train on one data set (or time range), test on another.
// Pure functions over data; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "train/dataset.h"
#include "train/trainer.h"

namespace wattson {

enum class Protocol { kKepler, kBlocked, kHoldout };
std::string_view ProtocolName(Protocol p);
Result<Protocol> ParseProtocol(std::string_view name);
// The protocol as written in model metadata and reports: "kepler-random-split", "blocked-cv",
// "holdout".
std::string MetadataProtocolName(Protocol p);
// The current UTC time as ISO 8601 ("2026-11-23T18:00:00Z"), for metadata and reports.
std::string IsoUtcNow();

struct Metrics {
  std::size_t n = 0;
  double mae = kNoValue;
  double mape = kNoValue;  // %, over rows whose |y| > mape_floor; NaN if none qualify
  std::string mape_note;   // why MAPE is NaN, when it is
  double max_error = kNoValue;
  double r2 = kNoValue;  // NaN when y is constant
};

// MAE, MAPE (rows with y > mape_floor only), max error and R² of predictions against truth.
Metrics ComputeMetrics(const std::vector<double>& truth, const std::vector<double>& pred,
                       double mape_floor = 0.5);

struct EvalOptions {
  Protocol protocol = Protocol::kBlocked;
  int seeds = 20;  // kepler protocol: repetitions
  std::uint64_t first_seed = 1;
  int folds = 10;                    // blocked protocol
  double test_fraction = 0.1;        // kepler protocol
  const Dataset* holdout = nullptr;  // holdout protocol: the test set
  bool keep_predictions = true;      // keep out-of-sample predictions for plots
};

struct ComponentEval {
  Component component;
  Metrics pooled;                // over all out-of-sample predictions (blocked/holdout)
  std::vector<Metrics> repeats;  // one per seed (kepler) or fold (blocked)
  double median_mae = kNoValue, min_mae = kNoValue, max_mae = kNoValue;
  std::vector<double> truth, pred, timestamps;  // out-of-sample, for plots (blocked/holdout:
                                                // every row once; kepler: the first seed)
  std::string skipped;                          // non-empty: why this component was not trained
};

struct EvalResult {
  std::string trainer;
  std::string feature_group;
  Protocol protocol = Protocol::kBlocked;
  std::vector<ComponentEval> components;
  // Kepler's `mae` is the max over components of the per-component MAE; for kepler the median
  // over seeds of that max, with its min and max.
  double mae = kNoValue, mae_min = kNoValue, mae_max = kNoValue;
  double mape = kNoValue;  // the true max over components (not Kepler's last-component value)
  double seconds = 0;      // wall time spent fitting
  // How the protocol was run, for reports: "20 seeds from 1, test fraction 0.1",
  // "10 contiguous folds in time order", "holdout on <name> (N rows)". (wattson extension)
  std::string protocol_detail;
};

// Called before each fit: (trainer, feature group, component, step, total steps).
using ProgressFn = std::function<void(std::string_view trainer, std::string_view feature_group,
                                      Component component, int step, int total)>;

// Evaluates `trainer` on `data` for the given features and components under the protocol.
//   kepler:  splits come from std::mt19937_64(first_seed + i) driving a portable Fisher-Yates
//            shuffle (the same split for every component of a seed); test = ceil(fraction × n)
//            rows. Per component: repeats = per seed, pooled = over every seed's test rows.
//            mae = median over seeds of the per-seed max-over-components MAE, mae_min/mae_max
//            its range; mape = max over components of the median-over-seeds MAPE.
//   blocked: rows ordered by timestamp, `folds` contiguous blocks (sizes differ by at most 1,
//            the larger first, as scikit-learn's KFold). mae = max over components of the pooled
//            MAE, mape likewise; mae_min/mae_max stay NaN.
//   holdout: fit on all of `data`, test on all of options.holdout. mae/mape as for blocked.
// A component whose target is constant over a training set is not trained: it is predicted as
// that constant, `skipped` says so, and its metrics are still computed. A trainer error in any
// repetition marks the component `skipped` with the reason and its metrics NaN; the result's
// mae/mape are then NaN (the model cannot be evaluated as a whole). Never crashes on bad input:
// unknown features, absent targets or too few rows give an error. `progress` is called before
// each (repetition, component) fit, step 1..total, total = repetitions × components.
Result<EvalResult> Evaluate(const Dataset& data, const Trainer& trainer,
                            const std::string& feature_group,
                            const std::vector<std::string>& features,
                            const std::vector<Component>& components, const EvalOptions& options,
                            const ProgressFn& progress = nullptr);

// The metadata FitFinalModel cannot infer from the data set (wattson extension; all optional).
struct FinalModelOptions {
  int node_type = -1;  // ModelInfo.node_type; the model name uses 0 when it is < 0
  OutputType output_type = OutputType::kAbsPower;
  std::string energy_source;  // e.g. "rapl-sysfs"; empty: InferEnergySource(components)
  std::string created;        // ISO-8601 UTC; empty: the current time
  const EvalResult* evaluation = nullptr;  // fills ModelInfo.errors and the protocol note
};

// Kepler-style metadata errors of an evaluation: protocol "kepler-random-split" (per-component
// values are medians over seeds), "blocked-cv" or "holdout" (pooled values); mae and mape as in
// EvalResult. Components that failed to train have NaN errors.
ModelErrors ToModelErrors(const EvalResult& result);

// Fits the final model on all rows (scaler on all rows) and returns it with its metadata filled
// from the evaluation (errors, protocol, seeds, data-set hash, training range).
// ModelInfo: name "<Trainer>_<node_type or 0>", id = name (the caller may re-place the model),
// trainer, feature_group, node_type, output_type, energy_source, provenance (data-set name, its
// SHA-256, machine, created, tool "wattson 0.1.0", notes: the data set's notes, the protocol),
// training_range = min/max of each feature over the rows. A component whose target is constant
// over the rows is not trained: it gets MaxAbs + a LinearRegressor with intercept = the constant
// and zero coefficients (noted in provenance.notes). A trainer error fails the call, naming the
// component.
Result<std::unique_ptr<PipelineModel>> FitFinalModel(const Dataset& data, const Trainer& trainer,
                                                     const std::string& feature_group,
                                                     const std::vector<std::string>& features,
                                                     const std::vector<Component>& components,
                                                     std::uint64_t seed,
                                                     const FinalModelOptions& options = {});

}  // namespace wattson
