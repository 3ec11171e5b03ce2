// Training-run orchestration: planning (sources, feature groups, checks on bad input), running
// (deterministic whatever the thread count, progress steps, constant components, holdout) and the
// helpers (scale factors, model classes).
#include "train/training_run.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/wattson_format.h"
#include "train/training_test_util.h"

namespace wattson {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using train_test::SyntheticDataset;

TrainingOptions FastOptions() {
  TrainingOptions o;
  o.trainers = {"LinearRegressionTrainer", "SGDRegressorTrainer"};
  o.feature_groups = {"BPFOnly"};
  o.protocols = {Protocol::kBlocked, Protocol::kKepler};
  o.folds = 3;
  o.seeds = 2;
  o.created = "2024-01-02T03:04:05Z";
  return o;
}

TEST(TrainingRunTest, PlansOneSetPerSourceAndOutputTypeAndOneJobPerGroupAndTrainer) {
  const Dataset d = SyntheticDataset(40);
  TrainingOptions o = FastOptions();
  o.feature_groups.clear();  // every valid group: BPFOnly, KubeletOnly (v0.6)
  auto run = PlanTraining({&d}, o);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->feature_version, KeplerFeatureVersion::kV06);
  ASSERT_EQ(run->sets.size(), 4u);
  EXPECT_EQ(run->sets[0].energy_source, "rapl-sysfs");
  EXPECT_EQ(run->sets[0].output_type, OutputType::kAbsPower);
  EXPECT_EQ(run->sets[1].output_type, OutputType::kDynPower);
  EXPECT_EQ(run->sets[2].energy_source, "acpi");
  EXPECT_THAT(run->sets[0].components, ElementsAre(Component::kPackage, Component::kCore,
                                                   Component::kUncore, Component::kDram));
  EXPECT_THAT(run->sets[2].components, ElementsAre(Component::kPlatform));
  EXPECT_THAT(run->sets[0].feature_groups, ElementsAre("BPFOnly", "KubeletOnly"));
  // The rapl sets keep only rapl targets.
  EXPECT_EQ(run->sets[0].data.targets.count(Component::kPlatform), 0u);
  // DynPower: the minimum was subtracted.
  EXPECT_NEAR(run->sets[1].idle_watts.at(Component::kDram),
              *std::min_element(d.targets.at(Component::kDram).begin(),
                                d.targets.at(Component::kDram).end()),
              1e-12);
  ASSERT_EQ(run->jobs.size(), 4u * 2 * 2);
  EXPECT_EQ(run->jobs[0].job.feature_group, "BPFOnly");
  EXPECT_EQ(run->jobs[0].job.trainer, "LinearRegressionTrainer");
  EXPECT_EQ(run->jobs[1].job.trainer, "SGDRegressorTrainer");
  EXPECT_EQ(run->jobs[2].job.feature_group, "KubeletOnly");
  EXPECT_THAT(run->jobs[2].job.features, ElementsAre("kubelet_cpu_usage", "kubelet_memory_bytes"));
}

TEST(TrainingRunTest, ExplicitSourcesAndOutputTypes) {
  const Dataset d = SyntheticDataset(40);
  TrainingOptions o = FastOptions();
  o.energy_sources = {"acpi"};
  o.output_types = {OutputType::kDynPower};
  auto run = PlanTraining({&d}, o);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_EQ(run->sets.size(), 1u);
  EXPECT_EQ(run->sets[0].energy_source, "acpi");
  EXPECT_EQ(run->sets[0].output_type, OutputType::kDynPower);
}

TEST(TrainingRunTest, BadOptionsAndDataGiveClearErrors) {
  const Dataset d = SyntheticDataset(40);
  struct Case {
    std::string name;
    TrainingOptions options;
    std::string want;
  };
  std::vector<Case> cases;
  {
    TrainingOptions o = FastOptions();
    o.feature_groups = {"Bogus"};
    cases.push_back({"unknown group", o, "unknown feature group 'Bogus'"});
  }
  {
    TrainingOptions o = FastOptions();
    o.feature_groups = {"CounterOnly"};
    cases.push_back({"group without its features", o, "cache_miss"});
  }
  {
    TrainingOptions o = FastOptions();
    o.trainers = {"NoSuchTrainer"};
    cases.push_back({"unknown trainer", o, "unknown trainer 'NoSuchTrainer'"});
  }
  {
    TrainingOptions o = FastOptions();
    o.energy_sources = {"nvml"};
    cases.push_back({"unknown source", o, "unknown energy source 'nvml'"});
  }
  {
    TrainingOptions o = FastOptions();
    o.folds = 41;
    cases.push_back({"more folds than rows", o, "41 folds need at least 41 rows"});
  }
  {
    TrainingOptions o = FastOptions();
    o.seeds = 0;
    cases.push_back({"no seeds", o, "seeds must be"});
  }
  {
    TrainingOptions o = FastOptions();
    o.protocols = {Protocol::kBlocked, Protocol::kBlocked};
    cases.push_back({"protocol twice", o, "listed twice"});
  }
  {
    TrainingOptions o = FastOptions();
    o.protocols = {Protocol::kHoldout};
    o.holdout_from_row = 1;
    cases.push_back({"holdout from row 1", o, "must start at a row in 2..40"});
  }
  for (const auto& c : cases) {
    auto run = PlanTraining({&d}, c.options);
    ASSERT_FALSE(run.ok()) << c.name;
    EXPECT_THAT(run.status().message(), HasSubstr(c.want)) << c.name;
  }
}

