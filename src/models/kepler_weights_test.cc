// Kepler weight JSON: every bundled file loads, predictions match the documented formulas computed
// independently here, the v0.5/v0.6 quirks reproduce the published consistency checks, and bad
// input gives a clear error, never a crash.
#include "models/kepler_weights.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/csv.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "gtest/gtest.h"
#include "models/curve_fit.h"
#include "models/linear.h"
#include "models/transform.h"

namespace wattson {
namespace {

namespace fs = std::filesystem;

const std::string kTestdata = WATTSON_TESTDATA_DIR;
const std::string kModelDb = kTestdata + "/kepler-model-db";

Json ReadJsonFile(const std::string& path) {
  auto text = ReadLocalFile(path);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  if (!text.ok()) return Json();
  auto j = ParseJson(*text, path);
  EXPECT_TRUE(j.ok()) << j.status().ToString();
  return j.ok() ? *j : Json();
}

CsvTable ReadCsvFile(const std::string& path) {
  auto text = ReadLocalFile(path);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  if (!text.ok()) return {};
  auto t = ParseCsv(*text, path);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? *t : CsvTable{};
}

// Loads a weight file the way the catalogue does: options from the path.
Result<std::unique_ptr<PipelineModel>> LoadWeightFile(
    const std::string& path, KeplerScaleRule rule = KeplerScaleRule::kAuto) {
  auto text = ReadLocalFile(path);
  if (!text.ok()) return text.status();
  WATTSON_ASSIGN_OR_RETURN(Json j, ParseJson(*text, path));
  KeplerWeightOptions opt;
  InferKeplerWeightOptionsFromPath(path, &opt);
  opt.id = path;
  opt.scale_rule = rule;
  return KeplerWeightsFromJson(j, opt);
}

Result<std::unique_ptr<PipelineModel>> LoadText(std::string_view text,
                                                const KeplerWeightOptions& opt = {}) {
  WATTSON_ASSIGN_OR_RETURN(Json j, ParseJson(text, "test"));
  return KeplerWeightsFromJson(j, opt);
}

std::vector<std::string> JsonFilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".json") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

template <typename T>
T Take(Result<T> r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

// The regressor's raw output (before PipelineModel's clamp at 0) for one component and row.
double Unclamped(const PipelineModel& model, Component c, const FeatureMatrix& x, std::size_t r) {
  for (const auto& p : model.pipelines()) {
    if (p.component != c) continue;
    std::vector<double> v;
    for (const auto& f : p.features) v.push_back(x.at(r, *x.ColumnIndex(f)));
    for (const auto& t : p.transforms) {
      std::vector<double> out(t->output_size());
      t->Apply(v, out);
      v = std::move(out);
    }
    return p.regressor->Predict(v, {});
  }
  ADD_FAILURE() << "no component " << ComponentName(c);
  return 0;
}

// A FeatureMatrix of the numeric columns `names` of a CSV table.
FeatureMatrix MatrixFromCsv(const CsvTable& t, const std::vector<std::string>& names) {
  FeatureMatrix m(names, t.rows.size());
  for (std::size_t c = 0; c < names.size(); ++c) {
    long col = t.ColumnIndex(names[c]);
    EXPECT_GE(col, 0) << names[c];
    if (col < 0) continue;
    for (std::size_t r = 0; r < t.rows.size(); ++r) {
      auto v = ParseFiniteDouble(t.rows[r][static_cast<std::size_t>(col)]);
      EXPECT_TRUE(v.ok()) << names[c] << " row " << r;
      m.at(r, c) = v.ok() ? *v : 0.0;
    }
  }
  return m;
}

std::vector<double> Column(const CsvTable& t, const std::string& name) {
  long col = t.ColumnIndex(name);
  EXPECT_GE(col, 0) << name;
  std::vector<double> out;
  if (col < 0) return out;
  for (const auto& row : t.rows) {
    auto v = ParseFiniteDouble(row[static_cast<std::size_t>(col)]);
    EXPECT_TRUE(v.ok()) << name;
    out.push_back(v.ok() ? *v : 0.0);
  }
  return out;
}

TEST(KeplerWeightsTest, EveryWeightFileUnderTestdataLoads) {
  std::size_t kepler_files = 0;
  std::vector<std::string> files = JsonFilesUnder(kModelDb);
  for (const auto& f : JsonFilesUnder(kTestdata + "/kepler-v0.7.11")) files.push_back(f);
  for (const auto& path : files) {
    auto j = ParseJson(*ReadLocalFile(path), path);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    if (!IsKeplerWeightJson(*j)) continue;
    ++kepler_files;
    auto model = LoadWeightFile(path);
    ASSERT_TRUE(model.ok()) << path << ": " << model.status().ToString();
    const ModelInfo& info = (*model)->info();
    EXPECT_FALSE(info.features.empty()) << path;
    EXPECT_FALSE(info.energy_source.empty()) << path;
    EXPECT_EQ(info.provenance.tool, "kepler-model-server");
    EXPECT_EQ(info.provenance.origin, path);
    // Zero input is always predictable.
    FeatureMatrix zero(info.features, 1);
    auto p = (*model)->Predict(zero);
    EXPECT_TRUE(p.ok()) << path << ": " << p.status().ToString();
  }
  // specpower 74 + nx12 41 + linux-4.15 4 + ec2-0.7.11 samples 4 + Kepler v0.7.11 bundled 4.
  EXPECT_EQ(kepler_files, 127u);
}

// Reference implementation of the documented formulas (reference spec §2.2 and §3.3), straight
// from the JSON, independent of the loader.
double ReferencePrediction(const Json& all_weights, const std::string& trainer,
                           const std::map<std::string, double>& x) {
  const Json& vars = all_weights.at("Numerical_Variables");
  std::map<std::string, double> xn;
  for (const auto& [name, v] : vars.items()) {
    double scale = v.at("scale").get<double>();
    xn[name] = scale == 0 ? 0 : x.at(name) / scale;
  }
  double y = 0;
  if (all_weights.contains("CurveFit_Weights")) {
    std::vector<double> w = all_weights.at("CurveFit_Weights").get<std::vector<double>>();
    double v = xn.at("bpf_cpu_time_ms");  // BPFOnly's main feature
    if (trainer == "LogarithmicRegressionTrainer") {
      y = w.at(0) * std::log(w.at(1) * v + 1) + w.at(2);
    } else if (trainer == "ExponentialRegressionTrainer") {
      y = w.at(0) * std::exp(w.at(1) * v) + w.at(2);
    } else {
      EXPECT_EQ(trainer, "LogisticRegressionTrainer");
      y = w.at(0) / (1 + std::exp(-w.at(2) * (v - w.at(1)))) + w.at(3);
    }
  } else {
    y = all_weights.at("Bias_Weight").get<double>();
    for (const auto& [name, v] : vars.items()) y += v.at("weight").get<double>() * xn[name];
  }
  return y < 0 ? 0 : y;
}

TEST(KeplerWeightsTest, SpecpowerPredictionsMatchIndependentReference) {
  const auto files = JsonFilesUnder(kModelDb + "/specpower-0.7.11_nodetypes0-9/weights");
  ASSERT_EQ(files.size(), 74u);
  std::mt19937_64 rng(20240815);
  std::set<std::string> trainers;
  for (const auto& path : files) {
    const Json j = ReadJsonFile(path);
    const std::string stem = fs::path(path).stem().string();
    const std::string trainer = stem.substr(0, stem.rfind('_'));
    trainers.insert(trainer);
    auto model = LoadWeightFile(path);
    ASSERT_TRUE(model.ok()) << path << ": " << model.status().ToString();
    EXPECT_EQ((*model)->info().trainer, trainer);
    EXPECT_EQ((*model)->info().energy_source, "acpi");
    EXPECT_EQ((*model)->info().feature_group, "BPFOnly");
    EXPECT_EQ((*model)->info().node_type, std::stoi(stem.substr(stem.rfind('_') + 1)));

    const Json& all = j.at("platform").at("All_Weights");
    std::vector<std::string> names;
    std::map<std::string, double> scales;
    for (const auto& [name, v] : all.at("Numerical_Variables").items()) {
      names.push_back(name);
      scales[name] = v.at("scale").get<double>();
    }
    constexpr std::size_t kRows = 200;
    FeatureMatrix x(names, kRows);
    for (std::size_t r = 0; r < kRows; ++r) {
      for (std::size_t c = 0; c < names.size(); ++c) {
        std::uniform_real_distribution<double> d(0.0, 1.5 * std::fabs(scales[names[c]]));
        x.at(r, c) = r == 0 ? 0.0 : d(rng);
      }
    }
    auto pred = (*model)->Predict(x);
    ASSERT_TRUE(pred.ok()) << path << ": " << pred.status().ToString();
    const ComponentPower* platform = pred->Find(Component::kPlatform);
    ASSERT_NE(platform, nullptr);
    for (std::size_t r = 0; r < kRows; ++r) {
      std::map<std::string, double> row;
      for (std::size_t c = 0; c < names.size(); ++c) row[names[c]] = x.at(r, c);
      const double want = ReferencePrediction(all, trainer, row);
      const double got = platform->watts[r].value();
      ASSERT_LE(std::fabs(got - want), 1e-9 * std::max(1.0, std::fabs(want)))
          << path << " row " << r << ": got " << got << ", want " << want;
    }
  }
  EXPECT_EQ(trainers.size(), 4u);
}

TEST(KeplerWeightsTest, BundledKeplerWeightsWorkedExample) {
  const std::string dir = kTestdata + "/kepler-v0.7.11/model_weight/";
  auto platform = LoadWeightFile(dir + "acpi_AbsPowerModel.json");
  ASSERT_TRUE(platform.ok()) << platform.status().ToString();
  EXPECT_EQ((*platform)->info().energy_source, "acpi");
  EXPECT_EQ((*platform)->info().output_type, OutputType::kAbsPower);
  auto rapl = LoadWeightFile(dir + "intel_rapl_AbsPowerModel.json");
  ASSERT_TRUE(rapl.ok()) << rapl.status().ToString();
  EXPECT_EQ((*rapl)->info().energy_source, "rapl-sysfs");
  auto dyn = LoadWeightFile(dir + "intel_rapl_DynPowerModel.json");
  ASSERT_TRUE(dyn.ok());
  EXPECT_EQ((*dyn)->info().output_type, OutputType::kDynPower);

  // Reference spec §1.9: node bpf_cpu_time_ms delta 12000 over a 3 s tick → x = 4000 ms/s.
  auto x = FeatureMatrix::FromRows({"bpf_cpu_time_ms"}, {{4000.0}, {0.0}});
  ASSERT_TRUE(x.ok());
  auto p = (*platform)->Predict(*x);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_NEAR(p->Find(Component::kPlatform)->watts[0].value(), 240.548, 5e-4);
  EXPECT_NEAR(p->Find(Component::kPlatform)->watts[1].value(), 220.9079, 5e-4);  // idle f(0)
  auto c = (*rapl)->Predict(*x);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_NEAR(c->Find(Component::kPackage)->watts[0].value(), 84.916, 5e-4);
  EXPECT_NEAR(c->Find(Component::kDram)->watts[0].value(), 49.560, 5e-4);
  EXPECT_EQ(c->Find(Component::kCore)->watts[0].value(), 0.0);
  EXPECT_EQ(c->Find(Component::kUncore)->watts[0].value(), 0.0);
}

// weights_consistency_check.csv: v0.6 LinearRegressionTrainer files reproduce the published MAE
// with x·scale (the kAuto rule picks it), SGD files with x/scale.
TEST(KeplerWeightsTest, Nx12V06QuirkReproducesConsistencyCheck) {
  const CsvTable data = ReadCsvFile(kModelDb + "/nx12_v0.6/nx12_merged_abs.csv");
  const CsvTable check =
      ReadCsvFile(kModelDb + "/nx12_v0.6/std_v0.6/weights_consistency_check.csv");
  ASSERT_EQ(data.rows.size(), 2202u);
  ASSERT_EQ(check.rows.size(), 62u);
  std::vector<std::string> feature_names;
  for (const auto& h : data.header) {
    if (h != "timestamp" && h.find("_power") == std::string::npos && h != "node_type") {
      feature_names.push_back(h);
    }
  }
  ASSERT_EQ(feature_names.size(), 13u);
  const FeatureMatrix x = MatrixFromCsv(data, feature_names);
  const long c_file = check.ColumnIndex("file");
  const long c_comp = check.ColumnIndex("component");
  const long c_div = check.ColumnIndex("full_data_mae_W_x_div_scale(kepler_go)");
  const long c_mul = check.ColumnIndex("full_data_mae_W_x_times_scale");
  ASSERT_TRUE(c_file >= 0 && c_comp >= 0 && c_div >= 0 && c_mul >= 0);
  int linear_checked = 0;
  int sgd_checked = 0;
  for (const auto& row : check.rows) {
    const std::string file = row[static_cast<std::size_t>(c_file)];
    const std::string comp_name = row[static_cast<std::size_t>(c_comp)];
    const bool linear = file.find("LinearRegressionTrainer") != std::string::npos;
    const bool dyn = file.find("/DynPower/") != std::string::npos;
    auto model = LoadWeightFile(kModelDb + "/" + file,
                                linear ? KeplerScaleRule::kAuto : KeplerScaleRule::kDivide);
    ASSERT_TRUE(model.ok()) << file << ": " << model.status().ToString();
    auto comp = ParseComponent(comp_name);
    ASSERT_TRUE(comp.ok());
    std::vector<double> y = Column(data, comp_name + "_power");
    if (dyn) {  // DynPower target = power minus its minimum over the file
      const double min = *std::min_element(y.begin(), y.end());
      for (double& v : y) v -= min;
    }
    double sum = 0;
    for (std::size_t r = 0; r < x.rows(); ++r)
      sum += std::fabs(y[r] - Unclamped(**model, *comp, x, r));
    const double mae = sum / static_cast<double>(x.rows());
    const double want = *ParseFiniteDouble(row[static_cast<std::size_t>(linear ? c_mul : c_div)]);
    EXPECT_NEAR(mae, want, 0.01 * want) << file << " " << comp_name;
    (linear ? linear_checked : sgd_checked)++;
  }
  EXPECT_EQ(linear_checked, 30);
  EXPECT_EQ(sgd_checked, 32);
}

TEST(KeplerWeightsTest, Nx12ScaleRuleAutoOnlyForLinearRegressionTrainer) {
  const std::string dir = kModelDb + "/nx12_v0.6/std_v0.6/weights/rapl/AbsPower/BPFOnly/";
  auto lin = LoadWeightFile(dir + "LinearRegressionTrainer_1.json");
  auto sgd = LoadWeightFile(dir + "SGDRegressorTrainer_1.json");
  ASSERT_TRUE(lin.ok() && sgd.ok());
  const Json jl = ReadJsonFile(dir + "LinearRegressionTrainer_1.json");
  const Json js = ReadJsonFile(dir + "SGDRegressorTrainer_1.json");
  const double sl =
      jl["package"]["All_Weights"]["Numerical_Variables"]["bpf_cpu_time_us"]["scale"].get<double>();
  const double ss =
      js["package"]["All_Weights"]["Numerical_Variables"]["bpf_cpu_time_us"]["scale"].get<double>();
  auto scale_of = [](const PipelineModel& m) {
    const auto* t = dynamic_cast<const MaxAbsTransform*>(m.pipelines()[0].transforms[0].get());
    return t == nullptr ? -1.0 : t->scale()[0];
  };
  EXPECT_DOUBLE_EQ(scale_of(**lin), 1.0 / sl);  // multiply by the stored value
  EXPECT_DOUBLE_EQ(scale_of(**sgd), ss);        // divide by it
  // Explicit rules override kAuto.
  auto lin_div = LoadWeightFile(dir + "LinearRegressionTrainer_1.json", KeplerScaleRule::kDivide);
  ASSERT_TRUE(lin_div.ok());
  EXPECT_DOUBLE_EQ(scale_of(**lin_div), sl);
  auto sgd_mul = LoadWeightFile(dir + "SGDRegressorTrainer_1.json", KeplerScaleRule::kMultiply);
  ASSERT_TRUE(sgd_mul.ok());
  EXPECT_DOUBLE_EQ(scale_of(**sgd_mul), 1.0 / ss);
}

TEST(KeplerWeightsTest, Linux415MeanVarianceFilesReproduceConsistencyCheck) {
  const std::string base = kModelDb + "/linux-4.15.0-213_v0.6";
  const CsvTable check = ReadCsvFile(base + "/weights_consistency_check.csv");
  ASSERT_EQ(check.rows.size(), 6u);
  double package_abs_mae = -1;
  for (const auto& row : check.rows) {
    const std::string file = row[0];
    const std::string comp_name = row[1];
    const double want = *ParseFiniteDouble(row[2]);
    const std::string src = file.find("/rapl/") != std::string::npos ? "rapl" : "acpi";
    const bool dyn = file.find("/DynPower/") != std::string::npos;
    auto model = LoadWeightFile(kModelDb + "/" + file);
    ASSERT_TRUE(model.ok()) << file << ": " << model.status().ToString();
    EXPECT_EQ((*model)->pipelines()[0].transforms[0]->kind(), "standard");
    const CsvTable data = ReadCsvFile(base + "/preprocessed_data/" + src + "_KubeletOnly_" +
                                      (dyn ? "dyn" : "abs") + "_data.csv");
    const FeatureMatrix x = MatrixFromCsv(data, (*model)->info().features);
    const std::vector<double> y = Column(data, comp_name + "_power");
    const Component comp = *ParseComponent(comp_name);
    double sum = 0;
    for (std::size_t r = 0; r < x.rows(); ++r)
      sum += std::fabs(y[r] - Unclamped(**model, comp, x, r));
    const double mae = sum / static_cast<double>(x.rows());
    EXPECT_NEAR(mae, want, 0.01 * want) << file << " " << comp_name;
    if (!dyn && comp_name == "package") package_abs_mae = mae;
  }
  EXPECT_NEAR(package_abs_mae, 36.57, 0.05);
}

TEST(KeplerWeightsTest, RoundTripKeepsPredictionsIdentical) {
  std::vector<std::string> files =
      JsonFilesUnder(kModelDb + "/specpower-0.7.11_nodetypes0-9/weights");
  for (const auto& f : JsonFilesUnder(kTestdata + "/kepler-v0.7.11/model_weight"))
    files.push_back(f);
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> d(0.0, 8000.0);
  for (const auto& path : files) {
    auto model = LoadWeightFile(path);
    ASSERT_TRUE(model.ok()) << path;
    auto out = KeplerWeightsToJson(**model);
    ASSERT_TRUE(out.ok()) << path << ": " << out.status().ToString();
    ASSERT_TRUE(IsKeplerWeightJson(*out));
    KeplerWeightOptions opt;
    InferKeplerWeightOptionsFromPath(path, &opt);
    auto again = KeplerWeightsFromJson(*out, opt);
    ASSERT_TRUE(again.ok()) << path << ": " << again.status().ToString();
    const auto& names = (*model)->info().features;
    EXPECT_EQ((*again)->info().features, names);
    FeatureMatrix x(names, 50);
    for (std::size_t r = 0; r < x.rows(); ++r) {
      for (std::size_t c = 0; c < x.cols(); ++c) x.at(r, c) = d(rng);
    }
    auto p1 = (*model)->Predict(x);
    auto p2 = (*again)->Predict(x);
    ASSERT_TRUE(p1.ok() && p2.ok());
    ASSERT_EQ(p1->components.size(), p2->components.size());
    for (std::size_t c = 0; c < p1->components.size(); ++c) {
      for (std::size_t r = 0; r < x.rows(); ++r) {
        ASSERT_EQ(p1->components[c].watts[r].value(), p2->components[c].watts[r].value()) << path;
      }
    }
    // And writing again gives the same document.
    auto out2 = KeplerWeightsToJson(**again);
    ASSERT_TRUE(out2.ok());
    EXPECT_EQ(*out, *out2) << path;
  }
}

TEST(KeplerWeightsTest, ToJsonRejectsInexpressibleModels) {
  // v0.5 mean/variance → standard transform: not expressible in the v0.6+ format Go reads.
  auto v05 = LoadWeightFile(kModelDb +
                            "/linux-4.15.0-213_v0.6/weights/rapl/AbsPower/KubeletOnly/weight.json");
  ASSERT_TRUE(v05.ok());
  auto out = KeplerWeightsToJson(**v05);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("standard"), std::string::npos) << out.status().message();

  // Two transforms (maxabs then polynomial).
  ComponentPipeline p;
  p.component = Component::kPackage;
  p.features = {"cpu_instructions"};
  p.transforms.push_back(Take(MaxAbsTransform::Create({2.0})));
  p.transforms.push_back(Take(PolynomialTransform::Create(1, 2, false)));
  p.regressor = Take(LinearRegressor::Create(1.0, {1.0, 2.0}));
  std::vector<ComponentPipeline> ps;
  ps.push_back(p);
  auto poly = PipelineModel::Create({}, std::move(ps));
  ASSERT_TRUE(poly.ok()) << poly.status().ToString();
  EXPECT_FALSE(KeplerWeightsToJson(**poly).ok());

  // No transform → scale 1.
  ComponentPipeline q;
  q.component = Component::kPlatform;
  q.features = {"bpf_cpu_time_ms"};
  q.regressor = Take(LinearRegressor::Create(3.0, {2.0}));
  std::vector<ComponentPipeline> qs;
  qs.push_back(q);
  auto plain = PipelineModel::Create({}, std::move(qs));
  ASSERT_TRUE(plain.ok());
  auto j = KeplerWeightsToJson(**plain);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ((*j)["platform"]["All_Weights"]["Numerical_Variables"]["bpf_cpu_time_ms"]["scale"],
            1.0);
  EXPECT_EQ((*j)["platform"]["All_Weights"]["Bias_Weight"], 3.0);

  // A curve on a feature the Kepler format cannot name.
  ComponentPipeline r;
  r.component = Component::kPlatform;
  r.features = {"bpf_cpu_time_ms", "bpf_page_cache_hit"};
  r.regressor = Take(CurveFitRegressor::Create(CurveKind::kLogarithmic, {1.0, 1.0, 0.0}, 2, 1));
  std::vector<ComponentPipeline> rs;
  rs.push_back(r);
  auto curve = PipelineModel::Create({}, std::move(rs));
  ASSERT_TRUE(curve.ok());
  auto cj = KeplerWeightsToJson(**curve);
  ASSERT_FALSE(cj.ok());
  EXPECT_NE(cj.status().message().find("bpf_page_cache_hit"), std::string::npos);
}

TEST(KeplerWeightsTest, CurveUsesTheTrainersMainFeatureByName) {
  // Features sorted: bpf_block_irq < bpf_cpu_time_ms < bpf_page_cache_hit. Kepler Go would read
  // x[0] (bpf_block_irq); the trainer fitted on bpf_cpu_time_ms (and bpf_page_cache_hit for dram).
  const char* text = R"({
    "package": {"All_Weights": {"Numerical_Variables": {
        "bpf_block_irq": {"scale": 1}, "bpf_cpu_time_ms": {"scale": 100},
        "bpf_page_cache_hit": {"scale": 10}},
      "CurveFit_Weights": [2.0, 3.0, 1.0]}},
    "dram": {"All_Weights": {"Numerical_Variables": {
        "bpf_block_irq": {"scale": 1}, "bpf_cpu_time_ms": {"scale": 100},
        "bpf_page_cache_hit": {"scale": 10}},
      "CurveFit_Weights": [2.0, 3.0, 1.0]}}})";
  KeplerWeightOptions opt;
  opt.trainer = "ExponentialRegressionTrainer";
  auto model = LoadText(text, opt);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->info().energy_source, "rapl-sysfs");
  auto x = FeatureMatrix::FromRows({"bpf_block_irq", "bpf_cpu_time_ms", "bpf_page_cache_hit"},
                                   {{0.7, 50.0, 4.0}});
  auto p = (*model)->Predict(*x);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_DOUBLE_EQ(p->Find(Component::kPackage)->watts[0].value(), 2.0 * std::exp(3.0 * 0.5) + 1.0);
  EXPECT_DOUBLE_EQ(p->Find(Component::kDram)->watts[0].value(), 2.0 * std::exp(3.0 * 0.4) + 1.0);

  // Without a known main feature the first sorted feature is used (Go's x[0]).
  opt.trainer = "LogarithmicRegressionTrainer";
  auto other = LoadText(R"({"platform": {"All_Weights": {"Numerical_Variables": {
      "b_feature": {"scale": 2}, "a_feature": {"scale": 4}}, "CurveFit_Weights": [1, 1, 0]}}})",
                        opt);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  auto y = FeatureMatrix::FromRows({"a_feature", "b_feature"}, {{4.0, 100.0}});
  auto q = (*other)->Predict(*y);
  ASSERT_TRUE(q.ok());
  EXPECT_DOUBLE_EQ(q->Find(Component::kPlatform)->watts[0].value(), std::log(2.0));
}

