#include "train/dataset.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wattson {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kTrain = std::string(WATTSON_TESTDATA_DIR) + "/train/";
const std::string kModelDb = std::string(WATTSON_TESTDATA_DIR) + "/kepler-model-db/";

CsvDatasetOptions Csv(std::string name, double power_scale = 1.0) {
  CsvDatasetOptions o;
  o.name = std::move(name);
  o.power_scale = power_scale;
  return o;
}

PrometheusExtractOptions Prom(std::string instance, std::string energy_source = "",
                              std::string name = "") {
  PrometheusExtractOptions o;
  o.instance = std::move(instance);
  o.energy_source = std::move(energy_source);
  o.name = std::move(name);
  return o;
}

bool NotesContain(const Dataset& ds, std::string_view text) {
  return std::any_of(ds.notes.begin(), ds.notes.end(),
                     [&](const std::string& n) { return n.find(text) != std::string::npos; });
}

std::string NotesOf(const Dataset& ds) {
  std::string out;
  for (const auto& n : ds.notes) out += n + "\n";
  return out;
}

// ------------------------------------------------------------------------------------------------
// SHA-256

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// ------------------------------------------------------------------------------------------------
// CSV tables

TEST(LoadDatasetCsvTest, TinyPreprocessedTable) {
  auto ds = LoadDatasetCsv(kTrain + "tiny_preprocessed.csv");
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->name, "tiny_preprocessed.csv");
  EXPECT_EQ(ds->rows(), 6u);
  EXPECT_THAT(ds->feature_names, ElementsAre("cpu_cycles", "bpf_cpu_time_ms"));
  EXPECT_THAT(ds->timestamps, ElementsAre(1000, 1003, 1006, 1009, 1012, 1015));
  ASSERT_EQ(ds->targets.size(), 2u);
  EXPECT_THAT(ds->targets.at(Component::kPackage), ElementsAre(20, 25.5, 31, 28, 21, 18));
  EXPECT_THAT(ds->targets.at(Component::kDram), ElementsAre(5, 5.5, 6, 5.5, 5, 4.5));
  EXPECT_THAT(ds->features[1], ElementsAre(1.5, 2.5, 4, 3, 1, 0.5));
  EXPECT_EQ(ds->sha256.size(), 64u);
  EXPECT_TRUE(NotesContain(*ds, "ignored bookkeeping columns: '', node_type, id")) << NotesOf(*ds);
}

TEST(LoadDatasetCsvTest, NameOptionAndHashIsOfTheBytes) {
  auto a = LoadDatasetCsv(kTrain + "tiny_preprocessed.csv", Csv("tiny"));
  auto b = LoadDatasetCsv(kTrain + "two_runs.csv");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->name, "tiny");
  EXPECT_NE(a->sha256, b->sha256);
}

TEST(LoadDatasetCsvTest, ConcatenatedRunsAreAcceptedWithANote) {
  auto ds = LoadDatasetCsv(kTrain + "two_runs.csv");
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->rows(), 5u);
  EXPECT_TRUE(NotesContain(*ds, "2 runs starting at rows 1, 4 (time goes back at row 4)"))
      << NotesOf(*ds);
}

TEST(LoadDatasetCsvTest, Nx12MergedTable) {
  auto ds = LoadDatasetCsv(kModelDb + "nx12_v0.6/nx12_merged_abs.csv");
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->rows(), 2202u);
  EXPECT_EQ(ds->targets.size(), 5u);
  EXPECT_EQ(ds->feature_names.size(), 13u);
  EXPECT_GE(ds->FeatureIndex("bpf_cpu_time_us"), 0);
  EXPECT_EQ(ds->FeatureIndex("node_type"), -1);
  EXPECT_EQ(ds->timestamps.front(), 1695115663);
  EXPECT_EQ(ds->timestamps.back(), 1695122266);
  const auto& core = ds->targets.at(Component::kCore);
  EXPECT_TRUE(std::all_of(core.begin(), core.end(), [](double v) { return v == 0; }));
  const auto& pkg = ds->targets.at(Component::kPackage);
  EXPECT_NEAR(*std::min_element(pkg.begin(), pkg.end()), 30.937, 1e-3);
  EXPECT_NEAR(*std::max_element(pkg.begin(), pkg.end()), 199.5, 0.1);
}

