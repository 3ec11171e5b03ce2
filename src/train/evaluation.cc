#include "train/evaluation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <exception>
#include <numeric>
#include <random>
#include <set>
#include <utility>

#include "fmt/format.h"
#include "models/feature_groups.h"
#include "models/linear.h"
#include "models/transform.h"

namespace wattson {

std::string_view ProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kKepler:
      return "kepler";
    case Protocol::kBlocked:
      return "blocked";
    case Protocol::kHoldout:
      return "holdout";
  }
  return "blocked";
}

Result<Protocol> ParseProtocol(std::string_view name) {
  if (name == "kepler" || name == "kepler-random-split") return Protocol::kKepler;
  if (name == "blocked" || name == "blocked-cv") return Protocol::kBlocked;
  if (name == "holdout") return Protocol::kHoldout;
  return Status::InvalidArgument(
      fmt::format("unknown evaluation protocol '{}' (kepler, blocked, holdout)", name));
}

std::string IsoUtcNow() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string MetadataProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kKepler:
      return "kepler-random-split";
    case Protocol::kBlocked:
      return "blocked-cv";
    case Protocol::kHoldout:
      return "holdout";
  }
  return "blocked-cv";
}

Metrics ComputeMetrics(const std::vector<double>& truth, const std::vector<double>& pred,
                       double mape_floor) {
  Metrics m;
  if (truth.size() != pred.size()) {
    m.mape_note = fmt::format("truth ({} rows) and predictions ({} rows) differ in length",
                              truth.size(), pred.size());
    return m;
  }
  m.n = truth.size();
  if (m.n == 0) {
    m.mape_note = "no rows";
    return m;
  }
  double abs_sum = 0, max_err = 0, ape_sum = 0, y_sum = 0;
  std::size_t ape_n = 0;
  for (std::size_t i = 0; i < m.n; ++i) {
    const double e = std::abs(truth[i] - pred[i]);
    abs_sum += e;
    max_err = std::max(max_err, e);
    y_sum += truth[i];
    if (truth[i] > mape_floor) {
      ape_sum += e / truth[i];
      ++ape_n;
    }
  }
  const double n = static_cast<double>(m.n);
  m.mae = abs_sum / n;
  m.max_error = max_err;
  if (ape_n > 0) {
    m.mape = 100.0 * ape_sum / static_cast<double>(ape_n);
  } else {
    m.mape_note = fmt::format("no rows with y > {} W", mape_floor);
  }
  const double mean = y_sum / n;
  double ss_tot = 0, ss_res = 0;
  for (std::size_t i = 0; i < m.n; ++i) {
    ss_tot += (truth[i] - mean) * (truth[i] - mean);
    ss_res += (truth[i] - pred[i]) * (truth[i] - pred[i]);
  }
  m.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : kNoValue;
  return m;
}