TEST(KeplerWeightsTest, CurveKindNeedsTheTrainerForThreeWeights) {
  const char* three = R"({"platform": {"All_Weights": {"Numerical_Variables": {
      "bpf_cpu_time_ms": {"scale": 10}}, "CurveFit_Weights": [1, 2, 3]}}})";
  auto ambiguous = LoadText(three);
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_NE(ambiguous.status().message().find("Logarithmic"), std::string::npos)
      << ambiguous.status().message();
  KeplerWeightOptions logistic;
  logistic.trainer = "LogisticRegressionTrainer";
  EXPECT_FALSE(LoadText(three, logistic).ok());
  // The model server's model_name tells the trainer.
  auto named = LoadText(R"({"platform": {"All_Weights": {"Numerical_Variables": {
      "bpf_cpu_time_ms": {"scale": 10}}, "CurveFit_Weights": [1, 2, 3]}},
      "model_name": "LogarithmicRegressionTrainer_4", "mae": 1.5,
      "machine_spec": {"processor": "x", "cores": 8}})");
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ((*named)->info().trainer, "LogarithmicRegressionTrainer");
  EXPECT_EQ((*named)->info().name, "LogarithmicRegressionTrainer_4");
  EXPECT_DOUBLE_EQ((*named)->info().errors.mae, 1.5);
  EXPECT_EQ((*named)->info().errors.protocol, "kepler-published");
  EXPECT_EQ((*named)->info().provenance.machine_spec.cores, 8);
  // Four weights are logistic whatever the (non-contradicting) trainer; five are an error.
  auto four = LoadText(R"({"platform": {"All_Weights": {"Numerical_Variables": {
      "bpf_cpu_time_ms": {"scale": 10}}, "CurveFit_Weights": [100, 0.4, 8, 50]}}})");
  ASSERT_TRUE(four.ok()) << four.status().ToString();
  auto five = LoadText(R"({"platform": {"All_Weights": {"Numerical_Variables": {
      "bpf_cpu_time_ms": {"scale": 10}}, "CurveFit_Weights": [1, 2, 3, 4, 5]}}})");
  ASSERT_FALSE(five.ok());
  EXPECT_NE(five.status().message().find("CurveFit_Weights"), std::string::npos);
  // An empty list means linear.
  auto empty = LoadText(R"({"platform": {"All_Weights": {"Bias_Weight": 5, "Numerical_Variables": {
      "bpf_cpu_time_ms": {"scale": 10, "weight": 1}}, "CurveFit_Weights": []}}})");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ((*empty)->pipelines()[0].regressor->family(), "linear");
}

