#include "train/evaluation.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/linear.h"
#include "models/transform.h"

namespace wattson {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ------------------------------------------------------------------------------------------------
// Test trainers (independent of the real trainers)

Result<ComponentPipeline> ConstantModel(const FitInput& in, double value) {
  WATTSON_ASSIGN_OR_RETURN(auto t, MaxAbsTransform::Create(in.scale));
  WATTSON_ASSIGN_OR_RETURN(auto r,
                           LinearRegressor::Create(value, std::vector<double>(in.features.size())));
  ComponentPipeline p;
  p.component = in.component;
  p.features = in.features;
  p.transforms.push_back(std::move(t));
  p.regressor = std::move(r);
  return p;
}

// Predicts the mean of the training targets; records what it was given.
class MeanTrainer final : public Trainer {
 public:
  struct Call {
    Component component;
    std::size_t rows;
    std::vector<double> y;
    std::vector<double> scale;
    std::uint64_t seed;
  };
  std::string_view name() const override { return "MeanTrainer"; }
  Result<ComponentPipeline> Fit(const FitInput& in) const override {
    {
      std::lock_guard lock(mu_);
      calls_.push_back({in.component, in.rows, in.y, in.scale, in.seed});
    }
    if (in.x.size() != in.rows * in.features.size() || in.y.size() != in.rows) {
      return Status::Internal("bad FitInput shape");
    }
    const double mean =
        std::accumulate(in.y.begin(), in.y.end(), 0.0) / static_cast<double>(in.y.size());
    return ConstantModel(in, mean);
  }
  std::vector<Call> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  mutable std::vector<Call> calls_;
};

// Predicts the MaxAbs scale of its first feature: reveals which rows the scaler saw.
class ScaleTrainer final : public Trainer {
 public:
  std::string_view name() const override { return "ScaleTrainer"; }
  Result<ComponentPipeline> Fit(const FitInput& in) const override {
    return ConstantModel(in, in.scale.at(0));
  }
};

// Fails for one component.
class FailingTrainer final : public Trainer {
 public:
  explicit FailingTrainer(Component bad) : bad_(bad) {}
  std::string_view name() const override { return "FailingTrainer"; }
  Result<ComponentPipeline> Fit(const FitInput& in) const override {
    if (in.component == bad_) return Status::FailedPrecondition("curve fit did not converge");
    return ConstantModel(in, 1.0);
  }

