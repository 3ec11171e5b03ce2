// ModelCatalogue: indexing a kepler-model-db tree, published errors and machine specs, and
// best-model selection (node types as integers, working filters, spec matching).
#include "models/catalogue.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/csv.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "gtest/gtest.h"
#include "models/feature_groups.h"
#include "models/kepler_weights.h"
#include "models/wattson_format.h"

namespace wattson {
namespace {

namespace fs = std::filesystem;

const std::string kModelDb = std::string(WATTSON_TESTDATA_DIR) + "/kepler-model-db";
const std::string kSpecpower = kModelDb + "/specpower-0.7.11_nodetypes0-9";
const std::vector<std::string> kBpfFeatures = {"bpf_cpu_time_ms", "bpf_page_cache_hit",
                                               "bpf_block_irq"};

const ModelCatalogue& Specpower() {
  static const ModelCatalogue* cat = [] {
    auto c = ModelCatalogue::Scan(kSpecpower);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return new ModelCatalogue(std::move(c).value());
  }();
  return *cat;
}

SelectionRequest AcpiRequest(OutputType ot = OutputType::kAbsPower) {
  SelectionRequest r;
  r.features = kBpfFeatures;
  r.energy_source = "acpi";
  r.output_type = ot;
  return r;
}

// Rows of a specpower metadata CSV, read independently of the catalogue.
struct PublishedRow {
  std::string model_name;
  int node_type;
  double mae;
  double mape;
};
std::vector<PublishedRow> PublishedRows(const std::string& ot) {
  auto text = ReadLocalFile(kSpecpower + "/acpi_" + ot + "_model_metadata_0-9.csv");
  EXPECT_TRUE(text.ok());
  auto t = ParseCsv(*text, "csv");
  EXPECT_TRUE(t.ok());
  std::vector<PublishedRow> out;
  for (const auto& row : t->rows) {
    PublishedRow r;
    r.model_name = row[static_cast<std::size_t>(t->ColumnIndex("model_name"))];
    r.node_type = std::stoi(row[static_cast<std::size_t>(t->ColumnIndex("node_type"))]);
    r.mae = std::stod(row[static_cast<std::size_t>(t->ColumnIndex("mae"))]);
    r.mape = std::stod(row[static_cast<std::size_t>(t->ColumnIndex("mape"))]);
    // Only the weight files are in the DB sample.
    if (fs::exists(kSpecpower + "/weights/acpi/" + ot + "/BPFOnly/" + r.model_name + ".json")) {
      out.push_back(r);
    }
  }
  return out;
}

class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("wattson_catalogue_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }
  void Write(const std::string& rel, const std::string& content) const {
    fs::create_directories((path_ / rel).parent_path());
    ASSERT_TRUE(WriteLocalFileAtomic((path_ / rel).string(), content).ok()) << rel;
  }
  void Copy(const std::string& from, const std::string& rel) const {
    auto text = ReadLocalFile(from);
    ASSERT_TRUE(text.ok());
    Write(rel, *text);
  }

 private:
  fs::path path_;
};

TEST(CatalogueTest, ScansSpecpowerSample) {
  const ModelCatalogue& cat = Specpower();
  EXPECT_TRUE(cat.problems().empty())
      << cat.problems().front().path << ": " << cat.problems().front().status.ToString();
  ASSERT_EQ(cat.entries().size(), 74u);
  ASSERT_EQ(cat.node_type_indexes().size(), 1u);
  EXPECT_EQ(cat.node_type_indexes().begin()->second.size(), 10u);
  std::set<std::string> ids;
  for (const auto& e : cat.entries()) {
    ids.insert(e.id);
    EXPECT_EQ(e.format, "kepler-weights");
    EXPECT_EQ(e.pipeline, "specpower-0.7.11_nodetypes0-9");
    EXPECT_EQ(e.info().id, e.id);
    EXPECT_EQ(e.info().energy_source, "acpi");
    EXPECT_EQ(e.info().feature_group, "BPFOnly");
    EXPECT_GE(e.info().node_type, 0);
    EXPECT_LE(e.info().node_type, 9);
    // Every weight file of the sample has a published row.
    EXPECT_TRUE(e.metrics.count("mae")) << e.id;
    EXPECT_TRUE(e.info().errors.has_mae()) << e.id;
    EXPECT_EQ(e.info().errors.protocol, "kepler-published");
    EXPECT_FALSE(e.info().provenance.machine_spec.empty()) << e.id;
    EXPECT_EQ(cat.Find(e.id), &e);
  }
  EXPECT_EQ(ids.size(), 74u);
  EXPECT_EQ(cat.Find("nope"), nullptr);

  const CatalogueEntry* e = cat.Find("weights/acpi/AbsPower/BPFOnly/LogisticRegressionTrainer_3");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->info().name, "LogisticRegressionTrainer_3");
  EXPECT_EQ(e->info().trainer, "LogisticRegressionTrainer");
  EXPECT_DOUBLE_EQ(e->metrics.at("mae"), 0.88);
  EXPECT_DOUBLE_EQ(e->metrics.at("platform_mae"), 0.88);
  EXPECT_DOUBLE_EQ(e->info().errors.per_component.at("platform").mape, 0.21);
  EXPECT_EQ(e->info().provenance.machine_spec.processor, "amd_opteron_6278");
  EXPECT_EQ(e->info().provenance.machine_spec.cores, 64);
}

TEST(CatalogueTest, PicksTheLowestPublishedErrorForTheNodeType) {
  const ModelCatalogue& cat = Specpower();
  for (const std::string ot : {"AbsPower", "DynPower"}) {
    const auto rows = PublishedRows(ot);
    for (int nt = 0; nt <= 9; ++nt) {
      const PublishedRow* want = nullptr;
      for (const auto& r : rows) {
        if (r.node_type != nt) continue;
        if (want == nullptr || r.mae < want->mae ||
            (r.mae == want->mae && r.model_name < want->model_name)) {
          want = &r;
        }
      }
      SelectionRequest req = AcpiRequest(*ParseOutputType(ot));
      req.node_type = nt;
      std::string note;
      auto best = cat.SelectBest(req, &note);
      if (want == nullptr) {
        continue;
      }
      ASSERT_TRUE(best.ok()) << best.status().ToString();
      EXPECT_EQ((*best)->info().name, want->model_name) << ot << " node type " << nt;
      EXPECT_EQ((*best)->info().node_type, nt);
      EXPECT_EQ(note, "");
    }
  }
  // Known values (acpi_AbsPower_model_metadata_0-9.csv).
  SelectionRequest req = AcpiRequest();
  req.node_type = 1;
  EXPECT_EQ((*cat.SelectBest(req))->info().name, "LogarithmicRegressionTrainer_1");
  req.node_type = 3;
  EXPECT_EQ((*cat.SelectBest(req))->info().name, "LogisticRegressionTrainer_3");
  req.node_type = -1;
  EXPECT_EQ((*cat.SelectBest(req))->info().name, "LogarithmicRegressionTrainer_9");  // mae 0.13
}

TEST(CatalogueTest, RequestDetailsAreHonoured) {
  const ModelCatalogue& cat = Specpower();
  SelectionRequest req = AcpiRequest();
  req.node_type = 3;
  // The error key.
  req.error_key = "mape";
  EXPECT_EQ((*cat.SelectBest(req))->info().name, "LogisticRegressionTrainer_3");  // 0.21
  req.error_key = "no_such_error";
  auto none = cat.SelectBest(req);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no_such_error"), std::string::npos);
  req.error_key = "mae";
  // Trainer substring and weight-only.
  req.trainer_name = "SGD";
  EXPECT_EQ((*cat.SelectBest(req))->info().name, "SGDRegressorTrainer_3");
  req.trainer_name = "Exponential";
  EXPECT_EQ((*cat.SelectBest(req))->info().name, "ExponentialRegressionTrainer_3");
  req.trainer_name = "XgboostFitTrainer";
  auto xgb = cat.SelectBest(req);
  ASSERT_FALSE(xgb.ok());
  EXPECT_NE(xgb.status().message().find("XgboostFitTrainer"), std::string::npos);
  req.trainer_name = "";
  req.weight_only = true;
  EXPECT_TRUE(cat.SelectBest(req).ok());
  // Sources: "rapl" requests find nothing here; names are normalised.
  req.energy_source = "intel_rapl";
  auto rapl = cat.SelectBest(req);
  ASSERT_FALSE(rapl.ok());
  EXPECT_NE(rapl.status().message().find("rapl-sysfs"), std::string::npos);
  req.energy_source = "ACPI";
  EXPECT_TRUE(cat.SelectBest(req).ok());
  req.energy_source = "";
  EXPECT_TRUE(cat.SelectBest(req).ok());
  // Features: every model needs bpf_page_cache_hit too.
  req.features = {"bpf_cpu_time_ms", "cpu_instructions"};
  auto feat = cat.SelectBest(req);
  ASSERT_FALSE(feat.ok());
  EXPECT_EQ(feat.status().code(), StatusCode::kNotFound);
  EXPECT_NE(feat.status().message().find("bpf_page_cache_hit"), std::string::npos)
      << feat.status().message();
  req.features.clear();
  EXPECT_EQ(cat.SelectBest(req).status().code(), StatusCode::kInvalidArgument);
  // Feature group and pipeline.
  req = AcpiRequest();
  req.feature_group = "BPFIRQ";
  EXPECT_FALSE(cat.SelectBest(req).ok());
  req.feature_group = "BPFOnly";
  req.pipeline = "specpower-0.7.11_nodetypes0-9";
  EXPECT_TRUE(cat.SelectBest(req).ok());
  req.pipeline = "ec2-0.7.11";
  EXPECT_FALSE(cat.SelectBest(req).ok());
}

TEST(CatalogueTest, FiltersWork) {
  const ModelCatalogue& cat = Specpower();
  SelectionRequest req = AcpiRequest();
  req.node_type = 1;
  // mae ≤ 5.6 keeps only LogarithmicRegressionTrainer_1 (5.51).
  req.filter = "mae:5.6";
  EXPECT_EQ((*cat.SelectBest(req))->info().name, "LogarithmicRegressionTrainer_1");
  req.filter = "mae:5.0";
  auto none = cat.SelectBest(req);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("filter"), std::string::npos);
  // The node type is matched before the filters: node type 1 has models, so a filter that
  // rejects them all does not fall back to other node types.
  req.filter = "mae:1.0";
  EXPECT_FALSE(cat.SelectBest(req).ok());
  req.node_type = 42;  // unknown node type: Kepler's loose match over all node types
  std::string note;
  auto loose = cat.SelectBest(req, &note);
  ASSERT_TRUE(loose.ok());
  EXPECT_LE((*loose)->metrics.at("mae"), 1.0);
  EXPECT_NE(note.find("42"), std::string::npos);
  // Several terms, MAPE, spaces.
  req.node_type = -1;
  req.filter = " mae: 0.2 ; mape:0.1;";
  auto two = cat.SelectBest(req);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_LE((*two)->metrics.at("mae"), 0.2);
  EXPECT_LE((*two)->metrics.at("mape"), 0.1);
  // A key no model has rejects everything; abs_max_corr is "at least".
  req.filter = "abs_max_corr:0.5";
  EXPECT_FALSE(cat.SelectBest(req).ok());
  // features: the model's features must be in the list.
  req.filter = "features:bpf_cpu_time_ms";
  EXPECT_FALSE(cat.SelectBest(req).ok());
  req.filter = "features:bpf_cpu_time_ms,bpf_page_cache_hit";
  EXPECT_TRUE(cat.SelectBest(req).ok());
  // Malformed.
  req.filter = "mae";
  EXPECT_EQ(cat.SelectBest(req).status().code(), StatusCode::kInvalidArgument);
  req.filter = "mae:abc";
  EXPECT_EQ(cat.SelectBest(req).status().code(), StatusCode::kInvalidArgument);
}