TEST(KeplerWeightsTest, ScaleRulesAndMeanVariance) {
  auto x = FeatureMatrix::FromRows({"a", "b"}, {{8.0, 3.0}});
  // Divide, zero scale → 0, missing weight → 0, categorical terms.
  auto div = LoadText(R"({"package": {"All_Weights": {"Bias_Weight": 1,
      "Categorical_Variables": {"cpu_architecture": {"Sky Lake": {"weight": 10}}},
      "Numerical_Variables": {"a": {"scale": 4, "weight": 2}, "b": {"scale": 0, "weight": 5}}}}})");
  ASSERT_TRUE(div.ok()) << div.status().ToString();
  EXPECT_EQ((*div)->info().system_features, std::vector<std::string>{"cpu_architecture"});
  auto p = (*div)->Predict(*x);
  ASSERT_TRUE(p.ok());
  EXPECT_DOUBLE_EQ(p->components[0].watts[0].value(), 1 + 2 * 2.0);
  auto pc = (*div)->Predict(*x, {{"cpu_architecture", "Sky Lake"}});
  EXPECT_DOUBLE_EQ(pc->components[0].watts[0].value(), 15.0);
  // Multiply.
  KeplerWeightOptions mul;
  mul.scale_rule = KeplerScaleRule::kMultiply;
  auto m = LoadText(R"({"package": {"All_Weights": {"Bias_Weight": 1,
      "Numerical_Variables": {"a": {"scale": 0.5, "weight": 2}, "b": {"scale": 0, "weight": 5}}}}})",
                    mul);
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ((*m)->Predict(*x)->components[0].watts[0].value(), 1 + 2 * 4.0);
  // v0.5 mean/variance; variance 0 → x - mean.
  auto s = LoadText(R"({"package": {"All_Weights": {"Bias_Weight": 1,
      "Numerical_Variables": {"a": {"mean": 4, "variance": 16, "weight": 2},
                              "b": {"mean": 1, "variance": 0, "weight": 5}}}}})");
  ASSERT_TRUE(s.ok());
  EXPECT_DOUBLE_EQ((*s)->Predict(*x)->components[0].watts[0].value(), 1 + 2 * 1.0 + 5 * 2.0);
  auto neg = LoadText(R"({"package": {"All_Weights": {"Numerical_Variables": {
      "a": {"mean": 4, "variance": -1, "weight": 2}}}}})");
  EXPECT_FALSE(neg.ok());
  // kAuto on a v0.6-layout file with another trainer divides.
  KeplerWeightOptions lin;
  lin.trainer = "LinearRegressionTrainer";
  auto v06 = LoadText(R"({"package": {"All_Weights": {"Bias_Weight": 0,
      "Numerical_Variables": {"a": {"scale": 0.5, "mean": 0, "variance": 0, "weight": 1}}}}})",
                      lin);
  ASSERT_TRUE(v06.ok());
  EXPECT_DOUBLE_EQ((*v06)->Predict(*x)->components[0].watts[0].value(), 4.0);
  lin.trainer = "SGDRegressorTrainer";
  auto v06s = LoadText(R"({"package": {"All_Weights": {"Bias_Weight": 0,
      "Numerical_Variables": {"a": {"scale": 0.5, "mean": 0, "variance": 0, "weight": 1}}}}})",
                       lin);
  ASSERT_TRUE(v06s.ok());
  EXPECT_DOUBLE_EQ((*v06s)->Predict(*x)->components[0].watts[0].value(), 16.0);
}

