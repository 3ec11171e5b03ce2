// Error report: reference-table loading and the comparisons (verdicts, trainer-name mapping,
// targets), and the rendered Markdown, self-contained HTML and JSON summary.
#include "train/report.h"

#include <cmath>
#include <filesystem>
#include <string>

#include "common/file_util.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "train/training_test_util.h"

namespace wattson {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using train_test::SyntheticDataset;
using train_test::TempDir;

const std::string kNx12 = std::string(WATTSON_TESTDATA_DIR) + "/kepler-model-db/nx12_v0.6";

const TrainingRunResult& SmallRun() {
  static const TrainingRunResult* run = [] {
    static const Dataset d = SyntheticDataset(60);
    TrainingOptions o;
    o.trainers = {"LinearRegressionTrainer", "SGDRegressorTrainer"};
    o.feature_groups = {"BPFOnly"};
    o.output_types = {OutputType::kAbsPower};
    o.protocols = {Protocol::kKepler, Protocol::kBlocked};
    o.folds = 3;
    o.seeds = 3;
    o.fit_final = false;
    o.created = "2024-01-02T03:04:05Z";
    auto r = RunTraining({&d}, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return new TrainingRunResult(std::move(r).value());
  }();
  return *run;
}

CsvTable Table(const std::string& text) {
  auto t = ParseCsv(text, "test");
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? *t : CsvTable{};
}

TEST(ReportTest, MapsReferenceModelNamesToKeplerTrainers) {
  EXPECT_EQ(KeplerTrainerForReference("GradientBoostingRegressor"),
            "GradientBoostingRegressorTrainer");
  EXPECT_EQ(KeplerTrainerForReference("GBR"), "GradientBoostingRegressorTrainer");
  EXPECT_EQ(KeplerTrainerForReference("KNN6"), "KNeighborsRegressorTrainer");
  EXPECT_EQ(KeplerTrainerForReference("KNeighborsRegressor"), "KNeighborsRegressorTrainer");
  EXPECT_EQ(KeplerTrainerForReference("LinearPos"), "LinearRegressionTrainer");
  EXPECT_EQ(KeplerTrainerForReference("LinearRegression"), "LinearRegressionTrainer");
  EXPECT_EQ(KeplerTrainerForReference("Poly2"), "PolynomialRegressionTrainer");
  EXPECT_EQ(KeplerTrainerForReference("PolynomialRegression"), "PolynomialRegressionTrainer");
  EXPECT_EQ(KeplerTrainerForReference("SGDRegressor"), "SGDRegressorTrainer");
  EXPECT_EQ(KeplerTrainerForReference("SVR"), "SVRRegressorTrainer");
  EXPECT_EQ(KeplerTrainerForReference("SVRRegressor"), "SVRRegressorTrainer");
  EXPECT_EQ(KeplerTrainerForReference("GradientBoostingRegressorTrainer_1"),
            "GradientBoostingRegressorTrainer");
  EXPECT_EQ(KeplerTrainerForReference("XgboostFitTrainer"), "XgboostFitTrainer");
  EXPECT_EQ(KeplerTrainerForReference("MysteryNet"), "");
  EXPECT_EQ(ShortTrainerName("GradientBoostingRegressorTrainer"), "GradientBoosting");
  EXPECT_EQ(ShortTrainerName("SVRRegressorTrainer"), "SVR");
  EXPECT_EQ(ShortTrainerName("XgboostFitTrainer"), "Xgboost");
  EXPECT_EQ(ShortTrainerName("LinearRegressionTrainer"), "Linear");
}

TEST(ReportTest, RandomSplitVerdictsCompareOurMedianWithTheRerunRange) {
  const TrainingRunResult& run = SmallRun();
  const JobResult& linear = run.jobs[0];
  ASSERT_EQ(linear.job.trainer, "LinearRegressionTrainer");
  ASSERT_EQ(run.sets[linear.job.set].energy_source, "rapl-sysfs");
  const double ours = linear.Evaluation(Protocol::kKepler)->mae;
  ASSERT_TRUE(std::isfinite(ours));
  const std::string csv = fmt::format(
      "energy_source,output_type,feature_group,trainer,rerun_median_mae_W,rerun_min_mae_W,"
      "rerun_max_mae_W,published_mae_W\n"
      "rapl,AbsPower,BPFOnly,LinearRegression,{0},{1},{2},9\n"
      "rapl,AbsPower,BPFOnly,SGDRegressor,{0},{3},{4},\n"
      "rapl,AbsPower,BPFOnly,GradientBoostingRegressor,1,1,1,1\n"
      "acpi,DynPower,BPFOnly,LinearRegression,1,1,1,1\n",
      ours, ours - 1, ours + 1, 0, 0.5);
  const auto rows = CompareRandomSplit(run, Table(csv));
  // The table's 4 rows, then ours without a reference row (acpi Linear and SGD).
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[4].verdict, "no reference");
  EXPECT_EQ(rows[4].energy_source, "acpi");
  EXPECT_TRUE(std::isfinite(rows[4].ours_median));
  EXPECT_EQ(rows[0].energy_source, "rapl-sysfs");
  EXPECT_EQ(rows[0].trainer, "LinearRegressionTrainer");
  EXPECT_EQ(rows[0].ours_median, ours);
  EXPECT_EQ(rows[0].verdict, "within");
  EXPECT_EQ(rows[0].published, 9);
  EXPECT_EQ(rows[1].verdict, "worse");  // above a (fake) re-run max of 0.5 W
  EXPECT_TRUE(std::isnan(rows[1].published));
  EXPECT_EQ(rows[2].verdict, "not trained");  // GBR was not in this run
  EXPECT_EQ(rows[3].verdict, "not trained");  // no DynPower set

  const std::string better = fmt::format(
      "energy_source,output_type,feature_group,trainer,rerun_median_mae_W,rerun_min_mae_W,"
      "rerun_max_mae_W\nrapl,AbsPower,BPFOnly,LinearRegression,{0},{0},{0}\n",
      ours + 5);
  EXPECT_EQ(CompareRandomSplit(run, Table(better))[0].verdict, "better");
}

TEST(ReportTest, BlockedComparisonAndTargetsUseThePooledComponentMae) {
  const TrainingRunResult& run = SmallRun();
  const EvalResult* e = run.jobs[0].Evaluation(Protocol::kBlocked);
  ASSERT_NE(e, nullptr);
  double package = kNoValue;
  for (const auto& ce : e->components) {
    if (ce.component == Component::kPackage) package = ce.pooled.mae;
  }
  ASSERT_TRUE(std::isfinite(package));
  const std::string blocked = fmt::format(
      "energy_source,output_type,feature_group,model,component,blocked10fold_mae_W\n"
      "rapl,AbsPower,BPFOnly,LinearPos,package,{}\n"
      "rapl,AbsPower,BPFOnly,LinearPos,dram,0.0001\n"
      "rapl,AbsPower,BPFOnly,GBR,package,1\n",
      package * 1.05);
  const auto rows = CompareBlocked(run, Table(blocked));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].trainer, "LinearRegressionTrainer");
  EXPECT_EQ(rows[0].ours_mae, package);
  EXPECT_EQ(rows[0].verdict, "better or equal");
  EXPECT_EQ(rows[1].verdict, "worse");
  EXPECT_EQ(rows[2].verdict, "not trained");

  const std::string targets =
      "energy_source,output_type,feature_group,component,target_mae_W\n"
      "rapl,AbsPower,BPFOnly,package,1000\n"
      "rapl,AbsPower,BPFOnly,package,0.001\n"
      "acpi,AbsPower,Basic,platform,6\n";
  const auto t = CheckTargets(run, Table(targets));
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].verdict, "pass");
  EXPECT_FALSE(t[0].best_trainer.empty());
  EXPECT_LE(t[0].best_mae, package);
  EXPECT_EQ(t[1].verdict, "FAIL");
  EXPECT_EQ(t[2].verdict, "not trained");
}