TEST(CatalogueTest, FilterParsingAndMatching) {
  auto f = ParseModelFilters("mae:3;abs_max_corr:0.7;features:a, b;;");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->size(), 3u);
  EXPECT_EQ((*f)[0].key, "mae");
  EXPECT_EQ((*f)[0].value, 3);
  EXPECT_EQ((*f)[2].features, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(ParseModelFilters("")->empty());
  EXPECT_FALSE(ParseModelFilters(":3").ok());
  EXPECT_FALSE(ParseModelFilters("mae:nan").ok());

  const CatalogueEntry& base = Specpower().entries().front();
  CatalogueEntry e = base;
  e.metrics = {{"mae", 2.0}, {"abs_max_corr", 0.8}};
  EXPECT_TRUE(PassesFilters(e, *ParseModelFilters("mae:2;abs_max_corr:0.7")));
  EXPECT_FALSE(PassesFilters(e, *ParseModelFilters("mae:1.9")));
  EXPECT_FALSE(PassesFilters(e, *ParseModelFilters("abs_max_corr:0.9")));
  EXPECT_FALSE(PassesFilters(e, *ParseModelFilters("mse:100")));
}

TEST(CatalogueTest, NodeTypeOneNeverMatchesTen) {
  TempDir dir;
  const std::string src = kSpecpower + "/weights/acpi/AbsPower/BPFOnly/";
  dir.Copy(src + "SGDRegressorTrainer_1.json",
           "p/acpi/AbsPower/BPFOnly/SGDRegressorTrainer_1.json");
  dir.Copy(src + "SGDRegressorTrainer_2.json",
           "p/acpi/AbsPower/BPFOnly/SGDRegressorTrainer_10.json");
  dir.Copy(src + "SGDRegressorTrainer_3.json",
           "p/acpi/AbsPower/BPFOnly/SGDRegressorTrainer_110.json");
  dir.Write(
      "p/acpi_AbsPower_model_metadata.csv",
      ",model_name,features,output_type,mae,mape,platform_mae,trainer,node_type,feature_group\n"
      "0,SGDRegressorTrainer_10,\"['bpf_cpu_time_ms', 'bpf_page_cache_hit']\",AbsPower,1.0,"
      "1.0,1.0,SGDRegressorTrainer,10,BPFOnly\n"
      "1,SGDRegressorTrainer_110,\"['bpf_cpu_time_ms', 'bpf_page_cache_hit']\",AbsPower,2.0,"
      "1.0,2.0,SGDRegressorTrainer,110,BPFOnly\n"
      "2,SGDRegressorTrainer_1,\"['bpf_cpu_time_ms', 'bpf_page_cache_hit']\",AbsPower,9.0,"
      "-1,9.0,SGDRegressorTrainer,1,BPFOnly\n");
  auto cat = ModelCatalogue::Scan(dir.path());
  ASSERT_TRUE(cat.ok());
  ASSERT_EQ(cat->entries().size(), 3u);
  EXPECT_TRUE(cat->problems().empty());
  SelectionRequest req = AcpiRequest();
  req.node_type = 1;
  EXPECT_EQ((*cat->SelectBest(req))->info().name, "SGDRegressorTrainer_1");
  req.node_type = 10;
  EXPECT_EQ((*cat->SelectBest(req))->info().name, "SGDRegressorTrainer_10");
  req.node_type = 110;
  EXPECT_EQ((*cat->SelectBest(req))->info().name, "SGDRegressorTrainer_110");
  req.node_type = -1;
  EXPECT_EQ((*cat->SelectBest(req))->info().name, "SGDRegressorTrainer_10");
  // mape -1 means "undefined": not a metric.
  const CatalogueEntry* one = cat->Find("p/acpi/AbsPower/BPFOnly/SGDRegressorTrainer_1");
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->metrics.count("mape"), 0u);
  EXPECT_TRUE(std::isnan(one->info().errors.mape));
}