TEST(KeplerWeightsTest, InfoFromOptions) {
  KeplerWeightOptions opt;
  opt.id = "pipe/acpi/DynPower/BPFOnly/SGDRegressorTrainer_3";
  opt.trainer = "SGDRegressorTrainer";
  opt.feature_group = "BPFOnly";
  opt.energy_source = "intel_rapl";
  opt.output_type = "DynPower";
  opt.node_type = 3;
  auto m = LoadText(R"({"package": {"All_Weights": {"Bias_Weight": 1,
      "Numerical_Variables": {"bpf_cpu_time_ms": {"scale": 2, "weight": 1}}}}})",
                    opt);
  ASSERT_TRUE(m.ok());
  const ModelInfo& info = (*m)->info();
  EXPECT_EQ(info.id, opt.id);
  EXPECT_EQ(info.name, "SGDRegressorTrainer_3");
  EXPECT_EQ(info.trainer, "SGDRegressorTrainer");
  EXPECT_EQ(info.feature_group, "BPFOnly");
  EXPECT_EQ(info.energy_source, "rapl-sysfs");
  EXPECT_EQ(info.output_type, OutputType::kDynPower);
  EXPECT_EQ(info.node_type, 3);
  EXPECT_EQ(info.provenance.origin, opt.id);
  EXPECT_TRUE(std::isnan(info.errors.mae));
  opt.output_type = "Watts";
  EXPECT_FALSE(LoadText(R"({"package": {"All_Weights": {}}})", opt).ok());
}