 private:
  Component bad_;
};

// n rows stored out of time order; y = time rank (0..n-1) for package, dram = 2 × rank + 1,
// core = 0; feature x = rank + 1.
Dataset Synthetic(std::size_t n) {
  Dataset ds;
  ds.name = "synthetic";
  ds.sha256 = "00ff";
  ds.feature_names = {"x", "z"};
  ds.features.assign(2, {});
  // Permutation: even ranks first, then odd ranks.
  std::vector<std::size_t> ranks;
  for (std::size_t r = 0; r < n; r += 2) ranks.push_back(r);
  for (std::size_t r = 1; r < n; r += 2) ranks.push_back(r);
  for (std::size_t rank : ranks) {
    const auto v = static_cast<double>(rank);
    ds.timestamps.push_back(1000 + 3 * v);
    ds.features[0].push_back(v + 1);
    ds.features[1].push_back(-2 * v);
    ds.targets[Component::kPackage].push_back(v);
    ds.targets[Component::kDram].push_back(2 * v + 1);
    ds.targets[Component::kCore].push_back(0);
  }
  return ds;
}

const std::vector<std::string> kFeatures = {"x", "z"};

// ------------------------------------------------------------------------------------------------
// Metrics

TEST(ComputeMetricsTest, HandComputed) {
  Metrics m = ComputeMetrics({1, 2, 3, 4}, {1.5, 2, 2, 5});
  EXPECT_EQ(m.n, 4u);
  EXPECT_DOUBLE_EQ(m.mae, 0.625);
  EXPECT_DOUBLE_EQ(m.max_error, 1.0);
  EXPECT_NEAR(m.mape, (0.5 / 1 + 0 + 1.0 / 3 + 1.0 / 4) / 4 * 100, 1e-12);
  EXPECT_NEAR(m.r2, 1 - 2.25 / 5, 1e-12);
  EXPECT_TRUE(m.mape_note.empty());
}

TEST(ComputeMetricsTest, MapeOnlyOverRowsAboveTheFloor) {
  Metrics m = ComputeMetrics({0, 0.4, 10}, {1, 0.4, 12});
  EXPECT_DOUBLE_EQ(m.mape, 20.0);
  EXPECT_DOUBLE_EQ(m.mae, 1.0);
  Metrics zeros = ComputeMetrics({0, 0, 0}, {0, 1, 0});
  EXPECT_TRUE(std::isnan(zeros.mape));
  EXPECT_EQ(zeros.mape_note, "no rows with y > 0.5 W");
  EXPECT_TRUE(std::isnan(zeros.r2)) << "constant truth";
  Metrics custom = ComputeMetrics({1, 2}, {1, 2}, 5.0);
  EXPECT_EQ(custom.mape_note, "no rows with y > 5 W");
}

TEST(ComputeMetricsTest, LengthMismatchAndEmpty) {
  Metrics m = ComputeMetrics({1, 2}, {1});
  EXPECT_EQ(m.n, 0u);
  EXPECT_TRUE(std::isnan(m.mae));
  EXPECT_THAT(m.mape_note, HasSubstr("differ"));
  EXPECT_TRUE(std::isnan(ComputeMetrics({}, {}).mae));
}

TEST(ProtocolTest, Names) {
  for (Protocol p : {Protocol::kKepler, Protocol::kBlocked, Protocol::kHoldout}) {
    auto parsed = ParseProtocol(ProtocolName(p));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, p);
  }
  EXPECT_EQ(*ParseProtocol("blocked-cv"), Protocol::kBlocked);
  EXPECT_FALSE(ParseProtocol("random").ok());
}

// ------------------------------------------------------------------------------------------------
// Blocked CV