TEST(CatalogueTest, SpecMatchingUsesTheNodeTypeIndex) {
  const ModelCatalogue& cat = Specpower();
  const NodeTypeIndex& index = cat.node_type_indexes().begin()->second;
  // The full spec of node type 3 selects among node type 3's models.
  SelectionRequest req = AcpiRequest();
  req.spec = index.at(3).spec;
  std::string note;
  auto best = cat.SelectBest(req, &note);
  ASSERT_TRUE(best.ok());
  EXPECT_EQ((*best)->info().node_type, 3);
  EXPECT_EQ((*best)->info().name, "LogisticRegressionTrainer_3");
  EXPECT_EQ(note, "");
  // A partial spec (processor only) covers node types 1 and 2 (amd_opteron_6174).
  req.spec = MachineSpec{};
  req.spec.processor = "AMD_Opteron_6174";
  best = cat.SelectBest(req, &note);
  ASSERT_TRUE(best.ok());
  EXPECT_TRUE((*best)->info().node_type == 1 || (*best)->info().node_type == 2);
  // A spec nobody covers: the most similar machine (node type 3's, with other memory).
  req.spec = index.at(3).spec;
  req.spec.memory_gib = 60;
  best = cat.SelectBest(req, &note);
  ASSERT_TRUE(best.ok());
  EXPECT_EQ((*best)->info().node_type, 3);
  EXPECT_NE(note.find("similar"), std::string::npos);
}