namespace {

// Median of the finite values; NaN if none.
double Median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return kNoValue;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Max of the non-NaN values; NaN if none.
double MaxIgnoringNaN(const std::vector<double>& v) {
  double out = kNoValue;
  for (double x : v) {
    if (!std::isnan(x) && (std::isnan(out) || x > out)) out = x;
  }
  return out;
}

// Uniform integer in [0, bound) by rejection, so that splits are the same with every standard
// library (std::shuffle and std::uniform_int_distribution are implementation-defined).
std::uint64_t UniformBelow(std::mt19937_64& gen, std::uint64_t bound) {
  const std::uint64_t threshold = (std::uint64_t{0} - bound) % bound;  // 2^64 mod bound
  for (;;) {
    const std::uint64_t r = gen();
    if (r >= threshold) return r % bound;
  }
}

std::vector<std::size_t> ShuffledIndices(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  std::mt19937_64 gen(seed);
  for (std::size_t i = n; i > 1; --i) {
    const auto j = static_cast<std::size_t>(UniformBelow(gen, i));
    std::swap(idx[i - 1], idx[j]);
  }
  return idx;
}

// Max |x| per feature column over the given rows.
std::vector<double> MaxAbsScale(const Dataset& data, const std::vector<std::size_t>& cols,
                                const std::vector<std::size_t>& rows) {
  std::vector<double> scale(cols.size(), 0.0);
  for (std::size_t c = 0; c < cols.size(); ++c) {
    const auto& col = data.features[cols[c]];
    for (std::size_t r : rows) scale[c] = std::max(scale[c], std::abs(col[r]));
  }
  return scale;
}

std::vector<std::size_t> AllRows(std::size_t n) {
  std::vector<std::size_t> rows(n);
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  return rows;
}

std::string ConstantNote(double value) {
  return fmt::format("constant target ({:.6g} W): predicted as the constant", value);
}

// The shared inputs of every fit of one Evaluate/FitFinalModel call.
struct FitContext {
  const Dataset& data;
  const Trainer& trainer;
  const std::string& feature_group;
  const std::vector<std::string>& features;
  std::vector<std::size_t> cols;  // feature columns in data
};

struct Fitted {
  ComponentPipeline pipeline;
  bool constant = false;
  double constant_value = 0;
};

Result<ComponentPipeline> ConstantPipeline(Component c, const std::vector<std::string>& features,
                                           const std::vector<double>& scale, double value) {
  WATTSON_ASSIGN_OR_RETURN(auto t, MaxAbsTransform::Create(scale));
  WATTSON_ASSIGN_OR_RETURN(auto reg,
                           LinearRegressor::Create(value, std::vector<double>(features.size(), 0)));
  ComponentPipeline p;
  p.component = c;
  p.features = features;
  p.transforms.push_back(std::shared_ptr<const Transform>(std::move(t)));
  p.regressor = std::shared_ptr<const Regressor>(std::move(reg));
  return p;
}

// Fits one component on `rows` (or makes the constant pipeline). `seconds` accumulates fit time.
Result<Fitted> FitComponent(const FitContext& ctx, Component c,
                            const std::vector<std::size_t>& rows, const std::vector<double>& scale,
                            std::uint64_t seed, double* seconds) {
  const auto& y_all = ctx.data.targets.at(c);
  FitInput in;
  in.component = c;
  in.feature_group = ctx.feature_group;
  in.features = ctx.features;
  in.rows = rows.size();
  in.scale = scale;
  in.seed = seed;
  in.y.reserve(rows.size());
  for (std::size_t r : rows) in.y.push_back(y_all[r]);
  Fitted out;
  const auto [lo, hi] = std::minmax_element(in.y.begin(), in.y.end());
  if (lo != in.y.end() && *lo == *hi) {
    out.constant = true;
    out.constant_value = *lo;
    WATTSON_ASSIGN_OR_RETURN(out.pipeline, ConstantPipeline(c, ctx.features, scale, *lo));
    return out;
  }
  in.x.resize(rows.size() * ctx.cols.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t f = 0; f < ctx.cols.size(); ++f) {
      in.x[i * ctx.cols.size() + f] = ctx.data.features[ctx.cols[f]][rows[i]];
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  Result<ComponentPipeline> fitted = Status::Internal("trainer did not run");
  try {  // a trainer must not throw; if one does (a library it wraps), report it, never crash
    fitted = ctx.trainer.Fit(in);
  } catch (const std::exception& e) {
    fitted = Status::Internal(fmt::format("trainer threw: {}", e.what()));
  }
  *seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!fitted.ok()) return fitted.status();
  out.pipeline = std::move(fitted).value();
  if (out.pipeline.component != c) {
    return Status::Internal(fmt::format("trainer returned a {} pipeline for {}",
                                        ComponentName(out.pipeline.component), ComponentName(c)));
  }
  return out;
}

Result<std::vector<double>> PredictRows(const ComponentPipeline& pipeline, const Dataset& data,
                                        const std::vector<std::string>& features,
                                        const std::vector<std::size_t>& rows) {
  ModelInfo info;
  info.id = "evaluation";
  WATTSON_ASSIGN_OR_RETURN(auto model, PipelineModel::Create(std::move(info), {pipeline}));
  WATTSON_ASSIGN_OR_RETURN(FeatureMatrix x, data.Matrix(features, rows));
  if (rows.empty()) return std::vector<double>{};
  WATTSON_ASSIGN_OR_RETURN(PowerPrediction pred, model->Predict(x));
  if (pred.components.size() != 1) return Status::Internal("prediction has no component");
  std::vector<double> out;
  out.reserve(rows.size());
  for (Watts w : pred.components[0].watts) out.push_back(w.value());
  return out;
}

Status CheckInputs(const Dataset& data, std::string_view role,
                   const std::vector<std::string>& features,
                   const std::vector<Component>& components, std::size_t min_rows) {
  if (features.empty()) return Status::InvalidArgument("no features to train on");
  if (components.empty()) return Status::InvalidArgument("no components to train");
  std::set<std::string_view> seen_f;
  for (const auto& f : features) {
    if (!seen_f.insert(f).second) {
      return Status::InvalidArgument(fmt::format("feature '{}' listed twice", f));
    }
    if (data.FeatureIndex(f) < 0) {
      return Status::InvalidArgument(
          fmt::format("{} data set '{}' has no feature '{}' (it has: {})", role, data.name, f, [&] {
            std::string s;
            for (const auto& n : data.feature_names) s += (s.empty() ? "" : ", ") + n;
            return s;
          }()));
    }
  }
  std::set<Component> seen_c;
  for (Component c : components) {
    if (!seen_c.insert(c).second) {
      return Status::InvalidArgument(fmt::format("component '{}' listed twice", ComponentName(c)));
    }
    auto it = data.targets.find(c);
    if (it == data.targets.end()) {
      return Status::InvalidArgument(fmt::format("{} data set '{}' has no {} power (no {}_power)",
                                                 role, data.name, ComponentName(c),
                                                 ComponentName(c)));
    }
    if (it->second.size() != data.rows()) {
      return Status::InvalidArgument(fmt::format("{} data set '{}': {} power has {} rows, not {}",
                                                 role, data.name, ComponentName(c),
                                                 it->second.size(), data.rows()));
    }
  }
  if (data.features.size() != data.feature_names.size()) {
    return Status::InvalidArgument(
        fmt::format("{} data set '{}': feature columns and names differ", role, data.name));
  }
  for (const auto& col : data.features) {
    if (col.size() != data.rows()) {
      return Status::InvalidArgument(
          fmt::format("{} data set '{}': a feature column has {} rows, not {}", role, data.name,
                      col.size(), data.rows()));
    }
  }
  if (data.rows() < min_rows) {
    return Status::InvalidArgument(fmt::format("{} data set '{}' has {} rows; this needs {}", role,
                                               data.name, data.rows(), min_rows));
  }
  return Status::Ok();
}

// Per-component bookkeeping while a protocol runs.
struct ComponentRun {
  ComponentEval eval;
  std::string failure;  // first trainer error
  int constant_reps = 0;
  double constant_value = 0;
};

void FinishSkipped(ComponentRun& run, int reps, std::string_view what) {
  if (!run.failure.empty()) {
    run.eval.skipped = run.failure;
    run.eval.repeats.clear();
    run.eval.pooled = Metrics{};
    run.eval.truth.clear();
    run.eval.pred.clear();
    run.eval.timestamps.clear();
    return;
  }
  if (run.constant_reps == reps) {
    run.eval.skipped = ConstantNote(run.constant_value);
  } else if (run.constant_reps > 0) {
    run.eval.skipped =
        fmt::format("constant target in {} of {} {}: predicted as the constant there",
                    run.constant_reps, reps, what);
  }
}

void SetRepeatRange(ComponentEval& ce) {
  std::vector<double> maes;
  for (const auto& m : ce.repeats) maes.push_back(m.mae);
  ce.median_mae = Median(maes);
  if (!maes.empty()) {
    ce.min_mae = *std::min_element(maes.begin(), maes.end());
    ce.max_mae = *std::max_element(maes.begin(), maes.end());
  }
}

// Runs one (repetition, component) slot: fit on train, predict test. Returns false on failure
// (recorded in run.failure).
bool RunSlot(const FitContext& ctx, ComponentRun& run, const std::vector<std::size_t>& train,
             const std::vector<std::size_t>& test, const std::vector<double>& scale,
             std::uint64_t seed, std::string_view rep_name, double* seconds,
             std::vector<double>* pred) {
  const Component c = run.eval.component;
  auto fitted = FitComponent(ctx, c, train, scale, seed, seconds);
  if (!fitted.ok()) {
    run.failure = fmt::format("trainer failed ({}): {}", rep_name, fitted.status().message());
    return false;
  }
  if (fitted->constant) {
    ++run.constant_reps;
    run.constant_value = fitted->constant_value;
  }
  auto p = PredictRows(fitted->pipeline, ctx.data, ctx.features, test);
  if (!p.ok()) {
    run.failure = fmt::format("prediction failed ({}): {}", rep_name, p.status().message());
    return false;
  }
  *pred = std::move(p).value();
  return true;
}

std::vector<double> Gather(const std::vector<double>& v, const std::vector<std::size_t>& rows) {
  std::vector<double> out;
  out.reserve(rows.size());
  for (std::size_t r : rows) out.push_back(v[r]);
  return out;
}

Status EvaluateKepler(const FitContext& ctx, const std::vector<Component>& components,
                      const EvalOptions& options, const ProgressFn& progress, EvalResult* result) {
  const std::size_t n = ctx.data.rows();
  if (options.seeds < 1) return Status::InvalidArgument("kepler protocol: seeds must be >= 1");
  if (!(options.test_fraction > 0 && options.test_fraction < 1)) {
    return Status::InvalidArgument("kepler protocol: test_fraction must be in (0, 1)");
  }
  auto n_test = static_cast<std::size_t>(std::ceil(options.test_fraction * static_cast<double>(n)));
  n_test = std::clamp<std::size_t>(n_test, 1, n - 1);
  const std::vector<double> scale = MaxAbsScale(ctx.data, ctx.cols, AllRows(n));  // leaks (Kepler)
  result->protocol_detail =
      fmt::format("{} seeds from {}, test fraction {} ({} of {} rows)", options.seeds,
                  options.first_seed, options.test_fraction, n_test, n);
  std::vector<ComponentRun> runs(components.size());
  for (std::size_t ci = 0; ci < components.size(); ++ci) runs[ci].eval.component = components[ci];
  std::vector<std::vector<double>> pooled_truth(components.size()), pooled_pred(components.size());
  const int total = options.seeds * static_cast<int>(components.size());
  int step = 0;
  for (int i = 0; i < options.seeds; ++i) {
    const std::uint64_t seed = options.first_seed + static_cast<std::uint64_t>(i);
    std::vector<std::size_t> order = ShuffledIndices(n, seed);
    std::vector<std::size_t> test(order.begin(), order.begin() + static_cast<long>(n_test));
    std::vector<std::size_t> train(order.begin() + static_cast<long>(n_test), order.end());
    std::sort(test.begin(), test.end());
    std::sort(train.begin(), train.end());
    for (std::size_t ci = 0; ci < components.size(); ++ci) {
      ++step;
      if (progress) progress(ctx.trainer.name(), ctx.feature_group, components[ci], step, total);
      ComponentRun& run = runs[ci];
      if (!run.failure.empty()) continue;
      std::vector<double> pred;
      if (!RunSlot(ctx, run, train, test, scale, seed, fmt::format("seed {}", seed),
                   &result->seconds, &pred)) {
        continue;
      }
      const std::vector<double> truth = Gather(ctx.data.targets.at(components[ci]), test);
      run.eval.repeats.push_back(ComputeMetrics(truth, pred));
      pooled_truth[ci].insert(pooled_truth[ci].end(), truth.begin(), truth.end());
      pooled_pred[ci].insert(pooled_pred[ci].end(), pred.begin(), pred.end());
      if (i == 0 && options.keep_predictions) {
        run.eval.truth = truth;
        run.eval.pred = pred;
        run.eval.timestamps = Gather(ctx.data.timestamps, test);
      }
    }
  }
  bool any_failed = false;
  for (std::size_t ci = 0; ci < components.size(); ++ci) {
    ComponentRun& run = runs[ci];
    if (run.failure.empty()) {
      run.eval.pooled = ComputeMetrics(pooled_truth[ci], pooled_pred[ci]);
      SetRepeatRange(run.eval);
    } else {
      any_failed = true;
    }
    FinishSkipped(run, options.seeds, "seeds");
    result->components.push_back(std::move(run.eval));
  }
  if (any_failed) return Status::Ok();
  std::vector<double> per_seed_max;
  for (int i = 0; i < options.seeds; ++i) {
    std::vector<double> maes;
    for (const auto& ce : result->components)
      maes.push_back(ce.repeats[static_cast<std::size_t>(i)].mae);
    per_seed_max.push_back(MaxIgnoringNaN(maes));
  }
  result->mae = Median(per_seed_max);
  result->mae_min = *std::min_element(per_seed_max.begin(), per_seed_max.end());
  result->mae_max = *std::max_element(per_seed_max.begin(), per_seed_max.end());
  std::vector<double> mapes;
  for (const auto& ce : result->components) {
    std::vector<double> m;
    for (const auto& r : ce.repeats) m.push_back(r.mape);
    mapes.push_back(Median(m));
  }
  result->mape = MaxIgnoringNaN(mapes);
  return Status::Ok();
}

// Pooled mae/mape = max over components; NaN when a component failed.
void SetPooledSummary(EvalResult* result) {
  std::vector<double> maes, mapes;
  for (const auto& ce : result->components) {
    if (std::isnan(ce.pooled.mae)) {  // failed component
      result->mae = result->mape = kNoValue;
      return;
    }
    maes.push_back(ce.pooled.mae);
    mapes.push_back(ce.pooled.mape);
  }
  result->mae = MaxIgnoringNaN(maes);
  result->mape = MaxIgnoringNaN(mapes);
}

Status EvaluateBlocked(const FitContext& ctx, const std::vector<Component>& components,
                       const EvalOptions& options, const ProgressFn& progress, EvalResult* result) {
  const std::size_t n = ctx.data.rows();
  if (options.folds < 2) return Status::InvalidArgument("blocked protocol: folds must be >= 2");
  const auto k = static_cast<std::size_t>(options.folds);
  if (k > n) {
    return Status::InvalidArgument(fmt::format(
        "blocked protocol: {} folds need at least {} rows; the data set has {}", k, k, n));
  }
  std::vector<std::size_t> order = AllRows(n);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return ctx.data.timestamps[a] < ctx.data.timestamps[b];
  });
  result->protocol_detail =
      fmt::format("{} contiguous folds in time order over {} rows", options.folds, n);
  std::vector<ComponentRun> runs(components.size());
  for (std::size_t ci = 0; ci < components.size(); ++ci) runs[ci].eval.component = components[ci];
  std::vector<std::vector<double>> oos(components.size(), std::vector<double>(n, kNoValue));
  const int total = options.folds * static_cast<int>(components.size());
  int step = 0;
  std::size_t start = 0;
  for (std::size_t f = 0; f < k; ++f) {
    const std::size_t size = n / k + (f < n % k ? 1 : 0);
    const std::size_t end = start + size;
    std::vector<std::size_t> test(order.begin() + static_cast<long>(start),
                                  order.begin() + static_cast<long>(end));
    std::vector<std::size_t> train(order.begin(), order.begin() + static_cast<long>(start));
    train.insert(train.end(), order.begin() + static_cast<long>(end), order.end());
    const std::vector<double> scale = MaxAbsScale(ctx.data, ctx.cols, train);  // training only
    const std::uint64_t seed = options.first_seed + f;
    for (std::size_t ci = 0; ci < components.size(); ++ci) {
      ++step;
      if (progress) progress(ctx.trainer.name(), ctx.feature_group, components[ci], step, total);
      ComponentRun& run = runs[ci];
      if (!run.failure.empty()) continue;
      std::vector<double> pred;
      if (!RunSlot(ctx, run, train, test, scale, seed, fmt::format("fold {} of {}", f + 1, k),
                   &result->seconds, &pred)) {
        continue;
      }
      run.eval.repeats.push_back(
          ComputeMetrics(Gather(ctx.data.targets.at(components[ci]), test), pred));
      for (std::size_t i = 0; i < test.size(); ++i) oos[ci][start + i] = pred[i];
    }
    start = end;
  }
  for (std::size_t ci = 0; ci < components.size(); ++ci) {
    ComponentRun& run = runs[ci];
    if (run.failure.empty()) {
      const std::vector<double> truth = Gather(ctx.data.targets.at(components[ci]), order);
      run.eval.pooled = ComputeMetrics(truth, oos[ci]);
      SetRepeatRange(run.eval);
      if (options.keep_predictions) {
        run.eval.truth = truth;
        run.eval.pred = std::move(oos[ci]);
        run.eval.timestamps = Gather(ctx.data.timestamps, order);
      }
    }
    FinishSkipped(run, options.folds, "folds");
    result->components.push_back(std::move(run.eval));
  }
  SetPooledSummary(result);
  return Status::Ok();
}