TEST(BlockedTest, FoldsAreContiguousInTimeAndCoverEveryRowOnce) {
  const Dataset ds = Synthetic(10);
  MeanTrainer trainer;
  EvalOptions opt;
  opt.protocol = Protocol::kBlocked;
  opt.folds = 3;
  auto r = Evaluate(ds, trainer, "FG", kFeatures, {Component::kPackage}, opt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->components.size(), 1u);
  const ComponentEval& ce = r->components[0];
  // Every row once, in time order.
  EXPECT_THAT(ce.timestamps,
              ElementsAre(1000, 1003, 1006, 1009, 1012, 1015, 1018, 1021, 1024, 1027));
  EXPECT_THAT(ce.truth, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
  // Folds (KFold sizes 4, 3, 3) over time ranks 0-3, 4-6, 7-9; each predicted by the mean of
  // the other two blocks.
  const double f0 = (4 + 5 + 6 + 7 + 8 + 9) / 6.0, f1 = (0 + 1 + 2 + 3 + 7 + 8 + 9) / 7.0,
               f2 = (0 + 1 + 2 + 3 + 4 + 5 + 6) / 7.0;
  EXPECT_THAT(ce.pred, ElementsAre(f0, f0, f0, f0, f1, f1, f1, f2, f2, f2));
  ASSERT_EQ(ce.repeats.size(), 3u);
  EXPECT_EQ(ce.repeats[0].n, 4u);
  EXPECT_EQ(ce.repeats[1].n, 3u);
  EXPECT_EQ(ce.repeats[2].n, 3u);
  EXPECT_EQ(ce.pooled.n, 10u);
  // The training rows never include the held-out block.
  const auto calls = trainer.calls();
  ASSERT_EQ(calls.size(), 3u);
  std::multiset<double> seen;
  for (std::size_t f = 0; f < 3; ++f) {
    EXPECT_EQ(calls[f].rows, 10 - ce.repeats[f].n);
    EXPECT_EQ(calls[f].seed, 1 + f);
    for (double y : calls[f].y) seen.insert(y);
  }
  // Each row is in the training set of exactly k - 1 folds.
  for (int y = 0; y < 10; ++y) EXPECT_EQ(seen.count(y), 2u) << y;
  EXPECT_DOUBLE_EQ(r->mae, ce.pooled.mae);
  EXPECT_TRUE(std::isnan(r->mae_min));
  EXPECT_EQ(r->protocol_detail, "3 contiguous folds in time order over 10 rows");
}

TEST(BlockedTest, ScalerNeverSeesTestRows) {
  Dataset ds = Synthetic(10);
  // One outlier in time rank 8 (fold 3 of 3 with folds 4/3/3).
  const auto it = std::find(ds.timestamps.begin(), ds.timestamps.end(), 1000 + 3 * 8);
  const auto row = static_cast<std::size_t>(it - ds.timestamps.begin());
  ds.features[0][row] = 1e6;
  ScaleTrainer trainer;
  EvalOptions opt;
  opt.protocol = Protocol::kBlocked;
  opt.folds = 3;
  auto r = Evaluate(ds, trainer, "FG", kFeatures, {Component::kPackage}, opt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& pred = r->components[0].pred;
  // Folds 1 and 2 train on the outlier; fold 3 holds it out, so its scaler must not see it: the
  // max |x| over ranks 0-6 is 7.
  for (std::size_t i = 0; i < 7; ++i) EXPECT_EQ(pred[i], 1e6) << i;
  for (std::size_t i = 7; i < 10; ++i) EXPECT_EQ(pred[i], 7) << i;

  // Kepler's protocol fits the scaler on all rows (documented leak): every prediction sees it.
  opt.protocol = Protocol::kKepler;
  opt.seeds = 3;
  auto k = Evaluate(ds, trainer, "FG", kFeatures, {Component::kPackage}, opt);
  ASSERT_TRUE(k.ok());
  for (double p : k->components[0].pred) EXPECT_EQ(p, 1e6);
}

TEST(BlockedTest, BadFolds) {
  const Dataset ds = Synthetic(5);
  MeanTrainer trainer;
  EvalOptions opt;
  opt.protocol = Protocol::kBlocked;
  opt.folds = 1;
  EXPECT_FALSE(Evaluate(ds, trainer, "FG", kFeatures, {Component::kPackage}, opt).ok());
  opt.folds = 6;
  auto r = Evaluate(ds, trainer, "FG", kFeatures, {Component::kPackage}, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("6 folds need at least 6 rows"));
}

// ------------------------------------------------------------------------------------------------
// Kepler random split

TEST(KeplerTest, SeededSplitsAreDeterministicAndDisjoint) {
  const Dataset ds = Synthetic(40);
  EvalOptions opt;
  opt.protocol = Protocol::kKepler;
  opt.seeds = 5;
  opt.first_seed = 7;
  MeanTrainer a, b;
  auto ra = Evaluate(ds, a, "FG", kFeatures, {Component::kPackage, Component::kDram}, opt);
  auto rb = Evaluate(ds, b, "FG", kFeatures, {Component::kPackage, Component::kDram}, opt);
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_EQ(ra->mae, rb->mae);
  EXPECT_EQ(ra->components[0].pred, rb->components[0].pred);
  EXPECT_EQ(ra->protocol_detail, "5 seeds from 7, test fraction 0.1 (4 of 40 rows)");
  const auto calls = a.calls();
  ASSERT_EQ(calls.size(), 10u);
  for (std::size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].rows, 36u);
    EXPECT_EQ(calls[i].seed, 7 + i / 2);
    // The scaler is fitted on all rows: max |x| = 40, max |z| = 78.
    EXPECT_THAT(calls[i].scale, ElementsAre(40, 78));
  }
  // Same split for both components of a seed; train and test disjoint and complete.
  const ComponentEval& pkg = ra->components[0];
  ASSERT_EQ(pkg.truth.size(), 4u);
  std::set<double> all(calls[0].y.begin(), calls[0].y.end());
  for (double y : pkg.truth) EXPECT_TRUE(all.insert(y).second) << "test row also in train";
  EXPECT_EQ(all.size(), 40u);
  std::vector<double> dram_train_ranks;
  for (double y : calls[1].y) dram_train_ranks.push_back((y - 1) / 2);
  EXPECT_EQ(dram_train_ranks, calls[0].y);
  // Another first seed gives another split.
  opt.first_seed = 8;
  MeanTrainer c;
  auto rc = Evaluate(ds, c, "FG", kFeatures, {Component::kPackage}, opt);
  ASSERT_TRUE(rc.ok());
  EXPECT_NE(rc->components[0].truth, pkg.truth);
}

