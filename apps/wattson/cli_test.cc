// End-to-end tests of the wattson binary (exit codes, standard output and error) on fixtures in
// testdata/, plus unit tests of the command helpers.

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "cli_util.h"
#include "common/csv.h"
#include "common/json_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/linear.h"
#include "models/transform.h"
#include "models_command.h"
#include "predict_command.h"

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
const std::string kKeplerAcpiAbs =
    kTestdata + "/kepler-v0.7.11/model_weight/acpi_AbsPowerModel.json";
const std::string kModelDb = kTestdata + "/cli/modeldb";

class CliTest : public test::BinaryTest {};

// --- help, version, usage errors -------------------------------------------------------------

TEST_F(CliTest, HelpOfEveryCommandIsCompleteAndExitsZero) {
  const std::vector<std::vector<std::string>> commands = {{},
                                                          {"predict"},
                                                          {"models"},
                                                          {"models", "list"},
                                                          {"models", "show"},
                                                          {"models", "convert"},
                                                          {"models", "select"}};
  for (auto cmd : commands) {
    cmd.push_back("--help");
    RunResult r = Run(cmd);
    SCOPED_TRACE(::testing::PrintToString(cmd));
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_THAT(r.out, HasSubstr("Usage:"));
    EXPECT_THAT(r.out, HasSubstr("Exit codes: 0 success, 1 runtime error"));
    EXPECT_THAT(r.out, HasSubstr("2 usage error"));
    EXPECT_EQ(r.err, "");
  }
}

TEST_F(CliTest, TopLevelHelpListsOnlyExistingCommands) {
  RunResult r = Run({"--help"});
  EXPECT_THAT(r.out, AllOf(HasSubstr("predict"), HasSubstr("models"), HasSubstr("train"),
                           HasSubstr("evaluate"), HasSubstr("estimator"), HasSubstr("--log-level"),
                           HasSubstr("--version")));
  for (const char* absent : {"model-server"}) {
    EXPECT_THAT(r.out, Not(HasSubstr(std::string("\n  ") + absent + " "))) << absent;
  }
  RunResult m = Run({"models", "--help"});
  EXPECT_THAT(m.out, AllOf(HasSubstr("list"), HasSubstr("show"), HasSubstr("convert"),
                           HasSubstr("select")));
}

TEST_F(CliTest, PredictHelpDescribesItsOptions) {
  RunResult r = Run({"predict", "--help"});
  EXPECT_THAT(r.out, AllOf(HasSubstr("--model"), HasSubstr("--input"), HasSubstr("--output"),
                           HasSubstr("--system"), HasSubstr("--trainer"), HasSubstr("--format")));
}

TEST_F(CliTest, Version) {
  RunResult r = Run({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "wattson " WATTSON_VERSION "\n");
}

TEST_F(CliTest, UnknownCommandIsAUsageError) {
  RunResult r = Run({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, StartsWith("wattson: usage error: unknown command 'frobnicate'"));
  EXPECT_EQ(CountLines(r.err), 1u);
}

TEST_F(CliTest, UnknownSubcommandIsAUsageError) {
  RunResult r = Run({"models", "frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command 'frobnicate' for 'wattson models'"));
  EXPECT_EQ(CountLines(r.err), 1u);
}

TEST_F(CliTest, UnknownFlagIsAUsageErrorEvenWhenRequiredFlagsAreMissing) {
  RunResult r = Run({"predict", "--frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown option '--frobnicate' for 'wattson predict'"));
  EXPECT_EQ(CountLines(r.err), 1u);
}

TEST_F(CliTest, OtherUsageErrorsExitTwoWithOneLine) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"models"},
      {"predict", "--model", kKeplerAcpiAbs},
      {"predict", "--model", kKeplerAcpiAbs, "--input", "x.csv", "--format", "xml"},
      {"predict", "--model", kKeplerAcpiAbs, "--input", "x.csv", "--system", "novalue"},
      {"--log-level", "loud", "models", "show", kKeplerAcpiAbs},
      {"models", "list"},
      {"models", "show", "a.json", "b.json"},
      {"models", "select", kModelDb, "--features", "x", "--source", "acpi"},
      {"models", "select", kModelDb, "--features", ",", "--source", "acpi", "--output-type",
       "AbsPower"},
      {"models", "select", kModelDb, "--features", "x", "--source", "acpi", "--output-type",
       "AbsPower", "--filter", "nocolon"},
  };
  for (const auto& args : cases) {
    SCOPED_TRACE(::testing::PrintToString(args));
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, StartsWith("wattson: usage error: "));
    EXPECT_EQ(CountLines(r.err), 1u);
    EXPECT_EQ(r.out, "");
  }
}