TEST(ReportTest, LoadsTheNx12ReferenceTablesFromADirectory) {
  ComparisonPaths paths;
  paths.dir = kNx12;
  auto refs = LoadComparisonRefs(paths);
  ASSERT_TRUE(refs.ok()) << refs.status().ToString();
  ASSERT_TRUE(refs->published && refs->random_split && refs->blocked && refs->targets);
  EXPECT_EQ(refs->random_split->rows.size(), 168u);
  // Every reference trainer name maps to a Kepler trainer.
  for (const auto& row : refs->random_split->rows) {
    EXPECT_NE(KeplerTrainerForReference(row[3]), "") << row[3];
  }
  for (const auto& row : refs->blocked->rows) {
    EXPECT_NE(KeplerTrainerForReference(row[3]), "") << row[3];
  }
}

TEST(ReportTest, ReferenceTableProblemsAreErrors) {
  TempDir tmp;
  ComparisonPaths empty_dir;
  empty_dir.dir = tmp.path().string();
  auto r = LoadComparisonRefs(empty_dir);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("holds none of"));

  ComparisonPaths missing;
  missing.blocked = tmp.Sub("nope.csv");
  EXPECT_FALSE(LoadComparisonRefs(missing).ok());

  ASSERT_TRUE(WriteLocalFileAtomic(tmp.Sub("bad.csv"), "energy_source,output_type\nrapl,x\n").ok());
  ComparisonPaths bad;
  bad.random_split = tmp.Sub("bad.csv");
  r = LoadComparisonRefs(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("missing column 'feature_group'"));

  ComparisonPaths no_dir;
  no_dir.dir = tmp.Sub("absent");
  EXPECT_FALSE(LoadComparisonRefs(no_dir).ok());
}