TEST(CatalogueTest, SpecCoverAndSimilarity) {
  MachineSpec a{"intel_xeon_platinum_8259cl", 96, 2, 377, 3500};
  MachineSpec b = a;
  EXPECT_TRUE(SpecCovers(a, b));
  EXPECT_TRUE(SpecCovers(a, MachineSpec{}));
  MachineSpec partial;
  partial.cores = 96;
  EXPECT_TRUE(SpecCovers(a, partial));
  partial.chips = 1;
  EXPECT_FALSE(SpecCovers(a, partial));
  EXPECT_DOUBLE_EQ(SpecSimilarity(a, b), 1.0);
  EXPECT_DOUBLE_EQ(SpecSimilarity(a, MachineSpec{}), 0.0);
  MachineSpec c = a;
  c.cores = 48;  // 1 - 48/72 = 1/3
  EXPECT_NEAR(SpecSimilarity(a, c), (5 + 1.0 / 3 + 1 + 0.5 + 0.5) / 8, 1e-12);
  MachineSpec d = a;
  d.processor = "abc";
  d.cores = 1000;  // ratio ≥ 1 → 0
  const double jaccard =
      2.0 / static_cast<double>(std::set<char>(a.processor.begin(), a.processor.end()).size() + 1);
  EXPECT_NEAR(SpecSimilarity(a, d), (5 * 0.5 * jaccard + 0 + 1 + 0.5 + 0.5) / 8, 1e-12);
}

