// Model DB writer: the kepler-model-db layout, Kepler metadata with the true max MAPE and
// per-component errors, Kepler weight JSON for the weight trainers, predictions that the written
// model reproduces bit for bit, and a catalogue scan that finds every model with its errors.
#include "train/model_db_writer.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <string>

#include "common/csv.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/catalogue.h"
#include "models/feature_groups.h"
#include "models/kepler_weights.h"
#include "models/model_loader.h"
#include "models/wattson_format.h"
#include "train/training_test_util.h"

namespace wattson {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using train_test::SyntheticDataset;
using train_test::TempDir;

const TrainingRunResult& SmallRun() {
  static const TrainingRunResult* run = [] {
    static const Dataset d = SyntheticDataset(60);
    TrainingOptions o;
    o.trainers = {"LinearRegressionTrainer", "SGDRegressorTrainer"};
    o.feature_groups = {"BPFOnly", "KubeletOnly"};
    o.protocols = {Protocol::kBlocked, Protocol::kKepler};
    o.folds = 3;
    o.seeds = 2;
    o.node_type = 1;
    o.created = "2024-01-02T03:04:05Z";
    auto r = RunTraining({&d}, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return new TrainingRunResult(std::move(r).value());
  }();
  return *run;
}

Json ReadJson(const fs::path& p) {
  auto text = ReadLocalFile(p.string());
  EXPECT_TRUE(text.ok()) << p;
  auto j = ParseJson(text.ok() ? *text : "null", p.string());
  EXPECT_TRUE(j.ok());
  return j.ok() ? *j : Json();
}

TEST(ModelDbWriterTest, WritesKeplerLayoutWithMetadataWeightsAndPredictions) {
  const TrainingRunResult& run = SmallRun();
  ASSERT_EQ(run.failures(), 0u);
  TempDir tmp;
  const std::string db = tmp.Sub("my_pipeline");
  auto summary = WriteModelDb(run, db);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->models, run.jobs.size());
  // SGD is a weight trainer: 1 of 2 trainers × 2 groups × 4 sets.
  EXPECT_EQ(summary->weight_files, 1u * 2 * 4);

  const fs::path root(db);
  const Json pipeline = ReadJson(root / "metadata.json");
  EXPECT_EQ(pipeline["name"], "my_pipeline");
  EXPECT_EQ(pipeline["isolator"], "min");
  EXPECT_EQ(pipeline["init_time"], "2024-01-02 03:04:05");
  EXPECT_EQ(pipeline["abs_trainers"].size(), 2u);
  EXPECT_EQ(pipeline["tool"], "wattson 0.1.0");
  for (const char* csv :
       {"rapl-sysfs_AbsPower_model_metadata.csv", "rapl-sysfs_DynPower_model_metadata.csv",
        "acpi_AbsPower_model_metadata.csv", "acpi_DynPower_model_metadata.csv"}) {
    EXPECT_TRUE(fs::exists(root / csv)) << csv;
  }

  const fs::path model = root / "rapl-sysfs/AbsPower/BPFOnly/SGDRegressorTrainer_1";
  for (const char* f : {"metadata.json", "model.wattson.json", "predictions.csv", "weight.json"}) {
    EXPECT_TRUE(fs::exists(model / f)) << f;
  }
  EXPECT_TRUE(fs::exists(root / "rapl-sysfs/AbsPower/BPFOnly/SGDRegressorTrainer_1.json"));
  EXPECT_FALSE(fs::exists(root / "rapl-sysfs/AbsPower/BPFOnly/LinearRegressionTrainer_1.json"));
  EXPECT_FALSE(
      fs::exists(root / "rapl-sysfs/AbsPower/BPFOnly/LinearRegressionTrainer_1/weight.json"));

  const Json meta = ReadJson(model / "metadata.json");
  EXPECT_EQ(meta["model_name"], "SGDRegressorTrainer_1");
  EXPECT_EQ(meta["model_class"], "scikit");
  EXPECT_EQ(meta["model_file"], "model.wattson.json");
  EXPECT_EQ(meta["output_type"], "AbsPower");
  EXPECT_EQ(meta["feature_group"], "BPFOnly");
  EXPECT_EQ(meta["node_type"], 1);
  EXPECT_EQ(meta["protocol"], "blocked-cv");
  EXPECT_EQ(meta["folds"], 3);
  EXPECT_EQ(meta["dataset_sha256"], "0123456789abcdef");
  EXPECT_EQ(meta["weight_file"], "weight.json");
  EXPECT_EQ(meta["core_mape"], -1);  // undefined (0 W), as Kepler writes it
  EXPECT_TRUE(meta.contains("skipped_components"));
  EXPECT_TRUE(meta["evaluations"].contains("kepler-random-split"));
  EXPECT_EQ(meta["evaluations"]["kepler-random-split"]["seeds"], Json::array({1, 2}));
  // mae and mape are the max over components; mape is not the last component's value.
  const double package_mape = meta["package_mape"].get<double>();
  const double dram_mape = meta["dram_mape"].get<double>();
  EXPECT_EQ(meta["mape"].get<double>(), std::max(package_mape, dram_mape));
  EXPECT_EQ(meta["mae"].get<double>(),
            std::max(meta["package_mae"].get<double>(), meta["dram_mae"].get<double>()));
  for (const char* k : {"package_max_error", "package_r2", "dram_max_error", "dram_r2"}) {
    EXPECT_TRUE(meta[k].is_number()) << k;
  }

  // The sibling weight JSON is Kepler's format and loads as such.
  auto weights =
      LoadModelFile((root / "rapl-sysfs/AbsPower/BPFOnly/SGDRegressorTrainer_1.json").string());
  ASSERT_TRUE(weights.ok()) << weights.status().ToString();
  EXPECT_EQ((*weights)->info().trainer, "SGDRegressorTrainer");
}

TEST(ModelDbWriterTest, PredictionsAreReproducedByTheWrittenModel) {
  const TrainingRunResult& run = SmallRun();
  TempDir tmp;
  ASSERT_TRUE(WriteModelDb(run, tmp.Sub("db")).ok());
  for (const auto& job : run.jobs) {
    const fs::path dir = tmp.path() / "db" / ModelDirName(run, job);
    auto model = LoadModelFile((dir / "model.wattson.json").string());
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    const Dataset& data = run.sets[job.job.set].data;
    auto x = data.Matrix((*model)->info().features);
    ASSERT_TRUE(x.ok());
    auto pred = (*model)->Predict(*x);
    ASSERT_TRUE(pred.ok());
    auto text = ReadLocalFile((dir / "predictions.csv").string());
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(*text, PredictionsCsv(data.timestamps, *pred)) << dir;
  }
}

TEST(ModelDbWriterTest, MetadataCsvHasKeplerColumnsSortedByGroupAndMae) {
  const TrainingRunResult& run = SmallRun();
  const std::string text = ModelMetadataCsv(run, "rapl-sysfs", OutputType::kAbsPower);
  auto t = ParseCsv(text, "csv");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const std::vector<std::string> kepler_prefix = {
      "",          "model_name",   "model_class", "model_file",
      "features",  "fe_files",     "output_type", "mae",
      "mape",      "package_mae",  "core_mae",    "uncore_mae",
      "dram_mae",  "package_mape", "core_mape",   "uncore_mape",
      "dram_mape", "trainer",      "node_type",   "feature_group"};
  ASSERT_GE(t->header.size(), kepler_prefix.size());
  for (std::size_t i = 0; i < kepler_prefix.size(); ++i) EXPECT_EQ(t->header[i], kepler_prefix[i]);
  ASSERT_EQ(t->rows.size(), 4u);
  const long fg = t->ColumnIndex("feature_group"), mae = t->ColumnIndex("mae");
  for (std::size_t r = 1; r < t->rows.size(); ++r) {
    const auto& a = t->rows[r - 1];
    const auto& b = t->rows[r];
    const auto ga = a[static_cast<std::size_t>(fg)], gb = b[static_cast<std::size_t>(fg)];
    EXPECT_LE(ga, gb);
    if (ga == gb) {
      EXPECT_LE(*ParseFiniteDouble(a[static_cast<std::size_t>(mae)]),
                *ParseFiniteDouble(b[static_cast<std::size_t>(mae)]));
    }
  }
  EXPECT_EQ(t->rows[0][static_cast<std::size_t>(t->ColumnIndex("features"))],
            "['bpf_cpu_time_us']");
  EXPECT_EQ(t->rows[0][static_cast<std::size_t>(t->ColumnIndex("core_mape"))], "-1");
  EXPECT_EQ(PythonListRepr({"a", "b'c"}), "['a', 'b\\'c']");
}

TEST(ModelDbWriterTest, CatalogueFindsEveryModelWithItsErrors) {
  const TrainingRunResult& run = SmallRun();
  TempDir tmp;
  const std::string db = tmp.Sub("db");
  ASSERT_TRUE(WriteModelDb(run, db).ok());
  auto cat = ModelCatalogue::Scan(db);
  ASSERT_TRUE(cat.ok()) << cat.status().ToString();
  EXPECT_TRUE(cat->problems().empty())
      << cat->problems().front().path << ": " << cat->problems().front().status.ToString();
  for (const auto& job : run.jobs) {
    const std::string dir = ModelDirName(run, job);
    const double mae = job.evaluations.front().mae;
    const CatalogueEntry* wattson_entry = cat->Find(dir + "/model.wattson");
    ASSERT_NE(wattson_entry, nullptr) << dir;
    EXPECT_EQ(wattson_entry->format, "wattson");
    EXPECT_DOUBLE_EQ(wattson_entry->metrics.at("mae"), mae) << dir;
    EXPECT_EQ(wattson_entry->info().errors.protocol, "blocked-cv");
    EXPECT_EQ(wattson_entry->info().feature_group, job.job.feature_group);
    if (IsWeightTrainer(job.job.trainer)) {
      // The sibling <Trainer>_<nt>.json gets its errors from the metadata CSV.
      const CatalogueEntry* kepler = cat->Find(dir);
      ASSERT_NE(kepler, nullptr) << dir;
      EXPECT_EQ(kepler->format, "kepler-weights");
      EXPECT_EQ(kepler->pipeline, "db");
      EXPECT_DOUBLE_EQ(kepler->metrics.at("mae"), mae) << dir;
      EXPECT_EQ(kepler->info().feature_group, job.job.feature_group);
      EXPECT_EQ(kepler->info().node_type, 1);
      for (const auto& ce : job.evaluations.front().components) {
        const std::string c(ComponentName(ce.component));
        EXPECT_TRUE(kepler->metrics.count(c + "_mae")) << dir << " " << c;
      }
      ASSERT_NE(cat->Find(dir + "/weight"), nullptr) << dir;
    }
  }
  // Selection over the written DB picks the lowest blocked-CV error.
  SelectionRequest req;
  req.features = {"bpf_cpu_time_us"};
  req.energy_source = "acpi";
  req.output_type = OutputType::kAbsPower;
  auto best = cat->SelectBest(req);
  ASSERT_TRUE(best.ok()) << best.status().ToString();
  double lowest = std::numeric_limits<double>::infinity();
  for (const auto& job : run.jobs) {
    const TrainingSet& set = run.sets[job.job.set];
    if (set.energy_source == "acpi" && set.output_type == OutputType::kAbsPower &&
        job.job.feature_group == "BPFOnly") {
      lowest = std::min(lowest, job.evaluations.front().mae);
    }
  }
  EXPECT_DOUBLE_EQ((*best)->metrics.at("mae"), lowest);
}

TEST(ModelDbWriterTest, RefusesForeignDirectoriesAndReplacesItsOwnOnlyWithForce) {
  const TrainingRunResult& run = SmallRun();
  TempDir tmp;
  const std::string foreign = tmp.Sub("foreign");
  fs::create_directories(foreign);
  ASSERT_TRUE(WriteLocalFileAtomic(foreign + "/keep.txt", "mine").ok());
  ModelDbOptions force;
  force.force = true;
  auto r = WriteModelDb(run, foreign, force);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("not a model DB written by wattson"));
  EXPECT_TRUE(fs::exists(foreign + "/keep.txt"));