Status EvaluateHoldout(const FitContext& ctx, const std::vector<Component>& components,
                       const EvalOptions& options, const ProgressFn& progress, EvalResult* result) {
  const Dataset& test_data = *options.holdout;
  const std::vector<std::size_t> train = AllRows(ctx.data.rows());
  const std::vector<std::size_t> test = AllRows(test_data.rows());
  const std::vector<double> scale = MaxAbsScale(ctx.data, ctx.cols, train);
  result->protocol_detail =
      fmt::format("trained on '{}' ({} rows), tested on '{}' ({} rows)", ctx.data.name,
                  ctx.data.rows(), test_data.name, test_data.rows());
  const int total = static_cast<int>(components.size());
  for (std::size_t ci = 0; ci < components.size(); ++ci) {
    const Component c = components[ci];
    if (progress)
      progress(ctx.trainer.name(), ctx.feature_group, c, static_cast<int>(ci) + 1, total);
    ComponentRun run;
    run.eval.component = c;
    auto fitted = FitComponent(ctx, c, train, scale, options.first_seed, &result->seconds);
    if (!fitted.ok()) {
      run.failure = fmt::format("trainer failed: {}", fitted.status().message());
    } else {
      if (fitted->constant) {
        run.constant_reps = 1;
        run.constant_value = fitted->constant_value;
      }
      auto pred = PredictRows(fitted->pipeline, test_data, ctx.features, test);
      if (!pred.ok()) {
        run.failure = fmt::format("prediction failed: {}", pred.status().message());
      } else {
        const std::vector<double>& truth = test_data.targets.at(c);
        run.eval.pooled = ComputeMetrics(truth, *pred);
        run.eval.repeats.push_back(run.eval.pooled);
        SetRepeatRange(run.eval);
        if (options.keep_predictions) {
          run.eval.truth = truth;
          run.eval.pred = std::move(pred).value();
          run.eval.timestamps = test_data.timestamps;
        }
      }
    }
    FinishSkipped(run, 1, "runs");
    result->components.push_back(std::move(run.eval));
  }
  SetPooledSummary(result);
  return Status::Ok();
}