TEST(CatalogueTest, ParsesNodeTypeIndexAndPythonLists) {
  auto idx = ParseNodeTypeIndex(
      Json::parse(R"({"0": {"attrs": {"processor": "p", "cores": 96.0}, "members": ["a", "b"]},
                      "12": {"attrs": {}, "members": []}})"),
      "idx");
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  EXPECT_EQ(idx->size(), 2u);
  EXPECT_EQ(idx->at(0).members, 2u);
  EXPECT_EQ(idx->at(0).spec.cores, 96);
  EXPECT_TRUE(idx->at(12).spec.empty());
  EXPECT_FALSE(ParseNodeTypeIndex(Json::parse(R"({"x": {}})"), "idx").ok());
  EXPECT_FALSE(ParseNodeTypeIndex(Json::parse(R"({"-1": {}})"), "idx").ok());
  EXPECT_FALSE(ParseNodeTypeIndex(Json::parse(R"({"1": {"attrs": {"cores": "x"}}})"), "idx").ok());
  EXPECT_FALSE(ParseNodeTypeIndex(Json::parse("[]"), "idx").ok());

  EXPECT_EQ(*ParsePythonStringList("['bpf_cpu_time_ms', 'bpf_page_cache_hit']"),
            (std::vector<std::string>{"bpf_cpu_time_ms", "bpf_page_cache_hit"}));
  EXPECT_EQ(*ParsePythonStringList(" [] "), std::vector<std::string>{});
  EXPECT_EQ(*ParsePythonStringList(R"(["a", 'b\'c',])"), (std::vector<std::string>{"a", "b'c"}));
  EXPECT_EQ(*ParsePythonStringList("['poly_scaler.pkl']"),
            std::vector<std::string>{"poly_scaler.pkl"});
  EXPECT_FALSE(ParsePythonStringList("['a'").ok());
  EXPECT_FALSE(ParsePythonStringList("['a' 'b']").ok());
  EXPECT_FALSE(ParsePythonStringList("[1, 2]").ok());
  EXPECT_FALSE(ParsePythonStringList("__import__('os')").ok());
  EXPECT_FALSE(ParsePythonStringList("['unterminated]").ok());
  EXPECT_FALSE(ParsePythonStringList("").ok());
}

