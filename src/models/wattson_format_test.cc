// The wattson model format: every family round-trips save → load → identical predictions, and
// bad documents give clear errors.
#include "models/wattson_format.h"

#include <filesystem>
#include <string>

#include "common/file_util.h"
#include "gtest/gtest.h"
#include "models/model_loader.h"
#include "testing/random_models.h"

namespace wattson {
namespace {

const std::vector<std::string> kFeatures = {"bpf_cpu_time_ms", "cpu_instructions", "cache_miss"};

TEST(WattsonFormatTest, EveryFamilyRoundTripsBitForBit) {
  const FeatureMatrix x = testing::RandomRows(kFeatures, 300, 5);
  const std::string dir = ::testing::TempDir();
  for (const auto& family : testing::AllFamilies()) {
    SCOPED_TRACE(family);
    auto model = testing::RandomModel(family, kFeatures, 42);
    ModelInfo info = model->info();
    info.provenance.dataset = "unit test";
    info.provenance.created = "2026-11-23T00:00:00Z";
    info.errors.protocol = "blocked-cv";
    info.errors.mae = 4.25;
    info.errors.per_component["package"].mae = 4.25;
    info.errors.per_component["package"].r2 = 0.97;
    info.training_range = {{"bpf_cpu_time_ms", 0, 150}};
    model->SetInfo(info);
    const std::string path = dir + "/" + family + ".wattson.json";
    ASSERT_TRUE(SaveWattsonModel(*model, path).ok());
    auto loaded = LoadModelFile(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    auto a = model->Predict(x);
    auto b = (*loaded)->Predict(x);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->components.size(), b->components.size());
    for (std::size_t c = 0; c < a->components.size(); ++c) {
      for (std::size_t r = 0; r < x.rows(); ++r) {
        ASSERT_EQ(a->components[c].watts[r].value(), b->components[c].watts[r].value()) << r;
      }
    }
    const ModelInfo& li = (*loaded)->info();
    EXPECT_EQ(li.provenance.dataset, "unit test");
    EXPECT_EQ(li.errors.protocol, "blocked-cv");
    EXPECT_DOUBLE_EQ(li.errors.mae, 4.25);
    EXPECT_DOUBLE_EQ(li.errors.per_component.at("package").r2, 0.97);
    EXPECT_TRUE(std::isnan(li.errors.mape));
    ASSERT_EQ(li.training_range.size(), 1u);
    // Saving the loaded model gives the same document.
    EXPECT_EQ(SerializeWattsonModel(**loaded), SerializeWattsonModel(*model));
  }
}

TEST(WattsonFormatTest, CurveFitNamesItsFeature) {
  auto model = testing::RandomModel("exponential", kFeatures, 1);
  Json j = WattsonModelToJson(*model);
  EXPECT_EQ(j["components"][0]["regressor"]["feature"], "cache_miss");
  j["components"][0]["regressor"]["feature"] = "cpu_instructions";
  auto bad = WattsonModelFromJson(j, "doc");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("feature_index"), std::string::npos);
}

Status LoadText(const std::string& text) {
  auto r = ParseWattsonModel(text, "doc");
  return r.ok() ? Status::Ok() : r.status();
}

TEST(WattsonFormatTest, BadDocumentsGiveClearErrors) {
  auto model = testing::RandomModel("linear", kFeatures, 1);
  const std::string good = SerializeWattsonModel(*model);
  ASSERT_TRUE(LoadText(good).ok());
  // Truncated at many points: always an error, never a crash.
  for (std::size_t n = 0; n < good.size(); n += 7) EXPECT_FALSE(LoadText(good.substr(0, n)).ok());
  Json j = WattsonModelToJson(*model);
  auto mutate = [&](auto f) {
    Json c = j;
    f(c);
    return LoadText(c.dump());
  };
  Status s = mutate([](Json& c) { c["version"] = 2; });
  EXPECT_NE(s.message().find("version 2"), std::string::npos) << s.ToString();
  s = mutate([](Json& c) { c["components"][0]["regressor"]["coef"][1] = "x"; });
  EXPECT_NE(s.message().find("components[0].regressor.coef[1]"), std::string::npos) << s.ToString();
  s = mutate([](Json& c) { c["components"][0]["regressor"]["coef"].push_back(1.0); });
  EXPECT_FALSE(s.ok());
  s = mutate([](Json& c) { c["components"][0]["regressor"]["family"] = "forest"; });
  EXPECT_NE(s.message().find("unknown family"), std::string::npos);
  s = mutate([](Json& c) { c["components"][0]["component"] = "gpu0"; });
  EXPECT_FALSE(s.ok());
  s = mutate([](Json& c) { c["info"]["output_type"] = "Power"; });
  EXPECT_FALSE(s.ok());
  s = mutate([](Json& c) { c["components"][1]["component"] = "package"; });
  EXPECT_NE(s.message().find("twice"), std::string::npos);
  s = mutate([](Json& c) { c.erase("format"); });
  EXPECT_FALSE(s.ok());
  // 1e999 parses as infinity: a non-finite weight is refused.
  std::string inf = good;
  inf.replace(inf.find("\"intercept\": ") + 13, 1, "1e999,\"x\":");
  EXPECT_FALSE(LoadText(inf).ok());
  // Deep nesting is refused before it can exhaust the stack.
  EXPECT_FALSE(LoadText(std::string(100000, '[') + std::string(100000, ']')).ok());
  EXPECT_FALSE(LoadText("").ok());
  EXPECT_FALSE(LoadText("null").ok());
}

TEST(ModelLoaderTest, UnknownAndMissingFiles) {
  const std::string dir = ::testing::TempDir();
  EXPECT_EQ(LoadModelFile(dir + "/does-not-exist.json").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(WriteLocalFileAtomic(dir + "/other.json", "{\"hello\": 1}").ok());
  auto r = LoadModelFile(dir + "/other.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a model file"), std::string::npos);
}

TEST(ModelLoaderTest, ReadsXgboostJson) {
  // Two trees over two features: f0 < 0.5 ? 1 : 2, then f1 < 3 ? 0.25 : -0.5; base score 10.
  const std::string doc = R"({"learner": {
    "feature_names": ["a", "b"],
    "learner_model_param": {"base_score": "1E1", "num_feature": "2", "num_target": "1"},
    "objective": {"name": "reg:squarederror"},
    "gradient_booster": {"name": "gbtree", "model": {"trees": [
      {"left_children": [1, -1, -1], "right_children": [2, -1, -1], "split_indices": [0, 0, 0],
       "split_conditions": [0.5, 1.0, 2.0], "default_left": [true, false, false]},
      {"left_children": [1, -1, -1], "right_children": [2, -1, -1], "split_indices": [1, 0, 0],
       "split_conditions": [3.0, 0.25, -0.5], "default_left": [0, 0, 0]}]}}}})";
  const std::string path = ::testing::TempDir() + "/xgb.json";
  ASSERT_TRUE(WriteLocalFileAtomic(path, doc).ok());
  auto m = LoadModelFile(path);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto x = FeatureMatrix::FromRows({"a", "b"}, {{0.4, 5.0}, {0.5, 1.0}});
  auto y = (*m)->Predict(*x);
  ASSERT_TRUE(y.ok());
  EXPECT_FLOAT_EQ(static_cast<float>(y->components[0].watts[0].value()), 10.5f);
  EXPECT_FLOAT_EQ(static_cast<float>(y->components[0].watts[1].value()), 12.25f);
}

}  // namespace
}  // namespace wattson