TEST(KeplerWeightsTest, InferOptionsFromPath) {
  KeplerWeightOptions o;
  InferKeplerWeightOptionsFromPath(
      "/db/specpower/weights/acpi/AbsPower/BPFOnly/LogarithmicRegressionTrainer_10.json", &o);
  EXPECT_EQ(o.trainer, "LogarithmicRegressionTrainer");
  EXPECT_EQ(o.node_type, 10);
  EXPECT_EQ(o.feature_group, "BPFOnly");
  EXPECT_EQ(o.output_type, "AbsPower");
  EXPECT_EQ(o.energy_source, "acpi");

  KeplerWeightOptions v06;
  InferKeplerWeightOptionsFromPath(
      "std_v0.6/weights/rapl/DynPower/KubeletOnly/SGDRegressorTrainer_1.json", &v06);
  EXPECT_EQ(v06.energy_source, "rapl-sysfs");
  EXPECT_EQ(v06.output_type, "DynPower");
  EXPECT_EQ(v06.node_type, 1);

  KeplerWeightOptions v05;
  InferKeplerWeightOptionsFromPath("x/rapl/AbsPower/KubeletOnly/weight.json", &v05);
  EXPECT_EQ(v05.trainer, "");
  EXPECT_EQ(v05.node_type, -1);
  EXPECT_EQ(v05.feature_group, "KubeletOnly");
  EXPECT_EQ(v05.energy_source, "rapl-sysfs");

  KeplerWeightOptions unpacked;  // the model server's unzipped layout
  InferKeplerWeightOptionsFromPath(
      "ec2/rapl-sysfs/AbsPower/BPFIRQ/SGDRegressorTrainer_2/weight.json", &unpacked);
  EXPECT_EQ(unpacked.trainer, "SGDRegressorTrainer");
  EXPECT_EQ(unpacked.node_type, 2);
  EXPECT_EQ(unpacked.feature_group, "BPFIRQ");
  EXPECT_EQ(unpacked.energy_source, "rapl-sysfs");

  KeplerWeightOptions bundled;
  InferKeplerWeightOptionsFromPath("/var/lib/kepler/data/intel_rapl_DynPowerModel.json", &bundled);
  EXPECT_EQ(bundled.energy_source, "rapl-sysfs");
  EXPECT_EQ(bundled.output_type, "DynPower");

  // Not an integer suffix, not a layout: unchanged.
  KeplerWeightOptions other;
  other.trainer = "keep";
  InferKeplerWeightOptionsFromPath("models/my_model_v2.json", &other);
  EXPECT_EQ(other.trainer, "keep");
  EXPECT_EQ(other.node_type, -1);
  InferKeplerWeightOptionsFromPath("SGD_99999999999999.json", &other);
  EXPECT_EQ(other.node_type, -1);
  InferKeplerWeightOptionsFromPath("", &other);
  InferKeplerWeightOptionsFromPath("////", &other);
  InferKeplerWeightOptionsFromPath("a.json", nullptr);
}