TEST(KeplerTest, SummaryIsMedianOfPerSeedMaxOverComponents) {
  const Dataset ds = Synthetic(30);
  MeanTrainer trainer;
  EvalOptions opt;
  opt.protocol = Protocol::kKepler;
  opt.seeds = 4;
  auto r = Evaluate(ds, trainer, "FG", kFeatures, {Component::kPackage, Component::kDram}, opt);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->components.size(), 2u);
  std::vector<double> per_seed;
  for (std::size_t s = 0; s < 4; ++s) {
    per_seed.push_back(std::max(r->components[0].repeats[s].mae, r->components[1].repeats[s].mae));
  }
  std::sort(per_seed.begin(), per_seed.end());
  EXPECT_DOUBLE_EQ(r->mae, (per_seed[1] + per_seed[2]) / 2);
  EXPECT_DOUBLE_EQ(r->mae_min, per_seed.front());
  EXPECT_DOUBLE_EQ(r->mae_max, per_seed.back());
  // dram = 2 × package + 1, so its errors are exactly twice as large.
  for (std::size_t s = 0; s < 4; ++s) {
    EXPECT_NEAR(r->components[1].repeats[s].mae, 2 * r->components[0].repeats[s].mae, 1e-9);
  }
  const auto& d = r->components[1];
  EXPECT_LE(d.min_mae, d.median_mae);
  EXPECT_LE(d.median_mae, d.max_mae);
  EXPECT_EQ(d.pooled.n, 4u * 3u) << "pooled over every seed's test rows";
}

TEST(KeplerTest, BadOptions) {
  const Dataset ds = Synthetic(10);
  MeanTrainer trainer;
  EvalOptions opt;
  opt.protocol = Protocol::kKepler;
  opt.seeds = 0;
  EXPECT_FALSE(Evaluate(ds, trainer, "FG", kFeatures, {Component::kPackage}, opt).ok());
  opt.seeds = 1;
  opt.test_fraction = 1.0;
  EXPECT_FALSE(Evaluate(ds, trainer, "FG", kFeatures, {Component::kPackage}, opt).ok());
}

// ------------------------------------------------------------------------------------------------
// Constant targets, trainer errors, bad inputs, progress

TEST(EvaluateTest, ConstantTargetIsNotTrained) {
  const Dataset ds = Synthetic(20);
  MeanTrainer trainer;
  EvalOptions opt;
  opt.protocol = Protocol::kBlocked;
  opt.folds = 4;
  auto r = Evaluate(ds, trainer, "FG", kFeatures, {Component::kPackage, Component::kCore}, opt);
  ASSERT_TRUE(r.ok());
  for (const auto& call : trainer.calls()) EXPECT_EQ(call.component, Component::kPackage);
  const ComponentEval& core = r->components[1];
  EXPECT_EQ(core.skipped, "constant target (0 W): predicted as the constant");
  EXPECT_DOUBLE_EQ(core.pooled.mae, 0.0);
  EXPECT_TRUE(std::isnan(core.pooled.mape));
  EXPECT_TRUE(std::all_of(core.pred.begin(), core.pred.end(), [](double p) { return p == 0; }));
  EXPECT_TRUE(r->components[0].skipped.empty());
  EXPECT_DOUBLE_EQ(r->mae, r->components[0].pooled.mae);
}