TEST(LoadDatasetCsvTest, Linux415PackageIsJoulesPerStep) {
  const std::string dir = kModelDb + "linux-4.15.0-213_v0.6/preprocessed_data/";
  auto ds = LoadDatasetCsv(dir + "rapl_KubeletOnly_abs_data.csv", Csv("", 1.0 / 3));
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->rows(), 1645u);
  EXPECT_THAT(ds->feature_names, ElementsAre("kubelet_cpu_usage", "kubelet_memory_bytes"));
  const auto& pkg = ds->targets.at(Component::kPackage);
  const double lo = *std::min_element(pkg.begin(), pkg.end());
  const double hi = *std::max_element(pkg.begin(), pkg.end());
  EXPECT_GE(lo, 60.0);
  EXPECT_LT(lo, 61.0);
  EXPECT_GT(hi, 289.0);
  EXPECT_LE(hi, 290.0);
  EXPECT_TRUE(NotesContain(*ds, "multiplied every *_power column by 0.333333")) << NotesOf(*ds);
  EXPECT_TRUE(
      NotesContain(*ds, "3 runs starting at rows 1, 165, 1284 (time goes back at row 1284)"))
      << NotesOf(*ds);

  // The DynPower table (unnamed index, float node_type, text id) loads too.
  auto dyn = LoadDatasetCsv(dir + "rapl_KubeletOnly_dyn_data.csv", Csv("", 1.0 / 3));
  ASSERT_TRUE(dyn.ok()) << dyn.status().ToString();
  EXPECT_EQ(dyn->rows(), 1645u);
  EXPECT_EQ(dyn->targets.size(), 4u);
}

TEST(LoadDatasetCsvTest, BadPowerScale) {
  for (double scale : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN()}) {
    auto ds = LoadDatasetCsv(kTrain + "tiny_preprocessed.csv", Csv("", scale));
    EXPECT_FALSE(ds.ok()) << scale;
  }
}

struct BadCsvCase {
  const char* file;
  const char* message;  // a substring of the error
};

class BadCsvTest : public ::testing::TestWithParam<BadCsvCase> {};

TEST_P(BadCsvTest, ClearError) {
  const BadCsvCase& c = GetParam();
  auto ds = LoadDatasetCsv(kTrain + c.file);
  ASSERT_FALSE(ds.ok()) << c.file;
  EXPECT_THAT(ds.status().message(), HasSubstr(c.file));
  EXPECT_THAT(ds.status().message(), HasSubstr(c.message));
}

INSTANTIATE_TEST_SUITE_P(
    Files, BadCsvTest,
    ::testing::Values(BadCsvCase{"empty.csv", "empty CSV"},
                      BadCsvCase{"header_only.csv", "no rows"},
                      BadCsvCase{"single_row.csv", "only 1 data row"},
                      BadCsvCase{"ragged.csv", "line 3: 2 fields, header has 3"},
                      BadCsvCase{"text_cell.csv",
                                 "row 3 (line 4), column 'cpu_cycles': 'abc' is not a number"},
                      BadCsvCase{"nan_cell.csv", "row 2 (line 3), column 'package_power'"},
                      BadCsvCase{"missing_target.csv", "no target column"},
                      BadCsvCase{"unknown_power.csv", "column 'gpu_power': unknown power column"},
                      BadCsvCase{"nonmonotonic.csv", "timestamps are not monotonic"},
                      BadCsvCase{"duplicate_timestamp.csv", "row 3 (line 4), column 'timestamp'"},
                      BadCsvCase{"negative_power.csv", "negative power"},
                      BadCsvCase{"does_not_exist.csv", "does_not_exist.csv"}),
    [](const ::testing::TestParamInfo<BadCsvCase>& p) {
      std::string name = p.param.file;
      std::replace_if(
          name.begin(), name.end(), [](char ch) { return !std::isalnum(ch); }, '_');
      return name;
    });

// ------------------------------------------------------------------------------------------------
// Dataset helpers

Dataset Small() {
  Dataset ds;
  ds.name = "small";
  ds.timestamps = {10, 20, 30};
  ds.feature_names = {"a", "b"};
  ds.features = {{1, 2, 3}, {4, 5, 6}};
  ds.targets[Component::kPackage] = {7, 8, 9};
  return ds;
}

TEST(DatasetTest, FeatureIndex) {
  Dataset ds = Small();
  EXPECT_EQ(ds.FeatureIndex("a"), 0);
  EXPECT_EQ(ds.FeatureIndex("b"), 1);
  EXPECT_EQ(ds.FeatureIndex("c"), -1);
}