// The error names the JSON path (and, for numbers, the component and feature).
void ExpectError(std::string_view text, std::string_view needle) {
  auto j = ParseJson(text, "test");
  if (!j.ok()) {
    EXPECT_NE(j.status().message().find(needle), std::string::npos) << j.status().message();
    return;
  }
  auto m = KeplerWeightsFromJson(*j, {});
  ASSERT_FALSE(m.ok()) << text;
  EXPECT_NE(m.status().message().find(needle), std::string::npos)
      << "message: " << m.status().message() << "\nwanted: " << needle;
}

TEST(KeplerWeightsTest, BadInputGivesClearErrors) {
  ExpectError(R"({"package": {"All_Weights": {"Bias_Weight": 1, "Numer)", "invalid JSON");
  ExpectError("[1, 2, 3]", "expected a JSON object");
  ExpectError("{}", "no component");
  ExpectError(R"({"model_name": "x", "mae": 3})", "no component");
  ExpectError(R"({"package": 5})", "package");
  ExpectError(R"({"package": {"weights": {}}})", "package.All_Weights: missing");
  ExpectError(R"({"package": {"All_Weights": []}})", "package.All_Weights: expected an object");
  ExpectError(R"({"package": {"All_Weights": {"Bias_Weight": "1"}}})",
              "package.All_Weights.Bias_Weight: expected a number, got string");
  ExpectError(R"({"dram": {"All_Weights": {"Numerical_Variables": []}}})",
              "dram.All_Weights.Numerical_Variables: expected an object");
  ExpectError(R"({"dram": {"All_Weights": {"Numerical_Variables": {"cache_miss": 3}}}})",
              "dram.All_Weights.Numerical_Variables.cache_miss: expected an object");
  ExpectError(
      R"({"dram": {"All_Weights": {"Numerical_Variables": {"cache_miss": {"scale": true}}}}})",
      "Numerical_Variables.cache_miss.scale: expected a number, got boolean");
  ExpectError(R"({"dram": {"All_Weights": {"Numerical_Variables": {"": {"scale": 1}}}}})",
              "empty name");
  // nlohmann refuses numbers that overflow a double ("1e999") while parsing.
  ExpectError(R"({"platform": {"All_Weights": {"Numerical_Variables": {"x": {"scale": 1e999}}}}})",
              "overflow");
  ExpectError(R"({"platform": {"All_Weights": {"CurveFit_Weights": [1, "a", 3]}}})",
              "CurveFit_Weights[1]");
  ExpectError(R"({"platform": {"All_Weights": {"CurveFit_Weights": {"a": 1}}}})",
              "CurveFit_Weights: expected an array");
  ExpectError(R"({"platform": {"All_Weights": {"CurveFit_Weights": [1, 2, 3, 4]}}})",
              "without any Numerical_Variables");
  ExpectError(R"({"platform": {"All_Weights": {"Categorical_Variables": {"arch": {"x": 1}}}}})",
              "Categorical_Variables.arch.x: expected an object");
  ExpectError(
      R"({"platform": {"All_Weights": {"Categorical_Variables": {"arch": {"x": {"weight": "1"}}}}}})",
      "Categorical_Variables.arch.x.weight: expected a number, got string (component platform, "
      "categorical arch=x)");
  ExpectError(R"({"gpu": {"All_Weights": {}}})", "gpu: unknown component");
  // A subnormal scale is fine for dividing, but has no finite reciprocal for multiplying.
  EXPECT_TRUE(
      LoadText(
          R"({"platform": {"All_Weights": {"Numerical_Variables": {"x": {"scale": 1e-320}}}}})")
          .ok());
  KeplerWeightOptions mul;
  mul.scale_rule = KeplerScaleRule::kMultiply;
  auto j = ParseJson(
      R"({"platform": {"All_Weights": {"Numerical_Variables": {"x": {"scale": 1e-320}}}}})", "t");
  ASSERT_TRUE(j.ok());
  auto r = KeplerWeightsFromJson(*j, mul);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("feature x"), std::string::npos) << r.status().message();
}