TEST(TrainingRunTest, MissingTargetsAndTinyDataSets) {
  Dataset no_platform = SyntheticDataset(30);
  no_platform.targets.erase(Component::kPlatform);
  TrainingOptions o = FastOptions();
  o.energy_sources = {"acpi"};
  auto run = PlanTraining({&no_platform}, o);
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(run.status().message(), HasSubstr("platform_power"));

  // Implicit sources: acpi is skipped with a note.
  o.energy_sources.clear();
  run = PlanTraining({&no_platform}, o);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->sets.size(), 2u);
  EXPECT_THAT(run->notes, testing::Contains(HasSubstr("energy source 'acpi' skipped")));

  Dataset one = SyntheticDataset(1);
  run = PlanTraining({&one}, FastOptions());
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(run.status().message(), HasSubstr("has 1 row(s)"));

  Dataset no_targets = SyntheticDataset(20);
  no_targets.targets.clear();
  run = PlanTraining({&no_targets}, FastOptions());
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(run.status().message(), HasSubstr("no power targets"));

  const Dataset a = SyntheticDataset(20), b = SyntheticDataset(20);
  run = PlanTraining({&a, &b}, FastOptions());
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(run.status().message(), HasSubstr("in two data sets"));
}

TEST(TrainingRunTest, RunIsTheSameWithOneOrTwoThreads) {
  const Dataset d = SyntheticDataset(60);
  TrainingOptions o = FastOptions();
  o.output_types = {OutputType::kAbsPower};
  o.threads = 1;
  auto one = RunTraining({&d}, o);
  o.threads = 2;
  auto two = RunTraining({&d}, o);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  ASSERT_EQ(one->jobs.size(), two->jobs.size());
  ASSERT_EQ(one->models(), one->jobs.size());
  for (std::size_t i = 0; i < one->jobs.size(); ++i) {
    const JobResult& a = one->jobs[i];
    const JobResult& b = two->jobs[i];
    EXPECT_EQ(a.job.trainer, b.job.trainer);
    ASSERT_EQ(a.evaluations.size(), 2u);
    EXPECT_EQ(a.evaluations[0].protocol, Protocol::kBlocked);
    EXPECT_EQ(a.evaluations[1].protocol, Protocol::kKepler);
    for (std::size_t e = 0; e < 2; ++e) {
      EXPECT_EQ(a.evaluations[e].mae, b.evaluations[e].mae);
      EXPECT_EQ(a.evaluations[e].mape, b.evaluations[e].mape);
    }
    ASSERT_TRUE(a.model && b.model);
    EXPECT_EQ(SerializeWattsonModel(*a.model), SerializeWattsonModel(*b.model));
  }
}

TEST(TrainingRunTest, FinalModelsCarryIdsErrorsAndTheirTrainingPredictions) {
  const Dataset d = SyntheticDataset(60);
  TrainingOptions o = FastOptions();
  o.node_type = 3;
  auto run = RunTraining({&d}, o);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->failures(), 0u);
  for (const auto& j : run->jobs) {
    ASSERT_TRUE(j.model) << j.error;
    const ModelInfo& info = j.model->info();
    const TrainingSet& set = run->sets[j.job.set];
    EXPECT_EQ(info.id, std::string(set.energy_source) + "/" +
                           std::string(OutputTypeName(set.output_type)) + "/BPFOnly/" +
                           j.job.trainer + "_3");
    EXPECT_EQ(info.node_type, 3);
    EXPECT_EQ(info.errors.protocol, "blocked-cv");
    EXPECT_EQ(info.errors.mae, j.evaluations.front().mae);
    EXPECT_EQ(info.provenance.created, "2024-01-02T03:04:05Z");
    ASSERT_TRUE(j.predictions);
    EXPECT_EQ(j.predictions->rows, d.rows());
    EXPECT_EQ(j.predictions->components.size(), set.components.size());
    if (set.output_type == OutputType::kDynPower) {
      EXPECT_THAT(info.provenance.notes, HasSubstr("isolation 'min' subtracted"));
    }
  }
  // rapl core is constant 0 W: not trained, predicted as 0, and said so.
  const JobResult& rapl = run->jobs.front();
  const EvalResult& e = rapl.evaluations.front();
  const auto core =
      std::find_if(e.components.begin(), e.components.end(),
                   [](const ComponentEval& c) { return c.component == Component::kCore; });
  ASSERT_NE(core, e.components.end());
  EXPECT_THAT(core->skipped, HasSubstr("constant target"));
  EXPECT_TRUE(std::isfinite(e.mae));
  const ComponentPower* core_pred = rapl.predictions->Find(Component::kCore);
  ASSERT_NE(core_pred, nullptr);
  for (Watts w : core_pred->watts) EXPECT_EQ(w.value(), 0.0);
}