TEST(CatalogueTest, WholeTestdataModelDb) {
  auto cat = ModelCatalogue::Scan(kModelDb);
  ASSERT_TRUE(cat.ok());
  EXPECT_TRUE(cat->problems().empty());
  // specpower 74 + nx12 41 + linux-4.15 4 + ec2-0.7.11: 11 archives and the weight JSON beside
  // four of them.
  EXPECT_EQ(cat->entries().size(), 74u + 41u + 4u + 11u + 4u);
  // An archive: its own id (".zip" kept, so it differs from the weight JSON beside it), its
  // metadata.json's published errors, the machine from the pipeline's node_type_index.json.
  const CatalogueEntry* gbr = cat->Find(
      "ec2-0.7.11_samples/rapl-sysfs/AbsPower/BPFIRQ/GradientBoostingRegressorTrainer_0.zip");
  ASSERT_NE(gbr, nullptr);
  EXPECT_EQ(gbr->format, "kepler-archive");
  EXPECT_EQ(gbr->pipeline, "ec2-0.7.11_samples");
  EXPECT_NEAR(gbr->metrics.at("mae"), 20.1, 0);
  EXPECT_EQ(gbr->metrics.count("core_mape"), 0u);
  EXPECT_NEAR(gbr->info().errors.mape, 17.5, 0);  // max over components, not Kepler's last one
  EXPECT_EQ(gbr->info().feature_group, "BPFIRQ");
  EXPECT_FALSE(gbr->info().provenance.machine_spec.empty());
  EXPECT_NE(cat->Find("ec2-0.7.11_samples/rapl-sysfs/AbsPower/BPFIRQ/SGDRegressorTrainer_0"),
            nullptr);
  // nx12 v0.6: source "rapl" is rapl-sysfs; errors from the v0.6 metadata CSV (no node_type
  // column).
  const CatalogueEntry* lin =
      cat->Find("nx12_v0.6/std_v0.6/weights/rapl/AbsPower/BPFIRQ/LinearRegressionTrainer_1");
  ASSERT_NE(lin, nullptr);
  EXPECT_EQ(lin->info().energy_source, "rapl-sysfs");
  EXPECT_EQ(lin->info().node_type, 1);
  ASSERT_TRUE(lin->info().errors.has_mae());
  EXPECT_NEAR(lin->info().errors.per_component.at("dram").mae, lin->metrics.at("dram_mae"), 0);
  // A v0.6 SGD counter-group model was dropped by Kepler's export filter: no published error,
  // so selection skips it.
  const CatalogueEntry* sgd =
      cat->Find("nx12_v0.6/std_v0.6/weights/rapl/AbsPower/Basic/SGDRegressorTrainer_1");
  ASSERT_NE(sgd, nullptr);
  EXPECT_FALSE(sgd->metrics.count("mae"));
  // v0.5 weight.json: loads, no trainer, no published error.
  const CatalogueEntry* v05 =
      cat->Find("linux-4.15.0-213_v0.6/weights/rapl/AbsPower/KubeletOnly/weight");
  ASSERT_NE(v05, nullptr);
  EXPECT_EQ(v05->info().feature_group, "KubeletOnly");
  EXPECT_EQ(v05->info().node_type, -1);

  SelectionRequest req;
  req.features = *FeatureGroupFeatures("BPFIRQ", KeplerFeatureVersion::kV06);
  req.energy_source = "rapl";
  req.weight_only = true;
  auto best = cat->SelectBest(req);
  ASSERT_TRUE(best.ok()) << best.status().ToString();
  EXPECT_EQ((*best)->info().trainer, "SGDRegressorTrainer");
  EXPECT_EQ((*best)->info().feature_group, "BPFIRQ");  // 21.99 W beats BPFOnly's 23.09
  EXPECT_NEAR((*best)->metrics.at("mae"), 21.99, 0.01);
}