// Documents built in memory can hold NaN and infinities; each is refused with the JSON path, the
// component and the feature.
TEST(KeplerWeightsTest, NonFiniteNumbersAreRefused) {
  const double bad_values[] = {std::nan(""), INFINITY, -INFINITY};
  for (double bad : bad_values) {
    Json base = Json::parse(R"({"platform": {"All_Weights": {"Bias_Weight": 1,
        "Categorical_Variables": {"arch": {"x": {"weight": 1}}},
        "Numerical_Variables": {"bpf_cpu_time_ms": {"scale": 2, "weight": 3}}}},
        "package": {"All_Weights": {"Numerical_Variables": {"cache_miss": {"scale": 2}},
        "CurveFit_Weights": [1, 2, 3, 4]}}})");
    ASSERT_TRUE(KeplerWeightsFromJson(base, {}).ok());
    struct Case {
      Json* slot;
      std::string needle;
    };
    Json& plat = base["platform"]["All_Weights"];
    Json& pkg = base["package"]["All_Weights"];
    const Case cases[] = {
        {&plat["Bias_Weight"], "platform.All_Weights.Bias_Weight: not a finite number"},
        {&plat["Numerical_Variables"]["bpf_cpu_time_ms"]["scale"],
         "scale: not a finite number (component platform, feature bpf_cpu_time_ms)"},
        {&plat["Numerical_Variables"]["bpf_cpu_time_ms"]["weight"],
         "weight: not a finite number (component platform, feature bpf_cpu_time_ms)"},
        {&plat["Categorical_Variables"]["arch"]["x"]["weight"], "categorical arch=x"},
        {&pkg["CurveFit_Weights"][2], "package.All_Weights.CurveFit_Weights[2]"},
        {&pkg["Numerical_Variables"]["cache_miss"]["scale"], "feature cache_miss"},
    };
    for (const auto& c : cases) {
      Json saved = *c.slot;
      *c.slot = bad;
      auto m = KeplerWeightsFromJson(base, {});
      ASSERT_FALSE(m.ok()) << c.needle;
      EXPECT_NE(m.status().message().find(c.needle), std::string::npos)
          << "message: " << m.status().message() << "\nwanted: " << c.needle;
      *c.slot = saved;
    }
  }
  // The model server's metadata is informational: a non-finite mae is ignored.
  Json j = Json::parse(R"({"platform": {"All_Weights": {"Bias_Weight": 1}}})");
  j["mae"] = INFINITY;
  auto m = KeplerWeightsFromJson(j, {});
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(std::isnan((*m)->info().errors.mae));
}