  const std::string db = tmp.Sub("db");
  ASSERT_TRUE(WriteModelDb(run, db).ok());
  r = WriteModelDb(run, db);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("--force"));
  ASSERT_TRUE(WriteLocalFileAtomic(db + "/stale.json", "{}").ok());
  r = WriteModelDb(run, db, force);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(fs::exists(db + "/stale.json"));
  EXPECT_TRUE(fs::exists(db + "/metadata.json"));

  ASSERT_TRUE(WriteLocalFileAtomic(tmp.Sub("file"), "x").ok());
  EXPECT_FALSE(WriteModelDb(run, tmp.Sub("file")).ok());
}

TEST(ModelDbWriterTest, CurveFitModelsGetKeplerWeightJson) {
  const Dataset d = SyntheticDataset(30);
  TrainingOptions o;
  o.trainers = {"LogarithmicRegressionTrainer"};
  o.feature_groups = {"BPFOnly"};
  o.output_types = {OutputType::kAbsPower};
  o.energy_sources = {"acpi"};
  o.protocols = {};
  auto run = RunTraining({&d}, o);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_EQ(run->models(), 1u) << run->jobs[0].error;
  TempDir tmp;
  auto summary = WriteModelDb(*run, tmp.Sub("db"));
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->weight_files, 1u);
  const fs::path sibling =
      tmp.path() / "db/acpi/AbsPower/BPFOnly/LogarithmicRegressionTrainer_0.json";
  const Json weights = ReadJson(sibling);
  EXPECT_TRUE(weights["platform"]["All_Weights"].contains("CurveFit_Weights"));
  auto loaded = LoadModelFile(sibling.string());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  // The Kepler weight file predicts what the wattson model predicts.
  auto x = run->sets[0].data.Matrix({"bpf_cpu_time_us"});
  ASSERT_TRUE(x.ok());
  auto a = (*loaded)->Predict(*x);
  auto b = run->jobs[0].model->Predict(*x);
  ASSERT_TRUE(a.ok() && b.ok());
  for (std::size_t r = 0; r < a->rows; ++r) {
    EXPECT_NEAR(a->components[0].watts[r].value(), b->components[0].watts[r].value(), 1e-9);
  }
}