TEST(DatasetTest, MatrixSelectsColumnsAndRows) {
  Dataset ds = Small();
  auto all = ds.Matrix({"b", "a"});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->rows(), 3u);
  EXPECT_EQ(all->at(0, 0), 4);
  EXPECT_EQ(all->at(2, 1), 3);
  auto some = ds.Matrix({"a"}, {2, 0});
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(some->rows(), 2u);
  EXPECT_EQ(some->at(0, 0), 3);
  EXPECT_EQ(some->at(1, 0), 1);
  EXPECT_FALSE(ds.Matrix({"zzz"}).ok());
  EXPECT_FALSE(ds.Matrix({"a", "a"}).ok());
  EXPECT_FALSE(ds.Matrix({"a"}, {3}).ok());
}

TEST(DatasetTest, SubsetKeepsOrder) {
  Dataset ds = Small();
  Dataset sub = ds.Subset({2, 0});
  EXPECT_THAT(sub.timestamps, ElementsAre(30, 10));
  EXPECT_THAT(sub.features[1], ElementsAre(6, 4));
  EXPECT_THAT(sub.targets.at(Component::kPackage), ElementsAre(9, 7));
  EXPECT_EQ(sub.name, "small");
  Dataset skipped = ds.Subset({1, 99});
  EXPECT_EQ(skipped.rows(), 1u);
}

// ------------------------------------------------------------------------------------------------
// Prometheus dumps

TEST(LoadPrometheusDumpTest, TwoInstancesAreRefused) {
  auto ds = LoadPrometheusDump(kTrain + "prom_two_instances.json");
  ASSERT_FALSE(ds.ok());
  EXPECT_THAT(ds.status().message(), HasSubstr("2 instances (node-a:9102, node-b:9102)"));
}

TEST(LoadPrometheusDumpTest, UnknownInstance) {
  auto ds = LoadPrometheusDump(kTrain + "prom_two_instances.json", Prom("node-z"));
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(ds.status().message(), HasSubstr("node-a:9102, node-b:9102"));
}

TEST(LoadPrometheusDumpTest, RatesWithIrregularIntervalsAndACounterReset) {
  auto ds =
      LoadPrometheusDump(kTrain + "prom_two_instances.json", Prom("node-a:9102", "rapl", "a"));
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  // Intervals (1000,1003] (1003,1006] (1006,1010] (1010,1013] (1013,1016]; the fourth holds a
  // reset of the package counter (dynamic mode) and is dropped, never forward-filled.
  EXPECT_THAT(ds->timestamps, ElementsAre(1003, 1006, 1010, 1016));
  ASSERT_EQ(ds->targets.size(), 2u) << "platform has source acpi, filtered out";
  // Σ modes: (30+30)/3, (45+30)/3, (80+40)/4 with its own Δt = 4 s, (36+30)/3.
  EXPECT_THAT(ds->targets.at(Component::kPackage), ElementsAre(20, 25, 30, 22));
  EXPECT_THAT(ds->targets.at(Component::kDram), ElementsAre(3, 3, 3, 3));
  // Features: sorted names; container c2 appears at 1006 (its first interval counts 0), the
  // job="vm" series and the container joules (a Kepler output) are not features.
  EXPECT_THAT(ds->feature_names, ElementsAre("bpf_cpu_time_ms", "cpu_cycles"));
  EXPECT_THAT(ds->features[0], ElementsAre(10, 20, 10, 10));
  EXPECT_THAT(ds->features[1], ElementsAre(1000, 2000, 2000, 1100));
  EXPECT_EQ(ds->machine, "node-a:9102");
  EXPECT_EQ(ds->name, "a");
  EXPECT_TRUE(NotesContain(
      *ds, "dropped 1 interval with a counter reset on kepler_node_package_joules_total"))
      << NotesOf(*ds);
  EXPECT_TRUE(NotesContain(*ds, "ignored 1 container series with job=\"vm\"")) << NotesOf(*ds);
  EXPECT_TRUE(NotesContain(*ds, "ignored 1 node energy series with a source other than"))
      << NotesOf(*ds);
  EXPECT_TRUE(NotesContain(*ds, "1 container series start or end inside the range"))
      << NotesOf(*ds);
  EXPECT_TRUE(NotesContain(*ds, "kepler_container_package_joules_total")) << NotesOf(*ds);
}

TEST(LoadPrometheusDumpTest, AnySourceKeepsPlatform) {
  auto ds = LoadPrometheusDump(kTrain + "prom_two_instances.json", Prom("node-a:9102"));
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  ASSERT_EQ(ds->targets.count(Component::kPlatform), 1u);
  EXPECT_THAT(ds->targets.at(Component::kPlatform), ElementsAre(100, 100, 100, 100));
}