TEST(KeplerWeightsTest, HugeAndDeepInputsAreRefused) {
  // Huge CurveFit_Weights array.
  std::string curve = R"({"platform": {"All_Weights": {"Numerical_Variables": {"x": {"scale": 1}},
      "CurveFit_Weights": [)";
  for (int i = 0; i < 50000; ++i) curve += i == 0 ? "0" : ",0";
  curve += "]}}}";
  ExpectError(curve, "CurveFit_Weights");
  // Too many features.
  std::string many = R"({"package": {"All_Weights": {"Numerical_Variables": {)";
  for (int i = 0; i < 5000; ++i) {
    many += (i == 0 ? "" : ",") + std::string("\"f") + std::to_string(i) + R"(": {"scale": 1})";
  }
  many += "}}}}";
  ExpectError(many, "limit of 4096");
  // Very long feature name.
  ExpectError(R"({"package": {"All_Weights": {"Numerical_Variables": {")" + std::string(5000, 'a') +
                  R"(": {"scale": 1}}}}})",
              "over the limit");
  // Deep nesting: refused by the parser's depth limit.
  ExpectError(std::string(100000, '[') + std::string(100000, ']'), "deeper");
  // Nested within the limit but in the wrong place.
  std::string nested = R"({"package": {"All_Weights": {"Numerical_Variables": {"x": {"scale": )";
  nested += std::string(40, '[') + std::string(40, ']') + "}}}}}";
  ExpectError(nested, "expected a number, got array");
}

TEST(KeplerWeightsTest, RandomMutationsNeverCrash) {
  const std::vector<std::string> seeds = {
      *ReadLocalFile(kModelDb + "/specpower-0.7.11_nodetypes0-9/weights/acpi/AbsPower/BPFOnly/"
                                "LogisticRegressionTrainer_0.json"),
      *ReadLocalFile(kModelDb + "/specpower-0.7.11_nodetypes0-9/weights/acpi/AbsPower/BPFOnly/"
                                "SGDRegressorTrainer_0.json"),
      *ReadLocalFile(kTestdata + "/kepler-v0.7.11/model_weight/intel_rapl_AbsPowerModel.json"),
      *ReadLocalFile(kModelDb +
                     "/linux-4.15.0-213_v0.6/weights/rapl/AbsPower/KubeletOnly/weight.json"),
  };
  const std::string alphabet = "{}[]\":,0123456789.eE-+ntrufalsNaI \\x";
  std::mt19937 rng(12345);
  int loaded = 0;
  for (int it = 0; it < 3000; ++it) {
    std::string text = seeds[static_cast<std::size_t>(it) % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text[pos] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          text.erase(pos, 1 + rng() % 8);
          break;
        default:
          text.insert(pos, 1, alphabet[rng() % alphabet.size()]);
      }
      if (text.empty()) text = "{";
    }
    auto j = ParseJson(text, "mutant");
    if (!j.ok()) continue;
    (void)IsKeplerWeightJson(*j);
    KeplerWeightOptions opt;
    opt.trainer = (it % 2) ? "LogarithmicRegressionTrainer" : "";
    auto m = KeplerWeightsFromJson(*j, opt);
    if (!m.ok()) {
      EXPECT_FALSE(m.status().message().empty());
      continue;
    }
    ++loaded;
    FeatureMatrix x((*m)->info().features, 2);
    for (std::size_t c = 0; c < x.cols(); ++c) x.at(1, c) = 1234.5;
    auto p = (*m)->Predict(x);
    if (p.ok()) {
      for (const auto& cp : p->components) {
        for (Watts w : cp.watts) EXPECT_TRUE(std::isfinite(w.value()) && w.value() >= 0);
      }
    }
    (void)KeplerWeightsToJson(**m);
  }
  EXPECT_GT(loaded, 0);
}

}  // namespace
}  // namespace wattson