TEST(ReportTest, RendersMarkdownSelfContainedHtmlAndJson) {
  const TrainingRunResult& run = SmallRun();
  ComparisonPaths paths;
  paths.dir = kNx12;
  auto refs = LoadComparisonRefs(paths);
  ASSERT_TRUE(refs.ok());
  ReportOptions opts;
  opts.command_line = "wattson evaluate --data x.csv";
  const Report report = BuildReport(run, *refs, opts);

  EXPECT_THAT(report.markdown, HasSubstr("# wattson training report"));
  EXPECT_THAT(report.markdown, HasSubstr("`wattson evaluate --data x.csv`"));
  EXPECT_THAT(report.markdown, HasSubstr("## Results: kepler-random-split"));
  EXPECT_THAT(report.markdown, HasSubstr("## Results: blocked-cv"));
  EXPECT_THAT(report.markdown, HasSubstr("## Per-component errors: blocked-cv"));
  EXPECT_THAT(report.markdown, HasSubstr("Kepler protocol: ours vs the scikit-learn re-run"));
  EXPECT_THAT(report.markdown, HasSubstr("Blocked CV: ours vs the reference"));
  EXPECT_THAT(report.markdown, HasSubstr("Error targets (blocked CV)"));
  EXPECT_THAT(report.markdown,
              HasSubstr("| rapl-sysfs | AbsPower | BPFOnly | LinearRegressionTrainer |"));
  EXPECT_THAT(report.markdown, HasSubstr("constant target"));
  EXPECT_THAT(report.markdown, Not(HasSubstr("<svg")));

  EXPECT_THAT(report.html, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(report.html, HasSubstr("<svg"));
  EXPECT_THAT(report.html, HasSubstr("predicted − measured"));
  EXPECT_THAT(report.html, Not(HasSubstr("<script")));
  EXPECT_THAT(report.html, Not(HasSubstr("src=")));
  EXPECT_THAT(report.html, Not(HasSubstr("href=")));
  EXPECT_THAT(report.html, Not(HasSubstr("NaN")));
  EXPECT_THAT(report.html, Not(HasSubstr("nan,")));

  const Json& s = report.summary;
  EXPECT_EQ(s["created"], "2024-01-02T03:04:05Z");
  EXPECT_EQ(s["results"].size(), run.jobs.size());
  EXPECT_TRUE(s["results"][0]["evaluations"].contains("blocked-cv"));
  EXPECT_TRUE(s["results"][0]["evaluations"].contains("kepler-random-split"));
  EXPECT_TRUE(s["comparisons"].contains("random_split"));
  EXPECT_TRUE(s["comparisons"].contains("blocked"));
  EXPECT_TRUE(s["comparisons"].contains("targets"));
  EXPECT_FALSE(s["best"].empty());

  TempDir tmp;
  ASSERT_TRUE(WriteReport(report, tmp.Sub("r/nested")).ok());
  for (const char* f : {"report.md", "report.html", "summary.json"}) {
    EXPECT_TRUE(fs::exists(tmp.path() / "r/nested" / f)) << f;
  }
  auto text = ReadLocalFile(tmp.Sub("r/nested/summary.json"));
  ASSERT_TRUE(text.ok());
  EXPECT_TRUE(ParseJson(*text, "summary").ok());
}

TEST(ReportTest, ComparisonsNeedTheMatchingProtocol) {
  const Dataset d = SyntheticDataset(30);
  TrainingOptions o;
  o.trainers = {"LinearRegressionTrainer"};
  o.feature_groups = {"BPFOnly"};
  o.output_types = {OutputType::kAbsPower};
  o.protocols = {Protocol::kBlocked};
  o.folds = 3;
  o.fit_final = false;
  auto run = RunTraining({&d}, o);
  ASSERT_TRUE(run.ok());
  ComparisonPaths paths;
  paths.dir = kNx12;
  auto refs = LoadComparisonRefs(paths);
  ASSERT_TRUE(refs.ok());
  ReportOptions ro;
  ro.plots = false;
  const Report report = BuildReport(*run, *refs, ro);
  EXPECT_THAT(report.markdown, HasSubstr("this run did not use the kepler protocol"));
  EXPECT_THAT(report.html, Not(HasSubstr("<svg")));
}

}  // namespace
}  // namespace wattson