Result<std::vector<std::size_t>> FeatureColumns(const Dataset& data,
                                                const std::vector<std::string>& features) {
  std::vector<std::size_t> cols;
  for (const auto& f : features) {
    const long c = data.FeatureIndex(f);
    if (c < 0) return Status::InvalidArgument(fmt::format("no feature '{}'", f));
    cols.push_back(static_cast<std::size_t>(c));
  }
  return cols;
}

}  // namespace

Result<EvalResult> Evaluate(const Dataset& data, const Trainer& trainer,
                            const std::string& feature_group,
                            const std::vector<std::string>& features,
                            const std::vector<Component>& components, const EvalOptions& options,
                            const ProgressFn& progress) {
  WATTSON_RETURN_IF_ERROR(CheckInputs(data, "training", features, components, 2));
  if (options.protocol == Protocol::kHoldout) {
    if (options.holdout == nullptr) {
      return Status::InvalidArgument("holdout protocol: no holdout data set given");
    }
    WATTSON_RETURN_IF_ERROR(CheckInputs(*options.holdout, "holdout", features, components, 1));
  }
  WATTSON_ASSIGN_OR_RETURN(std::vector<std::size_t> cols, FeatureColumns(data, features));
  const FitContext ctx{data, trainer, feature_group, features, std::move(cols)};
  EvalResult result;
  result.trainer = std::string(trainer.name());
  result.feature_group = feature_group;
  result.protocol = options.protocol;
  switch (options.protocol) {
    case Protocol::kKepler:
      WATTSON_RETURN_IF_ERROR(EvaluateKepler(ctx, components, options, progress, &result));
      break;
    case Protocol::kBlocked:
      WATTSON_RETURN_IF_ERROR(EvaluateBlocked(ctx, components, options, progress, &result));
      break;
    case Protocol::kHoldout:
      WATTSON_RETURN_IF_ERROR(EvaluateHoldout(ctx, components, options, progress, &result));
      break;
  }
  return result;
}