TEST(TrainingRunTest, ProgressCountsEveryStepOnce) {
  const Dataset d = SyntheticDataset(30);
  TrainingOptions o = FastOptions();
  o.output_types = {OutputType::kAbsPower};
  std::mutex mu;
  std::vector<int> steps;
  int total = -1;
  o.progress = [&](std::string_view, std::string_view fg, Component, int step, int t) {
    std::lock_guard lock(mu);
    EXPECT_EQ(fg, "BPFOnly");
    steps.push_back(step);
    total = t;
  };
  auto run = RunTraining({&d}, o);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  // Per job: (3 folds + 2 seeds + final fit) × components; rapl has 4, acpi 1; 2 trainers.
  EXPECT_EQ(total, (3 + 2 + 1) * (4 + 1) * 2);
  std::sort(steps.begin(), steps.end());
  ASSERT_EQ(static_cast<int>(steps.size()), total);
  for (int i = 0; i < total; ++i) EXPECT_EQ(steps[static_cast<std::size_t>(i)], i + 1);
}

TEST(TrainingRunTest, HoldoutOnTrailingRowsOrOnAnotherDataSet) {
  const Dataset d = SyntheticDataset(50);
  TrainingOptions o = FastOptions();
  o.protocols = {Protocol::kHoldout};
  o.output_types = {OutputType::kAbsPower};
  o.energy_sources = {"rapl"};
  o.holdout_from_row = 41;
  auto run = RunTraining({&d}, o);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_TRUE(run->sets[0].holdout);
  EXPECT_EQ(run->sets[0].holdout->rows(), 10u);
  ASSERT_TRUE(run->sets[0].holdout_train);
  EXPECT_EQ(run->sets[0].holdout_train->rows(), 40u);
  EXPECT_THAT(run->sets[0].holdout_origin, HasSubstr("rows 41-50"));
  const EvalResult& e = run->jobs[0].evaluations.at(0);
  EXPECT_EQ(e.protocol, Protocol::kHoldout);
  EXPECT_EQ(e.components.front().pooled.n, 10u);
  EXPECT_TRUE(std::isfinite(e.mae));

  o.holdout_from_row = 0;
  o.holdout_fraction = 0.2;
  run = PlanTraining({&d}, o);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->sets[0].holdout->rows(), 10u);

  const Dataset other = SyntheticDataset(25);
  o.holdout_sets = {&other};
  run = RunTraining({&d}, o);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_FALSE(run->sets[0].holdout_train);
  EXPECT_EQ(run->jobs[0].evaluations.at(0).components.front().pooled.n, 25u);
}

TEST(TrainingRunTest, EvaluateOnlyRunsFitNoModel) {
  const Dataset d = SyntheticDataset(30);
  TrainingOptions o = FastOptions();
  o.fit_final = false;
  o.output_types = {OutputType::kAbsPower};
  auto run = RunTraining({&d}, o);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->models(), 0u);
  EXPECT_EQ(run->failures(), 0u);
  for (const auto& j : run->jobs) EXPECT_EQ(j.evaluations.size(), 2u);
}

TEST(TrainingRunTest, ParsesScaleFactors) {
  EXPECT_DOUBLE_EQ(*ParseScaleFactor("1/3"), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(*ParseScaleFactor("0.5"), 0.5);
  EXPECT_DOUBLE_EQ(*ParseScaleFactor(" 2 "), 2.0);
  for (const char* bad : {"", "0", "-1", "1/0", "abc", "nan", "1/x", "inf"}) {
    EXPECT_FALSE(ParseScaleFactor(bad).ok()) << bad;
  }
}

TEST(TrainingRunTest, ModelClassesFollowKepler) {
  EXPECT_EQ(KeplerModelClass("XgboostFitTrainer"), "xgboost");
  EXPECT_EQ(KeplerModelClass("LogisticRegressionTrainer"), "curvefit");
  EXPECT_EQ(KeplerModelClass("GradientBoostingRegressorTrainer"), "scikit");
  EXPECT_EQ(KeplerModelClass("SomethingElse"), "wattson");
  EXPECT_EQ(MetadataProtocolName(Protocol::kKepler), "kepler-random-split");
}

}  // namespace
}  // namespace wattson
