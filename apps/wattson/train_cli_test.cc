// End-to-end tests of `wattson train` and `wattson evaluate`: the model DB and report they write,
// `wattson predict` reproducing the training predictions byte for byte, the second machine
// (Linux-4.15, joules per step) with holdout, bad data and usage errors.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "common/csv.h"
#include "common/json_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "train/training_test_util.h"
#include "train_command.h"

namespace wattson::cli {
namespace {

namespace fs = std::filesystem;
using test::CountLines;
using test::ReadFile;
using test::RunResult;
using test::WriteFile;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const std::string kTestdata = WATTSON_TESTDATA_DIR;
const std::string kNx12Dir = kTestdata + "/kepler-model-db/nx12_v0.6";
const std::string kLinuxRapl =
    kTestdata +
    "/kepler-model-db/linux-4.15.0-213_v0.6/preprocessed_data/rapl_KubeletOnly_abs_data.csv";

class TrainCliTest : public test::BinaryTest {
 protected:
  void SetUp() override {
    BinaryTest::SetUp();
    data_ = (dir_ / "data.csv").string();
    WriteFile(data_, train_test::DatasetCsv(train_test::SyntheticDataset(60)));
  }

  // A fast training command on the synthetic data (BPFOnly and KubeletOnly, 3 folds).
  std::vector<std::string> TrainArgs(const std::string& out) {
    return {"train",
            "--data",
            data_,
            "--trainers",
            "linear,sgd,gbr",
            "--feature-groups",
            "BPFOnly,KubeletOnly",
            "--folds",
            "3",
            "--out",
            out,
            "--no-progress"};
  }

  std::string data_;
};

TEST_F(TrainCliTest, HelpIsCompleteAndExitsZero) {
  for (const char* cmd : {"train", "evaluate"}) {
    RunResult r = Run({cmd, "--help"});
    SCOPED_TRACE(cmd);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.err, "");
    EXPECT_THAT(
        r.out,
        AllOf(HasSubstr("--data"), HasSubstr("--protocol"), HasSubstr("--seeds"),
              HasSubstr("--folds"), HasSubstr("--trainers"), HasSubstr("--feature-groups"),
              HasSubstr("--sources"), HasSubstr("--output-types"), HasSubstr("--isolation"),
              HasSubstr("--power-scale"), HasSubstr("--test-data"), HasSubstr("--compare-dir"),
              HasSubstr("--report"), HasSubstr("Exit codes: 0 success, 1 runtime error")));
  }
  RunResult t = Run({"train", "--help"});
  EXPECT_THAT(t.out, AllOf(HasSubstr("--out"), HasSubstr("--node-type"), HasSubstr("--force"),
                           HasSubstr("model.wattson.json")));
  RunResult top = Run({"--help"});
  EXPECT_THAT(top.out, AllOf(HasSubstr("train"), HasSubstr("evaluate")));
}

TEST_F(TrainCliTest, TrainWritesADbThatPredictReproducesByteForByte) {
  const std::string db = (dir_ / "db").string();
  std::vector<std::string> args = TrainArgs(db);
  args.insert(args.end(), {"--report", (dir_ / "report").string(), "--machine", "synth"});
  RunResult r = Run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("wrote 24 models (8 with Kepler weight JSON)"));
  EXPECT_THAT(r.out, HasSubstr("peak memory"));
  EXPECT_THAT(r.out, HasSubstr("blocked-cv MAE W"));
  for (const char* f : {"report.md", "report.html", "summary.json"}) {
    EXPECT_TRUE(fs::exists(dir_ / "report" / f)) << f;
  }
  std::size_t checked = 0;
  for (const auto& entry : fs::recursive_directory_iterator(db)) {
    if (entry.path().filename() != "predictions.csv") continue;
    const fs::path model_dir = entry.path().parent_path();
    RunResult p =
        Run({"predict", "--model", (model_dir / "model.wattson.json").string(), "--input", data_});
    ASSERT_EQ(p.exit_code, 0) << model_dir << ": " << p.err;
    // predictions.csv is "row,timestamp,<components>"; predict prints "row,<components>".
    auto written = ParseCsv(ReadFile(entry.path()), "predictions.csv");
    auto predicted = ParseCsv(p.out, "predict output");
    ASSERT_TRUE(written.ok() && predicted.ok());
    ASSERT_EQ(written->rows.size(), 60u);
    ASSERT_EQ(predicted->rows.size(), 60u);
    std::vector<std::string> header = written->header;
    header.erase(header.begin() + 1);
    EXPECT_EQ(header, predicted->header) << model_dir;
    for (std::size_t row = 0; row < written->rows.size(); ++row) {
      std::vector<std::string> w = written->rows[row];
      w.erase(w.begin() + 1);
      EXPECT_EQ(w, predicted->rows[row]) << model_dir << " row " << row + 1;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 24u);

  RunResult list = Run({"models", "list", db});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("rapl-sysfs/AbsPower/BPFOnly/SGDRegressorTrainer_0"));
  EXPECT_THAT(list.out, HasSubstr("acpi/DynPower/KubeletOnly/GradientBoostingRegressorTrainer_0"));