TEST(ModelDbWriterTest, MachineSpecGoesIntoMetadataAndTheNodeTypeIndex) {
  Dataset d = SyntheticDataset(30);
  d.machine = "nx12";
  d.machine_spec.processor = "intel_xeon_gold_6230";
  d.machine_spec.cores = 80;
  d.machine_spec.chips = 2;
  TrainingOptions o;
  o.trainers = {"LinearRegressionTrainer"};
  o.feature_groups = {"BPFOnly"};
  o.output_types = {OutputType::kAbsPower};
  o.energy_sources = {"acpi"};
  o.protocols = {};
  auto run = RunTraining({&d}, o);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  TempDir tmp;
  ASSERT_TRUE(WriteModelDb(*run, tmp.Sub("db")).ok());
  const Json index = ReadJson(tmp.path() / "db/node_type_index.json");
  EXPECT_EQ(index["0"]["attrs"]["processor"], "intel_xeon_gold_6230");
  EXPECT_EQ(index["0"]["members"], Json::array({"nx12"}));
  const Json meta =
      ReadJson(tmp.path() / "db/acpi/AbsPower/BPFOnly/LinearRegressionTrainer_0/metadata.json");
  EXPECT_EQ(meta["machine"], "nx12");
  EXPECT_EQ(meta["machine_spec"]["cores"], 80);
  EXPECT_EQ(meta["protocol"], "none");
  EXPECT_TRUE(meta["mae"].is_null());
  auto cat = ModelCatalogue::Scan(tmp.Sub("db"));
  ASSERT_TRUE(cat.ok());
  EXPECT_NE(cat->Find("acpi/AbsPower/BPFOnly/LinearRegressionTrainer_0/model.wattson"), nullptr);
}

}  // namespace
}  // namespace wattson