TEST(LoadPrometheusDumpTest, SecondInstanceIsKeptApart) {
  auto ds = LoadPrometheusDump(kTrain + "prom_two_instances.json", Prom("node-b:9102"));
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_THAT(ds->timestamps, ElementsAre(1003, 1006));
  EXPECT_THAT(ds->targets.at(Component::kPackage), ElementsAre(100, 100));
  EXPECT_THAT(ds->feature_names, ElementsAre("cpu_cycles"));
  EXPECT_THAT(ds->features[0], ElementsAre(10, 10));
}

TEST(LoadPrometheusDumpTest, RawApiResponse) {
  auto ds = LoadPrometheusDump(kTrain + "prom_raw_api.json");
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_THAT(ds->timestamps, ElementsAre(1003, 1006, 1010));
  EXPECT_THAT(ds->targets.at(Component::kPackage), ElementsAre(20, 30, 25));
  EXPECT_THAT(ds->features[0], ElementsAre(100, 200, 100));
  EXPECT_EQ(ds->name, "prom_raw_api.json");
}

TEST(LoadPrometheusDumpTest, DirectoryOfPerMetricFiles) {
  const std::string dir = ::testing::TempDir() + "/wattson_prom_dir";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  // Raw API responses without __name__: the file stem names the metric.
  const auto write = [&](const std::string& metric, const std::string& labels,
                         const std::string& values) {
    std::ofstream(dir + "/" + metric + ".json")
        << R"({"status": "success", "data": {"resultType": "matrix", "result": [{"metric": )"
        << labels << R"(, "values": )" << values << "}]}}";
  };
  write("kepler_node_dram_joules_total", R"({"instance": "n", "mode": "idle"})",
        R"([[10, "0"], [12, "8"], [14, "12"]])");
  write("kepler_container_cache_miss_total", R"({"instance": "n", "container_id": "c"})",
        R"([[10, "0"], [12, 100], [14, 150]])");
  std::ofstream(dir + "/notes.txt") << "not a dump";
  auto ds = LoadPrometheusDump(dir);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_THAT(ds->targets.at(Component::kDram), ElementsAre(4, 2));
  EXPECT_THAT(ds->feature_names, ElementsAre("cache_miss"));
  EXPECT_THAT(ds->features[0], ElementsAre(50, 25));
  EXPECT_EQ(ds->origin, dir);

  // The same series in two files is refused.
  std::ofstream(dir + "/copy.json") << R"({"kepler_node_dram_joules_total": [{"metric": )"
                                    << R"({"mode": "idle", "instance": "n"}, "values": []}]})";
  auto twice = LoadPrometheusDump(dir);
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.status().message(), HasSubstr("appears twice"));
  std::filesystem::remove_all(dir);
}

TEST(LoadPrometheusDumpTest, SourceFilterThatMatchesNothing) {
  auto ds = LoadPrometheusDump(kTrain + "prom_raw_api.json", Prom("", "acpi"));
  ASSERT_FALSE(ds.ok());
  EXPECT_THAT(ds.status().message(), HasSubstr("with source \"acpi\""));
}

class BadDumpTest : public ::testing::TestWithParam<BadCsvCase> {};

TEST_P(BadDumpTest, ClearError) {
  const BadCsvCase& c = GetParam();
  auto ds = LoadPrometheusDump(kTrain + c.file);
  ASSERT_FALSE(ds.ok()) << c.file;
  EXPECT_THAT(ds.status().message(), HasSubstr(c.file));
  EXPECT_THAT(ds.status().message(), HasSubstr(c.message));
}

INSTANTIATE_TEST_SUITE_P(
    Files, BadDumpTest,
    ::testing::Values(
        BadCsvCase{"prom_empty.json", "empty file"},
        BadCsvCase{"prom_not_json.json", "prom_not_json.json"},
        BadCsvCase{"prom_bad_shape.json", "must map to a list of series"},
        BadCsvCase{"prom_instant_vector.json", "instant vector"},
        BadCsvCase{"prom_bad_value.json", "sample 1 value: 'abc' is not a number"},
        BadCsvCase{"prom_unordered.json", "sample 2: timestamps are not increasing"},
        BadCsvCase{"prom_no_targets.json", "no kepler_node_<component>_joules_total series"},
        BadCsvCase{"prom_no_features.json", "no kepler_container_<feature>_total series"}),
    [](const ::testing::TestParamInfo<BadCsvCase>& p) {
      std::string name = p.param.file;
      std::replace_if(
          name.begin(), name.end(), [](char ch) { return !std::isalnum(ch); }, '_');
      return name;
    });

}  // namespace
}  // namespace wattson