TEST(EvaluateTest, TrainerErrorSkipsTheComponent) {
  const Dataset ds = Synthetic(20);
  FailingTrainer trainer(Component::kDram);
  for (Protocol p : {Protocol::kKepler, Protocol::kBlocked}) {
    EvalOptions opt;
    opt.protocol = p;
    opt.seeds = 3;
    opt.folds = 4;
    auto r = Evaluate(ds, trainer, "FG", kFeatures, {Component::kPackage, Component::kDram}, opt);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_THAT(r->components[1].skipped, HasSubstr("curve fit did not converge"));
    EXPECT_THAT(r->components[1].skipped, HasSubstr(p == Protocol::kKepler ? "seed 1" : "fold 1"));
    EXPECT_TRUE(std::isnan(r->components[1].pooled.mae));
    EXPECT_FALSE(std::isnan(r->components[0].pooled.mae));
    EXPECT_TRUE(std::isnan(r->mae));
  }
}

// Throws (a trainer must not, but a wrapped library might).
class ThrowingTrainer final : public Trainer {
 public:
  std::string_view name() const override { return "ThrowingTrainer"; }
  Result<ComponentPipeline> Fit(const FitInput& in) const override {
    return ConstantModel(in, in.y.at(in.y.size()));  // out of range: throws
  }
};

TEST(EvaluateTest, ATrainerThatThrowsIsReportedNotFatal) {
  const Dataset ds = Synthetic(10);
  ThrowingTrainer trainer;
  EvalOptions opt;
  opt.folds = 2;
  auto r = Evaluate(ds, trainer, "FG", kFeatures, {Component::kPackage}, opt);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->components[0].skipped, HasSubstr("trainer threw"));
  EXPECT_TRUE(std::isnan(r->mae));
}

TEST(EvaluateTest, BadInputsAreErrors) {
  const Dataset ds = Synthetic(10);
  MeanTrainer trainer;
  EvalOptions opt;
  auto no_target = Evaluate(ds, trainer, "FG", kFeatures, {Component::kPlatform}, opt);
  ASSERT_FALSE(no_target.ok());
  EXPECT_THAT(no_target.status().message(), HasSubstr("has no platform power"));
  auto no_feature = Evaluate(ds, trainer, "FG", {"x", "nope"}, {Component::kPackage}, opt);
  ASSERT_FALSE(no_feature.ok());
  EXPECT_THAT(no_feature.status().message(), HasSubstr("no feature 'nope'"));
  EXPECT_FALSE(Evaluate(ds, trainer, "FG", {}, {Component::kPackage}, opt).ok());
  EXPECT_FALSE(Evaluate(ds, trainer, "FG", kFeatures, {}, opt).ok());
  EXPECT_FALSE(
      Evaluate(ds, trainer, "FG", kFeatures, {Component::kPackage, Component::kPackage}, opt).ok());
  opt.protocol = Protocol::kHoldout;
  EXPECT_FALSE(Evaluate(ds, trainer, "FG", kFeatures, {Component::kPackage}, opt).ok());
  EXPECT_FALSE(Evaluate(Synthetic(1), trainer, "FG", kFeatures, {Component::kPackage}, {}).ok());
}