  // A second run into the same folder needs --force.
  RunResult again = Run(TrainArgs(db));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("--force"));
  std::vector<std::string> forced = TrainArgs(db);
  forced.push_back("--force");
  EXPECT_EQ(Run(forced).exit_code, 0);
}

TEST_F(TrainCliTest, EvaluateWritesOnlyAReportWithTheComparisons) {
  const std::string report = (dir_ / "report").string();
  RunResult r = Run({"evaluate",
                     "--data",
                     data_,
                     "--trainers",
                     "linear,sgd",
                     "--feature-groups",
                     "BPFOnly",
                     "--output-types",
                     "AbsPower",
                     "--protocol",
                     "kepler,blocked",
                     "--seeds",
                     "2",
                     "--folds",
                     "3",
                     "--compare-dir",
                     kNx12Dir,
                     "--report",
                     report,
                     "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("kepler-random-split MAE W"));
  const std::string md = ReadFile(fs::path(report) / "report.md");
  EXPECT_THAT(md,
              AllOf(HasSubstr("# wattson evaluation report"),
                    HasSubstr("Kepler protocol: ours vs the scikit-learn re-run"),
                    HasSubstr("Blocked CV: ours vs the reference"),
                    HasSubstr("Error targets (blocked CV)"), HasSubstr("wattson evaluate --data")));
  auto summary = ParseJson(ReadFile(fs::path(report) / "summary.json"), "summary");
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ((*summary)["models"], 0);
  EXPECT_FALSE(fs::exists(dir_ / "db"));
}

TEST_F(TrainCliTest, SecondMachineInJoulesPerStepWithHoldout) {
  const std::string db = (dir_ / "linux").string();
  RunResult r = Run({"train",
                     "--data",
                     kLinuxRapl,
                     "--power-scale",
                     "1/3",
                     "--trainers",
                     "linear",
                     "--output-types",
                     "AbsPower",
                     "--protocol",
                     "holdout,blocked",
                     "--holdout-from-row",
                     "1284",
                     "--folds",
                     "3",
                     "--out",
                     db,
                     "--report",
                     (dir_ / "report").string(),
                     "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("KubeletOnly"));
  const fs::path model = fs::path(db) / "rapl-sysfs/AbsPower/KubeletOnly/LinearRegressionTrainer_0";
  auto meta = ParseJson(ReadFile(model / "metadata.json"), "metadata");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ((*meta)["protocol"], "holdout");
  EXPECT_EQ((*meta)["dataset_rows"], 1645);
  EXPECT_THAT((*meta)["protocol_detail"].get<std::string>(), HasSubstr("(362 rows)"));
  // Watts, not joules per 3-s step: package is 60 to 289 W on this machine.
  auto preds = ParseCsv(ReadFile(model / "predictions.csv"), "predictions");
  ASSERT_TRUE(preds.ok());
  const long pkg = preds->ColumnIndex("package");
  ASSERT_GE(pkg, 0);
  for (const auto& row : preds->rows) {
    const double w = *ParseFiniteDouble(row[static_cast<std::size_t>(pkg)]);
    EXPECT_GT(w, 40);
    EXPECT_LT(w, 300);
  }
  EXPECT_THAT(ReadFile(dir_ / "report/report.md"), HasSubstr("holdout"));
}

TEST_F(TrainCliTest, BadDataIsAOneLineRuntimeError) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty.csv", "empty.csv"},           {"header_only.csv", "header_only.csv"},
      {"nan_cell.csv", "nan_cell.csv"},     {"text_cell.csv", "text_cell.csv"},
      {"single_row.csv", "single_row.csv"}, {"missing_target.csv", "missing_target.csv"},
      {"ragged.csv", "ragged.csv"},         {"no_such_file.csv", "no_such_file.csv"},
  };
  for (const auto& [file, mention] : cases) {
    SCOPED_TRACE(file);
    RunResult r = Run({"evaluate", "--data", kTestdata + "/train/" + file, "--trainers", "linear",
                       "--report", (dir_ / "r").string(), "--no-progress"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, StartsWith("wattson: error: "));
    EXPECT_THAT(r.err, HasSubstr(mention));
    EXPECT_EQ(CountLines(r.err), 1u) << r.err;
  }
  // Features of no Kepler group.
  RunResult r = Run({"train", "--data", kTestdata + "/train/tiny_preprocessed.csv", "--out",
                     (dir_ / "db").string(), "--feature-version", "v0.6", "--no-progress"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no Kepler v0.6 feature group"));
  // A feature group the data cannot supply.
  r = Run({"train", "--data", data_, "--feature-groups", "CounterOnly", "--out",
           (dir_ / "db").string(), "--no-progress"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("cache_miss"));
  EXPECT_FALSE(fs::exists(dir_ / "db"));
}

TEST_F(TrainCliTest, ConstantTargetsAreTrainedAsConstantsAndReported) {
  Dataset d = train_test::SyntheticDataset(30);
  d.targets.erase(Component::kPackage);
  d.targets.erase(Component::kCore);
  d.targets.erase(Component::kUncore);
  d.targets.erase(Component::kDram);
  for (double& w : d.targets[Component::kPlatform]) w = 200;
  const std::string data = (dir_ / "constant.csv").string();
  WriteFile(data, train_test::DatasetCsv(d));
  const std::string db = (dir_ / "db").string();
  RunResult r =
      Run({"train", "--data", data, "--trainers", "linear,sgd", "--feature-groups", "BPFOnly",
           "--folds", "3", "--out", db, "--report", (dir_ / "report").string(), "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(ReadFile(dir_ / "report/report.md"), HasSubstr("constant target (200 W)"));
  auto preds = ParseCsv(
      ReadFile(fs::path(db) / "acpi/AbsPower/BPFOnly/SGDRegressorTrainer_0/predictions.csv"),
      "predictions");
  ASSERT_TRUE(preds.ok());
  for (const auto& row : preds->rows) EXPECT_EQ(row.back(), "200");
  // DynPower of a constant is 0 W everywhere.
  auto dyn = ParseCsv(
      ReadFile(fs::path(db) / "acpi/DynPower/BPFOnly/SGDRegressorTrainer_0/predictions.csv"),
      "predictions");
  ASSERT_TRUE(dyn.ok());
  for (const auto& row : dyn->rows) EXPECT_EQ(row.back(), "0");
}

TEST_F(TrainCliTest, UsageErrorsExitTwoWithOneLine) {
  const std::string db = (dir_ / "db").string();
  const std::vector<std::vector<std::string>> cases = {
      {"train", "--data", data_},
      {"train", "--data", data_, "--out", db, "--trainers", "deep-learning"},
      {"train", "--data", data_, "--out", db, "--protocol", "crystal-ball"},
      {"train", "--data", data_, "--out", db, "--protocol", "none,blocked"},
      {"train", "--data", data_, "--out", db, "--power-scale", "abc"},
      {"train", "--data", data_, "--out", db, "--power-scale", "-1"},
      {"train", "--data", data_, "--out", db, "--isolation", "profile"},
      {"train", "--data", data_, "--out", db, "--output-types", "Watts"},
      {"train", "--data", data_, "--out", db, "--feature-groups", "Everything"},
      {"train", "--data", data_, "--out", db, "--sources", "nvml"},
      {"train", "--data", data_, "--out", db, "--folds", "1"},
      {"train", "--data", data_, "--out", db, "--seeds", "0"},
      {"train", "--data", data_, "--out", db, "--test-data", data_},
      {"evaluate", "--data", data_},
      {"evaluate", "--data", data_, "--report", db, "--protocol", "none"},
      {"evaluate", "--data", data_, "--report", db, "--test-fraction", "1"},
  };
  for (const auto& args : cases) {
    SCOPED_TRACE(::testing::PrintToString(args));
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, StartsWith("wattson: usage error: "));
    EXPECT_EQ(CountLines(r.err), 1u) << r.err;
  }
  EXPECT_FALSE(fs::exists(db));
}

TEST(TrainCommandTest, ExpandsTrainerLists) {
  auto all = ExpandTrainerList("kepler");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 10u);
  auto some = ExpandTrainerList("gbr, KNN, svr,LinearRegressionTrainer,log,gbr");
  ASSERT_TRUE(some.ok()) << some.status().ToString();
  EXPECT_THAT(*some,
              ::testing::ElementsAre("GradientBoostingRegressorTrainer",
                                     "KNeighborsRegressorTrainer", "SVRRegressorTrainer",
                                     "LinearRegressionTrainer", "LogarithmicRegressionTrainer"));
  EXPECT_FALSE(ExpandTrainerList("").ok());
  EXPECT_FALSE(ExpandTrainerList("nope").ok());
  char a0[] = "/usr/bin/wattson", a1[] = "train", a2[] = "--data", a3[] = "my file.csv",
       a4[] = "it's";
  char* argv[] = {a0, a1, a2, a3, a4};
  EXPECT_EQ(ShellJoin(5, argv), "wattson train --data 'my file.csv' 'it'\\''s'");
}

}  // namespace
}  // namespace wattson::cli