TEST(CatalogueTest, ProblemsAreReportedPerFile) {
  TempDir dir;
  const std::string src = kSpecpower + "/weights/acpi/AbsPower/BPFOnly/";
  dir.Copy(src + "SGDRegressorTrainer_0.json",
           "p/acpi/AbsPower/BPFOnly/SGDRegressorTrainer_0.json");
  auto good = ReadLocalFile(src + "LogisticRegressionTrainer_0.json");
  ASSERT_TRUE(good.ok());
  dir.Write("p/acpi/AbsPower/BPFOnly/LogisticRegressionTrainer_0.json",
            good->substr(0, good->size() / 2));
  dir.Write(
      "p/acpi/AbsPower/BPFOnly/ExponentialRegressionTrainer_0.json",
      R"({"platform": {"All_Weights": {"Numerical_Variables": {"bpf_cpu_time_ms": {"scale": "big"}}}}})");
  dir.Write(
      "p/acpi/AbsPower/BPFOnly/LogarithmicRegressionTrainer_0.json",
      R"({"platform": {"All_Weights": {"Numerical_Variables": {"bpf_cpu_time_ms": {"scale": 1e999}}}}})");
  dir.Write("p/metadata.json", R"({"name": "p", "abs_trainers": []})");  // not a model: skipped
  dir.Write("p/node_type_index.json", R"({"0": {"attrs": {"cores": "four"}}})");
  dir.Write("p/acpi_AbsPower_model_metadata.csv", "model_name,mae\n\"unterminated,1\n");
  auto cat = ModelCatalogue::Scan(dir.path(), nullptr);
  ASSERT_TRUE(cat.ok());
  ASSERT_EQ(cat->entries().size(), 1u);
  EXPECT_EQ(cat->entries()[0].info().name, "SGDRegressorTrainer_0");
  std::map<std::string, std::string> problems;
  for (const auto& p : cat->problems()) problems[p.path] = p.status.message();
  ASSERT_EQ(problems.size(), 5u) << ::testing::PrintToString(problems);
  EXPECT_NE(
      problems["p/acpi/AbsPower/BPFOnly/LogisticRegressionTrainer_0.json"].find("invalid JSON"),
      std::string::npos);
  EXPECT_NE(problems["p/acpi/AbsPower/BPFOnly/ExponentialRegressionTrainer_0.json"].find(
                "platform.All_Weights.Numerical_Variables.bpf_cpu_time_ms.scale"),
            std::string::npos);
  EXPECT_NE(
      problems["p/acpi/AbsPower/BPFOnly/LogarithmicRegressionTrainer_0.json"].find("overflow"),
      std::string::npos);
  EXPECT_NE(problems["p/node_type_index.json"].find("cores"), std::string::npos);
  EXPECT_NE(problems["p/acpi_AbsPower_model_metadata.csv"].find("unterminated"), std::string::npos);
  // Selection still works on what loaded (no published error → says so).
  auto best = cat->SelectBest(AcpiRequest());
  ASSERT_FALSE(best.ok());
  EXPECT_NE(best.status().message().find("'mae'"), std::string::npos);

  EXPECT_EQ(ModelCatalogue::Scan(dir.path() + "/missing").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(ModelCatalogue::Scan(dir.path() + "/p/metadata.json").ok());
  EXPECT_FALSE(ModelCatalogue::Scan("").ok());
}

TEST(CatalogueTest, IndexesWattsonModels) {
  TempDir dir;
  KeplerWeightOptions opt;
  opt.trainer = "LogisticRegressionTrainer";
  opt.energy_source = "acpi";
  opt.id = "converted";
  auto text =
      ReadLocalFile(kSpecpower + "/weights/acpi/AbsPower/BPFOnly/LogisticRegressionTrainer_5.json");
  ASSERT_TRUE(text.ok());
  auto model = KeplerWeightsFromJson(*ParseJson(*text, "t"), opt);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  ModelInfo info = (*model)->info();
  info.errors.protocol = "blocked-cv";
  info.errors.mae = 0.01;
  info.node_type = 5;
  (*model)->SetInfo(info);
  dir.Write("mine/deep/er/model.json", SerializeWattsonModel(**model));
  dir.Copy(kSpecpower + "/weights/acpi/AbsPower/BPFOnly/LogisticRegressionTrainer_4.json",
           "kepler/acpi/AbsPower/BPFOnly/LogisticRegressionTrainer_4.json");
  auto cat = ModelCatalogue::Scan(dir.path());
  ASSERT_TRUE(cat.ok());
  EXPECT_TRUE(cat->problems().empty()) << cat->problems().front().status.ToString();
  ASSERT_EQ(cat->entries().size(), 2u);
  const CatalogueEntry* w = cat->Find("mine/deep/er/model");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->format, "wattson");
  EXPECT_EQ(w->info().id, "mine/deep/er/model");
  EXPECT_DOUBLE_EQ(w->metrics.at("mae"), 0.01);
  auto best = cat->SelectBest(AcpiRequest());
  ASSERT_TRUE(best.ok()) << best.status().ToString();
  EXPECT_EQ(*best, w);
}

TEST(CatalogueTest, ModelFolderMetadataDoesNotNameAPipeline) {
  // wattson train writes <pipeline>/metadata.json and <...>/<Trainer>_<nt>/metadata.json; only
  // the first names the pipeline.
  TempDir dir;
  const std::string model_rel = "db/acpi/AbsPower/BPFOnly/LogisticRegressionTrainer_4";
  dir.Write("db/metadata.json", R"({"name": "db"})");
  dir.Write(model_rel + "/metadata.json", R"({"model_name": "LogisticRegressionTrainer_4"})");
  dir.Copy(kSpecpower + "/weights/acpi/AbsPower/BPFOnly/LogisticRegressionTrainer_4.json",
           model_rel + "/weight.json");
  auto cat = ModelCatalogue::Scan(dir.path());
  ASSERT_TRUE(cat.ok());
  ASSERT_EQ(cat->entries().size(), 1u);
  EXPECT_EQ(cat->entries().front().pipeline, "db");
}

}  // namespace
}  // namespace wattson