TEST(EvaluateTest, Holdout) {
  const Dataset train = Synthetic(10);  // package mean 4.5
  Dataset test = Synthetic(4);          // package 0..3
  test.name = "other";
  MeanTrainer trainer;
  EvalOptions opt;
  opt.protocol = Protocol::kHoldout;
  opt.holdout = &test;
  auto r = Evaluate(train, trainer, "FG", kFeatures, {Component::kPackage}, opt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ComponentEval& ce = r->components[0];
  EXPECT_EQ(ce.pooled.n, 4u);
  EXPECT_THAT(ce.pred, ElementsAre(4.5, 4.5, 4.5, 4.5));
  // truth in the holdout's row order: ranks 0, 2, 1, 3.
  EXPECT_DOUBLE_EQ(ce.pooled.mae, (4.5 + 2.5 + 3.5 + 1.5) / 4);
  EXPECT_DOUBLE_EQ(r->mae, ce.pooled.mae);
  EXPECT_EQ(trainer.calls().at(0).rows, 10u);
}

TEST(EvaluateTest, ProgressBeforeEachFit) {
  const Dataset ds = Synthetic(12);
  MeanTrainer trainer;
  EvalOptions opt;
  opt.protocol = Protocol::kBlocked;
  opt.folds = 3;
  std::vector<std::string> log;
  auto r = Evaluate(ds, trainer, "Basic", kFeatures, {Component::kPackage, Component::kDram}, opt,
                    [&](std::string_view t, std::string_view fg, Component c, int step, int total) {
                      log.push_back(std::string(t) + " " + std::string(fg) + " " +
                                    std::string(ComponentName(c)) + " " + std::to_string(step) +
                                    "/" + std::to_string(total));
                    });
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(log, ElementsAre("MeanTrainer Basic package 1/6", "MeanTrainer Basic dram 2/6",
                               "MeanTrainer Basic package 3/6", "MeanTrainer Basic dram 4/6",
                               "MeanTrainer Basic package 5/6", "MeanTrainer Basic dram 6/6"));
}

TEST(EvaluateTest, KeepPredictionsOff) {
  const Dataset ds = Synthetic(12);
  MeanTrainer trainer;
  EvalOptions opt;
  opt.folds = 3;
  opt.keep_predictions = false;
  auto r = Evaluate(ds, trainer, "FG", kFeatures, {Component::kPackage}, opt);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->components[0].pred.empty());
  EXPECT_EQ(r->components[0].pooled.n, 12u);
}

// ------------------------------------------------------------------------------------------------
// Final model

TEST(FitFinalModelTest, MetadataAndConstantComponent) {
  Dataset ds = Synthetic(10);
  ds.targets[Component::kCore].assign(10, 5.0);
  ds.machine = "nx12";
  ds.notes = {"loaded from a test"};
  MeanTrainer trainer;
  EvalOptions opt;
  opt.folds = 2;
  auto eval = Evaluate(ds, trainer, "FG", kFeatures, {Component::kPackage, Component::kCore}, opt);
  ASSERT_TRUE(eval.ok());
  FinalModelOptions fo;
  fo.created = "2024-01-02T03:04:05Z";
  fo.evaluation = &*eval;
  auto model =
      FitFinalModel(ds, trainer, "FG", kFeatures, {Component::kPackage, Component::kCore}, 42, fo);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const ModelInfo& info = (*model)->info();
  EXPECT_EQ(info.name, "MeanTrainer_0");
  EXPECT_EQ(info.id, "MeanTrainer_0");
  EXPECT_EQ(info.trainer, "MeanTrainer");
  EXPECT_EQ(info.feature_group, "FG");
  EXPECT_EQ(info.energy_source, "rapl-sysfs");
  EXPECT_THAT(info.features, ElementsAre("x", "z"));
  EXPECT_EQ(info.provenance.dataset, "synthetic");
  EXPECT_EQ(info.provenance.dataset_sha256, "00ff");
  EXPECT_EQ(info.provenance.machine, "nx12");
  EXPECT_EQ(info.provenance.created, "2024-01-02T03:04:05Z");
  EXPECT_EQ(info.provenance.tool, "wattson 0.1.0");
  EXPECT_THAT(info.provenance.notes, HasSubstr("loaded from a test"));
  EXPECT_THAT(info.provenance.notes, HasSubstr("core: constant target (5 W)"));
  EXPECT_THAT(info.provenance.notes, HasSubstr("blocked-cv (2 contiguous folds"));
  ASSERT_EQ(info.training_range.size(), 2u);
  EXPECT_EQ(info.training_range[0].feature, "x");
  EXPECT_EQ(info.training_range[0].min, 1);
  EXPECT_EQ(info.training_range[0].max, 10);
  EXPECT_EQ(info.training_range[1].min, -18);
  EXPECT_EQ(info.training_range[1].max, 0);
  EXPECT_EQ(info.errors.protocol, "blocked-cv");
  EXPECT_DOUBLE_EQ(info.errors.mae, eval->mae);
  EXPECT_DOUBLE_EQ(info.errors.per_component.at("package").mae, eval->components[0].pooled.mae);
  EXPECT_EQ(trainer.calls().back().seed, 42u);
  // The constant component is an intercept-only linear model.
  const auto& core = (*model)->pipelines()[1];
  EXPECT_EQ(core.component, Component::kCore);
  const auto* lin = dynamic_cast<const LinearRegressor*>(core.regressor.get());
  ASSERT_NE(lin, nullptr);
  EXPECT_EQ(lin->intercept(), 5.0);
  EXPECT_THAT(lin->coef(), ElementsAre(0, 0));
  auto x = ds.Matrix(kFeatures);
  ASSERT_TRUE(x.ok());
  auto pred = (*model)->Predict(*x);
  ASSERT_TRUE(pred.ok());
  EXPECT_EQ(pred->Find(Component::kCore)->watts[3].value(), 5.0);
  EXPECT_DOUBLE_EQ(pred->Find(Component::kPackage)->watts[0].value(), 4.5);
}