TEST_F(CliTest, LogLevelMayFollowTheCommand) {
  RunResult r = Run({"models", "show", kKeplerAcpiAbs, "--log-level", "error"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// --- predict ---------------------------------------------------------------------------------

std::vector<std::vector<std::string>> ParseOutputCsv(const std::string& text) {
  auto t = ParseCsv(text, "output");
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  if (!t.ok()) return {};
  std::vector<std::vector<std::string>> rows = {t->header};
  rows.insert(rows.end(), t->rows.begin(), t->rows.end());
  return rows;
}

TEST_F(CliTest, PredictKeplerBundledWeightsMatchesTheReferenceExample) {
  // Reference spec §1.9: bpf_cpu_time_ms = 4000 → platform 240.548 W.
  RunResult r =
      Run({"predict", "--model", kKeplerAcpiAbs, "--input", kTestdata + "/cli/rows_bpf.csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  auto rows = ParseOutputCsv(r.out);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"row", "platform"}));
  EXPECT_EQ(rows[1][0], "1");
  const double busy = *ParseFiniteDouble(rows[1][1]);
  EXPECT_NEAR(busy, 240.548, 5e-4);
  EXPECT_DOUBLE_EQ(busy, 220.9079278650894 + 29.028228361462897 * (4000 / 5911.969193263386));
  // Idle row: the bias, printed so that it parses back exactly.
  EXPECT_EQ(rows[2][1], "220.9079278650894");
  // At x == scale: bias + weight.
  EXPECT_DOUBLE_EQ(*ParseFiniteDouble(rows[3][1]), 220.9079278650894 + 29.028228361462897);
}

TEST_F(CliTest, PredictPrintsComponentsInCanonicalOrder) {
  RunResult r = Run({"predict", "-m",
                     kTestdata + "/kepler-v0.7.11/model_weight/intel_rapl_AbsPowerModel.json", "-i",
                     kTestdata + "/cli/rows_bpf.csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rows = ParseOutputCsv(r.out);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"row", "package", "core", "uncore", "dram"}));
}

TEST_F(CliTest, PredictXgboostJsonWithNamedFeaturesAndComponent) {
  const std::string model = kTestdata + "/cli/xgboost_unnamed.json";
  const fs::path rows = dir_ / "rows.csv";
  WriteFile(rows, "b,a\n5,0.4\n1,0.5\n");
  RunResult unnamed = Run({"predict", "-m", model, "-i", rows.string()});
  EXPECT_EQ(unnamed.exit_code, 1);
  EXPECT_THAT(unnamed.err, HasSubstr("features"));
  RunResult r = Run({"predict", "-m", model, "-i", rows.string(), "--xgboost-features", "a,b",
                     "--xgboost-component", "platform"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "row,platform\n1,10.5\n2,12.25\n");
  const fs::path out = dir_ / "xgb.wattson.json";
  RunResult c =
      Run({"models", "convert", "-i", model, "--xgboost-features", "a,b", "-o", out.string()});
  EXPECT_EQ(c.exit_code, 0) << c.err;
}

TEST_F(CliTest, PredictTableFormat) {
  RunResult r = Run({"predict", "-m", kKeplerAcpiAbs, "-i", kTestdata + "/cli/rows_bpf.csv",
                     "--format", "table"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("platform W"));
  EXPECT_THAT(r.out, HasSubstr("240.548"));
  EXPECT_THAT(r.out, HasSubstr("220.908"));
  EXPECT_EQ(CountLines(r.out), 4u);
}

TEST_F(CliTest, PredictFromStdinToOutputFile) {
  const fs::path out = dir_ / "watts.csv";
  RunResult r = Run({"predict", "-m", kKeplerAcpiAbs, "-i", "-", "-o", out.string()},
                    "bpf_cpu_time_ms\r\n4000\r\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  auto rows = ParseOutputCsv(ReadFile(out));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NEAR(*ParseFiniteDouble(rows[1][1]), 240.548, 5e-4);
}

TEST_F(CliTest, PredictMissingFeatureNamesIt) {
  RunResult r =
      Run({"predict", "-m", kKeplerAcpiAbs, "-i", kTestdata + "/cli/missing_feature.csv"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, StartsWith("wattson: error: "));
  EXPECT_THAT(r.err, HasSubstr("missing feature column 'bpf_cpu_time_ms'"));
}

TEST_F(CliTest, PredictBadCellNamesRowAndColumn) {
  RunResult r = Run({"predict", "-m", kKeplerAcpiAbs, "-i", kTestdata + "/cli/bad_cell.csv"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, AllOf(StartsWith("wattson: error: "), HasSubstr("row 2"),
                           HasSubstr("column 'bpf_cpu_time_ms'"), HasSubstr("12abc")));
}

TEST_F(CliTest, PredictRuntimeErrorsExitOne) {
  const fs::path garbage = dir_ / "garbage.json";
  WriteFile(garbage, "{\"neither\": \"kepler nor wattson\"}");
  const fs::path empty = dir_ / "empty.csv";
  WriteFile(empty, "");
  const std::vector<std::vector<std::string>> cases = {
      {"predict", "-m", (dir_ / "absent.json").string(), "-i", kTestdata + "/cli/rows_bpf.csv"},
      {"predict", "-m", garbage.string(), "-i", kTestdata + "/cli/rows_bpf.csv"},
      {"predict", "-m", kKeplerAcpiAbs, "-i", (dir_ / "absent.csv").string()},
      {"predict", "-m", kKeplerAcpiAbs, "-i", empty.string()},
  };
  for (const auto& args : cases) {
    SCOPED_TRACE(::testing::PrintToString(args));
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, StartsWith("wattson: error: "));
    EXPECT_EQ(r.out, "");
  }
}

// --- models show / convert -------------------------------------------------------------------

TEST_F(CliTest, ModelsShowText) {
  RunResult r = Run({"models", "show", kKeplerAcpiAbs});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, AllOf(HasSubstr("features:"), HasSubstr("bpf_cpu_time_ms"),
                           HasSubstr("components:"), HasSubstr("platform"), HasSubstr("pipelines:"),
                           HasSubstr("maxabs(1->1) > linear")));
}

TEST_F(CliTest, ModelsShowJson) {
  RunResult r = Run({"models", "show", "--json", kKeplerAcpiAbs});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = ParseJson(r.out, "show output");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ((*j)["info"]["features"], Json::array({"bpf_cpu_time_ms"}));
  EXPECT_EQ((*j)["info"]["components"], Json::array({"platform"}));
  ASSERT_EQ((*j)["pipelines"].size(), 1u);
  EXPECT_EQ((*j)["pipelines"][0]["regressor"]["family"], "linear");
  EXPECT_EQ((*j)["pipelines"][0]["transforms"][0]["kind"], "maxabs");
}

TEST_F(CliTest, ModelsShowUnreadableFileExitsOne) {
  RunResult r = Run({"models", "show", (dir_ / "absent.json").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("wattson: error: "));
}

TEST_F(CliTest, ConvertRoundTripPredictsIdentically) {
  const std::vector<std::string> sources = {
      kKeplerAcpiAbs, kModelDb + "/acpi/AbsPower/BPFOnly/LogarithmicRegressionTrainer_0.json",
      kModelDb + "/acpi/AbsPower/BPFOnly/SGDRegressorTrainer_0.json"};
  for (const auto& src : sources) {
    SCOPED_TRACE(src);
    const fs::path out = dir_ / "converted.json";
    RunResult c = Run(
        {"models", "convert", "--input", src, "--output", out.string(), "--id", "converted/model"});
    ASSERT_EQ(c.exit_code, 0) << c.err;
    EXPECT_THAT(c.out, HasSubstr("predictions identical"));
    auto j = ParseJson(ReadFile(out), "converted");
    ASSERT_TRUE(j.ok());
    EXPECT_EQ((*j)["format"], "wattson-model");
    EXPECT_EQ((*j)["info"]["id"], "converted/model");

    // Both files give the same bytes of output on the same input.
    const fs::path rows = dir_ / "rows.csv";
    WriteFile(rows,
              "bpf_cpu_time_ms,bpf_page_cache_hit\n0,0\n1,1\n4000,12\n123456.5,0.25\n1e9,7\n");
    RunResult a = Run({"predict", "-m", src, "-i", rows.string()});
    RunResult b = Run({"predict", "-m", out.string(), "-i", rows.string()});
    ASSERT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(a.out, b.out);
  }
}

// Kepler model archives (issue 6): `predict` reproduces the reference predictions of every sample
// archive to 1e-9 relative, and `models convert` turns each into a wattson model that predicts
// identically.
TEST_F(CliTest, KeplerArchivesPredictAndConvert) {
  const std::string samples = kTestdata + "/kepler-model-db/ec2-0.7.11_samples/";
  int checked = 0;
  for (const auto& e : fs::directory_iterator(samples + "expected")) {
    const std::string name = e.path().filename().string();
    if (name.find(".input.csv") == std::string::npos) continue;
    const std::string stem = name.substr(0, name.size() - std::string(".input.csv").size());
    const std::string fg = stem.substr(0, stem.find('_'));
    const std::string model = stem.substr(stem.find('_') + 1);
    const std::string archive = samples + "rapl-sysfs/AbsPower/" + fg + "/" + model + ".zip";
    SCOPED_TRACE(archive);
    RunResult p = Run({"predict", "-m", archive, "-i", e.path().string()});
    ASSERT_EQ(p.exit_code, 0) << p.err;
    auto got = ParseCsv(p.out, "predict output");
    auto want = ParseCsv(ReadFile(samples + "expected/" + stem + ".expected.csv"), "expected");
    ASSERT_TRUE(got.ok() && want.ok());
    ASSERT_EQ(got->rows.size(), want->rows.size());
    for (std::size_t c = 0; c < want->header.size(); ++c) {
      const long gc = got->ColumnIndex(want->header[c]);
      ASSERT_GE(gc, 0) << want->header[c];
      for (std::size_t r = 0; r < want->rows.size(); ++r) {
        const double g = *ParseFiniteDouble(got->rows[r][static_cast<std::size_t>(gc)]);
        const double w = *ParseFiniteDouble(want->rows[r][c]);
        EXPECT_LE(std::abs(g - w), 1e-9 * std::max(std::abs(g), std::abs(w)))
            << want->header[c] << " row " << r + 1 << ": " << g << " vs " << w;
      }
    }
    const fs::path out = dir_ / (stem + ".json");
    RunResult c = Run({"models", "convert", "-i", archive, "-o", out.string()});
    ASSERT_EQ(c.exit_code, 0) << c.err;
    EXPECT_THAT(c.out, HasSubstr("predictions identical"));
    RunResult q = Run({"predict", "-m", out.string(), "-i", e.path().string()});
    ASSERT_EQ(q.exit_code, 0) << q.err;
    EXPECT_EQ(p.out, q.out);
    ++checked;
  }
  EXPECT_EQ(checked, 11);
}

TEST_F(CliTest, BadKeplerArchiveExitsOneNamingTheMember) {
  const fs::path dir = dir_ / "rapl-sysfs/AbsPower/BPFIRQ/LinearRegressionTrainer_0";
  fs::create_directories(dir);
  WriteFile(dir / "metadata.json", R"({"model_name": "LinearRegressionTrainer_0"})");
  WriteFile(dir / "LinearRegressionTrainer_0.json",
            R"({"package": {"model_file": "package.pkl", "features": ["a"], "fe_files": []}})");
  WriteFile(dir / "package.pkl", "\x80\x05garbage");
  RunResult r = Run({"models", "show", dir.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err,
              AllOf(StartsWith("wattson: error: "), HasSubstr("member package.pkl: pickle")));
}

TEST_F(CliTest, ConvertUnreadableInputExitsOneAndWritesNothing) {
  const fs::path out = dir_ / "converted.json";
  RunResult r =
      Run({"models", "convert", "-i", (dir_ / "absent.json").string(), "-o", out.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("wattson: error: "));
  EXPECT_FALSE(fs::exists(out));
}

// --- models list / select --------------------------------------------------------------------

std::vector<std::string> DataLines(const std::string& out) {
  std::vector<std::string> lines;
  std::istringstream in(out);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

TEST_F(CliTest, ModelsListSortsByErrorAndReportsProblems) {
  RunResult r = Run({"models", "list", kModelDb});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("id "));
  auto lines = DataLines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_THAT(lines[0], AllOf(StartsWith("acpi/AbsPower/BPFOnly/SGDRegressorTrainer_0 "),
                              HasSubstr("4.610")));
  EXPECT_THAT(lines[1], StartsWith("acpi/AbsPower/BPFOnly/LogarithmicRegressionTrainer_0 "));
  EXPECT_THAT(lines[2], StartsWith("acpi/AbsPower/BPFOnly/SGDRegressorTrainer_1 "));
  EXPECT_THAT(lines[3], StartsWith("acpi/DynPower/BPFOnly/SGDRegressorTrainer_0 "));
  EXPECT_THAT(r.err, HasSubstr("LogisticRegressionTrainer_0.json"));
  EXPECT_THAT(r.err, HasSubstr("Bias_Weight"));
  EXPECT_THAT(r.err, HasSubstr("1 file(s) could not be loaded"));
}

TEST_F(CliTest, ModelsListFilters) {
  RunResult r = Run({"models", "list", kModelDb, "--output-type", "DynPower", "--source", "acpi",
                     "--feature-group", "BPFOnly"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(DataLines(r.out).size(), 1u) << r.out;
  RunResult none = Run({"models", "list", kModelDb, "--source", "rapl"});
  ASSERT_EQ(none.exit_code, 0);
  EXPECT_EQ(DataLines(none.out).size(), 0u);
}

TEST_F(CliTest, ModelsListJson) {
  RunResult r = Run({"models", "list", "--json", kModelDb});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = ParseJson(r.out, "list output");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  ASSERT_EQ((*j)["models"].size(), 4u);
  EXPECT_EQ((*j)["models"][0]["id"], "acpi/AbsPower/BPFOnly/SGDRegressorTrainer_0");
  EXPECT_EQ((*j)["models"][0]["info"]["feature_group"], "BPFOnly");
  ASSERT_EQ((*j)["problems"].size(), 1u);
}

TEST_F(CliTest, ModelsListIndexesTheKeplerModelDbFixture) {
  RunResult r = Run({"models", "list", kTestdata + "/kepler-model-db"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(DataLines(r.out).size(), 50u);
  EXPECT_THAT(r.err, HasSubstr(" 0 file(s) could not be loaded"));
}

TEST_F(CliTest, ModelsListMissingDirExitsOne) {
  RunResult r = Run({"models", "list", (dir_ / "absent").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("wattson: error: "));
}

TEST_F(CliTest, ModelsSelectPicksLowestError) {
  RunResult r = Run({"models", "select", kModelDb, "--features",
                     "bpf_cpu_time_ms, bpf_page_cache_hit,cpu_cycles", "--source", "acpi",
                     "--output-type", "AbsPower"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("selected:      acpi/AbsPower/BPFOnly/SGDRegressorTrainer_0\n"));
  EXPECT_THAT(r.out, HasSubstr("lowest mae (4.61)"));

  RunResult by_trainer =
      Run({"models", "select", kModelDb, "--features", "bpf_cpu_time_ms,bpf_page_cache_hit",
           "--source", "acpi", "--output-type", "AbsPower", "--trainer", "Logarithmic", "--json"});
  ASSERT_EQ(by_trainer.exit_code, 0) << by_trainer.err;
  auto j = ParseJson(by_trainer.out, "select output");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["id"], "acpi/AbsPower/BPFOnly/LogarithmicRegressionTrainer_0");
  EXPECT_EQ((*j)["error_value"], 4.85);
}

TEST_F(CliTest, ModelsSelectNoMatchExitsOne) {
  RunResult r = Run({"models", "select", kModelDb, "--features", "cpu_cycles", "--source", "acpi",
                     "--output-type", "AbsPower"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("wattson: warning: 1 file(s) under "));
  EXPECT_THAT(r.err, HasSubstr("wattson: error: no model in "));
  EXPECT_THAT(r.err, HasSubstr("[cpu_cycles]"));
}

// --- helpers ---------------------------------------------------------------------------------

std::unique_ptr<PipelineModel> LinearModel(double intercept) {
  ComponentPipeline p;
  p.component = Component::kPackage;
  p.features = {"a", "b"};
  p.transforms.push_back(MaxAbsTransform::Create({2.0, 0.0}).value());
  p.regressor = LinearRegressor::Create(intercept, {1.5, 3.0}).value();
  std::vector<ComponentPipeline> pipelines;
  pipelines.push_back(std::move(p));
  return PipelineModel::Create(ModelInfo{}, std::move(pipelines)).value();
}

TEST(VerifySamePredictionsTest, AcceptsIdenticalAndRejectsOneUlpApart) {
  auto a = LinearModel(10.0);
  auto b = LinearModel(10.0);
  EXPECT_TRUE(VerifySamePredictions(*a, *b).ok());
  auto c = LinearModel(std::nextafter(10.0, 11.0));
  Status s = VerifySamePredictions(*a, *c);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("probe row"));
}

TEST(FeatureMatrixFromCsvTest, PicksNamedColumnsInModelOrder) {
  auto t = ParseCsv("ts,b,a\nx,2,1\ny,4,3\n", "t");
  ASSERT_TRUE(t.ok());
  auto m = FeatureMatrixFromCsv(*t, {"a", "b"}, "t");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(m->at(1, 0), 3.0);
  EXPECT_EQ(m->at(1, 1), 4.0);
  auto bad = FeatureMatrixFromCsv(*t, {"a", "ts"}, "t");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("t: row 1, column 'ts'"));
}

TEST(ParseSystemFeaturesTest, SplitsOnFirstEquals) {
  auto s = ParseSystemFeatures({"cpu_architecture=Sapphire Rapids", "x=a=b"});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->at("cpu_architecture"), "Sapphire Rapids");
  EXPECT_EQ(s->at("x"), "a=b");
  EXPECT_FALSE(ParseSystemFeatures({"=v"}).ok());
}

TEST(CliUtilTest, SplitListAndTextTable) {
  EXPECT_EQ(SplitList(" a, b ,,c "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(SplitList(",").empty());
  TextTable t({"name", "watts"});
  t.AddRow({"long-name", "1.5"});
  t.AddRow({"x", "100.25"});
  EXPECT_EQ(t.Render(),
            "name        watts\n"
            "long-name     1.5\n"
            "x          100.25\n");
}

}  // namespace
}  // namespace wattson::cli