ModelErrors ToModelErrors(const EvalResult& result) {
  ModelErrors e;
  e.protocol = MetadataProtocolName(result.protocol);
  e.mae = result.mae;
  e.mape = result.mape;
  for (const auto& ce : result.components) {
    ComponentErrors c;
    if (result.protocol == Protocol::kKepler) {
      std::vector<double> mae, mape, max_error, r2;
      for (const auto& m : ce.repeats) {
        mae.push_back(m.mae);
        mape.push_back(m.mape);
        max_error.push_back(m.max_error);
        r2.push_back(m.r2);
      }
      c = {Median(mae), Median(mape), Median(max_error), Median(r2)};
    } else {
      c = {ce.pooled.mae, ce.pooled.mape, ce.pooled.max_error, ce.pooled.r2};
    }
    e.per_component[std::string(ComponentName(ce.component))] = c;
  }
  return e;
}

Result<std::unique_ptr<PipelineModel>> FitFinalModel(const Dataset& data, const Trainer& trainer,
                                                     const std::string& feature_group,
                                                     const std::vector<std::string>& features,
                                                     const std::vector<Component>& components,
                                                     std::uint64_t seed,
                                                     const FinalModelOptions& options) {
  WATTSON_RETURN_IF_ERROR(CheckInputs(data, "training", features, components, 2));
  WATTSON_ASSIGN_OR_RETURN(std::vector<std::size_t> cols, FeatureColumns(data, features));
  const FitContext ctx{data, trainer, feature_group, features, std::move(cols)};
  const std::vector<std::size_t> rows = AllRows(data.rows());
  const std::vector<double> scale = MaxAbsScale(data, ctx.cols, rows);
  std::vector<ComponentPipeline> pipelines;
  std::vector<std::string> notes = data.notes;
  double seconds = 0;
  for (Component c : components) {
    auto fitted = FitComponent(ctx, c, rows, scale, seed, &seconds);
    if (!fitted.ok()) {
      return fitted.status().WithContext(
          fmt::format("{} on {} ({})", trainer.name(), ComponentName(c), feature_group));
    }
    if (fitted->constant) {
      notes.push_back(fmt::format("{}: {} (intercept-only linear model)", ComponentName(c),
                                  ConstantNote(fitted->constant_value)));
    }
    pipelines.push_back(std::move(fitted->pipeline));
  }
  ModelInfo info;
  info.trainer = std::string(trainer.name());
  info.name = fmt::format("{}_{}", trainer.name(), options.node_type < 0 ? 0 : options.node_type);
  info.id = info.name;
  info.output_type = options.output_type;
  info.energy_source =
      options.energy_source.empty() ? InferEnergySource(components) : options.energy_source;
  info.feature_group = feature_group;
  info.node_type = options.node_type;
  Provenance& p = info.provenance;
  p.dataset = data.name;
  p.dataset_sha256 = data.sha256;
  p.machine = data.machine;
  p.machine_spec = data.machine_spec;
  p.trainer = info.trainer;
  p.created = options.created.empty() ? IsoUtcNow() : options.created;
  p.tool = "wattson 0.1.0";
  if (options.evaluation != nullptr) {
    info.errors = ToModelErrors(*options.evaluation);
    notes.push_back(
        fmt::format("errors: {} ({})", info.errors.protocol, options.evaluation->protocol_detail));
  }
  notes.push_back(fmt::format("final fit on all {} rows, seed {}", data.rows(), seed));
  for (const auto& n : notes) p.notes += (p.notes.empty() ? "" : "; ") + n;
  for (std::size_t f = 0; f < features.size(); ++f) {
    const auto& col = data.features[ctx.cols[f]];
    const auto [lo, hi] = std::minmax_element(col.begin(), col.end());
    info.training_range.push_back({features[f], *lo, *hi});
  }
  return PipelineModel::Create(std::move(info), std::move(pipelines));
}

}  // namespace wattson