TEST(FitFinalModelTest, NodeTypeNameAndDefaults) {
  const Dataset ds = Synthetic(6);
  MeanTrainer trainer;
  FinalModelOptions fo;
  fo.node_type = 3;
  fo.output_type = OutputType::kDynPower;
  fo.energy_source = "acpi";
  auto model = FitFinalModel(ds, trainer, "FG", {"x"}, {Component::kPackage}, 1, fo);
  ASSERT_TRUE(model.ok());
  EXPECT_EQ((*model)->info().name, "MeanTrainer_3");
  EXPECT_EQ((*model)->info().node_type, 3);
  EXPECT_EQ((*model)->info().output_type, OutputType::kDynPower);
  EXPECT_EQ((*model)->info().energy_source, "acpi");
  const std::string created = (*model)->info().provenance.created;
  ASSERT_EQ(created.size(), 20u) << created;
  EXPECT_EQ(created[10], 'T');
  EXPECT_EQ(created.back(), 'Z');
}

TEST(FitFinalModelTest, TrainerErrorNamesTheComponent) {
  const Dataset ds = Synthetic(6);
  FailingTrainer trainer(Component::kDram);
  auto model =
      FitFinalModel(ds, trainer, "FG", kFeatures, {Component::kPackage, Component::kDram}, 1);
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("dram"));
  EXPECT_THAT(model.status().message(), HasSubstr("curve fit did not converge"));
}

TEST(ToModelErrorsTest, KeplerUsesMediansOverSeeds) {
  EvalResult r;
  r.protocol = Protocol::kKepler;
  r.mae = 2;
  ComponentEval ce;
  ce.component = Component::kPackage;
  for (double mae : {1.0, 3.0, 2.0}) {
    Metrics m;
    m.mae = mae;
    m.mape = 10 * mae;
    ce.repeats.push_back(m);
  }
  r.components.push_back(ce);
  ModelErrors e = ToModelErrors(r);
  EXPECT_EQ(e.protocol, "kepler-random-split");
  EXPECT_EQ(e.per_component.at("package").mae, 2.0);
  EXPECT_EQ(e.per_component.at("package").mape, 20.0);
  EXPECT_EQ(e.mae, 2.0);
}

}  // namespace
}  // namespace wattson
